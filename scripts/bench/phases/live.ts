/*
 * (10) Live subscribers: 1,000 and then 10,000 feedChanged subscribers over graphql-ws on one
 * server process (a fresh one per round, with the projector, node --expose-gc, and the open-file
 * limit raised for the sockets), connected from a separate process (subscribers.ts). Subscribers
 * are chosen around authors: a random person and all their friends, then another, until there
 * are enough (in a world smaller than the count, every person subscribes several times); posts are
 * then written at --live-rate by those authors, so each post has friends listening.
 *
 * Memory per subscriber: the server's RSS (and V8 heap) after every subscription is registered
 * minus before, each after a full GC, divided by the subscribers. Delivery latency: from each
 * post's receipt to each subscriber's feedChanged message with it (the subscribers' process
 * publishes, so both times are on one clock); delivered is checked against what the feed rule
 * says each post should bring (its author and the author's friends among the subscribers). The
 * views' lag while posting (positions.ts) says how much of that time the projector takes.
 */
import type { BenchContext, Phase } from '../context.ts';
import { percentile } from '../common.ts';
import { lagsOf, PositionPoller, waitForViews } from '../positions.ts';
import { SubscribersProcess } from '../subscribers-process.ts';

/**
 * How long the subscribers wait for the messages still expected after the last receipt: when the
 * projector falls behind the posts, they come late, and late is a figure; lost would be another.
 */
const WAIT_MS = 120_000;
/** Connections opened at once. */
const CONNECT_CONCURRENCY = 200;

/** Readers to subscribe (with repeats when the world is smaller than `count`) and the authors whose friends they are. */
function chooseSubscribers(ctx: BenchContext, count: number): { readers: string[]; authors: string[] } {
  const { planner } = ctx;
  if (count >= planner.people.length) {
    const readers = Array.from({ length: count }, (_, i) => planner.people[i % planner.people.length]!);
    return { readers, authors: planner.people };
  }
  const chosen = new Set<string>();
  const authors: string[] = [];
  while (chosen.size < count) {
    const author = planner.pick(planner.people);
    if (authors.includes(author)) continue;
    authors.push(author);
    for (const reader of [author, ...planner.friendsOf(author)]) if (chosen.size < count) chosen.add(reader);
  }
  return { readers: [...chosen], authors };
}

export const live: Phase = {
  name: 'live',
  title: 'live feed subscribers: memory and delivery',
  budgetSeconds: (o) => o.live.reduce((s, n) => s + n / 100 + o.liveSeconds + WAIT_MS / 1000 + o.settleSeconds + 90, 0),
  async run(ctx: BenchContext) {
    const { options, planner } = ctx;
    for (const count of options.live) {
      const { readers, authors } = chooseSubscribers(ctx, count);
      const subscriptionsOf = new Map<string, number>();
      for (const r of readers) subscriptionsOf.set(r, (subscriptionsOf.get(r) ?? 0) + 1);
      const posts = Array.from({ length: Math.max(1, Math.round(options.liveRate * options.liveSeconds)) }, () => planner.pick(authors));
      const expected = posts.map((author) => [author, ...planner.friendsOf(author)].reduce((n, reader) => n + (subscriptionsOf.get(reader) ?? 0), 0));

      const server = await ctx.server({ projector: true, nodeArgs: ['--expose-gc'], openFiles: SubscribersProcess.openFiles(count) }, true);
      await waitForViews(ctx.sql, options.settleSeconds * 1000, ctx.signal);
      const before = await server.stats('memory');
      const subscribers = await SubscribersProcess.start(
        {
          url: server.url,
          subscribers: readers.map((r) => planner.token(r)),
          posts: posts.map((author) => ({ token: planner.token(author), body: planner.text(4, 40) })),
          rate: options.liveRate,
          expected,
          waitMs: WAIT_MS,
          connectConcurrency: CONNECT_CONCURRENCY,
        },
        server,
        Math.max(60_000, count * 20),
        ctx.signal,
      );
      try {
        const after = await server.stats('memory');
        const rssPer = (after.rss - before.rss) / count;
        const heapPer = (after.heapUsed - before.heapUsed) / count;
        ctx.say(
          `live ${count}: connected in ${subscribers.ready.connectSeconds.toFixed(1)} s; server RSS ${(before.rss / 2 ** 20).toFixed(0)} -> ${(after.rss / 2 ** 20).toFixed(0)} MB ` +
            `(${(rssPer / 1024).toFixed(1)} KB per subscriber; heap ${(heapPer / 1024).toFixed(1)} KB); posting ${posts.length} posts at ${options.liveRate}/s`,
        );
        // The views' lag while the posts go out: how much of the delivery time is the projector's.
        const poller = new PositionPoller(ctx.sql);
        const go = performance.now();
        const done = await subscribers.go().finally(() => poller.stop());
        const posting = poller.samples.filter((s) => s.at <= go + done.postSeconds * 1000).length;
        const lags = lagsOf(poller.samples).lags.slice(0, posting).sort((a, b) => a - b);
        ctx.say(
          `live ${count}: ${done.posted} posts in ${done.postSeconds.toFixed(1)} s, ${done.messages} of ${done.expected} expected messages, ` +
            `delivery p50 ${done.p50.toFixed(0)} ms, p99 ${done.p99.toFixed(0)} ms, max ${done.max.toFixed(0)} ms; ` +
            `the views' lag meanwhile p50 ${percentile(lags, 50).toFixed(0)} ms, p99 ${percentile(lags, 99).toFixed(0)} ms` +
            (done.postErrors ? `; ${done.postErrors} posts failed (first: ${done.firstPostError})` : '') +
            (done.subscriptionErrors ? `; ${done.subscriptionErrors} subscription errors (first: ${done.firstSubscriptionError})` : ''),
        );
        ctx.figure(`${count} subscribers: server memory per subscriber (RSS, after GC)`, rssPer / 1024, 'KB');
        ctx.figure(`${count} subscribers: server heap per subscriber (after GC)`, heapPer / 1024, 'KB');
        ctx.figure(`${count} subscribers: time to connect and subscribe`, subscribers.ready.connectSeconds, 's');
        ctx.figure(`${count} subscribers: posts written`, done.posted / done.postSeconds, '/s');
        ctx.figure(`${count} subscribers: delivery p50 (receipt to message)`, done.p50, 'ms');
        ctx.figure(`${count} subscribers: delivery p99`, done.p99, 'ms');
        ctx.figure(`${count} subscribers: messages delivered / expected`, done.expected ? (100 * done.messages) / done.expected : null, '%');
        ctx.figure(`${count} subscribers: the views' lag while posting, p50`, percentile(lags, 50), 'ms');
        ctx.figure(`${count} subscribers: the views' lag while posting, p99`, percentile(lags, 99), 'ms');
        ctx.detail(`round ${count}`, { before, after, ...done, perPost: undefined });
        if (done.postErrors || done.subscriptionErrors) throw new Error(`${done.postErrors} posts failed, ${done.subscriptionErrors} subscription errors`);
      } finally {
        await subscribers.stop();
        await ctx.stopServer();
      }
    }
  },
};
