import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { Projector } from '../../src/projector/projector.ts';
import { rebuildViews } from '../../src/projector/rebuild.ts';
import type { Topic } from '../../src/read/changes.ts';
import { ChangeHub } from '../../src/read/live/hub.ts';
import { DEFAULT_FEED_LIMIT } from '../../src/read/views/feed.ts';
import { allProjections } from '../../src/read/views/index.ts';
import { useTestApp, type Person, type Receipt, type TestApp } from '../support/app.ts';
import { databaseKind } from '../support/database.ts';
import { POST_CHANGE_FIELDS, useLiveServer } from '../support/live.ts';

/*
 * Resuming with `since`: a subscriber that passes a receipt's position first gets every change
 * logged after it, oldest first, then live ones, with no gap and no duplicate, even while a writer
 * keeps changing what it watches; a position the log no longer covers is refused; and the log,
 * with the positions in it, survives a rebuild of the views.
 *
 * Each scenario records what every command should show the subscriber (kind, post, the receipt's
 * position), and the subscriber must receive exactly the expected entries whose position is
 * after `since`, in position order. Posts that are deleted are never changed after `since` before
 * their deletion: an update logged for a post that is gone by the time it is read is dropped by
 * design (its REMOVED follows), so it would make the expectation depend on timing.
 */

const log = createLogger('silent');
const WALL = `subscription ($userId: ID!, $since: String) { wallChanged(userId: $userId, since: $since) { ${POST_CHANGE_FIELDS} } }`;
const FEED = `subscription ($since: String) { feedChanged(since: $since) { ${POST_CHANGE_FIELDS} } }`;

type Kind = 'ADDED' | 'UPDATED' | 'REMOVED';
/** What a subscriber should see of one command: [kind, postId, position]. */
type Seen = [Kind, string, string];

const change = (m: { data?: any } | undefined) => m?.data?.wallChanged ?? m?.data?.feedChanged;
const seen = (m: { data?: any; errors?: unknown }): Seen => {
  expect(m.errors, JSON.stringify(m.errors)).toBeUndefined();
  const c = change(m);
  return [c.kind, c.postId, c.position];
};

/** Runs commands and records what each should show one subscriber (null: nothing). */
class Recorder {
  readonly entries: { position: bigint; seen: Seen | null }[] = [];
  constructor(private readonly t: TestApp) {}

  async run(field: string, input: Record<string, unknown>, by: Person, shows: (r: Receipt) => [Kind, string] | null): Promise<Receipt> {
    const receipt = await this.t.command(field, input, by.token);
    const what = shows(receipt);
    this.entries.push({ position: BigInt(receipt.position), seen: what ? [what[0], what[1], receipt.position] : null });
    return receipt;
  }

  /** What a subscriber resuming after `since` must receive, in order. */
  after(since: string): Seen[] {
    return this.entries
      .filter((e) => e.position > BigInt(since) && e.seen)
      .sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0))
      .map((e) => e.seen!);
  }
}

/** No duplicate positions, positions in order (one command shows each subscriber at most one change here). */
function expectOrdered(received: Seen[]) {
  const positions = received.map(([, , p]) => BigInt(p));
  for (let i = 1; i < positions.length; i++) expect(positions[i]! > positions[i - 1]!, `positions in order: ${positions.join(', ')}`).toBe(true);
}

