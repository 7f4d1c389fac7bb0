import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { and, eq, sql } from 'drizzle-orm';
import type { Limits } from '../config.ts';
import { EVENTS_CHANNEL, type Db } from '../db/connect.ts';
import { commands, users } from '../db/schema/write.ts';
import { badInput, conflict, DomainError, invalidFields, isRetryable, isUniqueViolation, unauthenticated } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { lockKey, UnitOfWork, type CommandDefinition } from './command.ts';

export interface CommandRequest {
  /** A registered command's name, e.g. `PublishPost`. */
  name: string;
  input: unknown;
  /** A client-chosen key: repeating it returns the first receipt and writes nothing. */
  idempotencyKey?: string | null | undefined;
}

export interface Caller {
  actorId: string | null;
  requestId?: string | undefined;
}

/** What a command returns: never domain data (CQS), only where to find its effect. */
export interface Receipt {
  commandId: string;
  aggregateId: string;
  /** The position of the command's events in the log, as a decimal string. */
  position: string;
}

/** State shared by the middleware of one execution. */
export interface Execution {
  request: CommandRequest;
  caller: Caller;
  definition: CommandDefinition;
  commandId: string;
  input: unknown;
  attempts: number;
  replayed: boolean;
  uow: UnitOfWork | null;
  log: Logger;
}

// Handlers take their own input types; `any` lets one registry hold them all (the bus validates first).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyCommandDefinition = CommandDefinition<any, any>;

export type Middleware = (execution: Execution, next: () => Promise<Receipt>) => Promise<Receipt>;

export interface CommandBusOptions {
  db: Db;
  log: Logger;
  limits: Limits;
  now?: () => Date;
  newId: () => string;
  /** PostgreSQL: NOTIFY other processes in the command's transaction (delivered on commit). */
  notifyChannel?: boolean;
  /** Called after each commit that wrote events (the in-process wake-up). */
  onCommitted?: (receipt: Receipt) => void;
  /** Called once per command with its outcome: ok, replayed, a refusal code, or error. */
  onExecuted?: (command: string, outcome: string, seconds: number) => void;
  maxAttempts?: number;
}

export const MAX_IDEMPOTENCY_KEY_LENGTH = 200;

/**
 * The one way into the write side: `execute(command, caller)` runs the middleware pipeline
 * (log and time, validate, authenticate, retry, transaction, idempotency and command log) and
 * then the command's handler.
 */
export class CommandBus {
  private readonly definitions = new Map<string, CommandDefinition>();
  private readonly pipeline: Middleware[];
  private readonly now: () => Date;

  constructor(private readonly options: CommandBusOptions) {
    this.now = options.now ?? (() => new Date());
    this.pipeline = [
      logAndTime(options.onExecuted),
      authenticate(options.db),
      validate,
      retry(options.maxAttempts ?? 4),
      transaction(options, this.now),
      commandLog(this.now),
    ];
  }

  register(...definitions: AnyCommandDefinition[]): this {
    for (const d of definitions) this.definitions.set(d.name, d as CommandDefinition);
    return this;
  }

  names(): string[] {
    return [...this.definitions.keys()];
  }

  async execute(request: CommandRequest, caller: Caller): Promise<Receipt> {
    const definition = this.definitions.get(request.name);
    if (!definition) throw badInput(`Unknown command ${request.name}.`);
    const commandId = this.options.newId();
    const execution: Execution = {
      request,
      caller,
      definition,
      commandId,
      input: undefined,
      attempts: 0,
      replayed: false,
      uow: null,
      log: this.options.log.child({ command: definition.name, commandId, actorId: caller.actorId, requestId: caller.requestId }),
    };
    const run = (index: number): Promise<Receipt> => {
      const middleware = this.pipeline[index];
      return middleware ? middleware(execution, () => run(index + 1)) : this.handle(execution);
    };
    return run(0);
  }

  private async handle(execution: Execution): Promise<Receipt> {
    const uow = execution.uow!;
    const { aggregateId } = await execution.definition.handle({
      input: execution.input,
      actorId: execution.caller.actorId as string,
      uow,
      now: uow.now,
      newId: this.options.newId,
      limits: this.options.limits,
      log: execution.log,
    });
    if (uow.position === null) throw new Error(`${execution.definition.name} succeeded without appending an event`);
    return { commandId: execution.commandId, aggregateId, position: uow.position.toString() };
  }
}

function logAndTime(onExecuted: CommandBusOptions['onExecuted']): Middleware {
  return async (execution, next) => {
    const started = performance.now();
    const done = (outcome: string) => onExecuted?.(execution.definition.name, outcome, (performance.now() - started) / 1000);
    try {
      const receipt = await next();
      execution.log.info(
        { ms: elapsed(started), attempts: execution.attempts, replayed: execution.replayed, position: receipt.position },
        'command done',
      );
      done(execution.replayed ? 'replayed' : 'ok');
      return receipt;
    } catch (error) {
      const ms = elapsed(started);
      if (error instanceof DomainError) execution.log.info({ ms, attempts: execution.attempts, code: error.code }, 'command refused');
      else execution.log.error({ ms, attempts: execution.attempts, err: error }, 'command failed');
      done(error instanceof DomainError ? error.code : 'error');
      throw error;
    }
  };
}

