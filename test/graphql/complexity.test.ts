import { getIntrospectionQuery } from 'graphql';
import { describe, expect, it } from 'vitest';
import { QUERY_LIMITS } from '../../src/graphql/complexity.ts';
import { FeedDocument, FriendsDocument, WallDocument } from '../generated/graphql.ts';
import { useTestApp } from '../support/app.ts';
import { useLiveServer } from '../support/live.ts';

/*
 * Operation limits: nested pages multiply what a query costs, and one that asks for too much is
 * refused with BAD_USER_INPUT before any of it is read.
 */
const t = useTestApp();
const { overWs } = useLiveServer(t);

/** `levels` nested pages of `first` friends, ending in each one's handle. */
const friendsOfFriends = (levels: number, first: number) => {
  let selection = 'handle';
  for (let i = 0; i < levels; i++) selection = `friends(first: ${first}) { nodes { ${selection} } }`;
  return `{ me { ${selection} } }`;
};

/** Runs `query` and returns its first error, counting the SQL statements it caused. */
async function refusal(query: string, token: string) {
  const statements: string[] = [];
  const stop = t.app.readDatabase.onQuery((sql) => statements.push(sql));
  try {
    const result = await t.gql(query, {}, { token });
    return { error: result.errors?.[0], data: result.data, statements };
  } finally {
    stop();
  }
}

describe('operation limits', () => {
  it('refuses friends of friends of friends, 100 a page (two million fields), before reading anything', async () => {
    const ann = await t.register();
    await t.settle();
    const { error, data, statements } = await refusal(friendsOfFriends(3, 100), ann.token);
    expect(data ?? null).toBeNull();
    expect(error?.extensions?.['code']).toBe('BAD_USER_INPUT');
    expect(error?.message).toBe(`The operation asks for too much at once: ask for smaller pages or fewer nested lists (complexity 2020202, at most ${QUERY_LIMITS.complexity}).`);
    expect(error?.extensions?.['complexity']).toEqual({ measure: 'complexity', value: 2020202, limit: QUERY_LIMITS.complexity });
    expect(statements).toEqual([]);
  });

  it('answers the same shape with smaller pages, and two levels of 100', async () => {
    const ann = await t.register();
    await t.settle();
    for (const query of [friendsOfFriends(3, 10), friendsOfFriends(2, 100)]) {
      const result = await t.gql(query, {}, { token: ann.token });
      expect(result.errors).toBeUndefined();
      expect(result.data!['me']).toEqual({ friends: { nodes: [] } });
    }
  });

  it('refuses nesting deeper than the limit, however small the pages', async () => {
    const ann = await t.register();
    await t.settle();
    // Each level of friends is two selections deep (friends, nodes); `me` and `handle` add two.
    const levels = Math.floor(QUERY_LIMITS.depth / 2);
    expect((await t.gql(friendsOfFriends(levels - 1, 1), {}, { token: ann.token })).errors).toBeUndefined();
    const { error, statements } = await refusal(friendsOfFriends(levels, 1), ann.token);
    expect(error?.extensions?.['code']).toBe('BAD_USER_INPUT');
    expect(error?.extensions?.['complexity']).toEqual({ measure: 'depth', value: 2 * levels + 2, limit: QUERY_LIMITS.depth });
    expect(statements).toEqual([]);
  });

  it('refuses more fields than the limit, aliases included', async () => {
    const ann = await t.register();
    await t.settle();
    const fields = (n: number) => `{ me { ${Array.from({ length: n }, (_, i) => `h${i}: handle`).join(' ')} } }`;
    // `me` counts as one selection.
    expect((await t.gql(fields(QUERY_LIMITS.breadth - 1), {}, { token: ann.token })).errors).toBeUndefined();
    const { error } = await refusal(fields(QUERY_LIMITS.breadth), ann.token);
    expect(error?.extensions?.['complexity']).toEqual({ measure: 'breadth', value: QUERY_LIMITS.breadth + 1, limit: QUERY_LIMITS.breadth });
  });

  it('lets the operations clients use through at the largest page, and introspection', async () => {
    const ann = await t.register();
    await t.command('publishPost', { body: 'counted' }, ann.token);
    await t.settle();
    const feed = await t.gql(FeedDocument, { first: 100 }, { token: ann.token });
    expect(feed.errors).toBeUndefined();
    expect(feed.data!['feed'].edges.map((e: { node: { body: string } }) => e.node.body)).toEqual(['counted']);
    const wall = await t.gql(WallDocument, { userId: ann.userId, first: 100 }, { token: ann.token });
    expect(wall.errors).toBeUndefined();
    const friends = await t.gql(FriendsDocument, { handle: ann.handle, first: 100 }, { token: ann.token });
    expect(friends.errors).toBeUndefined();
    const introspection = await t.gql(getIntrospectionQuery(), {}, { token: ann.token });
    expect(introspection.errors).toBeUndefined();
    expect(introspection.data!['__schema'].queryType.name).toBe('Query');
  });

  it('refuses a subscription that asks for too much when it starts', async () => {
    const ann = await t.register();
    await t.settle();
    const nested = friendsOfFriends(3, 100).replace('{ me {', '').replace(/} }$/, '');
    const stream = overWs(ann, `subscription ($userId: ID!) { wallChanged(userId: $userId) { post { author { ${nested} } } } }`, { userId: ann.userId });
    await stream.done();
    expect(stream.messages).toHaveLength(1);
    expect(stream.messages[0]!.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    expect(stream.messages[0]!.errors?.[0]?.extensions?.['complexity']).toMatchObject({ measure: 'complexity', limit: QUERY_LIMITS.complexity });
  });
});
