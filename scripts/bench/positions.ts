/*
 * How far the views are behind the log, seen from outside the server: the head of the event log
 * (the newest committed transaction that wrote events) and the views' checkpoint, read in one
 * statement (one snapshot) on the bench's own connection.
 *
 * The lag of a sample is how long after it the checkpoint first reached the head that sample saw:
 * the time an event committed at that moment waited to be in the views, to within the polling
 * interval (10 ms) and one statement.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type postgres from 'postgres';

export interface PositionSample {
  /** performance.now() when the statement answered. */
  at: number;
  head: bigint;
  checkpoint: bigint;
}

export async function readPositions(sql: postgres.Sql): Promise<PositionSample> {
  const [row] = await sql<{ head: string | null; position: string | null }[]>`
    select (select max(tx_id)::text from write.events) as head,
           (select position::text from read.checkpoints where name = 'views') as position`;
  return { at: performance.now(), head: BigInt(row?.head ?? 0), checkpoint: BigInt(row?.position ?? 0) };
}

/**
 * Waits until the views' checkpoint has reached the log's head (seen in one sample), polling
 * every `intervalMs`; resolves with how long that took (ms). Fails after `timeoutMs`.
 */
export async function waitForViews(sql: postgres.Sql, timeoutMs: number, signal?: AbortSignal, intervalMs = 10): Promise<number> {
  const started = performance.now();
  for (;;) {
    signal?.throwIfAborted();
    const { head, checkpoint, at } = await readPositions(sql);
    if (checkpoint >= head) return at - started;
    if (at - started > timeoutMs) {
      throw new Error(`the views did not reach the log's head within ${(timeoutMs / 1000).toFixed(0)} s (checkpoint ${checkpoint}, head ${head})`);
    }
    await sleep(intervalMs);
  }
}

/** Samples the positions every `intervalMs` (a fixed schedule) until stopped. */
export class PositionPoller {
  readonly samples: PositionSample[] = [];
  private running = true;
  private failure: Error | null = null;
  private readonly loop: Promise<void>;

  constructor(
    private readonly sql: postgres.Sql,
    private readonly intervalMs = 10,
  ) {
    this.loop = this.run();
  }

  /** Polls until a sample taken after `from` (performance.now()) has the checkpoint at its head, or `timeoutMs` after `from`. */
  async untilCaughtUp(from: number, timeoutMs: number, signal?: AbortSignal): Promise<PositionSample | null> {
    for (;;) {
      signal?.throwIfAborted();
      if (this.failure) throw this.failure;
      const last = this.samples.at(-1);
      if (last && last.at >= from && last.checkpoint >= last.head) return last;
      if (performance.now() - from > timeoutMs || !this.running) return null;
      await sleep(this.intervalMs);
    }
  }

  /** Stops polling; fails if a statement failed. */
  async stop(): Promise<PositionSample[]> {
    this.running = false;
    await this.loop;
    if (this.failure) throw this.failure;
    return this.samples;
  }

  private async run() {
    let next = performance.now();
    try {
      while (this.running) {
        this.samples.push(await readPositions(this.sql));
        next += this.intervalMs;
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
        else next = performance.now(); // a slow statement: the schedule starts again rather than bursting
      }
    } catch (error) {
      // Kept for untilCaughtUp() and stop(), which the phase awaits.
      this.failure = error as Error;
      this.running = false;
    }
  }
}

/**
 * Each sample's lag (ms): from the sample to the first later (or same) sample whose checkpoint had
 * reached the head it saw. Samples the checkpoint never caught up with are counted apart.
 */
export function lagsOf(samples: readonly PositionSample[]): { lags: number[]; unresolved: number } {
  const lags: number[] = [];
  let j = 0;
  for (let i = 0; i < samples.length; i++) {
    // Heads and checkpoints only grow, so the first sample to catch up with sample i is at or after
    // the one that caught up with sample i - 1.
    if (j < i) j = i;
    while (j < samples.length && samples[j]!.checkpoint < samples[i]!.head) j++;
    if (j === samples.length) return { lags, unresolved: samples.length - i };
    lags.push(samples[j]!.at - samples[i]!.at);
  }
  return { lags, unresolved: 0 };
}