async function until(condition: () => boolean, what: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A subscriber iterated straight from a hub, as the transports do, collecting what it yields. */
async function hubSubscriber(hub: ChangeHub, topic: Topic, viewer: Person, since: string | null, wallId: string | null, { deferReading = false } = {}) {
  const from = since === null ? null : { position: BigInt(since), seq: null };
  const subscriber = await hub.subscribe(topic, { viewerId: viewer.userId, since: from, authorize: async () => ({ wallId }) });
  const got: Seen[] = [];
  const state = { ended: null as Error | null, done: false };
  const read = () =>
    void (async () => {
      for await (const message of subscriber) {
        if ('end' in message) state.ended = message.end;
        else got.push([message.kind, message.postId, message.position.toString()]);
      }
      state.done = true;
    })();
  if (!deferReading) read();
  return { subscriber, got, state, read };
}

describe(`resuming with since (${databaseKind()})`, () => {
  const t = useTestApp({ livePollMs: 200 });
  const { overWs } = useLiveServer(t);

  /** A wall (owner and a friend) with history before `since`, and a writer that goes on. */
  async function wallScenario() {
    const [owner, friend] = [await t.register(), await t.register()];
    await t.befriend(owner, friend);
    const rec = new Recorder(t);
    const wall = (r: Receipt) => r.aggregateId;
    const doomed = await rec.run('publishPost', { body: 'to be deleted, untouched until then' }, owner, (r) => ['ADDED', wall(r)]);
    const p1 = await rec.run('publishPost', { body: 'one' }, owner, (r) => ['ADDED', wall(r)]);
    const p2 = await rec.run('publishPost', { body: 'two, by a friend', wallOwnerId: owner.userId }, friend, (r) => ['ADDED', wall(r)]);
    const since = await rec.run('editPost', { postId: p1.aggregateId, body: 'one, edited' }, owner, () => ['UPDATED', p1.aggregateId]);
    await rec.run('likePost', { postId: p2.aggregateId }, owner, () => ['UPDATED', p2.aggregateId]);
    await rec.run('addComment', { postId: p1.aggregateId, body: 'after since' }, friend, () => ['UPDATED', p1.aggregateId]);
    // The friend's own wall: nothing for this one.
    await rec.run('publishPost', { body: 'elsewhere' }, friend, () => null);
    await t.settle();

    const writer = async (rounds: number, progress: { done: number }) => {
      for (let i = 0; i < rounds; i++) {
        const post = await rec.run('publishPost', { body: `live ${i}`, wallOwnerId: owner.userId }, i % 2 ? friend : owner, (r) => ['ADDED', r.aggregateId]);
        if (i % 2) await rec.run('likePost', { postId: post.aggregateId }, owner, () => ['UPDATED', post.aggregateId]);
        else await rec.run('editPost', { postId: post.aggregateId, body: `live ${i}, edited` }, owner, () => ['UPDATED', post.aggregateId]);
        await rec.run('addComment', { postId: p2.aggregateId, body: `comment ${i}` }, friend, () => ['UPDATED', p2.aggregateId]);
        if (i === Math.floor(rounds / 2)) await rec.run('deletePost', { postId: doomed.aggregateId }, owner, () => ['REMOVED', doomed.aggregateId]);
        progress.done++;
      }
    };
    return { owner, friend, rec, since: since.position, writer };
  }

  /** A reader with two friends, and a friend of a friend whose posts stay out of the reader's feed. */
  async function feedScenario() {
    const [reader, ann, bob, cy] = [await t.register(), await t.register(), await t.register(), await t.register()];
    await t.befriend(reader, ann);
    await t.befriend(reader, bob);
    await t.befriend(ann, cy);
    const rec = new Recorder(t);
    const doomed = await rec.run('publishPost', { body: 'doomed' }, ann, (r) => ['ADDED', r.aggregateId]);
    const a1 = await rec.run('publishPost', { body: 'ann one' }, ann, (r) => ['ADDED', r.aggregateId]);
    const b1 = await rec.run('publishPost', { body: 'bob one' }, bob, (r) => ['ADDED', r.aggregateId]);
    // On ann's wall, by someone the reader does not know: not in the reader's feed.
    const c1 = await rec.run('publishPost', { body: "cy on ann's wall", wallOwnerId: ann.userId }, cy, () => null);
    const since = await rec.run('publishPost', { body: "ann on the reader's wall", wallOwnerId: reader.userId }, ann, (r) => ['ADDED', r.aggregateId]);
    await rec.run('editPost', { postId: a1.aggregateId, body: 'ann one, edited' }, ann, () => ['UPDATED', a1.aggregateId]);
    await rec.run('likePost', { postId: c1.aggregateId }, ann, () => null);
    await rec.run('addComment', { postId: b1.aggregateId, body: 'nice' }, reader, () => ['UPDATED', b1.aggregateId]);
    await t.settle();

    const writer = async (rounds: number, progress: { done: number }) => {
      for (let i = 0; i < rounds; i++) {
        // Fan-out: the reader's friends' posts enter the feed; cy's do not, nor do changes to them.
        const author = [ann, bob, cy][i % 3]!;
        const post = await rec.run('publishPost', { body: `live ${i}` }, author, (r) => (author === cy ? null : ['ADDED', r.aggregateId]));
        await rec.run('likePost', { postId: post.aggregateId }, author === cy ? ann : reader, () => (author === cy ? null : ['UPDATED', post.aggregateId]));
        await rec.run('addComment', { postId: a1.aggregateId, body: `comment ${i}` }, i % 2 ? reader : ann, () => ['UPDATED', a1.aggregateId]);
        if (i === Math.floor(rounds / 2)) await rec.run('deletePost', { postId: doomed.aggregateId }, ann, () => ['REMOVED', doomed.aggregateId]);
        progress.done++;
      }
    };
    return { reader, rec, since: since.position, writer };
  }

  it('wallChanged over graphql-ws: the changes after a receipt, then live ones, while a writer goes on', async () => {
    const { owner, friend, rec, since, writer } = await wallScenario();
    const progress = { done: 0 };
    const writing = writer(8, progress);
    await until(() => progress.done >= 2, 'the writer to start');
    const stream = overWs(friend, WALL, { userId: owner.userId, since });
    await writing;
    await t.settle();
    const expected = rec.after(since);
    expect(expected.length).toBeGreaterThan(25);
    await stream.take(expected.length);
    await sleep(300);
    const received = stream.messages.map(seen);
    expectOrdered(received);
    expect(received).toEqual(expected);
  });

  it('feedChanged over graphql-ws: fanned-out entries and updates of posts in the feed after a receipt, then live ones', async () => {
    const { reader, rec, since, writer } = await feedScenario();
    const progress = { done: 0 };
    const writing = writer(9, progress);
    await until(() => progress.done >= 2, 'the writer to start');
    const stream = overWs(reader, FEED, { since });
    await writing;
    await t.settle();
    const expected = rec.after(since);
    expect(expected.length).toBeGreaterThan(20);
    await stream.take(expected.length);
    await sleep(300);
    const received = stream.messages.map(seen);
    expectOrdered(received);
    expect(received).toEqual(expected);
  });

  it('resumes page by page (2 rows a page) while live changes queue up, for a wall and a feed', async () => {
    // A hub of its own with tiny pages, woken by the app's projector like the app's hub.
    const hub = new ChangeHub({ viewsDb: t.app.readDatabase.db, log, pageSize: 2, pollMs: 100 });
    const stop = t.app.projector!.onBatch(() => hub.wake());
    try {
      const wall = await wallScenario();
      const feed = await feedScenario();
      const wallProgress = { done: 0 };
      const feedProgress = { done: 0 };
      const writing = Promise.all([wall.writer(8, wallProgress), feed.writer(9, feedProgress)]);
      await until(() => wallProgress.done >= 1 && feedProgress.done >= 1, 'the writers to start');
      const onWall = await hubSubscriber(hub, { kind: 'wall', wallId: wall.owner.userId }, wall.friend, wall.since, wall.owner.userId);
      const onFeed = await hubSubscriber(hub, { kind: 'feed', readerId: feed.reader.userId }, feed.reader, feed.since, null);
      await writing;
      await t.settle();
      for (const [sub, rec, since] of [[onWall, wall.rec, wall.since], [onFeed, feed.rec, feed.since]] as const) {
        const expected = rec.after(since);
        await until(() => sub.got.length >= expected.length || sub.state.done, `${expected.length} changes`);
        await sleep(300);
        expect(sub.state.ended).toBeNull();
        expectOrdered(sub.got);
        expect(sub.got).toEqual(expected);
        void sub.subscriber.return();
      }
    } finally {
      stop();
      await hub.close();
    }
  });

  /*
   * One transaction can make several changes for one subscriber at the same position (here: a new
   * friendship brings three of the friend's posts into the reader's feed at once). A client cut
   * off after the first of them resumes with that message's `cursor` and gets the other two; a
   * bare `position` means "everything at that position was seen".
   */
  it("resuming with a message's cursor loses no change of a transaction that made several", async () => {
    const FEED_CURSOR = `subscription ($since: String) { feedChanged(since: $since) { ${POST_CHANGE_FIELDS} cursor } }`;
    const [reader, ann] = [await t.register(), await t.register()];
    const posts = [];
    for (const body of ['ann a', 'ann b', 'ann c']) posts.push(await t.command('publishPost', { body }, ann.token));
    await t.settle();
    const start = posts.at(-1)!.position;
    await t.command('sendFriendRequest', { toUserId: ann.userId }, reader.token);
    const accepted = await t.command('acceptFriendRequest', { fromUserId: reader.userId }, ann.token);
    await t.settle();

    const full = overWs(reader, FEED_CURSOR, { since: start });
    const messages = await full.take(3);
    const all = messages.map(seen);
    expect(all.map(([kind, , position]) => [kind, position])).toEqual([
      ['ADDED', accepted.position],
      ['ADDED', accepted.position],
      ['ADDED', accepted.position],
    ]);
    expect(new Set(all.map(([, postId]) => postId))).toEqual(new Set(posts.map((p) => p.aggregateId)));
    const cursors = messages.map((m) => change(m).cursor as string);
    expect(new Set(cursors).size).toBe(3);

    // Cut off after the first message: its cursor resumes with the other two; its position with none of them.
    const byCursor = overWs(reader, FEED_CURSOR, { since: cursors[0] });
    const byPosition = overWs(reader, FEED_CURSOR, { since: accepted.position });
    const marker = await t.command('publishPost', { body: 'after the resume' }, reader.token);
    await t.settle();
    for (const stream of [byCursor, byPosition]) {
      await until(() => stream.messages.some((m) => change(m)?.position === marker.position), 'the live change after the resume');
    }
    const live: Seen = ['ADDED', marker.aggregateId, marker.position];
    expect(byCursor.messages.map(seen), 'after the first message').toEqual([...all.slice(1), live]);
    expect(byPosition.messages.map(seen), 'after the whole transaction').toEqual([live]);
  });

  it('resumes across a rebuild of the views: the log and its positions move into the rebuilt schema', async () => {
    const { owner, friend, rec, writer } = await wallScenario();
    const wall = (r: Receipt) => r.aggregateId;
    const before = await rec.run('publishPost', { body: 'before the rebuild' }, owner, (r) => ['ADDED', wall(r)]);
    await rec.run('editPost', { postId: before.aggregateId, body: 'before the rebuild, edited' }, owner, () => ['UPDATED', before.aggregateId]);
    await t.settle();
    // Subscribed before the rebuild, resuming from its last receipt: live across it.
    const subscribers = t.app.live.size;
    const live = overWs(friend, WALL, { userId: owner.userId, since: before.position });
    await until(() => t.app.live.size > subscribers, 'the live subscriber');

    // The rebuild, with a writer going on meanwhile.
    const progress = { done: 0 };
    const writing = writer(4, progress);
    const rebuilt = await rebuildViews({
      eventsDb: t.app.database.db,
      viewsDb: t.app.readDatabase.db,
      projections: allProjections,
      feedLimit: DEFAULT_FEED_LIMIT,
      log,
      batchSize: 5,
    });
    await writing;
    expect(rebuilt.applied).toBeGreaterThan(0);
    const after = await rec.run('publishPost', { body: 'after the rebuild' }, owner, (r) => ['ADDED', wall(r)]);
    await rec.run('likePost', { postId: after.aggregateId }, friend, () => ['UPDATED', after.aggregateId]);
    await t.settle();

    // Resuming after the rebuild from a position before it.
    const resumed = overWs(friend, WALL, { userId: owner.userId, since: before.position.toString() });
    const earlier = overWs(friend, WALL, { userId: owner.userId, since: rec.entries[0]!.position.toString() });
    for (const [stream, since] of [[live, before.position], [resumed, before.position], [earlier, rec.entries[0]!.position.toString()]] as const) {
      const expected = rec.after(since);
      await stream.take(expected.length);
      await sleep(200);
      const received = stream.messages.map(seen);
      expectOrdered(received);
      expect(received).toEqual(expected);
    }
  });
});

describe(`a since the change log no longer covers (${databaseKind()})`, () => {
  // The smallest log the configuration accepts is 100 rows; the app option goes straight to the projector.
  const t = useTestApp({ changeLogSize: 5, livePollMs: 200 });
  const server = useLiveServer(t);
  const overWs = (person: Person, variables: Record<string, unknown>) => server.overWs(person, WALL, variables);

  /** A wall with one post and `n` edits of it, each one change-log row. */
  async function edits(owner: Person, postId: string, n: number, from = 0) {
    const receipts: Receipt[] = [];
    for (let i = from; i < from + n; i++) receipts.push(await t.command('editPost', { postId, body: `edit ${i}` }, owner.token));
    await t.settle();
    return receipts;
  }

  it('is refused with BAD_USER_INPUT on since; a position the log still covers resumes', async () => {
    const owner = await t.register();
    const post = await t.command('publishPost', { body: 'edited again and again' }, owner.token);
    const e = await edits(owner, post.aggregateId, 10);
    // The log now holds the last 5 edits; the 5th is the newest position trimmed.
    for (const old of [post, e[0]!, e[3]!]) {
      const stream = overWs(owner, { userId: owner.userId, since: old.position });
      await stream.done();
      expect(stream.messages).toHaveLength(1);
      const [error] = stream.messages[0]!.errors ?? [];
      expect(error?.extensions?.['code']).toBe('BAD_USER_INPUT');
      expect(error?.extensions?.['fields']).toEqual([{ field: 'since', message: expect.stringContaining(e[4]!.position) }]);
    }
    // Changes after the newest trimmed position are all there.
    const fromTrimmed = overWs(owner, { userId: owner.userId, since: e[4]!.position });
    const recent = overWs(owner, { userId: owner.userId, since: e[7]!.position });
    // Both have read the log before the next edit trims it again; then one live change.
    await fromTrimmed.take(5);
    await recent.take(2);
    const [live] = await edits(owner, post.aggregateId, 1, 10);
    const all = [...e, live!];
    for (const [stream, from] of [[fromTrimmed, 5], [recent, 8]] as const) {
      const expected = all.slice(from).map((r): Seen => ['UPDATED', post.aggregateId, r.position]);
      await stream.take(expected.length);
      await sleep(200);
      expect(stream.messages.map(seen)).toEqual(expected);
    }
  });

  /*
   * The log is read page by page as the subscriber is iterated, after `since` was checked: rows
   * trimmed in between must not be skipped silently (the resume would hand out the newest rows
   * still in the log, and the live changes queued before them would then be skipped as seen).
   * Here the subscriber is only read after the trim overtook it.
   */
  it('never skips changes trimmed between the check of since and the reading of the log: all of them, or an end', async () => {
    const owner = await t.register();
    const post = await t.command('publishPost', { body: 'trimmed while resuming' }, owner.token);
    const e = await edits(owner, post.aggregateId, 10);
    const since = e[7]!.position;
    // Valid now: the log holds e[5..9].
    const sub = await hubSubscriber(t.app.live, { kind: 'wall', wallId: owner.userId }, owner, since, owner.userId, { deferReading: true });
    // Ten more edits trim e[8] and e[9] (not read yet) out of the log; the subscriber queues them live.
    const more = await edits(owner, post.aggregateId, 10, 10);
    const expected = [...e.slice(8), ...more].map((r): Seen => ['UPDATED', post.aggregateId, r.position]);
    sub.read();
    await until(() => sub.state.done || sub.got.some(([, , p]) => p === more.at(-1)!.position), 'the last edit or an end');
    await sleep(300);
    // A prefix of what it should get, and then, if not everything, an end saying why.
    expect(sub.got, `received ${JSON.stringify(sub.got.map(([, , p]) => p))}`).toEqual(expected.slice(0, sub.got.length));
    if (sub.got.length < expected.length) {
      expect(sub.state.ended).toMatchObject({ code: 'BAD_USER_INPUT', details: { fields: [{ field: 'since' }] } });
    }
    void sub.subscriber.return();
  });
});

describe(`a rebuild while the live views are behind the log (${databaseKind()})`, () => {
  // No projector in the app: the test decides how far the live views have got.
  const t = useTestApp({ projector: false, livePollMs: 200 });
  const server = useLiveServer(t);
  let projector: Projector;
  beforeAll(() => {
    projector = new Projector({ eventsDb: t.app.database.db, viewsDb: t.app.readDatabase.db, projections: allProjections, log });
  });

  it('logs, and so sends live, what happened after the live position: the copy never runs ahead of the live views', async () => {
    const [owner, friend] = [await t.register(), await t.register()];
    await t.befriend(owner, friend);
    const first = await t.command('publishPost', { body: 'seen by the live views' }, owner.token);
    await t.settle(projector);
    const stream = server.overWs(friend, WALL, { userId: owner.userId, since: first.position });
    await until(() => t.app.live.size > 0, 'the subscriber');

    // Past the live position: no live projector applies these before the rebuild.
    const published = await t.command('publishPost', { body: 'after the live position' }, owner.token);
    const edited = await t.command('editPost', { postId: published.aggregateId, body: 'after the live position, edited' }, owner.token);
    await rebuildViews({ eventsDb: t.app.database.db, viewsDb: t.app.readDatabase.db, projections: allProjections, feedLimit: DEFAULT_FEED_LIMIT, log, batchSize: 5 });

    const messages = await stream.take(2);
    expect(messages.map((m) => [m.data?.['wallChanged'].kind, m.data?.['wallChanged'].position])).toEqual([
      ['ADDED', published.position],
      ['UPDATED', edited.position],
    ]);
  });
});
