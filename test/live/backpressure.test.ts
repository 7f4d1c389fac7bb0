import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import WebSocket, { type ClientOptions } from 'ws';
import { DomainError } from '../../src/errors.ts';
import type { Topic } from '../../src/read/changes.ts';
import type { ChangeHub, ResumePoint } from '../../src/read/live/hub.ts';
import type { LiveMessage } from '../../src/read/live/subscriber.ts';
import { useTestApp, type Person, type Receipt } from '../support/app.ts';
import { databaseKind } from '../support/database.ts';
import { POST_CHANGE_FIELDS, useLiveServer } from '../support/live.ts';

/*
 * Slow, stalled and dead subscribers: each costs a bounded queue, is ended when it falls too far
 * behind (telling it where to resume), and never delays the others; a WebSocket that stops
 * answering pings is dropped with its subscriptions.
 */

const WALL = `subscription ($userId: ID!, $since: String) { wallChanged(userId: $userId, since: $since) { ${POST_CHANGE_FIELDS} } }`;

async function until(condition: () => boolean, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A `since` as clients send it, a position or a change's cursor (`<position>:<seq>`), as the hub takes it. */
function resumePoint(since: string): ResumePoint {
  const [position, seq] = since.split(':');
  return { position: BigInt(position!), seq: seq === undefined ? null : Number(seq) };
}

const describeChange = (m: LiveMessage) => ('end' in m ? `end ${m.end.message}` : `${m.kind} ${m.position} ${m.postId}`);

/** A subscriber taken straight from the hub; `read()` starts iterating it as a transport would. */
async function hubSubscriber(hub: ChangeHub, topic: Topic, viewer: Person, { since = null as string | null, wallId = null as string | null } = {}) {
  const from = since === null ? null : resumePoint(since);
  const subscriber = await hub.subscribe(topic, { viewerId: viewer.userId, since: from, authorize: async () => ({ wallId }) });
  const messages: LiveMessage[] = [];
  const state = { done: false };
  return {
    subscriber,
    messages,
    state,
    positions: () => messages.flatMap((m) => ('end' in m ? [] : [m.position.toString()])),
    /** Each change as `kind position post`, to compare streams that share positions. */
    changes: () => messages.flatMap((m) => ('end' in m ? [] : [describeChange(m)])),
    read() {
      void (async () => {
        for await (const message of subscriber) messages.push(message);
        state.done = true;
      })();
    },
  };
}

describe(`a subscriber that stops reading, at the hub (queue of 5, ${databaseKind()})`, () => {
  const t = useTestApp({ subscriptionQueue: 5, livePollMs: 200 });

  /** `n` edits of a post, each applied and delivered to `reader` before the next (a reader that keeps up). */
  async function paced(owner: Person, postId: string, n: number, reader: { positions(): string[] }) {
    const receipts: Receipt[] = [];
    for (let i = 0; i < n; i++) {
      const r = await t.command('editPost', { postId, body: `edit ${i}` }, owner.token);
      await t.settle();
      await until(() => reader.positions().includes(r.position), `edit ${i} at the reader`);
      receipts.push(r);
    }
    return receipts;
  }

  /** Reads a stalled subscriber to its end: the changes it still hands out, then its last message. */
  async function drain(subscriber: AsyncIterableIterator<LiveMessage>) {
    const out: LiveMessage[] = [];
    for (;;) {
      const next = await Promise.race([subscriber.next(), sleep(5000).then(() => 'timeout' as const)]);
      if (next === 'timeout') throw new Error(`the stalled subscriber did not end; it handed out ${out.length}`);
      if (next.done) return out;
      out.push(next.value);
    }
  }

  /** Checks the overflow message and resumes from the position it names; returns what the resume hands out. */
  async function expectRateLimitedAndResume(last: LiveMessage | undefined, owner: Person, expectedPosition: string | null, through: string) {
    expect(last && 'end' in last, 'the last message ends the subscription').toBe(true);
    const error = (last as { end: Error }).end;
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe('RATE_LIMITED');
    const named = /since: "(\d+(?::\d+)?)"/.exec(error.message)?.[1] ?? null;
    expect(named, `the message names where to resume: ${error.message}`).not.toBeNull();
    // A position, or a change's cursor (`<position>:<seq>`) naming the last change handed out.
    if (expectedPosition !== null) expect(named!.split(':')[0]).toBe(expectedPosition);
    const resumed = await hubSubscriber(t.app.live, { kind: 'wall', wallId: owner.userId }, owner, { since: named, wallId: owner.userId });
    resumed.read();
    await until(() => resumed.positions().includes(through), 'the resumed subscriber to catch up');
    void resumed.subscriber.return();
    return resumed.positions();
  }

  /*
   * A subscriber that overflows before it has handed out anything is still told exactly where to
   * resume (a cursor right before the oldest change it dropped): a client that follows the advice
   * loses nothing. (Until f6f1c1c it was told to "subscribe again" with no position at all.)
   * Note that an ended subscriber stays registered in the hub until it is read; a transport reads
   * it as soon as its socket takes the previous message.
   */
  it('a subscriber that never reads yields at most 5 changes, then RATE_LIMITED naming where to resume; the reader gets all 10', async () => {
    const owner = await t.register();
    const post = await t.command('publishPost', { body: 'watched by two' }, owner.token);
    await t.settle();
    const before = t.app.live.size;
    const stalled = await hubSubscriber(t.app.live, { kind: 'wall', wallId: owner.userId }, owner, { wallId: owner.userId });
    const reader = await hubSubscriber(t.app.live, { kind: 'wall', wallId: owner.userId }, owner, { wallId: owner.userId });
    reader.read();
    const edits = await paced(owner, post.aggregateId, 10, reader);
    expect(reader.positions()).toEqual(edits.map((r) => r.position));
    expect(reader.messages.some((m) => 'end' in m)).toBe(false);

    const out = await drain(stalled.subscriber);
    const changes = out.filter((m) => !('end' in m));
    expect(changes.length).toBeLessThanOrEqual(5);
    expect(out.slice(0, -1)).toEqual(changes);
    expect(t.app.live.size, 'the stalled subscriber left the hub; the reader is still there').toBe(before + 1);
    expect((await stalled.subscriber.next()).done).toBe(true);

    // No gap: what it handed out, then what a resume from the named position hands out, is every edit.
    const resumed = await expectRateLimitedAndResume(out.at(-1), owner, null, edits.at(-1)!.position);
    const handedOut = changes.map((m) => (m as { position: bigint }).position.toString());
    expect([...handedOut, ...resumed]).toEqual(edits.map((r) => r.position));
    void reader.subscriber.return();
  });

  it('a subscriber that read two and then stalled is ended naming the second, and resumes from it without a gap', async () => {
    const owner = await t.register();
    const post = await t.command('publishPost', { body: 'watched by two' }, owner.token);
    await t.settle();
    const before = t.app.live.size;
    const stalled = await hubSubscriber(t.app.live, { kind: 'wall', wallId: owner.userId }, owner, { wallId: owner.userId });
    const reader = await hubSubscriber(t.app.live, { kind: 'wall', wallId: owner.userId }, owner, { wallId: owner.userId });
    reader.read();
    const edits = await paced(owner, post.aggregateId, 2, reader);
    const firstTwo = [await stalled.subscriber.next(), await stalled.subscriber.next()].map((r) => (r.value as { position: bigint }).position.toString());
    expect(firstTwo).toEqual(edits.map((r) => r.position));
    edits.push(...(await paced(owner, post.aggregateId, 8, reader)));
    expect(reader.positions()).toEqual(edits.map((r) => r.position));

    const out = await drain(stalled.subscriber);
    const changes = out.filter((m) => !('end' in m));
    expect(changes.length).toBeLessThanOrEqual(5);
    expect(t.app.live.size).toBe(before + 1);
    const handedOut = [...firstTwo, ...changes.map((m) => (m as { position: bigint }).position.toString())];
    const resumed = await expectRateLimitedAndResume(out.at(-1), owner, handedOut.at(-1)!, edits.at(-1)!.position);
    expect([...handedOut, ...resumed]).toEqual(edits.map((r) => r.position));
    void reader.subscriber.return();
  });

  /*
   * A position means "everything at it was seen", so a subscriber that handed out only part of
   * one transaction's changes (here 2 of the 4 feed entries a new friendship brings at once) must
   * be told the last change's cursor (`<position>:<seq>`), not its position, or the resume skips
   * the rest of the transaction. (Until f6f1c1c the overflow named the position.)
   */
  it('a subscriber ended in the middle of one transaction’s changes resumes from the named point without losing the rest', async () => {
    const [reader, ann] = [await t.register(), await t.register()];
    for (let i = 0; i < 4; i++) await t.command('publishPost', { body: `ann ${i}` }, ann.token);
    await t.settle();
    const topic = { kind: 'feed', readerId: reader.userId } as const;
    const reference = await hubSubscriber(t.app.live, topic, reader);
    reference.read();
    const stalled = await hubSubscriber(t.app.live, topic, reader);
    // Four entries at one position (queued: 4 of 5), of which the stalled one hands out two.
    await t.befriend(reader, ann);
    await t.settle();
    await until(() => reference.messages.length >= 4, 'the four entries at the reference');
    const handedOut = [await stalled.subscriber.next(), await stalled.subscriber.next()].map((r) => describeChange(r.value as LiveMessage));
    // Then four more posts, one at a time: with 2 of the 4 still queued, the fourth overflows its queue of 5.
    for (let i = 4; i < 8; i++) {
      const r = await t.command('publishPost', { body: `ann ${i}` }, ann.token);
      await t.settle();
      await until(() => reference.positions().includes(r.position), `post ${i} at the reference`);
    }
    expect(reference.messages).toHaveLength(8);
    const out = await drain(stalled.subscriber);
    handedOut.push(...out.filter((m) => !('end' in m)).map(describeChange));
    const last = reference.messages.at(-1) as { position: bigint };
    const resumed = await expectRateLimitedAndResumeFeed(out.at(-1), reader, last.position.toString());
    expect([...handedOut, ...resumed]).toEqual(reference.changes());
    void reference.subscriber.return();
  });

  /** The same as expectRateLimitedAndResume, for a reader's feed; returns the resumed changes described. */
  async function expectRateLimitedAndResumeFeed(last: LiveMessage | undefined, reader: Person, through: string) {
    expect(last && 'end' in last && (last.end as DomainError).code).toBe('RATE_LIMITED');
    const message = (last as { end: Error }).end.message;
    const named = /since: "(\d+(?::\d+)?)"/.exec(message)?.[1] ?? null;
    expect(named, `the message names where to resume: ${message}`).not.toBeNull();
    const resumed = await hubSubscriber(t.app.live, { kind: 'feed', readerId: reader.userId }, reader, { since: named });
    resumed.read();
    await until(() => resumed.positions().includes(through), 'the resumed subscriber to catch up');
    void resumed.subscriber.return();
    return resumed.changes();
  }

  /*
   * The hub pushes a whole page of rows to a subscriber in one synchronous loop, so a reader
   * waiting in next() gets no chance to take any of them before the last is pushed. Here a new
   * friendship brings 6 posts into the reader's feed at once (queue of 5): the bound must count
   * what was waiting before the batch, or any new friend with more than SUBSCRIPTION_QUEUE (256)
   * visible posts would end every feed subscription of the reader. (It did until f6f1c1c.)
   */
  it('a reader waiting for changes is not ended by one transaction that brings more changes than its queue holds', async () => {
    const [reader, ann] = [await t.register(), await t.register()];
    for (let i = 0; i < 6; i++) await t.command('publishPost', { body: `ann ${i}` }, ann.token);
    await t.settle();
    const feed = await hubSubscriber(t.app.live, { kind: 'feed', readerId: reader.userId }, reader);
    feed.read();
    await t.befriend(reader, ann);
    await t.settle();
    await until(() => feed.messages.length >= 6 || feed.state.done, 'six feed entries or an end');
    expect(feed.messages.filter((m) => 'end' in m).map((m) => ('end' in m ? m.end.message : ''))).toEqual([]);
    expect(feed.messages).toHaveLength(6);
    void feed.subscriber.return();
  });
});

/** A bare graphql-transport-ws client, to stop reading or answering pings as a real client may. */
async function rawClient(url: string, token: string, options: ClientOptions = {}) {
  const socket = new WebSocket(url, 'graphql-transport-ws', options);
  const messages: { type: string; id?: string; payload?: any }[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data))));
  const closed = once(socket, 'close');
  await once(socket, 'open');
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
  await until(() => messages.some((m) => m.type === 'connection_ack'), 'connection_ack');
  return {
    socket,
    messages,
    closed,
    subscribe(id: string, query: string, variables: Record<string, unknown>) {
      socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
    },
    changes: () => messages.filter((m) => m.type === 'next').map((m) => m.payload?.data?.wallChanged),
  };
}

