import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate, setTimeout as sleep } from 'node:timers/promises';
import { pgSchema } from 'drizzle-orm/pg-core';
import { migrationsFolder, sql, type Db } from '../db/connect.ts';
import { defineViews } from '../db/schema/read.ts';
import type { Logger } from '../logger.ts';
import { readCheckpoint } from '../read/checkpoint.ts';
import type { Projection } from '../read/projection.ts';
import { countEventsAfter, readEventsAfter } from '../write/event-log.ts';
import { CHANGE_LOG_CHECKPOINT, DEFAULT_CHANGE_LOG_SIZE } from '../read/changes.ts';
import { applyBatch, Projector } from './projector.ts';

/** How long the swap waits for the copy to reach the live position (older transactions still running). */
const SWAP_WAIT_MS = 30_000;

/**
 * Transactions per batch of a rebuild. A batch's statements cost about the same whatever its
 * length, so long batches are cheaper per event: the whole log of the 10,000-person bench world
 * (1,020,001 events) was rebuilt in 166.9 s in batches of 5,000, 134.0 s of 15,000, 106.2 s of
 * 40,000 and 104.3 s of 100,000 (npm run bench -- --only rebuild, one run each, the machine
 * shared with other work). Nobody reads the copy, so its transactions may be long.
 */
export const REBUILD_BATCH = 50_000;

/**
 * The copy is vacuumed while it is filled: its trims leave dead rows at the old end of each feed,
 * which later trims' index scans walk past again, autovacuum does not keep up with a rebuild (and
 * may be off), and the planner needs statistics of tables that started empty. A vacuum's cost
 * grows with the copy, so the next one waits ten times as long as the last one took: at most a
 * tenth of the rebuild's time.
 */
const VACUUM_FIRST_MS = 10_000;
const VACUUM_SHARE = 10;
/** How often the progress report counts the events that remain (it reads the rest of the log). */
const RECOUNT_MS = 30_000;

/** The copy's tables that batches rewrite most. */
async function vacuumCopy(db: Db) {
  await db.execute(sql.raw(`vacuum (analyze) ${['feed_entries', 'feed_sizes', 'posts', 'friends', 'profiles'].map((t) => `${REBUILD_SCHEMA}.${t}`).join(', ')}`));
}

/** Where a rebuild builds the views before they replace the live ones. */
export const REBUILD_SCHEMA = 'read_next';

export interface RebuildProgress {
  applied: number;
  remaining: number;
  eventsPerSecond: number;
  position: bigint;
}

export interface RebuildOptions {
  eventsDb: Db;
  viewsDb: Db;
  projections: readonly Projection[];
  feedLimit: number;
  /** Rows the live change log keeps (as the live projector's setting). */
  changeLogSize?: number;
  log: Logger;
  batchSize?: number;
  /** Called about once a second while the copy catches up. */
  onProgress?: (progress: RebuildProgress) => void;
  /**
   * Stops the rebuild while the copy catches up (between two batches): the copy is dropped, the
   * live views stay as they were, and the rebuild rejects with the signal's reason.
   */
  signal?: AbortSignal;
}

/**
 * Rebuilds every view from position zero while queries go on reading the live ones:
 *   1. makes empty view tables in `read_next`, with the same migrations that made `read`;
 *   2. applies the event log to them, batch by batch, up to the live views' position;
 *   3. in one transaction, locking the live checkpoint against writers (the live projector pauses; reads go on), applies
 *      what came in meanwhile and swaps the schemas; queries then read the rebuilt views and the
 *      live projector carries on from the rebuilt checkpoint.
 */
