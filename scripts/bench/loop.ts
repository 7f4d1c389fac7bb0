/*
 * Closed-loop load in this process: `concurrency` loops each calling `op` again as soon as it
 * returns, for a fixed time (or a number of operations); the latency of every operation is kept
 * for the percentiles. Errors are counted, not thrown, and the first one is kept to be shown.
 */
import { percentile } from './common.ts';

export interface LoopResult {
  ops: number;
  errors: number;
  seconds: number;
  p50: number;
  p99: number;
  firstError: string | null;
}

/** A bound on every run besides its time, so the latency array has a size. */
const MAX_OPS = 2_000_000;

export async function closedLoop(concurrency: number, seconds: number, op: () => Promise<unknown>, maxOps = MAX_OPS): Promise<LoopResult> {
  const latencies = new Float64Array(Math.min(maxOps, MAX_OPS));
  let ops = 0;
  let errors = 0;
  let firstError: string | null = null;
  const started = performance.now();
  const end = started + seconds * 1000;
  const loop = async () => {
    while (performance.now() < end && ops + errors < latencies.length) {
      const t = performance.now();
      try {
        await op();
        latencies[ops++] = performance.now() - t;
      } catch (error) {
        errors++;
        firstError ??= (error as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const sorted = latencies.slice(0, ops).sort();
  return { ops, errors, seconds: (performance.now() - started) / 1000, p50: percentile(sorted, 50), p99: percentile(sorted, 99), firstError };
}