describe(`a WebSocket client that stops reading (${databaseKind()})`, () => {
  // Pings far apart: a client that does not read does not answer them either (see the next describe).
  const t = useTestApp({ livePollMs: 200, wsKeepAliveMs: 60_000 });
  const server = useLiveServer(t);

  /*
   * What this shows, and what it does not: the paused client's messages go into its TCP buffers
   * (the server's send buffer and the client kernel's receive buffer, hundreds of kilobytes to
   * megabytes on loopback) long before graphql-ws's send waits and the subscriber's own queue
   * (SUBSCRIPTION_QUEUE) starts to fill; so here the bound never comes into play, and the paused
   * client gets everything once it reads again. The point is that its stall is not shared: the
   * other subscriber of the same wall receives each change as promptly as without it.
   */
  it('does not delay another subscriber of the same wall', async () => {
    const [owner, friend] = [await t.register(), await t.register()];
    await t.befriend(owner, friend);
    const post = await t.command('publishPost', { body: 'a long post, edited often' }, owner.token);
    await t.settle();
    const before = t.app.live.size;

    const paused = await rawClient(server.ws, friend.token);
    paused.subscribe('1', WALL, { userId: owner.userId });
    await until(() => t.app.live.size === before + 1, 'the paused subscriber');
    paused.socket.pause();

    const normal = server.overWs(owner, WALL, { userId: owner.userId });
    await until(() => t.app.live.size === before + 2, 'the normal subscriber');

    const latencies: number[] = [];
    const edits: Receipt[] = [];
    for (let i = 0; i < 30; i++) {
      // Long bodies, so that the paused client has something to hold: about 5 kB a message.
      const r = await t.command('editPost', { postId: post.aggregateId, body: `${i} `.padEnd(4900, 'x') }, owner.token);
      await t.settle();
      const applied = Date.now();
      await normal.take(i + 1, 5000);
      latencies.push(Date.now() - applied);
      edits.push(r);
    }
    expect(normal.messages.map((m) => m.data?.['wallChanged'].position)).toEqual(edits.map((r) => r.position));
    expect(Math.max(...latencies), `latencies ${latencies.join(', ')} ms`).toBeLessThan(2000);
    expect(paused.changes(), 'the paused client read nothing meanwhile').toHaveLength(0);
    expect(t.app.live.size, 'both are still subscribed').toBe(before + 2);

    // Reading again, it gets everything: the socket buffers held it all.
    paused.socket.resume();
    await until(() => paused.changes().length >= edits.length, 'the paused client to catch up');
    expect(paused.changes().map((c) => c.position)).toEqual(edits.map((r) => r.position));
    paused.socket.close();
    await paused.closed;
    await until(() => t.app.live.size === before + 1, 'the closed client to leave the hub');
  });
});