export async function rebuildViews(options: RebuildOptions): Promise<{ applied: number; position: bigint }> {
  const { eventsDb, viewsDb, projections, feedLimit, log, batchSize = REBUILD_BATCH, changeLogSize, signal } = options;
  signal?.throwIfAborted();
  await createViewsCopy(viewsDb, REBUILD_SCHEMA);
  const views = defineViews(pgSchema(REBUILD_SCHEMA));
  const copy = new Projector({ eventsDb, viewsDb, projections, views, feedLimit, batchSize, log, changeLogSize: null });

  const started = performance.now();
  let lastReport = 0;
  // The copy goes no further than the live views have: what it applies is not logged, because the
  // live projector logged it; an event it applied ahead of the live views would reach no
  // subscriber. What comes after the live position is applied, and logged, in the swap below.
  const copyNext = async () => copy.applyNextBatch(await readCheckpoint(viewsDb));
  // Counting what remains reads the rest of the log: counted now and then, and estimated between.
  let counted = { at: performance.now(), applied: 0, remaining: await countEventsAfter(eventsDb, 0n) };
  let nextVacuum = performance.now() + VACUUM_FIRST_MS;
  try {
    for (let n = await copyNext(); n > 0; n = await copyNext()) {
      signal?.throwIfAborted();
      const now = performance.now();
      if (now >= nextVacuum) {
        await vacuumCopy(viewsDb);
        const took = performance.now() - now;
        nextVacuum = performance.now() + Math.max(VACUUM_FIRST_MS, VACUUM_SHARE * took);
      }
      if (options.onProgress && now - lastReport >= 1000) {
        lastReport = now;
        if (now - counted.at >= RECOUNT_MS) counted = { at: now, applied: copy.appliedEvents, remaining: await countEventsAfter(eventsDb, copy.position) };
        options.onProgress({
          applied: copy.appliedEvents,
          remaining: Math.max(0, counted.remaining - (copy.appliedEvents - counted.applied)),
          eventsPerSecond: copy.appliedEvents / ((now - started) / 1000),
          position: copy.position,
        });
      }
    }
  } catch (error) {
    if (signal?.aborted) await viewsDb.execute(sql.raw(`drop schema if exists "${REBUILD_SCHEMA}" cascade`));
    throw error;
  }

  const sameDatabase = eventsDb === viewsDb;
  const position = await viewsDb.transaction(async (tx) => {
    await tx.execute(sql`lock table read.checkpoints in exclusive mode`);
    // The copy must reach at least the live views' position, so that no reader sees time go back.
    const live = await readCheckpoint(tx);
    // The live change log goes on in the copy: its history stays, and the events applied below,
    // beyond the live position, are logged into it (the copy's own empty log is dropped).
    await tx.execute(sql.raw(`drop table ${REBUILD_SCHEMA}.changes`));
    await tx.execute(sql.raw(`alter table read.changes set schema ${REBUILD_SCHEMA}`));
    await tx.execute(
      sql.raw(`insert into ${REBUILD_SCHEMA}.checkpoints select * from read.checkpoints where name = '${CHANGE_LOG_CHECKPOINT}'`),
    );
    const unlogged = copy.target();
    const logged = { ...unlogged, changeLogSize: changeLogSize ?? DEFAULT_CHANGE_LOG_SIZE };
    const deadline = Date.now() + SWAP_WAIT_MS;
    for (;;) {
      const from = await readCheckpoint(tx, views);
      // One embedded connection cannot read outside the transaction it is in.
      const batch = await readEventsAfter(sameDatabase ? tx : eventsDb, from, batchSize);
      if (batch.length > 0) {
        // What the live views have applied was logged then; what they have not is logged now.
        const seen = batch.filter((event) => event.position <= live);
        const unseen = batch.filter((event) => event.position > live);
        await applyBatch(tx, seen, unlogged);
        await applyBatch(tx, unseen, logged);
        copy.appliedEvents += batch.length;
        await setImmediate(); // as between the copy's batches (Projector.applyNextBatch)
      } else if (from >= live) {
        break;
      } else if (Date.now() > deadline) {
        throw new Error(`the rebuilt views could not reach the live position ${live} in ${SWAP_WAIT_MS} ms; nothing was swapped`);
      } else {
        await sleep(10);
      }
    }
    await tx.execute(sql.raw(`alter schema read rename to read_old`));
    await tx.execute(sql.raw(`alter schema ${REBUILD_SCHEMA} rename to read`));
    await tx.execute(sql.raw(`drop schema read_old cascade`));
    return readCheckpoint(tx);
  });
  log.info({ applied: copy.appliedEvents, position: position.toString() }, 'views rebuilt and swapped in');
  return { applied: copy.appliedEvents, position };
}

/** Creates `schema` holding empty copies of the view tables, from the statements of the migrations. */
export async function createViewsCopy(db: Db, schema: string): Promise<void> {
  if (!/^[a-z_]+$/.test(schema) || schema === 'read') throw new Error(`not a schema for a copy: ${schema}`);
  const journal = JSON.parse(await readFile(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as { entries: { tag: string }[] };
  const statements: string[] = [];
  for (const { tag } of journal.entries) {
    const text = await readFile(join(migrationsFolder, `${tag}.sql`), 'utf8');
    for (const statement of text.split('--> statement-breakpoint')) {
      const trimmed = statement.trim();
      if (trimmed === 'CREATE SCHEMA "read";' || trimmed.includes('"read".')) {
        statements.push(trimmed.replaceAll('"read".', `"${schema}".`).replace('CREATE SCHEMA "read";', `CREATE SCHEMA "${schema}";`));
      }
    }
  }
  await db.transaction(async (tx) => {
    await tx.execute(sql.raw(`drop schema if exists "${schema}" cascade`));
    for (const statement of statements) await tx.execute(sql.raw(statement));
  });
}
