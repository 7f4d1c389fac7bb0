/*
 * (8) Rebuild rate: the code path of `npm run projector -- --rebuild` (src/projector/rebuild.ts,
 * rebuildViews: a Projector applying the whole log into the copy schema read_next, then the swap),
 * run in this process over the run database's whole log, with no server running. Bounded by
 * --rebuild-seconds through the rebuild's abort signal: when the bound comes first, it stops
 * between two batches, drops the copy and leaves the live views as they were (checked here). The
 * rate is the rebuild's own (events applied / time since it started); the time for the whole log
 * is estimated from it, or measured when it finishes.
 */
import { openDatabase } from '../../../src/db/connect.ts';
import { createLogger } from '../../../src/logger.ts';
import { rebuildViews, REBUILD_SCHEMA, type RebuildProgress } from '../../../src/projector/rebuild.ts';
import { allProjections } from '../../../src/read/views/index.ts';
import { dbUrl } from '../common.ts';
import type { BenchContext, Phase } from '../context.ts';
import { readPositions } from '../positions.ts';

export const rebuild: Phase = {
  name: 'rebuild',
  title: 'rebuild of every view from the whole log',
  // The bound, and the swap after it when it finishes: what arrived meanwhile (nothing: no server runs).
  budgetSeconds: (o) => o.rebuildSeconds + 120,
  async run(ctx: BenchContext) {
    const { options, sql } = ctx;
    await ctx.settle('before the rebuild');
    await ctx.stopServer();
    const [{ events } = { events: 0 }] = await sql<{ events: number }[]>`select count(*)::int as events from write.events`;
    const live = await readPositions(sql);
    const database = await openDatabase({ url: dbUrl(ctx.db) });
    const bound = new AbortController();
    const timer = setTimeout(() => bound.abort(new Error(`stopped after ${options.rebuildSeconds} s`)), options.rebuildSeconds * 1000);
    let last: RebuildProgress | null = null;
    let lastSaid = performance.now();
    const started = performance.now();
    try {
      const result = await rebuildViews({
        eventsDb: database.db,
        viewsDb: database.db,
        projections: allProjections,
        feedLimit: options.world.feedLimit,
        log: createLogger('warn'),
        signal: AbortSignal.any([bound.signal, ctx.signal]),
        onProgress: (progress) => {
          last = progress;
          if (performance.now() - lastSaid >= 15_000) {
            lastSaid = performance.now();
            ctx.say(`rebuild: ${progress.applied} of ${events} events, ${progress.eventsPerSecond.toFixed(0)} events/s, ${progress.remaining} remaining`);
          }
        },
      });
      const seconds = (performance.now() - started) / 1000;
      ctx.say(`rebuild: finished, ${result.applied} events in ${seconds.toFixed(1)} s (${(result.applied / seconds).toFixed(0)} events/s), swapped in at position ${result.position}`);
      ctx.figure('rebuild rate', result.applied / seconds, 'events/s');
      ctx.figure(`rebuild of the whole log (${events} events), measured`, seconds, 's');
    } catch (error) {
      if (!bound.signal.aborted || ctx.signal.aborted) throw error;
      const progress = last as RebuildProgress | null;
      if (!progress) throw new Error(`the rebuild applied no batch in ${options.rebuildSeconds} s`);
      const [{ copies } = { copies: 0 }] = await sql<{ copies: number }[]>`select count(*)::int as copies from pg_namespace where nspname = ${REBUILD_SCHEMA}`;
      const after = await readPositions(sql);
      if (copies > 0 || after.checkpoint !== live.checkpoint) throw new Error(`the stopped rebuild left ${REBUILD_SCHEMA} behind or moved the live views`);
      ctx.say(
        `rebuild: ${(error as Error).message} with ${progress.applied} of ${events} events applied (${progress.eventsPerSecond.toFixed(0)} events/s); ` +
          `the copy is dropped and the live views are as they were`,
      );
      ctx.figure(`rebuild rate (stopped after ${options.rebuildSeconds} s)`, progress.eventsPerSecond, 'events/s');
      ctx.figure(`rebuild of the whole log (${events} events), estimated`, events / progress.eventsPerSecond, 's');
    } finally {
      clearTimeout(timer);
      await database.close();
    }
  },
};
