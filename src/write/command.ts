import type { z } from 'zod';
import type { Limits } from '../config.ts';
import type { Tx } from '../db/connect.ts';
import type { Logger } from '../logger.ts';
import { appendEvents, lockAggregates } from './event-log.ts';
import type { AggregateType, DomainEvent, EventMetadata } from './events.ts';

export type Access = 'anonymous' | 'user';

/** What a handler gets: its validated input, the caller, one transaction, and injected time and ids. */
export interface HandlerContext<Input, A extends Access> {
  input: Input;
  actorId: A extends 'user' ? string : string | null;
  uow: UnitOfWork;
  now: Date;
  newId(): string;
  limits: Limits;
  log: Logger;
}

export interface CommandDefinition<S extends z.ZodType = z.ZodType, A extends Access = Access> {
  /** Imperative, as in the domain: `PublishPost`. */
  name: string;
  input: S;
  access: A;
  /** Input fields kept out of the idempotency fingerprint (secrets are never stored, even hashed). */
  secretFields?: readonly string[];
  /** Enforces the rules, writes the tables, appends events; returns what it created or changed. */
  handle(ctx: HandlerContext<z.output<S>, A>): Promise<{ aggregateId: string }>;
}

export function defineCommand<S extends z.ZodType, const A extends Access>(definition: CommandDefinition<S, A>) {
  return definition;
}

/**
 * One command's transaction: the drizzle transaction for table writes, plus the two operations
 * that keep the event log in order (`lock` first, then writes, then `append`).
 */
export class UnitOfWork {
  /** The transaction's position in the event log, once it has appended an event. */
  position: bigint | null = null;

  constructor(
    readonly db: Tx,
    private readonly metadata: EventMetadata,
    /** The command's one clock reading: table rows and event rows carry the same instant. */
    readonly now: Date,
  ) {}

  /** Locks the aggregates this command may change; call once, before the first write. */
  lock(...keys: string[]): Promise<void> {
    return lockAggregates(this.db, keys);
  }

  async append(aggregate: { type: AggregateType; id: string }, expectedVersion: number, events: DomainEvent[]): Promise<number> {
    const result = await appendEvents(this.db, aggregate, expectedVersion, events, this.metadata, this.now);
    this.position = result.position;
    return result.version;
  }
}

/** Lock keys, one namespace per kind of thing a command can lock. */
export const lockKey = {
  user: (id: string) => `user:${id}`,
  pair: (a: string, b: string) => (a < b ? `pair:${a}:${b}` : `pair:${b}:${a}`),
  post: (id: string) => `post:${id}`,
  comment: (id: string) => `comment:${id}`,
  handle: (handle: string) => `handle:${handle.toLowerCase()}`,
  idempotency: (scope: string, key: string) => `idempotency:${scope}:${key}`,
};
