import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '../db/connect.ts';
import { readCheckpoint } from './checkpoint.ts';

export interface ConsistencyResult {
  /** The position the views had applied when the answer was read. */
  position: bigint;
  /** True when a requested position was not reached in time. */
  stale: boolean;
}

/**
 * Read-your-writes: waits, with a bound, until the views have applied a receipt's position.
 * `subscribe` (the local projector's applied events) answers at once; polling the checkpoint
 * covers positions applied by a projector in another process.
 */
export class ProjectionStatus {
  constructor(
    private readonly viewsDb: Db,
    private readonly subscribe?: (listener: (position: bigint) => void) => () => void,
    private readonly pollMs = 20,
  ) {}

  applied(): Promise<bigint> {
    return readCheckpoint(this.viewsDb);
  }

  async waitFor(position: bigint | null, timeoutMs: number): Promise<ConsistencyResult> {
    let applied = await this.applied();
    if (position === null || applied >= position) return { position: applied, stale: false };
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
}
