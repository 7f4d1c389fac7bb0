import { describe, expect, it } from 'vitest';
import { useTestApp, type Person } from '../support/app.ts';

const t = useTestApp();

const POST_FIELDS = `id body author { handle displayName } wallOwner { handle } likeCount commentCount likedByMe editedAt
  latestComments { body author { handle } }`;

async function read<T = any>(query: string, person: Person, variables: Record<string, unknown> = {}) {
  await t.settle();
  const result = await t.gql<T>(query, variables, { token: person.token });
  return result;
}

const feedBodies = async (person: Person) => {
  const result = await read(`{ feed(first: 100) { nodes { body } } }`, person);
  expect(result.errors).toBeUndefined();
  return (result.data!['feed'].nodes as { body: string }[]).map((n) => n.body);
};

describe('walls', () => {
  it('show the posts on a wall, newest first, with authors, counts, latest comments and likedByMe', async () => {
    const [ann, bob] = [await t.register(), await t.register()];
    await t.befriend(ann, bob);
    await t.command('publishPost', { body: 'first' }, ann.token);
    const second = await t.command('publishPost', { body: 'second, by bob', wallOwnerId: ann.userId }, bob.token);
    for (const body of ['c1', 'c2', 'c3', 'c4']) await t.command('addComment', { postId: second.aggregateId, body }, ann.token);
    await t.command('likePost', { postId: second.aggregateId }, ann.token);
    await t.command('likePost', { postId: second.aggregateId }, bob.token);

    const result = await read(`query($id: ID!) { wall(userId: $id) { nodes { ${POST_FIELDS} } pageInfo { hasNextPage } } }`, ann, { id: ann.userId });
    expect(result.errors).toBeUndefined();
    const [top, bottom] = result.data!['wall'].nodes;
    expect(top).toMatchObject({
      body: 'second, by bob',
      author: { handle: bob.handle },
      wallOwner: { handle: ann.handle },
      likeCount: 2,
      commentCount: 4,
      likedByMe: true,
      editedAt: null,
      latestComments: [{ body: 'c4', author: { handle: ann.handle } }, { body: 'c3' }, { body: 'c2' }],
    });
    expect(bottom).toMatchObject({ body: 'first', likeCount: 0, commentCount: 0, likedByMe: false, latestComments: [] });
    expect(result.data!['wall'].pageInfo.hasNextPage).toBe(false);
  });

  it('are visible to the owner and friends only', async () => {
    const [ann, bob, eve] = [await t.register(), await t.register(), await t.register()];
    await t.befriend(ann, bob);
    await t.command('publishPost', { body: 'private' }, ann.token);
    const query = `query($id: ID!) { wall(userId: $id) { nodes { body } } }`;
    expect((await read(query, bob, { id: ann.userId })).data!['wall'].nodes).toEqual([{ body: 'private' }]);
    const refused = await read(query, eve, { id: ann.userId });
    expect(refused.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    const missing = await read(query, eve, { id: '00000000-0000-7000-8000-000000000000' });
    expect(missing.errors?.[0]?.extensions?.['code']).toBe('NOT_FOUND');
    const malformed = await read(query, eve, { id: 'nope' });
    expect(malformed.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    const anonymous = await t.gql(query, { id: ann.userId });
    expect(anonymous.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  });

  it('page with cursors, and bound first', async () => {
    const ann = await t.register();
    for (let i = 1; i <= 5; i++) await t.command('publishPost', { body: `p${i}` }, ann.token);
    const page = `query($id: ID!, $after: String) { wall(userId: $id, first: 2, after: $after) { edges { cursor node { body } } pageInfo { hasNextPage endCursor } } }`;
    const bodies: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 3; i++) {
      const result: any = await read(page, ann, { id: ann.userId, after });
      bodies.push(...result.data.wall.edges.map((e: any) => e.node.body));
      expect(result.data.wall.pageInfo.hasNextPage).toBe(i < 2);
      after = result.data.wall.pageInfo.endCursor;
    }
    expect(bodies).toEqual(['p5', 'p4', 'p3', 'p2', 'p1']);
    const forged = Buffer.from(JSON.stringify(['1', '-'.repeat(36)])).toString('base64url');
    for (const [first, after] of [[101, null], [-1, null], [2, 'not-a-cursor'], [2, forged]] as const) {
      const result = await read(`query($id: ID!, $first: Int, $after: String) { wall(userId: $id, first: $first, after: $after) { nodes { body } } }`, ann, { id: ann.userId, first, after });
      expect(result.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    }
  });
});

describe('the feed', () => {
  it('fans a post out to the author, the wall owner and the friends who may see that wall', async () => {
    const [ann, bob, cid, dee] = [await t.register(), await t.register(), await t.register(), await t.register()];
    // ann–bob, bob–cid, ann–cid friends; dee is bob's friend only.
    await t.befriend(ann, bob);
    await t.befriend(bob, cid);
    await t.befriend(ann, cid);
    await t.befriend(bob, dee);
    await t.command('publishPost', { body: 'bob on his own wall' }, bob.token);
    await t.command('publishPost', { body: 'bob on ann’s wall', wallOwnerId: ann.userId }, bob.token);

    expect(await feedBodies(bob)).toEqual(['bob on ann’s wall', 'bob on his own wall']);
    expect(await feedBodies(ann)).toEqual(['bob on ann’s wall', 'bob on his own wall']);
    // cid is a friend of bob and of ann (the wall owner): sees both.
    expect(await feedBodies(cid)).toEqual(['bob on ann’s wall', 'bob on his own wall']);
    // dee is bob's friend but not ann's: ann's wall is not hers to see.
    expect(await feedBodies(dee)).toEqual(['bob on his own wall']);
  });

  it('takes in a new friend’s posts and drops an ex-friend’s', async () => {
    const [ann, bob] = [await t.register(), await t.register()];
    await t.command('publishPost', { body: 'bob before' }, bob.token);
    await t.command('publishPost', { body: 'ann before' }, ann.token);
    expect(await feedBodies(ann)).toEqual(['ann before']);
    await t.befriend(ann, bob);
    expect(await feedBodies(ann)).toEqual(['ann before', 'bob before']);
    expect(await feedBodies(bob)).toEqual(['ann before', 'bob before']);
    await t.command('removeFriend', { userId: bob.userId }, ann.token);
    expect(await feedBodies(ann)).toEqual(['ann before']);
    expect(await feedBodies(bob)).toEqual(['bob before']);
  });

  it('drops a post on a wall its author may no longer see, from the author’s feed too', async () => {
    const [ann, bob] = [await t.register(), await t.register()];
    await t.befriend(ann, bob);
    await t.command('publishPost', { body: 'on bob’s wall', wallOwnerId: bob.userId }, ann.token);
    await t.command('publishPost', { body: 'on ann’s own wall' }, ann.token);
    expect(await feedBodies(ann)).toEqual(['on ann’s own wall', 'on bob’s wall']);
    await t.command('removeFriend', { userId: ann.userId }, bob.token);
    expect(await feedBodies(ann)).toEqual(['on ann’s own wall']);
    expect(await feedBodies(bob)).toEqual(['on bob’s wall']);
  });

  it('loses a deleted post and shows edits and renames', async () => {
    const [ann, bob] = [await t.register(), await t.register()];
    await t.befriend(ann, bob);
    const kept = await t.command('publishPost', { body: 'kept' }, bob.token);
    const gone = await t.command('publishPost', { body: 'gone' }, bob.token);
    await t.command('deletePost', { postId: gone.aggregateId }, bob.token);
    await t.command('editPost', { postId: kept.aggregateId, body: 'kept, edited' }, bob.token);
    await t.command('updateProfile', { displayName: 'Robert' }, bob.token);
    const result = await read(`{ feed { nodes { body editedAt author { displayName } } } }`, ann);
    expect(result.data!['feed'].nodes).toEqual([{ body: 'kept, edited', editedAt: expect.any(String), author: { displayName: 'Robert' } }]);
    expect((await read(`query($id: ID!) { post(id: $id) { id } }`, ann, { id: gone.aggregateId })).data).toEqual({ post: null });
  });
});

describe('a post', () => {
  it('pages its comments, newest first, and says whether the caller likes it', async () => {
    const [ann, bob, eve] = [await t.register(), await t.register(), await t.register()];
    await t.befriend(ann, bob);
    const post = await t.command('publishPost', { body: 'talk' }, ann.token);
    for (let i = 1; i <= 5; i++) await t.command('addComment', { postId: post.aggregateId, body: `c${i}` }, i % 2 ? ann.token : bob.token);
    await t.command('likePost', { postId: post.aggregateId }, bob.token);
    const query = `query($id: ID!, $after: String) { post(id: $id) { likedByMe likeCount comments(first: 3, after: $after) { nodes { body author { handle } } pageInfo { hasNextPage endCursor } } } }`;
    const first = await read(query, bob, { id: post.aggregateId });
    expect(first.data!['post'].likedByMe).toBe(true);
    expect(first.data!['post'].comments.nodes.map((c: any) => c.body)).toEqual(['c5', 'c4', 'c3']);
    expect(first.data!['post'].comments.pageInfo.hasNextPage).toBe(true);
    const second = await read(query, ann, { id: post.aggregateId, after: first.data!['post'].comments.pageInfo.endCursor });
    expect(second.data!['post'].likedByMe).toBe(false);
    expect(second.data!['post'].comments.nodes).toEqual([{ body: 'c2', author: { handle: bob.handle } }, { body: 'c1', author: { handle: ann.handle } }]);
    expect(second.data!['post'].comments.pageInfo.hasNextPage).toBe(false);
    const refused = await read(query, eve, { id: post.aggregateId });
    expect(refused.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
  });

  it('loses a deleted comment everywhere, and its latest comments refill', async () => {
    const ann = await t.register();
    const post = await t.command('publishPost', { body: 'p' }, ann.token);
    const ids: string[] = [];
    for (let i = 1; i <= 4; i++) ids.push((await t.command('addComment', { postId: post.aggregateId, body: `c${i}` }, ann.token)).aggregateId);
    await t.command('deleteComment', { commentId: ids[3]! }, ann.token);
    const result = await read(`query($id: ID!) { post(id: $id) { commentCount latestComments { body } comments { nodes { body } } } }`, ann, { id: post.aggregateId });
    expect(result.data!['post']).toEqual({
      commentCount: 3,
      latestComments: [{ body: 'c3' }, { body: 'c2' }, { body: 'c1' }],
      comments: { nodes: [{ body: 'c3' }, { body: 'c2' }, { body: 'c1' }] },
    });
  });
});

describe('friends and requests', () => {
  it('lists friends newest first and pending requests', async () => {
    const [ann, bob, cid, dee] = [await t.register(), await t.register(), await t.register(), await t.register()];
    await t.befriend(ann, bob);
    await t.befriend(ann, cid);
    await t.command('sendFriendRequest', { toUserId: ann.userId }, dee.token);
    const result = await read(`{ me { friendCount friends { nodes { handle } } } friendRequests { from { handle } createdAt } }`, ann);
    expect(result.data!['me']).toEqual({ friendCount: 2, friends: { nodes: [{ handle: cid.handle }, { handle: bob.handle }] } });
    expect(result.data!['friendRequests']).toEqual([{ from: { handle: dee.handle }, createdAt: expect.any(String) }]);
    await t.command('declineFriendRequest', { fromUserId: dee.userId }, ann.token);
    expect((await read(`{ friendRequests { from { handle } } }`, ann)).data).toEqual({ friendRequests: [] });
  });
});

describe('likedByMe on pages', () => {
  it('is per post and per caller, on the first page and after a cursor, in the feed and on a wall', async () => {
    const [ann, bob] = [await t.register(), await t.register()];
    await t.befriend(ann, bob);
    const posts: string[] = [];
    for (let i = 0; i < 6; i++) posts.push((await t.command('publishPost', { body: `p${i}` }, bob.token)).aggregateId);
    // ann likes p0, p2, p5; bob likes p1, p2, p3 (likes by others must not count as ann's).
    for (const i of [0, 2, 5]) await t.command('likePost', { postId: posts[i] }, ann.token);
    for (const i of [1, 2, 3]) await t.command('likePost', { postId: posts[i] }, bob.token);
    const likedBy = (who: Person, body: string) => ({ [ann.userId]: ['p0', 'p2', 'p5'], [bob.userId]: ['p1', 'p2', 'p3'] })[who.userId]!.includes(body);
    const pages = async (who: Person, field: string) => {
      const seen: { body: string; likedByMe: boolean }[] = [];
      let after: string | null = null;
      do {
        const args = field === 'wall' ? `userId: "${bob.userId}", first: 4` : 'first: 4';
        const result: any = await read(
          `query($after: String) { ${field}(${args}, after: $after) { nodes { body likedByMe } pageInfo { hasNextPage endCursor } } }`,
          who,
          { after },
        );
        expect(result.errors).toBeUndefined();
        seen.push(...result.data[field].nodes);
        after = result.data[field].pageInfo.hasNextPage ? result.data[field].pageInfo.endCursor : null;
      } while (after);
      return seen;
    };
    for (const who of [ann, bob]) {
      for (const field of ['feed', 'wall']) {
        const seen = await pages(who, field);
        expect(seen.map((n) => n.body)).toEqual(['p5', 'p4', 'p3', 'p2', 'p1', 'p0']);
        for (const node of seen) expect({ ...node, who: who.handle, field }).toEqual({ body: node.body, likedByMe: likedBy(who, node.body), who: who.handle, field });
      }
    }
  });
});

describe('batching', () => {
  it('serves a feed page of 20 posts with comments in a fixed number of statements, whatever the page size', async () => {
    const reader = await t.register();
    const friends = await Promise.all(Array.from({ length: 4 }, () => t.register()));
    for (const friend of friends) await t.befriend(friend, reader);
    for (let i = 0; i < 24; i++) {
      const author = friends[i % friends.length]!;
      const post = await t.command('publishPost', { body: `post ${i}` }, author.token);
      await t.command('addComment', { postId: post.aggregateId, body: `comment ${i}` }, (i % 2 ? reader : author).token);
      if (i % 3 === 0) await t.command('likePost', { postId: post.aggregateId }, reader.token);
    }
    await t.settle();
    const query = `query($first: Int) { feed(first: $first) { nodes { ${POST_FIELDS} comments(first: 5) { nodes { body author { handle displayName } } } } } }`;
    const count = async (first: number, document = query) => {
      const statements: string[] = [];
      const stop = t.app.database.onQuery((q) => statements.push(q));
      try {
        const result = await t.gql(document, { first }, { token: reader.token });
        expect(result.errors).toBeUndefined();
        expect(result.data!['feed'].nodes).toHaveLength(first);
      } finally {
        stop();
      }
      // The app's projector polls the same database meanwhile; its statements are not the request's.
      return statements.filter((s) => !/read\.checkpoints|pg_stat_|write\.events/.test(s));
    };
    // feed page (likedByMe with it), the page's people, comment pages, and one profile batch per
    // further depth of the tree: never one per post.
    for (const first of [2, 10, 20]) expect((await count(first)).length).toBeLessThanOrEqual(5);
    // What a feed screen shows (posts, authors, counts, likedByMe, latest comments and their
    // authors) is the page's statement and one for the people in it.
    const screen = await count(20, `query($first: Int) { feed(first: $first) { nodes { id body createdAt likeCount commentCount likedByMe author { handle displayName } latestComments { body author { handle } } } } }`);
    expect(screen).toHaveLength(2);
  });
});
