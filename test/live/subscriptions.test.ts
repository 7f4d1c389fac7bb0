import { describe, expect, it } from 'vitest';
import { useTestApp, type Person } from '../support/app.ts';
import { FeedChangedDocument, PostChangedDocument, WallChangedDocument } from '../generated/graphql.ts';
import { useLiveServer } from '../support/live.ts';

const t = useTestApp({ livePollMs: 200 });
const live = useLiveServer(t);
const { overWs, overSse } = live;

// The typed operations of test/operations/live.graphql, as a client generates them.
const WALL = WallChangedDocument;
const FEED = FeedChangedDocument;
const POST = PostChangedDocument;

/** Waits until the hub has registered `n` more subscribers than `before` (subscribing is asynchronous). */
async function subscribed(n: number) {
  const deadline = Date.now() + 10_000;
  while (t.app.live.size < n) {
    if (Date.now() > deadline) throw new Error(`only ${t.app.live.size} subscribers after 10 s`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const change = (m: { data?: any } | undefined) => m?.data?.wallChanged ?? m?.data?.feedChanged ?? m?.data?.postChanged;

describe('wallChanged over graphql-ws', () => {
  it("sends a friend each change of a wall: published, edited, liked, commented, deleted, with the post as the views hold it", async () => {
    const [ada, bob, cy] = [await t.register(), await t.register(), await t.register()];
    await t.befriend(ada, bob);
    await t.befriend(ada, cy);
    await t.settle();
    const before = t.app.live.size;
    const stream = overWs(bob, WALL, { userId: ada.userId });
    await subscribed(before + 1);

    // One change at a time: a change reaches subscribers with the post as the views hold it when
    // it is sent, so an update read after the deletion is dropped (its REMOVED follows).
    const published = await t.command('publishPost', { body: 'first light' }, ada.token);
    await stream.take(1);
    const postId = published.aggregateId;
    const edited = await t.command('editPost', { postId, body: 'first light, edited' }, ada.token);
    await stream.take(2);
    const liked = await t.command('likePost', { postId }, cy.token);
    await stream.take(3);
    const commented = await t.command('addComment', { postId, body: 'lovely' }, cy.token);
    await stream.take(4);
    const deleted = await t.command('deletePost', { postId }, ada.token);

    const messages = await stream.take(5);
    expect(messages.every((m) => m.errors === undefined)).toBe(true);
    const changes = messages.map(change);
    expect(changes.map((c) => [c.kind, c.postId, c.position])).toEqual([
      ['ADDED', postId, published.position],
      ['UPDATED', postId, edited.position],
      ['UPDATED', postId, liked.position],
      ['UPDATED', postId, commented.position],
      ['REMOVED', postId, deleted.position],
    ]);
    // Each message carries the post as read from the views when it was sent (the newest state).
    const [added] = changes;
    expect(added.post.author).toEqual({ id: ada.userId, handle: ada.handle, displayName: ada.handle.replace(/_/g, ' ') });
    expect(added.post.wallOwner.id).toBe(ada.userId);
    expect(changes[4].post).toBeNull();
    const updates = changes.slice(1, 4).map((c) => c.post).filter(Boolean);
    for (const post of updates) expect(post.id).toBe(postId);
  });

  it('takes its arguments written in the operation or under variables of any name', async () => {
    const [ada, bob] = [await t.register(), await t.register()];
    await t.befriend(ada, bob);
    await t.settle();
    const before = t.app.live.size;
    const fields = 'kind postId post { body }';
    const literal = overWs(bob, `subscription Literal { wallChanged(userId: "${ada.userId}") { ${fields} } }`);
    const renamed = overWs(bob, `subscription Renamed($whose: ID!) { wallChanged(userId: $whose) { ${fields} } }`, { whose: ada.userId });
    await subscribed(before + 2);
    const published = await t.command('publishPost', { body: 'to both' }, ada.token);
    for (const stream of [literal, renamed]) {
      const [message] = await stream.take(1);
      expect(message!.errors).toBeUndefined();
      expect(change(message)).toEqual({ kind: 'ADDED', postId: published.aggregateId, post: { body: 'to both' } });
    }
  });

  it('refuses with the stable codes: no token, a stranger, a malformed id, an unknown person, a bad since', async () => {
    const [ada, stranger] = [await t.register(), await t.register()];
    await t.settle();
    const cases: [Person | null, Record<string, unknown>, string][] = [
      [null, { userId: ada.userId }, 'UNAUTHENTICATED'],
      [stranger, { userId: ada.userId }, 'FORBIDDEN'],
      [stranger, { userId: 'not-an-id' }, 'BAD_USER_INPUT'],
      [stranger, { userId: '00000000-0000-4000-8000-000000000000' }, 'NOT_FOUND'],
      [ada, { userId: ada.userId, since: 'yesterday' }, 'BAD_USER_INPUT'],
    ];
    for (const [person, variables, code] of cases) {
      const stream = overWs(person, WALL, variables as { userId: string });
      await stream.done();
      expect(stream.messages, JSON.stringify(variables)).toHaveLength(1);
      expect(stream.messages[0]!.errors?.[0]?.extensions?.['code'], JSON.stringify(variables)).toBe(code);
    }
  });

  it('ends with FORBIDDEN when the friendship ends, and goes on for the owner', async () => {
    const [ada, bob] = [await t.register(), await t.register()];
    await t.befriend(ada, bob);
    await t.settle();
    const before = t.app.live.size;
    const friend = overWs(bob, WALL, { userId: ada.userId });
    const owner = overWs(ada, WALL, { userId: ada.userId });
    await subscribed(before + 2);

    await t.command('removeFriend', { userId: bob.userId }, ada.token);
    await friend.done();
    expect(friend.messages.at(-1)!.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');

    const published = await t.command('publishPost', { body: 'still here' }, ada.token);
    const [message] = await owner.take(1);
    expect(change(message)).toMatchObject({ kind: 'ADDED', position: published.position, post: { body: 'still here' } });
  });
});

describe('feedChanged over SSE', () => {
  it("sends a reader posts entering their feed, their updates, and their leaving when a friendship ends", async () => {
    const [ada, bob] = [await t.register(), await t.register()];
    await t.befriend(ada, bob);
    await t.settle();
    const before = t.app.live.size;
    const feed = overSse(bob, FEED);
    await subscribed(before + 1);

    // Paced as in the wall test: an update is sent only while the post is in the feed.
    const published = await t.command('publishPost', { body: 'for my friends' }, ada.token);
    await feed.take(1);
    const liked = await t.command('likePost', { postId: published.aggregateId }, ada.token);
    await feed.take(2);
    const unfriended = await t.command('removeFriend', { userId: ada.userId }, bob.token);

    const changes = (await feed.take(3)).map(change);
    expect(changes.map((c) => [c.kind, c.postId, c.position])).toEqual([
      ['ADDED', published.aggregateId, published.position],
      ['UPDATED', published.aggregateId, liked.position],
      ['REMOVED', published.aggregateId, unfriended.position],
    ]);
    expect(changes[1].post.likeCount).toBe(1);
  });
});

describe('postChanged', () => {
  it('sends comments and likes of one post, then its deletion, and completes', async () => {
    const [ada, bob] = [await t.register(), await t.register()];
    await t.befriend(ada, bob);
    const { aggregateId: postId } = await t.command('publishPost', { body: 'watch me' }, ada.token);
    await t.settle();
    const before = t.app.live.size;
    const post = overWs(bob, POST, { postId });
    const sse = overSse(ada, POST, { postId });
    await subscribed(before + 2);

    await t.command('addComment', { postId, body: 'first!' }, bob.token);
    await post.take(1);
    await sse.take(1);
    await t.command('deletePost', { postId }, ada.token);
    for (const stream of [post, sse]) {
      await stream.done();
      const changes = stream.messages.map(change);
      expect(changes.map((c) => c.kind)).toEqual(['UPDATED', 'REMOVED']);
      expect(changes[0].post.latestComments).toMatchObject([{ body: 'first!', author: { id: bob.userId, handle: bob.handle } }]);
      expect(changes[0].post.commentCount).toBe(1);
    }
  });

  it('answers NOT_FOUND for a post that does not exist', async () => {
    const ada = await t.register();
    const stream = overWs(ada, POST, { postId: '00000000-0000-4000-8000-000000000001' });
    await stream.done();
    expect(stream.messages[0]!.errors?.[0]?.extensions?.['code']).toBe('NOT_FOUND');
  });
});
