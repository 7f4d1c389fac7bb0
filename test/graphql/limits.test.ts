import { getIntrospectionQuery } from 'graphql';
import { describe, expect, it } from 'vitest';
import { QUERY_LIMITS } from '../../src/graphql/limits.ts';
import { FeedDocument, FriendsDocument, WallDocument } from '../generated/graphql.ts';
import { useTestApp } from '../support/app.ts';
import { useLiveServer } from '../support/live.ts';

/*
 * Operation limits: nested pages multiply what a query costs, and one that asks for too much is
 * refused with one BAD_USER_INPUT error before any of it is read; documents are parsed with a
 * token limit and may introspect __schema once.
 */
const t = useTestApp();
const { overWs } = useLiveServer(t);

/** `levels` nested pages of `first` friends, ending in each one's handle. */
const friendsOfFriends = (levels: number, first: number) => {
  let selection = 'handle';
  for (let i = 0; i < levels; i++) selection = `friends(first: ${first}) { nodes { ${selection} } }`;
  return `{ me { ${selection} } }`;
};

/** The depth the limits count: the deepest chain of selections. */
function depthOf(query: string): number {
  let depth = 0;
  let deepest = 0;
  for (const c of query) {
    if (c === '{') deepest = Math.max(deepest, ++depth);
    if (c === '}') depth--;
  }
  // A leaf counts 1 and its parent 1 more: the braces around the leaf, counted from the operation's.
  return deepest;
}

/**
 * Runs `query` and returns its errors, with the statements that read people from the views while
 * it ran (what these queries would read; the projector's and the hub's own polling may run
 * meanwhile, so not every statement is the query's).
 */
async function refusal(query: string, token: string, variables: Record<string, unknown> = {}) {
  const statements: string[] = [];
  const stop = t.app.readDatabase.onQuery((sql) => {
    if (/"read"\."(profiles|friends)"/.test(sql)) statements.push(sql);
  });
  try {
    const result = await t.gql(query, variables, { token });
    return { error: result.errors?.[0], errors: result.errors ?? [], data: result.data, statements };
  } finally {
    stop();
  }
}

describe('operation limits', () => {
  it('refuses friends of friends of friends, 100 a page (two million fields), before reading anything', async () => {
    const ann = await t.register();
    await t.settle();
    const { error, errors, data, statements } = await refusal(friendsOfFriends(3, 100), ann.token);
    expect(data ?? null).toBeNull();
    expect(errors).toHaveLength(1);
    // What is counted is what such a query reads when it runs.
    expect((await refusal(friendsOfFriends(2, 100), ann.token)).statements.length).toBeGreaterThan(0);
    expect(error?.extensions?.['code']).toBe('BAD_USER_INPUT');
    expect(error?.message).toBe(`The operation asks for too much at once: ask for smaller pages or fewer nested lists (complexity 2020202, at most ${QUERY_LIMITS.complexity}).`);
    expect(error?.extensions?.['complexity']).toEqual({ measure: 'complexity', value: 2020202, limit: QUERY_LIMITS.complexity });
    expect(statements).toEqual([]);
  });

  it('counts a page size given as a variable, and refuses once for the whole operation', async () => {
    const ann = await t.register();
    await t.settle();
    const query = `query ($n: Int) { me { friends(first: $n) { nodes { friends(first: $n) { nodes { friends(first: $n) { nodes { handle } } } } } } } }`;
    const refused = await refusal(query, ann.token, { n: 100 });
    expect(refused.error?.extensions?.['complexity']).toEqual({ measure: 'complexity', value: 2020202, limit: QUERY_LIMITS.complexity });
    expect(refused.statements).toEqual([]);
    expect((await refusal(query, ann.token, { n: 10 })).errors).toEqual([]);
    // Three root fields over the limit together: one error, no data.
    const roots = `{ a: ${friendsOfFriends(3, 100).slice(2, -2)} b: ${friendsOfFriends(3, 100).slice(2, -2)} c: user(handle: "${ann.handle}") { handle } }`;
    const together = await refusal(roots, ann.token);
    expect(together.errors).toHaveLength(1);
    expect(together.error?.extensions?.['complexity']).toMatchObject({ measure: 'complexity', value: 2 * 2020202 + 2 });
    expect(together.data ?? null).toBeNull();
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
    // Each level of friends is two selections deep (friends, nodes); `me` and `handle` add two:
    // 6 levels are 14 deep, and reaching the last level's people through edges { node } makes 15.
    const levels = (QUERY_LIMITS.depth - 3) / 2;
    const atLimit = friendsOfFriends(levels, 1).replace('nodes { handle }', 'edges { node { handle } }');
    expect(depthOf(atLimit)).toBe(QUERY_LIMITS.depth);
    expect((await t.gql(atLimit, {}, { token: ann.token })).errors).toBeUndefined();
    const over = friendsOfFriends(levels + 1, 1);
    expect(depthOf(over)).toBe(QUERY_LIMITS.depth + 1);
    const { error, statements } = await refusal(over, ann.token);
    expect(error?.extensions?.['code']).toBe('BAD_USER_INPUT');
    expect(error?.extensions?.['complexity']).toEqual({ measure: 'depth', value: QUERY_LIMITS.depth + 1, limit: QUERY_LIMITS.depth });
    expect(statements).toEqual([]);
  });

  it('refuses more fields than the limit, repeated ones included', async () => {
    const ann = await t.register();
    await t.settle();
    const fields = (n: number) => `{ me { ${'handle '.repeat(n)}} }`;
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

  it('refuses a document of more tokens than the limit while parsing it', async () => {
    const ann = await t.register();
    const query = `{ me { ${'handle '.repeat(QUERY_LIMITS.tokens)}} }`;
    const { error, statements } = await refusal(query, ann.token);
    expect(error?.extensions?.['code']).toBe('GRAPHQL_PARSE_FAILED');
    expect(error?.message).toContain(`more that ${QUERY_LIMITS.tokens} tokens`);
    expect(statements).toEqual([]);
  });

  it('refuses __schema twice in one document, aliased or not', async () => {
    const ann = await t.register();
    const { error } = await refusal(`{ a: __schema { queryType { name } } b: __schema { types { name } } }`, ann.token);
    expect(error?.extensions?.['code']).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(error?.message).toBe('A document may select __schema once.');
    const once = await t.gql(`{ __schema { queryType { name } } __type(name: "Post") { name } }`, {}, { token: ann.token });
    expect(once.errors).toBeUndefined();
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
