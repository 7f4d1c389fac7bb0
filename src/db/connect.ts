import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { PGlite } from '@electric-sql/pglite';
import { sql, type SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import * as schema from './schema/index.ts';

export type Schema = typeof schema;
/** Either driver's drizzle database: the code above this module does not know which. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
/** A drizzle transaction (or the database itself, where no transaction is needed). */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
export type Queryable = Db | Tx;

export const migrationsFolder = new URL('../../drizzle', import.meta.url).pathname;
/** NOTIFY channel on which committed commands wake projectors in other processes. */
export const EVENTS_CHANNEL = 'wall_events';

export interface Database {
  kind: 'pglite' | 'postgres';
  db: Db;
  /** Calls `listener` with every SQL statement drizzle sends (tests count them to catch N+1). */
  onQuery(listener: (query: string) => void): () => void;
  /**
   * Takes a session-level advisory lock on a connection of its own, if no one holds it; the
   * lock goes when `release` is called or the process dies. Null when someone else has it.
   */
  tryAdvisoryLock(key: string): Promise<(() => Promise<void>) | null>;
  /** Calls `onMessage` for every NOTIFY on `channel` from any process (PostgreSQL only). */
  listen(channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export class DatabaseUnreachableError extends Error {
  override name = 'DatabaseUnreachableError';
}

/**
 * Connections per PostgreSQL database unless DB_POOL says otherwise: twice the cores, at least 4
 * and at most 16 (the cores Node sees can be the host's, not a container's CPU quota, and
 * PostgreSQL allows 100 connections by default). More is slower on a small machine: postgres.js
 * pipelines the queries queued on a connection into one write, and PostgreSQL answers them in one
 * go; spread over many connections, each query costs its own system calls and wake-ups. On 2 cores
 * a feed page cost 0.52 ms of CPU (server and PostgreSQL) with 4 connections and 0.63 ms with 10
 * (README, Performance).
 */
export const DEFAULT_POOL_SIZE = Math.min(16, Math.max(4, 2 * availableParallelism()));

/** Opens PostgreSQL at `url`, or embedded PGlite in `dataDir` (in memory when `dataDir` is null). */
export async function openDatabase(options: { url?: string | undefined; dataDir?: string | null; poolSize?: number | undefined }): Promise<Database> {
  if (options.url) return openPostgres(options.url, options.poolSize ?? DEFAULT_POOL_SIZE);
  return openPglite(options.dataDir ?? null);
}

/**
 * Applies the migrations under a session advisory lock: processes started together on a new
 * database (a projector and API processes) would otherwise race to create the same schemas.
 */
async function migrateOnce(url: string) {
  // One connection, so that the lock and the migrations share a session.
  const single = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    await single`select pg_advisory_lock(hashtextextended('wall:migrations', 0))`;
    await migratePostgres(drizzlePostgres({ client: single }), { migrationsFolder });
  } finally {
    await single.end({ timeout: 5 });
  }
}

async function openPostgres(url: string, max: number): Promise<Database> {
  // Timestamps come back as text in the session's DateStyle: pin it, or dates could be misread.
  // No JIT: it compiles a plan's expressions when its estimated cost is high, which the
  // projector's batch statements reach (their json rows are estimated at 100): a recompute of
  // 24 feeds took 851 ms with JIT, 44 ms without. Nothing here runs long enough to win it back.
  const client = postgres(url, { max, onnotice: () => {}, connect_timeout: 10, connection: { DateStyle: 'ISO, MDY', TimeZone: 'UTC', jit: 'off' } });
  try {
    await client`select 1`;
  } catch (error) {
    await client.end({ timeout: 1 }).catch(() => {});
    throw new DatabaseUnreachableError(`Cannot reach PostgreSQL at ${redactUrl(url)}: ${(error as Error).message}`);
  }
  const queries = new QueryEvents();
  const db = drizzlePostgres({ client, schema, logger: queries }) as unknown as Db;
  await migrateOnce(url);
  return {
    kind: 'postgres',
    db,
    onQuery: (listener) => queries.subscribe(listener),
    async tryAdvisoryLock(key) {
      const connection = await client.reserve();
      const [row] = await connection`select pg_try_advisory_lock(hashtextextended(${key}, 0)) as ok`;
      if (!row?.['ok']) {
        connection.release();
        return null;
      }
      return async () => {
        await connection`select pg_advisory_unlock(hashtextextended(${key}, 0))`.catch(() => {});
        connection.release();
      };
    },
    async listen(channel, onMessage) {
      const { unlisten } = await client.listen(channel, onMessage);
      return unlisten;
    },
    close: () => client.end({ timeout: 5 }),
  };
}

async function openPglite(dataDir: string | null): Promise<Database> {
  if (dataDir) await mkdir(dataDir, { recursive: true });
  const client = dataDir ? new PGlite(dataDir) : new PGlite();
  await client.waitReady;
  const heldLocks = new Set<string>();
  const queries = new QueryEvents();
  const db = drizzlePglite({ client, schema, logger: queries }) as unknown as Db;
  await migratePglite(db as never, { migrationsFolder });
  return {
    kind: 'pglite',
    db,
    onQuery: (listener) => queries.subscribe(listener),
    // One process owns an embedded database: its locks are this process's to give.
    tryAdvisoryLock: async (key) => {
      if (heldLocks.has(key)) return null;
      heldLocks.add(key);
      return async () => void heldLocks.delete(key);
    },
    // In-process signals replace NOTIFY here.
    listen: async () => async () => {},
    close: () => client.close(),
  };
}

/** Drizzle's logger, turned into a list of listeners (none, and so no cost, unless a test asks). */
class QueryEvents {
  private readonly listeners = new Set<(query: string) => void>();
  logQuery(query: string): void {
    for (const listener of this.listeners) listener(query);
  }
  subscribe(listener: (query: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** Runs raw SQL and returns its rows, whichever driver answers (they shape results differently). */
export async function queryRows<T extends Record<string, unknown>>(db: Queryable, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown;
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows: T[] }).rows ?? []) as T[];
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

export { sql };
