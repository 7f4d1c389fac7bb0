import { EventEmitter } from 'node:events';
import { setImmediate, setTimeout as sleep } from 'node:timers/promises';
import { eq, sql, type SQL } from 'drizzle-orm';
import type { Db, Tx } from '../db/connect.ts';
import { views as liveViews, type Views } from '../db/schema/read.ts';
import type { Logger } from '../logger.ts';
import { CHANGES_CHANNEL, createChangeStage, DEFAULT_CHANGE_LOG_SIZE, publishStagedChanges, trimChangeLog } from '../read/changes.ts';
import { readCheckpoint, VIEWS_CHECKPOINT } from '../read/checkpoint.ts';
import type { Projection } from '../read/projection.ts';
import { DEFAULT_FEED_LIMIT } from '../read/views/feed.ts';
import type { RecordedEvent } from '../write/events.ts';
import { readEventsAfter } from '../write/event-log.ts';

export interface ProjectorOptions {
  /** Where the event log is (the write database). Only the log is read from it. */
  eventsDb: Db;
  /** Where the views and the checkpoint are. */
  viewsDb: Db;
  projections: readonly Projection[];
  /** The view tables to fill: the live `read` ones unless a rebuild says otherwise. */
  views?: Views;
  /** Entries kept per reader in the feed. */
  feedLimit?: number;
  /**
   * Rows the change log keeps for live subscribers; null: log nothing (a rebuild's copy, whose
   * history the live log already told).
   */
  changeLogSize?: number | null;
  log: Logger;
  /** Transactions per batch. */
  batchSize?: number;
  /** Polling fallback: a missed wake-up delays the views by at most this long. */
  pollMs?: number;
  /**
   * One active projector per views database: `start()` runs batches only while holding this
   * lock, and a second instance waits for it (it is freed when the holder stops or dies).
   */
  acquireLock?: () => Promise<(() => Promise<void>) | null>;
}

/**
 * Transactions per batch at most, for the live views. Under a steady load a batch holds what
 * committed since the last one; after a pause or a burst, a longer batch catches up at less cost
 * per event (a batch's statements cost about the same whatever its length), while the bound keeps
 * one batch's transaction, and the wait of the changes at its end, short.
 */
export const LIVE_BATCH = 5000;

class CheckpointMoved extends Error {}

/** What a process needs of its projector, whether it runs in this thread or in a worker (thread.ts). */
export interface ProjectorHandle {
  start(): void;
  /** Stops after the batch in hand. */
  stop(): Promise<void>;
  /** Something was committed: look at the log now rather than at the next poll. */
  wake(): void;
  /** Applies batches until none is left; resolves with how many events were applied. */
  catchUp(): Promise<number>;
  /** Listens for each applied batch's last position (after its commit). */
  onApplied(listener: (position: bigint) => void): () => void;
  onBatch(listener: (batch: AppliedBatch) => void): () => void;
}

/** The announcements of a projector handle (see ProjectorHandle), for its implementations. */
export abstract class ProjectorSignals {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  /** Listens for each applied batch's last position (after its commit). */
  onApplied(listener: (position: bigint) => void): () => void {
    this.emitter.on('applied', listener);
    return () => this.emitter.off('applied', listener);
  }

  /** Listens for each batch applied by this projector. */
  onBatch(listener: (batch: AppliedBatch) => void): () => void {
    this.emitter.on('batch', listener);
    return () => this.emitter.off('batch', listener);
  }

  protected announceApplied(position: bigint): void {
    this.emitter.emit('applied', position);
  }

  protected announceBatch(batch: AppliedBatch): void {
    this.emitter.emit('batch', batch);
  }
}

export interface AppliedBatch {
  position: bigint;
  events: number;
  ms: number;
}

export interface BatchTarget {
  views: Views;
  projections: readonly Projection[];
  feedLimit: number;
  /** Rows the change log keeps; null logs no changes. */
  changeLogSize: number | null;
}

/**
 * Applies one batch of events to the views and moves the checkpoint, inside `tx`: each projection
 * queues its set-based statements (see read/projection.ts), and they all go to the database
 * together. When it logs changes, it also trims the log and NOTIFYs the API processes (delivered
 * at commit).
 */
export async function applyBatch(tx: Tx, batch: readonly RecordedEvent[], { views, projections, feedLimit, changeLogSize }: BatchTarget) {
  const last = batch.at(-1);
  if (!last) return;
  const logChanges = changeLogSize !== null;
  const statements: Promise<unknown>[] = [];
  const run = (statement: SQL) => void statements.push(tx.execute(statement));
  let failure: unknown = null;
  try {
    // A batch sorts and joins tens of thousands of rows at once: in memory, not in temporary files.
    run(sql`set local work_mem = '64MB'`);
    run(createChangeStage);
    for (const projection of projections) await projection.apply({ views, feedLimit, logChanges, run }, batch);
    run(sql`update ${views.checkpoints} set position = ${last.position.toString()}::bigint, updated_at = now() where name = ${VIEWS_CHECKPOINT}`);
    if (logChanges) {
      for (const statement of publishStagedChanges(views)) run(statement);
      run(trimChangeLog(views, changeLogSize));
      run(sql`select pg_notify(${CHANGES_CHANNEL}, ${last.position.toString()})`);
    }
  } catch (error) {
    failure = error;
  }
  // Every queued statement settles before the transaction ends, whichever failed; the first
  // failure in queue order is the cause (those after it only saw the transaction aborted).
  const settled = await Promise.allSettled(statements);
  const rejected = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure !== null) throw failure;
  if (rejected) throw rejected.reason;
}