const validate: Middleware = async (execution, next) => {
  const { request, definition } = execution;
  if (request.idempotencyKey != null) {
    if (request.idempotencyKey.length === 0 || request.idempotencyKey.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
      throw badInput(`idempotencyKey must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters.`, 'idempotencyKey');
    }
  }
  // Async: a schema may transform its input with work that belongs outside the transaction.
  const parsed = await definition.input.safeParseAsync(request.input);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => ({ field: issue.path.join('.'), message: issue.message }));
    const summary = fields.map((f) => (f.field ? `${f.field}: ${f.message}` : f.message)).join('; ');
    throw invalidFields(`Invalid input for ${definition.name}: ${summary}`, fields);
  }
  execution.input = parsed.data;
  return next();
};

/** Commands other than registration need a caller, and one this database knows (a token can outlive its database). */
function authenticate(db: Db): Middleware {
  return async (execution, next) => {
    const { actorId } = execution.caller;
    if (execution.definition.access === 'user') {
      if (!actorId) throw unauthenticated();
      const [known] = await db.select({ id: users.id }).from(users).where(eq(users.id, actorId));
      if (!known) throw unauthenticated('The token names no one known here; sign in again.');
    }
    return next();
  };
}

/** Retries the whole transaction on serialization failures and deadlocks, a bounded number of times. */
function retry(maxAttempts: number): Middleware {
  return async (execution, next) => {
    for (;;) {
      execution.attempts += 1;
      try {
        return await next();
      } catch (error) {
        if (!isRetryable(error) || execution.attempts >= maxAttempts) throw error;
        const backoff = 5 * 2 ** execution.attempts + Math.random() * 10;
        execution.log.warn({ attempt: execution.attempts, backoff }, 'retrying command after a transient conflict');
        await sleep(backoff);
      }
    }
  };
}

function transaction(options: CommandBusOptions, now: () => Date): Middleware {
  return async (execution, next) => {
    let receipt: Receipt;
    try {
      receipt = await options.db.transaction(async (tx) => {
        execution.uow = new UnitOfWork(
          tx,
          { commandId: execution.commandId, command: execution.definition.name, actorId: execution.caller.actorId },
          now(),
        );
        const result = await next();
        if (options.notifyChannel && !execution.replayed) {
          await tx.execute(sql`select pg_notify(${EVENTS_CHANNEL}, ${result.position})`);
        }
        return result;
      });
    } catch (error) {
      // Locks make these rare; a unique index is the last line, and it means someone got there first.
      if (isUniqueViolation(error)) throw conflict('That was just done by someone else; reload and try again.');
      throw error;
    } finally {
      execution.uow = null;
    }
    if (!execution.replayed) options.onCommitted?.(receipt);
    return receipt;
  };
}

/** Records every command with its receipt; a known idempotency key returns the recorded receipt. */
function commandLog(now: () => Date): Middleware {
  return async (execution, next) => {
    const uow = execution.uow!;
    const { request, definition, caller } = execution;
    const key = request.idempotencyKey ?? null;
    const fingerprint = fingerprintOf(definition, execution.input);
    // Anonymous callers have no identity to scope a key to; their input stands in for it.
    const scope = caller.actorId ?? `anonymous:${fingerprint}`;
    if (key !== null) {
      await uow.lock(lockKey.idempotency(scope, key));
      const [previous] = await uow.db
        .select({ fingerprint: commands.fingerprint, receipt: commands.receipt, name: commands.name })
        .from(commands)
        .where(and(eq(commands.scope, scope), eq(commands.idempotencyKey, key)));
      if (previous) {
        if (previous.fingerprint !== fingerprint) {
          throw conflict(`idempotencyKey "${key}" was already used for a different ${previous.name} command.`, {
            field: 'idempotencyKey',
          });
        }
        execution.replayed = true;
        return previous.receipt as Receipt;
      }
    }
    const receipt = await next();
    await uow.db.insert(commands).values({
      id: execution.commandId,
      name: definition.name,
      actorId: caller.actorId,
      scope,
      idempotencyKey: key,
      fingerprint,
      receipt,
      createdAt: now(),
    });
    return receipt;
  };
}

function fingerprintOf(definition: CommandDefinition, input: unknown): string {
  const secret = new Set(definition.secretFields ?? []);
  const visible =
    input && typeof input === 'object'
      ? Object.fromEntries(Object.entries(input).filter(([k]) => !secret.has(k)).sort(([a], [b]) => a.localeCompare(b)))
      : input;
  return createHash('sha256').update(definition.name).update('\0').update(JSON.stringify(visible)).digest('hex');
}

const elapsed = (started: number) => Math.round((performance.now() - started) * 100) / 100;
