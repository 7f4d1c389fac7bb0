import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { queryRows, sql } from '../../src/db/connect.ts';
import { useTestApp, type Person } from '../support/app.ts';

const t = useTestApp();

async function publish(author: Person, wallOwner: Person = author, body = 'Liked, for now') {
  return (await t.command('publishPost', { body, wallOwnerId: wallOwner.userId }, author.token)).aggregateId;
}

const likers = async (postId: string) =>
  (await queryRows<{ user_id: string }>(t.app.database.db, sql`select user_id from write.likes where post_id = ${postId} order by user_id`)).map(
    (r) => r.user_id,
  );

const postVersion = async (postId: string) => {
  const [row] = await queryRows<{ version: number }>(t.app.database.db, sql`select version from write.posts where id = ${postId}`);
  return row?.version;
};

const eventsOf = (aggregateId: string) =>
  queryRows<{ type: string; version: number; data: unknown; tx_id: string }>(
    t.app.database.db,
    sql`select type, version, data, tx_id::text from write.events where aggregate_id = ${aggregateId} order by version`,
  );

describe('unlikePost', () => {
  it("removes only the caller's like, appends PostUnliked, and returns a receipt for the post", async () => {
    const [ada, bob] = [await t.register(), await t.register()];
    await t.befriend(ada, bob);
    const postId = await publish(ada);
    await t.command('likePost', { postId }, bob.token);
    await t.command('likePost', { postId }, ada.token);
    const receipt = await t.command('unlikePost', { postId }, bob.token);
    expect(receipt.aggregateId).toBe(postId);

    expect(await likers(postId)).toEqual([ada.userId]);
    expect(await postVersion(postId)).toBe(4);
    const events = await eventsOf(postId);
    expect(events.map((e) => [e.type, e.version])).toEqual([
      ['PostPublished', 1],
      ['PostLiked', 2],
      ['PostLiked', 3],
      ['PostUnliked', 4],
    ]);
    expect(events[3]).toEqual({ type: 'PostUnliked', version: 4, data: { postId, userId: bob.userId }, tx_id: receipt.position });
  });

  it('refuses a post the caller never liked with CONFLICT', async () => {
    const ada = await t.register();
    const postId = await publish(ada);
    const error = await t.expectRefused('unlikePost', { postId }, 'CONFLICT', ada.token);
    expect(error.message).toContain('not like');
  });

  it('refuses with CONFLICT when only someone else likes the post, and leaves that like', async () => {
    const [ada, bob] = [await t.register(), await t.register()];
    await t.befriend(ada, bob);
    const postId = await publish(ada);
    await t.command('likePost', { postId }, bob.token);
    await t.expectRefused('unlikePost', { postId }, 'CONFLICT', ada.token);
    expect(await likers(postId)).toEqual([bob.userId]);
  });

  it('refuses a second unlike with CONFLICT', async () => {
    const ada = await t.register();
    const postId = await publish(ada);
    await t.command('likePost', { postId }, ada.token);
    await t.command('unlikePost', { postId }, ada.token);
    await t.expectRefused('unlikePost', { postId }, 'CONFLICT', ada.token);
    expect(await likers(postId)).toEqual([]);
  });

  it('refuses an unknown post with NOT_FOUND', async () => {
    const ada = await t.register();
    const postId = randomUUID();
    const error = await t.expectRefused('unlikePost', { postId }, 'NOT_FOUND', ada.token);
    expect(error.message).toContain(postId);
  });

  it('refuses a deleted post, liked before it went, with NOT_FOUND', async () => {
    const ada = await t.register();
    const postId = await publish(ada);
    await t.command('likePost', { postId }, ada.token);
    await t.command('deletePost', { postId }, ada.token);
    await t.expectRefused('unlikePost', { postId }, 'NOT_FOUND', ada.token);
  });

  it('refuses a malformed postId with BAD_USER_INPUT naming the field', async () => {
    const ada = await t.register();
    const error = await t.expectRefused('unlikePost', { postId: 'like-1' }, 'BAD_USER_INPUT', ada.token);
    expect(error.extensions?.['fields']).toEqual([expect.objectContaining({ field: 'postId' })]);
    expect(error.message).toContain('postId');
  });

  it.each([
    ['no token', () => undefined],
    ['a tampered token', (ada: Person) => `${ada.token}x`],
    ['a valid token naming no one known here', () => t.app.identity.tokens.issue(randomUUID())],
  ])('refuses a caller with %s as UNAUTHENTICATED', async (_what, tokenFor) => {
    const ada = await t.register();
    const postId = await publish(ada);
    await t.command('likePost', { postId }, ada.token);
    await t.expectRefused('unlikePost', { postId }, 'UNAUTHENTICATED', await tokenFor(ada));
  });
});
