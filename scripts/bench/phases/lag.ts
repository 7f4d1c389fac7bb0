/*
 * (6) Projection lag under a sustained mix at a fixed rate: posts 20%, likes 40%, comments 40%,
 * sent open-loop by wrk (plan.lua paces itself to the rate: each request at its slot, whatever
 * became of the ones before, as long as a connection is free) to the server with its projector
 * (ROLE=all), for a fixed time. The rate is --mix-rate: commands per second, or a share of the
 * fastest command measured in (5) (default 100%: the server's own maximum for one command).
 *
 * Lag is measured from outside (positions.ts): every 10 ms a poller reads the log's head and the
 * views' checkpoint; a sample's lag is how long after it the checkpoint first reached the head it
 * saw. After the load stops, the catch-up time is how long until the checkpoint reaches the head.
 */
import type { BenchContext, Phase } from '../context.ts';
import { percentile } from '../common.ts';
import { lagsOf, PositionPoller } from '../positions.ts';

/** The rate when --mix-rate is a share and no command was measured in this run. */
const FALLBACK_RATE = 100;

export function mixRate(ctx: BenchContext): number {
  const { mixRate } = ctx.options;
  if (!mixRate.endsWith('%')) return Number(mixRate);
  const fastest = Math.max(0, ...Object.values(ctx.measured.commandRates).map((r) => r ?? 0));
  if (fastest === 0) {
    ctx.say(`--mix-rate ${mixRate} of the fastest command, but the commands phase did not run: ${FALLBACK_RATE} commands/s`);
    return FALLBACK_RATE;
  }
  return (fastest * Number(mixRate.slice(0, -1))) / 100;
}

export const lag: Phase = {
  name: 'lag',
  title: 'projection lag under the mix at a fixed rate',
  budgetSeconds: (o) => 2 * o.lagSeconds + o.settleSeconds * 2 + 90,
  async run(ctx: BenchContext) {
    const { options } = ctx;
    await ctx.settle('before the mix');
    const server = await ctx.server({ projector: true });
    const rate = mixRate(ctx);
    const requests = await ctx.planner.commands('mix', Math.ceil(rate * options.lagSeconds * 1.1) + 10);
    const poller = new PositionPoller(ctx.sql);
    const measured = ctx
      .httpLoad(server, { connections: options.mixConnections, seconds: options.lagSeconds, requests, expect: '"position"', rate })
      .then(async (result) => {
        const end = performance.now();
        await poller.untilCaughtUp(end, options.settleSeconds * 1000, ctx.signal);
        return { r: result, loadEnd: end };
      })
      .finally(() => poller.stop());
    const { r, loadEnd } = await measured;
    const samples = poller.samples;
    const during = samples.filter((s) => s.at <= loadEnd);
    const { lags, unresolved } = lagsOf(samples);
    const duringLags = lags.slice(0, during.length).sort((a, b) => a - b);
    const caughtUp = samples.find((s) => s.at >= loadEnd && s.checkpoint >= s.head);
    const catchUp = caughtUp ? (caughtUp.at - loadEnd) / 1000 : null;
    ctx.say(
      `mix at ${rate.toFixed(0)}/s for ${options.lagSeconds} s: sent ${r.rate.toFixed(0)}/s, ${r.bad} errors${r.firstBad ? ` (first: ${r.firstBad})` : ''}; ` +
        `lag p50 ${percentile(duringLags, 50).toFixed(0)} ms, p99 ${percentile(duringLags, 99).toFixed(0)} ms, max ${(duringLags.at(-1) ?? NaN).toFixed(0)} ms ` +
        `(${during.length} samples${unresolved ? `, ${unresolved} never caught up with` : ''}); caught up ${catchUp === null ? 'NOT within the bound' : `${catchUp.toFixed(1)} s`} after the load`,
    );
    ctx.figure('mix rate asked (posts 20%, likes 40%, comments 40%)', rate, '/s');
    ctx.figure('mix rate answered', r.rate, '/s');
    ctx.figure('mix errors', r.bad, 'answers');
    ctx.figure('command p50 under the mix', r.p50, 'ms');
    ctx.figure('command p99 under the mix', r.p99, 'ms');
    ctx.figure('lag p50', percentile(duringLags, 50), 'ms');
    ctx.figure('lag p99', percentile(duringLags, 99), 'ms');
    ctx.figure('lag max', duringLags.at(-1) ?? null, 'ms');
    ctx.figure('catch-up after the load stopped', catchUp, 's');
    ctx.detail('samples', during.length);
    ctx.detail('wrk', r);
    if (r.bad) throw new Error(`${r.bad} answers with errors (first: ${r.firstBad})`);
    if (catchUp === null) throw new Error(`the views did not reach the log's head within ${options.settleSeconds} s of the load's end`);
  },
};
