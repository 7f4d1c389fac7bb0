/*
 * (7) Catch-up over a backlog: the server runs without its projector (ROLE=api) while wrk writes
 * a backlog of N commands of the mix as fast as 16 connections go (plan.lua stops at the plan's
 * end); then a server with the projector (ROLE=all) starts on it, and the poller (positions.ts)
 * times the views from the checkpoint's first move to the log's head. Events per second are
 * counted from that first move (the first batch, begun while the server was still starting, is
 * left out of both events and time), and put as a multiple of the rate the backlog was written at:
 * below 1, the projector cannot keep up with the API at full speed.
 */
import type { BenchContext, Phase } from '../context.ts';
import { PositionPoller, readPositions } from '../positions.ts';

async function eventsBetween(ctx: BenchContext, after: bigint, upTo: bigint): Promise<number> {
  const [row] = await ctx.sql<{ n: number }[]>`
    select count(*)::int as n from write.events where tx_id > ${after.toString()}::xid8 and tx_id <= ${upTo.toString()}::xid8`;
  return row!.n;
}

export const catchup: Phase = {
  name: 'catchup',
  title: 'projector catch-up over a backlog',
  budgetSeconds: (o) => o.backlog / 10 + o.settleSeconds * 2 + 120,
  async run(ctx: BenchContext) {
    const { options } = ctx;
    await ctx.settle('before the backlog');
    const api = await ctx.server({ projector: false });
    const requests = await ctx.planner.commands('mix', options.backlog);
    const written = await ctx.httpLoad(api, { connections: options.connections, seconds: options.backlog / 10 + 10, requests, expect: '"position"', once: true });
    await ctx.stopServer();
    const start = await readPositions(ctx.sql);
    const backlog = await eventsBetween(ctx, start.checkpoint, start.head);
    ctx.say(
      `backlog: ${backlog} events from ${requests.length} commands of the mix, written in ${written.seconds.toFixed(1)} s by ROLE=api ` +
        `(${written.bad} errors${written.firstBad ? `, first: ${written.firstBad}` : ''}); starting a server with its projector`,
    );

    const poller = new PositionPoller(ctx.sql);
    let listening = 0;
    const done = await ctx
      .server({ projector: true })
      .then(() => {
        listening = performance.now();
        return poller.untilCaughtUp(listening, options.settleSeconds * 1000, ctx.signal);
      })
      .finally(() => poller.stop());
    if (!done) throw new Error(`the projector did not apply the backlog of ${backlog} events within ${options.settleSeconds} s`);
    const firstMove = poller.samples.find((s) => s.checkpoint > start.checkpoint)!;
    const timed = await eventsBetween(ctx, firstMove.checkpoint, done.checkpoint);
    const afterFirst = (done.at - firstMove.at) / 1000;
    const sinceListening = (done.at - listening) / 1000;
    // A backlog of one batch has no time after its first batch: then from the server listening.
    const rate = afterFirst > 0 ? timed / afterFirst : backlog / sinceListening;
    ctx.say(
      `catch-up: ${backlog} events applied ${sinceListening.toFixed(1)} s after the server listened; ${rate.toFixed(0)} events/s ` +
        (afterFirst > 0 ? `(${timed} events after the first batch in ${afterFirst.toFixed(1)} s)` : '(one batch: from the server listening)'),
    );
    ctx.figure('backlog (commands of the mix, ROLE=api)', backlog, 'events');
    // Every command of the mix appends one event, but count them: the load's own figure misses answers in flight at its end.
    const writtenRate = backlog / written.seconds;
    ctx.figure('backlog written at', writtenRate, 'events/s');
    ctx.figure('backlog applied, from the server listening', sinceListening, 's');
    ctx.figure('catch-up rate', rate, 'events/s');
    ctx.figure('catch-up rate / rate the backlog was written at', rate / writtenRate, 'x');
    ctx.detail('written', written);
    if (written.bad) throw new Error(`${written.bad} commands of the backlog answered with errors (first: ${written.firstBad})`);
  },
};
