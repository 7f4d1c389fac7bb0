/*
 * (11) Feed and wall pages over GraphQL: read.ts's (c), the home feed (feed(first: 20) with
 * authors, counts, likedByMe and the latest comments), and the same page of wall(userId:) of a
 * random friend of the reader; 32 connections of wrk, random readers each with their own token,
 * for a fixed time after a warm-up, against the server with its projector (ROLE=all) and the views
 * at the log's head. CPU per page of the server process and of the database's backends.
 */
import type { BenchContext, Phase } from '../context.ts';

/** Requests a plan holds: pages may repeat, so the plan is walked again when it runs out. */
const PLAN_SIZE = 20_000;

export const pages: Phase = {
  name: 'pages',
  title: 'feed and wall pages over HTTP GraphQL',
  budgetSeconds: (o) => 2 * (o.warmup + o.seconds) + o.settleSeconds + 90,
  async run(ctx: BenchContext) {
    const { options } = ctx;
    await ctx.settle('before the pages');
    const server = await ctx.server({ projector: true });
    const failures: string[] = [];
    for (const kind of ['feed', 'wall'] as const) {
      const requests = ctx.planner.pages(kind, PLAN_SIZE);
      const wrk = { connections: options.pageConnections, requests, expect: '"nodes":[', count: '"likedByMe"' };
      await ctx.httpLoad(server, { ...wrk, seconds: options.warmup });
      const r = await ctx.httpLoad(server, { ...wrk, seconds: options.seconds });
      const postsPerPage = r.counted / Math.max(1, r.good);
      ctx.say(
        `${kind} pages: ${r.rate.toFixed(0)}/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, ${r.bad} errors${r.firstBad ? ` (first: ${r.firstBad})` : ''}; ` +
          `CPU per page: server ${r.serverCpu.toFixed(2)} ms, PostgreSQL ${r.postgresCpu.toFixed(2)} ms; ${postsPerPage.toFixed(1)} posts a page`,
      );
      ctx.figure(`${kind} page: rate (${options.pageConnections} connections)`, r.rate, '/s');
      ctx.figure(`${kind} page: p50`, r.p50, 'ms');
      ctx.figure(`${kind} page: p99`, r.p99, 'ms');
      ctx.figure(`${kind} page: errors`, r.bad, 'answers');
      ctx.figure(`${kind} page: server CPU per page`, r.serverCpu, 'ms');
      ctx.figure(`${kind} page: PostgreSQL CPU per page`, r.postgresCpu, 'ms');
      ctx.figure(`${kind} page: posts per page`, postsPerPage, 'posts');
      ctx.detail(kind, r);
      if (r.bad) failures.push(`${kind} pages: ${r.bad} answers with errors (first: ${r.firstBad})`);
    }
    if (failures.length) throw new Error(failures.join('; '));
  },
};
