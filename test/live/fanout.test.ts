import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/connect.ts';
import { createLogger } from '../../src/logger.ts';
import { Projector } from '../../src/projector/projector.ts';
import { readCheckpoint } from '../../src/read/checkpoint.ts';
import { allProjections } from '../../src/read/views/index.ts';
import { useTestApp, type Person } from '../support/app.ts';
import { databaseKind } from '../support/database.ts';
import { POST_CHANGE_FIELDS, useLiveServer, type Stream } from '../support/live.ts';

/*
 * Fan-out cost: the hub reads each batch's change-log rows once and loads every changed post and
 * the people it shows once per process, whatever the number of subscribers. The API side runs
 * without a projector (as `ROLE=api`) and polls only once a minute, so the only things that make
 * it read are the wake-up this test sends after applying a batch with a projector of its own (and,
 * on PostgreSQL, the NOTIFY that batch sends: see `countStatements`).
 *
 * `likedByMe` is per viewer: the subscribers a change reaches in one turn share one query for it.
 */

const t = useTestApp({ projector: false, livePollMs: 60_000 });
const log = createLogger('silent');
const server = useLiveServer(t, { autoClose: false });
let projector: Projector;
/** On PostgreSQL the projector gets a connection pool of its own, so its statements are not counted. */
let projectorDatabase: Database | null = null;

/** Every statement the API side's drizzle sends, with the time it was sent. */
const statements: { at: number; sql: string }[] = [];
let counting = false;
let lastStatementAt = 0;

beforeAll(async () => {
  if (t.databaseUrl) projectorDatabase = await openDatabase({ url: t.databaseUrl, poolSize: 2 });
  const db = projectorDatabase?.db ?? t.app.database.db;
  projector = new Projector({ eventsDb: db, viewsDb: db, projections: allProjections, log });
  t.app.readDatabase.onQuery((query) => {
    lastStatementAt = Date.now();
    if (counting) statements.push({ at: lastStatementAt, sql: query });
  });
});

// Each test starts with an empty hub, whose tail then starts at the end of the log.
afterEach(async () => {
  await server.closeAll();
  await hubSize(0);
});

afterAll(async () => {
  await projectorDatabase?.close();
});

const WALL = `subscription ($userId: ID!) { wallChanged(userId: $userId) { ${POST_CHANGE_FIELDS} } }`;
const FEED = `subscription { feedChanged { ${POST_CHANGE_FIELDS} } }`;

const change = (m: { data?: any } | undefined) => m?.data?.wallChanged ?? m?.data?.feedChanged;

/** `perClient` subscriptions on one graphql-ws connection signed in as `person`. */
function subscribe(person: Person, query: string, variables: Record<string, unknown>, perClient: number): Stream[] {
  const client = server.client(person);
  return Array.from({ length: perClient }, () => server.track(client.subscribe$(query, variables)));
}

/** A person and `n` friends of theirs. */
async function ownerWithFriends(n: number) {
  const owner = await t.register();
  const friends: Person[] = [];
  for (let i = 0; i < n; i++) {
    friends.push(await t.register());
    await t.befriend(owner, friends[i]!);
  }
  return { owner, friends };
}

/** Waits for the hub to hold exactly `n` subscribers. */
async function hubSize(n: number) {
  const deadline = Date.now() + 10_000;
  while (t.app.live.size !== n) {
    if (Date.now() > deadline) throw new Error(`the hub holds ${t.app.live.size} subscribers, not ${n}`);
    await sleep(10);
  }
}

/** Waits until the API side has sent no statement for `ms` (authorizations and wake-ups done). */
async function quiet(ms = 250) {
  const deadline = Date.now() + 10_000;
  while (Date.now() - lastStatementAt < ms) {
    if (Date.now() > deadline) throw new Error('the API side never went quiet');
    await sleep(20);
  }
}

/** Applies the log with the test's projector until its checkpoint reaches `position`. */
async function applyThrough(position: string) {
  const db = projectorDatabase?.db ?? t.app.database.db;
  const deadline = Date.now() + 10_000;
  while ((await readCheckpoint(db)) < BigInt(position)) {
    if (Date.now() > deadline) throw new Error(`the views did not reach ${position}`);
    if ((await projector.catchUp()) === 0) await sleep(5);
  }
}

/** One change-log read, one more on PostgreSQL (the NOTIFY's wake-up, which finds nothing). */
const LOG_READS = databaseKind() === 'postgres' ? 2 : 1;

/**
 * The statements the API side sends from the projector batch that applies `position` until every
 * stream has received one more message (and the hub is idle again). On PGlite the projector
 * shares the app's connection, so counting starts after its batch; there nothing wakes the hub
 * but `wake()`. On PostgreSQL the projector has its own pool and counting starts before its
 * batch, because the batch's NOTIFY wakes the hub as well: that second wake-up costs one more
 * read of the change log (which finds nothing), with 1 subscriber as with 30.
 */
