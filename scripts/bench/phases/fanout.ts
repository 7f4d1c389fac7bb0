/*
 * (9) Fan-out: one post by the world's celebrity (world.ts --celebrity: 5,000 friends in the full
 * world, every other person in smaller ones), on its own wall, so it enters the feeds of all its
 * friends and its own. From the post's receipt (noted by the subscribers' process that publishes
 * it), two times: until read.feed_entries holds it for every one of those readers (polled every
 * 10 ms by the bench), and until it reached the live feedChanged subscribers (the first 500 of the
 * friends, over graphql-ws from that separate process): the median subscriber and the last.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchContext, Phase } from '../context.ts';
import { SubscribersProcess } from '../subscribers-process.ts';
import type { Receipt } from '../subscribers.ts';

/** Bound on the wait for the post to reach every feed and subscriber. */
const WAIT_MS = 120_000;

export const fanout: Phase = {
  name: 'fanout',
  title: 'fan-out of one post to every friend of the celebrity',
  budgetSeconds: (o) => o.settleSeconds + WAIT_MS / 1000 + o.fanoutSubscribers / 20 + 90,
  async run(ctx: BenchContext) {
    const { celebrityId, celebrityFriends } = ctx.world;
    if (!celebrityId) throw new Error('the world has no celebrity (--fanout-friends 0)');
    const readers = celebrityFriends.length + 1;
    const subscribed = celebrityFriends.slice(0, ctx.options.fanoutSubscribers);
    const server = await ctx.server({ projector: true, openFiles: SubscribersProcess.openFiles(subscribed.length) });
    await ctx.settle('before the fan-out');
    const subscribers = await SubscribersProcess.start(
      {
        url: server.url,
        subscribers: subscribed.map((id) => ctx.planner.token(id)),
        posts: [{ token: ctx.planner.token(celebrityId), body: 'One post for every friend.' }],
        rate: 1,
        expected: [subscribed.length],
        waitMs: WAIT_MS,
        connectConcurrency: 100,
      },
      server,
      120_000,
      ctx.signal,
    );
    try {
      ctx.say(`fan-out: ${subscribed.length} of the celebrity's ${celebrityFriends.length} friends subscribed to feedChanged in ${subscribers.ready.connectSeconds.toFixed(1)} s; posting`);
      const receipt = new Promise<Receipt>((resolve) => subscribers.onReceipt(resolve));
      const report = subscribers.go();
      // Awaited below; a phase that fails before that stops the process, and this report fails with it.
      report.catch(() => {});
      // The report comes first only when the post was not published (its failure is awaited below).
      const first = await Promise.race([receipt, report.then(() => null, () => null)]);
      if (!first) throw new Error(`the post was not published: ${(await report).firstPostError}`);
      const { postId, at } = first;
      let inFeeds: number | null = null;
      const started = performance.now();
      while (performance.now() - started < WAIT_MS) {
        ctx.signal.throwIfAborted();
        // Who holds the post, one probe of the feed's key per reader (feed_entries has no index on
        // the post: a count by post would read every feed, and compete with what it measures).
        const [row] = await ctx.sql<{ n: number }[]>`
          select count(*)::int as n from read.posts p
          join read.feed_entries e on e.post_id = p.post_id and e.created_at = p.created_at
          where p.post_id = ${postId} and e.reader_id = any(${[celebrityId, ...celebrityFriends]}::uuid[])`;
        if (row!.n >= readers) {
          inFeeds = performance.timeOrigin + performance.now() - at;
          break;
        }
        await sleep(10);
      }
      const done = await report;
      if (inFeeds === null) throw new Error(`the post did not reach all ${readers} feeds within ${WAIT_MS / 1000} s`);
      ctx.say(
        `fan-out: in all ${readers} feeds ${inFeeds.toFixed(0)} ms after its receipt; ${done.messages} of ${subscribed.length} live subscribers had it, ` +
          `median ${done.p50.toFixed(0)} ms, last ${done.max.toFixed(0)} ms${done.subscriptionErrors ? `; ${done.subscriptionErrors} subscription errors (first: ${done.firstSubscriptionError})` : ''}`,
      );
      ctx.figure(`post in all ${readers} feeds (read.feed_entries), after its receipt`, inFeeds, 'ms');
      ctx.figure(`post at the median of ${subscribed.length} live subscribers`, done.p50, 'ms');
      ctx.figure(`post at all ${subscribed.length} live subscribers (the last)`, done.messages === subscribed.length ? done.max : null, 'ms');
      ctx.figure('live subscribers who got it', done.messages, 'subscribers');
      if (done.messages < subscribed.length || done.postErrors) {
        throw new Error(`${done.messages} of ${subscribed.length} subscribers got the post${done.postErrors ? `; publishPost failed: ${done.firstPostError}` : ''}`);
      }
    } finally {
      await subscribers.stop();
    }
  },
};
