/**
 * Domain errors carry the stable codes of the public contract (API.md). The GraphQL layer turns
 * them into GraphQL errors with `extensions.code` in one place (graphql/errors.ts).
 */
export type ErrorCode = 'BAD_USER_INPUT' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | 'CONFLICT' | 'RATE_LIMITED';

export class DomainError extends Error {
  override name = 'DomainError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** One shape for every input refusal: `extensions.fields` lists `{ field, message }`. */
export const badInput = (message: string, field?: string) =>
  new DomainError('BAD_USER_INPUT', message, field ? { fields: [{ field, message }] } : undefined);
export const invalidFields = (message: string, fields: { field: string; message: string }[]) =>
  new DomainError('BAD_USER_INPUT', message, { fields });
export const unauthenticated = (message = 'Sign in first: send Authorization: Bearer <token>.') =>
  new DomainError('UNAUTHENTICATED', message);
export const forbidden = (message: string) => new DomainError('FORBIDDEN', message);
export const notFound = (message: string) => new DomainError('NOT_FOUND', message);
export const conflict = (message: string, details?: Record<string, unknown>) => new DomainError('CONFLICT', message, details);

/** PostgreSQL SQLSTATEs the command side treats specially. */
const SERIALIZATION_FAILURE = '40001';
const DEADLOCK_DETECTED = '40P01';
const UNIQUE_VIOLATION = '23505';

/** The SQLSTATE of a driver error, whichever driver raised it (drizzle may wrap it in `cause`). */
export function sqlState(error: unknown): string | undefined {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; depth++) {
    if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
    e = e.cause as typeof e;
  }
  return undefined;
}

export const isRetryable = (error: unknown) => {
  const state = sqlState(error);
  return state === SERIALIZATION_FAILURE || state === DEADLOCK_DETECTED;
};

export const isUniqueViolation = (error: unknown) => sqlState(error) === UNIQUE_VIOLATION;
