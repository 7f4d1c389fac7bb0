import { mkdir } from 'node:fs/promises';
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
  /** Calls `onMessage` for every NOTIFY on `channel` from any process (PostgreSQL only). */
  listen(channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export class DatabaseUnreachableError extends Error {
  override name = 'DatabaseUnreachableError';
}

/** Opens PostgreSQL at `url`, or embedded PGlite in `dataDir` (in memory when `dataDir` is null). */
export async function openDatabase(options: { url?: string | undefined; dataDir?: string | null; poolSize?: number }): Promise<Database> {
  if (options.url) return openPostgres(options.url, options.poolSize ?? 10);
  return openPglite(options.dataDir ?? null);
}

async function openPostgres(url: string, max: number): Promise<Database> {
  const client = postgres(url, { max, onnotice: () => {}, connect_timeout: 10 });
  try {
    await client`select 1`;
  } catch (error) {
    await client.end({ timeout: 1 }).catch(() => {});
    throw new DatabaseUnreachableError(`Cannot reach PostgreSQL at ${redactUrl(url)}: ${(error as Error).message}`);
  }
  const db = drizzlePostgres({ client, schema }) as unknown as Db;
  await migratePostgres(db as never, { migrationsFolder });
  return {
    kind: 'postgres',
    db,
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
  const db = drizzlePglite({ client, schema }) as unknown as Db;
  await migratePglite(db as never, { migrationsFolder });
  return {
    kind: 'pglite',
    db,
    // One process owns an embedded database; in-process signals replace NOTIFY there.
    listen: async () => async () => {},
    close: () => client.close(),
  };
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