/**
 * Applies the event log to the views, batch by batch; each batch's view writes and its checkpoint
 * commit together, so a crash neither skips nor repeats an event. Woken by `wake()` (after a
 * local commit or a NOTIFY), and by a poll.
 */
export class Projector extends ProjectorSignals implements ProjectorHandle {
  private running = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private pending = false;
  private checkpointExists = false;
  /** The batch after the one being applied, being read meanwhile (while catching up). */
  private readAhead: { after: bigint; events: Promise<RecordedEvent[]> } | null = null;
  /** Whether this instance holds the projector lock and applies batches. */
  active = false;
  /** The last position this process saw applied. */
  position = 0n;
  /** Events this process has applied since it started. */
  appliedEvents = 0;

  constructor(private readonly options: ProjectorOptions) {
    super();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
    this.loop = null;
  }

  wake(): void {
    this.pending = true;
    this.wakeUp?.();
  }

  /**
   * Applies batches until none is left, or until `goOn` says to stop (each batch is a transaction
   * of its own, so stopping between two loses nothing); returns how many events were applied.
   */
  async catchUp(goOn: () => boolean = () => true): Promise<number> {
    let total = 0;
    for (;;) {
      const applied = await this.applyNextBatch();
      total += applied;
      if (applied === 0 || !goOn()) return total;
    }
  }

  /**
   * Applies one batch; returns how many events it held (0 when caught up). With `upTo`, only
   * events at or below that position (a rebuild's copy stays behind the live views: see rebuild.ts).
   */
  async applyNextBatch(upTo?: bigint): Promise<number> {
    const { eventsDb, viewsDb, batchSize = LIVE_BATCH } = this.options;
    const target = this.target();
    const { views } = target;
    const { checkpoints } = views;
    if (!this.checkpointExists) {
      // A row to lock from the first batch on (see below).
      await viewsDb.insert(checkpoints).values({ name: VIEWS_CHECKPOINT, position: 0n, updatedAt: new Date() }).onConflictDoNothing();
      this.checkpointExists = true;
    }
    const from = await readCheckpoint(viewsDb, views);
    const ahead = this.readAhead;
    this.readAhead = null;
    const read = ahead?.after === from ? await ahead.events : await readEventsAfter(eventsDb, from, batchSize);
    const batch = upTo === undefined ? read : read.filter((event) => event.position <= upTo);
    const last = batch.at(-1);
    if (!last) {
      this.advance(from);
      return 0;
    }
    // A full batch means more is waiting: the next one is read while this one is applied.
    if (read.length > 0 && batch.length === read.length && new Set(read.map((e) => e.position)).size >= batchSize) {
      const after = last.position;
      const events = readEventsAfter(eventsDb, after, batchSize);
      events.catch(() => {}); // a failed read-ahead is read again, in turn
      this.readAhead = { after, events };
    }
    const started = performance.now();
    try {
      await viewsDb.transaction(async (tx) => {
        // The row lock makes two projectors on one database take turns instead of both applying;
        // the second read sees a rebuild's swap that happened while this one waited for the lock.
        await tx.select({ position: checkpoints.position }).from(checkpoints).where(eq(checkpoints.name, VIEWS_CHECKPOINT)).for('update');
        if ((await readCheckpoint(tx, views)) !== from) throw new CheckpointMoved();
        await applyBatch(tx, batch, target);
      });
    } catch (error) {
      if (error instanceof CheckpointMoved) return this.applyNextBatch(upTo);
      throw error;
    }
    this.appliedEvents += batch.length;
    this.announceBatch({ position: last.position, events: batch.length, ms: performance.now() - started });
    this.advance(last.position);
    // The event loop's turn before the next batch: on PGlite a query resolves in promise jobs
    // alone, and a long catch-up would otherwise hold the process (no request read, no timer, no
    // signal) until it was done.
    await setImmediate();
    return batch.length;
  }

  /** Where and how this projector applies batches. */
  target(): BatchTarget {
    const { projections, views = liveViews, feedLimit = DEFAULT_FEED_LIMIT, changeLogSize = DEFAULT_CHANGE_LOG_SIZE } = this.options;
    return { views, projections, feedLimit, changeLogSize };
  }

  private advance(position: bigint) {
    if (position > this.position) {
      this.position = position;
      this.announceApplied(position);
    }
  }

  private async run(): Promise<void> {
    const { pollMs = 1000, log, acquireLock } = this.options;
    let release: (() => Promise<void>) | null = null;
    try {
      while (this.running) {
        if (acquireLock && !release) {
          release = await acquireLock().catch((error: unknown) => {
            log.error({ err: error }, 'projector could not ask for its lock');
            return null;
          });
          if (!release) {
            await this.idle(pollMs);
            continue;
          }
          log.info('projector active: this process applies the events');
        }
        this.active = true;
        this.pending = false;
        try {
          // A stop ends the catch-up after the batch in hand, not after the whole backlog.
          const applied = await this.catchUp(() => this.running);
          if (applied > 0) log.debug({ applied, position: this.position.toString() }, 'projector applied events');
        } catch (error) {
          log.error({ err: error }, 'projector batch failed; retrying');
          await sleep(Math.min(pollMs, 200));
        }
        if (!this.running) break;
        if (this.pending) continue;
        await this.idle(pollMs);
      }
    } finally {
      this.active = false;
      await release?.();
    }
  }

  private idle(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        this.wakeUp = null;
        resolve();
      };
    });
  }
}
