import { EventEmitter } from 'node:events';
import { eq } from 'drizzle-orm';
import type { Db } from '../db/connect.ts';
import { views as liveViews, type Views } from '../db/schema/read.ts';
import type { Logger } from '../logger.ts';
import { readCheckpoint, VIEWS_CHECKPOINT } from '../read/checkpoint.ts';
import type { Projection } from '../read/projection.ts';
import { DEFAULT_FEED_LIMIT } from '../read/views/feed.ts';
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
  log: Logger;
  /** Transactions per batch. */
  batchSize?: number;
  /** Polling fallback: a missed wake-up delays the views by at most this long. */
  pollMs?: number;
}

class CheckpointMoved extends Error {}

/**
 * Applies the event log to the views, batch by batch; each batch's view writes and its checkpoint
 * commit together. Woken by `wake()` (after a local commit or a NOTIFY), and by a poll.
 */
export class Projector {
  private readonly emitter = new EventEmitter();
  private running = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private pending = false;
  private checkpointExists = false;
  /** The last position this process saw applied. */
  position = 0n;

  constructor(private readonly options: ProjectorOptions) {
    this.emitter.setMaxListeners(0);
  }

  /** Listens for each applied batch's last position. */
  onApplied(listener: (position: bigint) => void): () => void {
    this.emitter.on('applied', listener);
    return () => this.emitter.off('applied', listener);
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

  /** Applies batches until none is left; returns how many events were applied. */
  async catchUp(): Promise<number> {
    let total = 0;
    for (let n = await this.applyNextBatch(); n > 0; n = await this.applyNextBatch()) total += n;
    return total;
  }

  /** Applies one batch; returns how many events it held (0 when caught up). */
  async applyNextBatch(): Promise<number> {
    const { eventsDb, viewsDb, projections, batchSize = 200, views = liveViews, feedLimit = DEFAULT_FEED_LIMIT } = this.options;
    const { checkpoints } = views;
    if (!this.checkpointExists) {
      // A row to lock from the first batch on (see below).
      await viewsDb
        .insert(checkpoints)
        .values({ name: VIEWS_CHECKPOINT, position: 0n, updatedAt: new Date() })
        .onConflictDoNothing();
      this.checkpointExists = true;
    }
    const from = await readCheckpoint(viewsDb, views);
    const batch = await readEventsAfter(eventsDb, from, batchSize);
    const last = batch.at(-1);
    if (!last) {
      this.advance(from);
      return 0;
    }
    try {
      await viewsDb.transaction(async (tx) => {
        // The row lock makes two projectors on one database take turns instead of both applying.
        const [row] = await tx
          .select({ position: checkpoints.position })
          .from(checkpoints)
          .where(eq(checkpoints.name, VIEWS_CHECKPOINT))
          .for('update');
        if ((row?.position ?? 0n) !== from) throw new CheckpointMoved();
        for (const event of batch) {
          for (const projection of projections) await projection.apply({ tx, views, feedLimit }, event);
        }
        await tx
          .update(checkpoints)
          .set({ position: last.position, updatedAt: new Date() })
          .where(eq(checkpoints.name, VIEWS_CHECKPOINT));
      });
    } catch (error) {
      if (error instanceof CheckpointMoved) return this.applyNextBatch();
      throw error;
    }
    this.advance(last.position);
    return batch.length;
  }

  private advance(position: bigint) {
    if (position > this.position) {
      this.position = position;
      this.emitter.emit('applied', position);
    }
  }

  private async run(): Promise<void> {
    const { pollMs = 1000, log } = this.options;
    while (this.running) {
      this.pending = false;
      try {
        const applied = await this.catchUp();
        if (applied > 0) log.debug({ applied, position: this.position.toString() }, 'projector applied events');
      } catch (error) {
        log.error({ err: error }, 'projector batch failed; retrying');
      }
      if (!this.running) break;
      if (this.pending) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = null;
    }
  }
}
