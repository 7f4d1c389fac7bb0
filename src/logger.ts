import { pino, stdSerializers, type Logger } from 'pino';

export type { Logger };

/**
 * The error worth logging: a GraphQL error's original, and for a failed query the driver's error
 * rather than drizzle's wrapper, whose message lists every bound value (password hashes too).
 */
export function loggableError(error: unknown): unknown {
  let e = error as { originalError?: unknown; cause?: unknown; name?: string } | undefined;
  for (let depth = 0; e && depth < 4; depth++) {
    if (e.originalError) e = e.originalError as typeof e;
    else if (e.name === 'DrizzleQueryError') e = (e.cause ?? new Error('query failed')) as typeof e;
    else break;
  }
  return e;
}

/** JSON log lines on stdout; secrets never reach them. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    serializers: { err: (error: unknown) => stdSerializers.err(loggableError(error) as Error) },
    redact: { paths: ['*.password', '*.*.password', 'password', 'authorization', '*.authorization'], censor: '[redacted]' },
  });
}