async function countStatements(position: string, receivers: Stream[]): Promise<string[]> {
  const before = receivers.map((s) => s.messages.length);
  await quiet();
  statements.length = 0;
  counting = projectorDatabase !== null;
  await applyThrough(position);
  counting = true;
  t.app.live.wake();
  await Promise.all(receivers.map((s, i) => s.take(before[i]! + 1)));
  // On PostgreSQL, also wait for the NOTIFY's wake-up, so both measurements count it.
  const deadline = Date.now() + 5000;
  while (statements.filter((s) => /from "read"\."changes"/.test(s.sql)).length < LOG_READS && Date.now() < deadline) await sleep(10);
  await quiet();
  counting = false;
  return statements.map((s) => s.sql);
}

/** What the statements read: change-log pages, posts, profiles, feed membership, anything else. */
function classify(sqls: string[]) {
  const out = { changes: 0, posts: 0, profiles: 0, feedEntries: 0, likes: 0, other: [] as string[] };
  for (const q of sqls) {
    if (/from "read"\."changes"/.test(q)) out.changes++;
    else if (/from "read"\."likes"/.test(q)) out.likes++;
    // Feed membership reads the posts and their walls' friends too.
    else if (/from "read"\."feed_entries"/.test(q)) out.feedEntries++;
    else if (/from "read"\."posts"/.test(q)) out.posts++;
    else if (/from "read"\."profiles"/.test(q)) out.profiles++;
    else out.other.push(q);
  }
  return out;
}

