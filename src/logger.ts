import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON log lines on stdout; secrets never reach them. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    redact: { paths: ['*.password', '*.*.password', 'password', 'authorization', '*.authorization'], censor: '[redacted]' },
  });
}
