import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '../db/connect.ts';
import { readCheckpoint } from './checkpoint.ts';

export interface ConsistencyResult {
  /** The position the views had applied when the answer was read. */
  position: bigint;
  /** True when a requested position was not reached in time. */
  stale: boolean;
}

/** How old a known position may be and still be reported to a query that asked for none. */
export const DEFAULT_POSITION_MAX_AGE_MS = 100;

/**
 * Read-your-writes: waits, with a bound, until the views have applied a receipt's position.
 * `subscribe` (the local projector's applied events) answers at once; polling the checkpoint
 * covers positions applied by a projector in another process.
 *
 * Every query reports a position, and reading the checkpoint for each one was a round trip per
 * request. The position a query reports is a lower bound: the views have applied at least that
 * much when the answer is read (they never go back, a rebuild included), and may have applied
 * more. So a query that asked for no position is answered with the newest position this process
 * knows, if it is recent: one the local projector announced after its commit, or a checkpoint read
 * at most `maxAgeMs` ago (concurrent queries share one read). Neither can be a position the views
 * have not applied. A query that asks for a position the known one does not reach reads the
 * checkpoint itself, as before.
 */
export class ProjectionStatus {
  /** A position the views are known to have applied. */
  private known = 0n;
  /** When `known` was last confirmed by a checkpoint read (performance.now(), taken before the read). */
  private knownAt = -Infinity;
  private reading: Promise<bigint> | null = null;

  constructor(
    private readonly viewsDb: Db,
    private readonly subscribe?: (listener: (position: bigint) => void) => () => void,
    private readonly pollMs = 20,
    private readonly maxAgeMs = DEFAULT_POSITION_MAX_AGE_MS,
  ) {
    // Announced after the batch's transaction committed: applied, and visible to later reads.
    this.subscribe?.((position) => this.learn(position, performance.now()));
  }

  /** The checkpoint, read now. */
  async applied(): Promise<bigint> {
    const started = performance.now();
    const position = await readCheckpoint(this.viewsDb);
    this.learn(position, started);
    return position;
  }

  /** A position the views have applied, known within the last `maxAgeMs`; null when none is that recent. */
  recent(): bigint | null {
    return performance.now() - this.knownAt <= this.maxAgeMs ? this.known : null;
  }

  /** A recent position the views have applied: `recent()`, or one shared checkpoint read. */
  current(): Promise<bigint> {
    const recent = this.recent();
    if (recent !== null) return Promise.resolve(recent);
    this.reading ??= this.applied().finally(() => {
      this.reading = null;
    });
    return this.reading;
  }

  async waitFor(position: bigint | null, timeoutMs: number): Promise<ConsistencyResult> {
    const known = await this.current();
    if (position === null || known >= position) return { position: known, stale: false };
    let applied = await this.applied();
    if (applied >= position) return { position: applied, stale: false };
    const deadline = Date.now() + timeoutMs;
    let notified = false;
    const unsubscribe = this.subscribe?.((p) => {
      if (p >= position) notified = true;
    });
    try {
      while (Date.now() < deadline) {
        await sleep(Math.min(this.pollMs, Math.max(1, deadline - Date.now())));
        if (notified || Date.now() >= deadline || (applied = await this.applied()) >= position) break;
      }
      applied = await this.applied();
      return { position: applied, stale: applied < position };
    } finally {
      unsubscribe?.();
    }
  }

  /**
   * Raises the known position (never lowers it). `at` is a moment at which the views had applied
   * `position`; from then on `known` (the larger) is at least what they had applied then.
   */
  private learn(position: bigint, at: number) {
    if (position > this.known) this.known = position;
    if (at > this.knownAt) this.knownAt = at;
  }
}