describe(`a WebSocket client that stops answering pings (${databaseKind()})`, () => {
  const t = useTestApp({ livePollMs: 200, wsKeepAliveMs: 200 });
  const server = useLiveServer(t);

  it('is terminated by the server, and its subscriptions leave the hub; a live client stays', async () => {
    const owner = await t.register();
    await t.settle();
    const before = t.app.live.size;

    const alive = server.overWs(owner, WALL, { userId: owner.userId });
    await until(() => t.app.live.size === before + 1, 'the live subscriber');

    const dead = await rawClient(server.ws, owner.token, { autoPong: false });
    dead.subscribe('1', WALL, { userId: owner.userId });
    dead.subscribe('2', WALL, { userId: owner.userId });
    await until(() => t.app.live.size === before + 3, 'the dead client’s two subscriptions');
    let pinged = 0;
    dead.socket.on('ping', () => pinged++);

    const started = Date.now();
    const [code] = (await Promise.race([dead.closed, sleep(5000).then(() => ['still open'])])) as [number | string];
    expect(code, 'the server cut the connection (no close frame: 1006)').toBe(1006);
    expect(pinged).toBeGreaterThanOrEqual(1);
    expect(Date.now() - started).toBeLessThan(5000);
    await until(() => t.app.live.size === before + 1, 'the dead subscriptions to leave the hub', 5000);

    // The client that answers pings is still served.
    const published = await t.command('publishPost', { body: 'still listening' }, owner.token);
    const [message] = await alive.take(1);
    expect(message!.data?.['wallChanged']).toMatchObject({ kind: 'ADDED', position: published.position });
  });
});