describe(`one changed row costs the same statements for 1 subscriber as for 30 (${databaseKind()})`, () => {
  it('wallChanged: 30 subscribers on 6 connections get identical data from 3 statements (+1 empty log read on PostgreSQL)', async () => {
    const { owner, friends } = await ownerWithFriends(5);
    const post = await t.command('publishPost', { body: 'count my statements' }, owner.token);
    const postId = post.aggregateId;
    await t.command('addComment', { postId, body: 'a comment whose author is loaded too' }, friends[0]!.token);
    await applyThrough(post.position);
    const prepared = await t.command('likePost', { postId }, friends[4]!.token);
    await applyThrough(prepared.position);

    // One subscriber.
    const [single] = subscribe(owner, WALL, { userId: owner.userId }, 1);
    await hubSize(1);
    const first = await t.command('likePost', { postId }, friends[1]!.token);
    const one = await countStatements(first.position, [single!]);
    expect(change(single!.messages[0])).toMatchObject({ kind: 'UPDATED', postId, position: first.position, post: { likeCount: 2 } });
    single!.close();
    await hubSize(0);

    // Thirty: the owner and five friends, five subscriptions on each of their connections.
    const thirty = [owner, ...friends].flatMap((p) => subscribe(p, WALL, { userId: owner.userId }, 5));
    expect(thirty).toHaveLength(30);
    await hubSize(30);
    const second = await t.command('likePost', { postId }, friends[2]!.token);
    const many = await countStatements(second.position, thirty);

    const received = thirty.map((s) => s.messages);
    for (const messages of received) expect(messages).toHaveLength(1);
    const changes = received.map(([m]) => {
      expect(m!.errors).toBeUndefined();
      return change(m);
    });
    expect(changes[0]).toMatchObject({
      kind: 'UPDATED',
      postId,
      position: second.position,
      post: { id: postId, likeCount: 3, commentCount: 1, latestComments: [{ author: { handle: friends[0]!.handle } }], author: { handle: owner.handle } },
    });
    for (const c of changes) expect(c).toEqual(changes[0]);

    const [a, b] = [classify(one), classify(many)];
    console.log(`wallChanged statements (${databaseKind()}): 1 subscriber ${one.length} ${JSON.stringify(a)}, 30 subscribers ${many.length} ${JSON.stringify(b)}`);
    expect(many, `30 subscribers: ${many.join('\n')}`).toHaveLength(one.length);
    expect(b).toEqual(a);
    expect(a).toEqual({ changes: LOG_READS, posts: 1, profiles: 1, feedEntries: 0, likes: 0, other: [] });
  });

  it('feedChanged: a post fanned out to the feeds of several friends, and an update of it, cost the same for 1 subscriber as for 16', async () => {
    const author = await t.register();
    const friends = Array.from({ length: 8 }, () => null as Person | null);
    for (let i = 0; i < friends.length; i++) {
      friends[i] = await t.register();
      await t.befriend(author, friends[i]!);
    }
    const readers = friends as Person[];
    const warmup = await t.command('publishPost', { body: 'before anyone listens' }, author.token);
    await applyThrough(warmup.position);
    const before = 0;

    // One subscriber: one friend's feed.
    const [single] = subscribe(readers[0]!, FEED, {}, 1);
    await hubSize(before + 1);
    const p1 = await t.command('publishPost', { body: 'to one feed' }, author.token);
    const oneAdded = await countStatements(p1.position, [single!]);
    const l1 = await t.command('likePost', { postId: p1.aggregateId }, readers[1]!.token);
    const oneUpdated = await countStatements(l1.position, [single!]);
    expect(single!.messages.map(change).map((c) => [c.kind, c.postId, c.position])).toEqual([
      ['ADDED', p1.aggregateId, p1.position],
      ['UPDATED', p1.aggregateId, l1.position],
    ]);
    single!.close();
    await hubSize(before);

    // Sixteen: each of the eight friends watches their own feed twice (their own connection each).
    const sixteen = readers.flatMap((r) => subscribe(r, FEED, {}, 2));
    await hubSize(before + 16);
    const p2 = await t.command('publishPost', { body: 'to eight feeds' }, author.token);
    const manyAdded = await countStatements(p2.position, sixteen);
    const l2 = await t.command('likePost', { postId: p2.aggregateId }, readers[1]!.token);
    const manyUpdated = await countStatements(l2.position, sixteen);

    const changes = sixteen.map((s) => {
      expect(s.messages.every((m) => m.errors === undefined)).toBe(true);
      return s.messages.map(change);
    });
    expect(changes[0]!.map((c) => [c.kind, c.postId, c.position])).toEqual([
      ['ADDED', p2.aggregateId, p2.position],
      ['UPDATED', p2.aggregateId, l2.position],
    ]);
    expect(changes[0]![1].post).toMatchObject({ likeCount: 1, body: 'to eight feeds', author: { handle: author.handle } });
    for (const c of changes) expect(c).toEqual(changes[0]);

    const counts = {
      added: [classify(oneAdded), classify(manyAdded)],
      updated: [classify(oneUpdated), classify(manyUpdated)],
    };
    console.log(
      `feedChanged statements (${databaseKind()}): ADDED 1 subscriber ${oneAdded.length}, 16 subscribers ${manyAdded.length}; ` +
        `UPDATED 1 subscriber ${oneUpdated.length}, 16 subscribers ${manyUpdated.length}; ${JSON.stringify(counts)}`,
    );
    expect(manyAdded).toHaveLength(oneAdded.length);
    expect(manyUpdated).toHaveLength(oneUpdated.length);
    // A feed entry that came in: the log, the post, its people.
    expect(counts.added[0]).toEqual({ changes: LOG_READS, posts: 1, profiles: 1, feedEntries: 0, likes: 0, other: [] });
    expect(counts.added[1]).toEqual(counts.added[0]);
    // An update: which of the subscribed readers hold the post is one more query, for any number of readers.
    expect(counts.updated[0]).toEqual({ changes: LOG_READS, posts: 1, profiles: 1, feedEntries: 1, likes: 0, other: [] });
    expect(counts.updated[1]).toEqual(counts.updated[0]);
  });

  it('likedByMe: one query answers 30 subscribers, each for itself, as it answers 1', async () => {
    const { owner, friends } = await ownerWithFriends(5);
    const post = await t.command('publishPost', { body: 'who likes me?' }, owner.token);
    const postId = post.aggregateId;
    await t.command('likePost', { postId }, friends[0]!.token);
    const liked = await t.command('likePost', { postId }, friends[2]!.token);
    await applyThrough(liked.position);
    const WALL_LIKED = `subscription ($userId: ID!) { wallChanged(userId: $userId) { kind postId position post { likeCount likedByMe } } }`;

    const [single] = subscribe(friends[3]!, WALL_LIKED, { userId: owner.userId }, 1);
    await hubSize(1);
    const first = await t.command('likePost', { postId }, friends[3]!.token);
    const one = await countStatements(first.position, [single!]);
    expect(change(single!.messages[0])).toEqual({ kind: 'UPDATED', postId, position: first.position, post: { likeCount: 3, likedByMe: true } });
    single!.close();
    await hubSize(0);

    const viewers = [owner, ...friends];
    const thirty = viewers.map((p) => subscribe(p, WALL_LIKED, { userId: owner.userId }, 5));
    await hubSize(30);
    const second = await t.command('likePost', { postId }, friends[1]!.token);
    const many = await countStatements(second.position, thirty.flat());

    const likers = new Set([friends[0], friends[1], friends[2], friends[3]].map((p) => p!.userId));
    viewers.forEach((viewer, i) => {
      for (const stream of thirty[i]!) {
        expect(stream.messages).toHaveLength(1);
        expect(stream.messages[0]!.errors).toBeUndefined();
        expect(change(stream.messages[0]), viewer.handle).toEqual({ kind: 'UPDATED', postId, position: second.position, post: { likeCount: 4, likedByMe: likers.has(viewer.userId) } });
      }
    });
    const [a, b] = [classify(one), classify(many)];
    console.log(`likedByMe statements (${databaseKind()}): 1 subscriber ${one.length} ${JSON.stringify(a)}, 30 subscribers ${many.length} ${JSON.stringify(b)}`);
    expect(a).toEqual({ changes: LOG_READS, posts: 1, profiles: 1, feedEntries: 0, likes: 1, other: [] });
    expect(b).toEqual(a);
  });
});
