/*
 * (5) Each command's rate and latency over HTTP GraphQL: publishPost, likePost and addComment each
 * alone, 16 connections of wrk, for a fixed time after a warm-up of its own; each request a
 * different signed-in person with a valid input (plans.ts), every answer with GraphQL errors
 * counted as an error. The server runs with the projector in the process (ROLE=all); publishPost
 * once more without it (ROLE=api). CPU per command, of the server process and of the database's
 * backends, counts from the start of the load until the views have applied what it wrote, so with
 * the projector it includes the command's projection. Each rate is also put as a share of the
 * write ceiling (4).
 */
import type { CommandName } from '../common.ts';
import type { BenchContext, Phase } from '../context.ts';
import { waitForViews } from '../positions.ts';

const RUNS: { command: CommandName; projector: boolean }[] = [
  { command: 'publishPost', projector: true },
  { command: 'likePost', projector: true },
  { command: 'addComment', projector: true },
  { command: 'publishPost', projector: false },
];

export const commands: Phase = {
  name: 'commands',
  title: 'commands over HTTP GraphQL',
  budgetSeconds: (o) => RUNS.length * (o.warmup + o.seconds) * 4 + 180,
  async run(ctx: BenchContext) {
    const { options } = ctx;
    const failures: string[] = [];
    for (const { command, projector } of RUNS) {
      const label = `${command}${projector ? '' : ' (ROLE=api, no projector)'}`;
      if (projector) await ctx.settle(`before ${command}`);
      const server = await ctx.server({ projector });
      // One plan for both runs: a like planned twice would be CONFLICT the second time.
      const plan = await ctx.planner.commands(command, Math.ceil(options.planRate * (options.warmup + options.seconds)));
      const warmup = plan.slice(0, Math.ceil(options.planRate * options.warmup));
      const planned = plan.slice(warmup.length);
      const wrk = { connections: options.connections, expect: '"position"' };
      await ctx.httpLoad(server, { ...wrk, seconds: options.warmup, requests: warmup });
      if (projector) await waitForViews(ctx.sql, options.settleSeconds * 1000, ctx.signal);
      let projectedMs = 0;
      const r = await ctx.httpLoad(server, { ...wrk, seconds: options.seconds, requests: planned }, async () => {
        if (projector) projectedMs = await waitForViews(ctx.sql, options.settleSeconds * 1000, ctx.signal);
      });
      if (r.wrapped) ctx.say(`${label}: the plan of ${planned.length} ran out and was sent again from its start (a like then answers CONFLICT): raise --plan-rate`);
      if (projector) ctx.measured.commandRates[command] = r.rate;
      ctx.say(
        `${label}: ${r.rate.toFixed(0)}/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, ${r.bad} errors${r.firstBad ? ` (first: ${r.firstBad})` : ''}; ` +
          `CPU per command: server ${r.serverCpu.toFixed(2)} ms, PostgreSQL ${r.postgresCpu.toFixed(2)} ms` +
          (projector ? `; the views applied the run ${(projectedMs / 1000).toFixed(1)} s after the load ended` : ''),
      );
      ctx.figure(`${label}: rate (${options.connections} connections)`, r.rate, '/s');
      ctx.figure(`${label}: p50`, r.p50, 'ms');
      ctx.figure(`${label}: p99`, r.p99, 'ms');
      ctx.figure(`${label}: errors`, r.bad, 'answers');
      ctx.figure(`${label}: server CPU per command${projector ? ' (with its projection)' : ''}`, r.serverCpu, 'ms');
      ctx.figure(`${label}: PostgreSQL CPU per command${projector ? ' (with its projection)' : ''}`, r.postgresCpu, 'ms');
      if (projector) ctx.figure(`${label}: views caught up after the load`, projectedMs / 1000, 's');
      if (ctx.measured.ceilingTps) ctx.figure(`${label}: share of the write ceiling`, (100 * r.rate) / ctx.measured.ceilingTps, '%');
      ctx.detail(label, r);
      // Every request was planned to succeed: an error is the server's (or the plan's) to explain.
      if (r.bad) failures.push(`${label}: ${r.bad} answers with errors (first: ${r.firstBad})`);
    }
    if (failures.length) throw new Error(failures.join('; '));
  },
};
