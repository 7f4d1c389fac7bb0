import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { queryRows, sql } from '../../src/db/connect.ts';
import { useTestApp, type Person, type Receipt } from '../support/app.ts';

const t = useTestApp();

async function publish(author: Person, wallOwner: Person = author, body = 'Like me') {
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

describe('likePost', () => {
  it("records the like, appends PostLiked v2 to the post's stream, and returns a receipt for the post", async () => {
    const [ada, bob] = [await t.register(), await t.register()];
    await t.befriend(ada, bob);
    const postId = await publish(ada);
    const receipt = await t.command('likePost', { postId }, bob.token);
    expect(receipt.aggregateId).toBe(postId);

    expect(await likers(postId)).toEqual([bob.userId]);
    expect(await postVersion(postId)).toBe(2);
    const events = await eventsOf(postId);
    expect(events.map((e) => [e.type, e.version])).toEqual([
      ['PostPublished', 1],
      ['PostLiked', 2],
    ]);
    expect(events[1]).toEqual({ type: 'PostLiked', version: 2, data: { postId, userId: bob.userId }, tx_id: receipt.position });
  });

  it("lets the wall owner, the post's author and the owner's other friends like it, one version each", async () => {
    const [ada, bob, cid] = [await t.register(), await t.register(), await t.register()];
    await t.befriend(ada, bob);
    await t.befriend(cid, bob);
    const postId = await publish(ada, bob);
    const receipts: Receipt[] = [];
    for (const person of [bob, ada, cid]) receipts.push(await t.command('likePost', { postId }, person.token));

    expect(await likers(postId)).toEqual([ada.userId, bob.userId, cid.userId].sort());
    expect(await postVersion(postId)).toBe(4);
    expect((await eventsOf(postId)).slice(1)).toEqual(
      [bob, ada, cid].map((person, i) => ({
        type: 'PostLiked',
        version: i + 2,
        data: { postId, userId: person.userId },
        tx_id: receipts[i]!.position,
      })),
    );
  });

  it('refuses a second like from the same person with CONFLICT', async () => {
    const ada = await t.register();
    const postId = await publish(ada);
    await t.command('likePost', { postId }, ada.token);
    const error = await t.expectRefused('likePost', { postId }, 'CONFLICT', ada.token);
    expect(error.message).toContain('already');
  });

  it('likes again after unliking: PostLiked v2, PostUnliked v3, PostLiked v4', async () => {
    const ada = await t.register();
    const postId = await publish(ada);
    await t.command('likePost', { postId }, ada.token);
    await t.command('unlikePost', { postId }, ada.token);
    const receipt = await t.command('likePost', { postId }, ada.token);

    expect(await likers(postId)).toEqual([ada.userId]);
    expect(await postVersion(postId)).toBe(4);
    expect((await eventsOf(postId)).map((e) => [e.type, e.version])).toEqual([
      ['PostPublished', 1],
      ['PostLiked', 2],
      ['PostUnliked', 3],
      ['PostLiked', 4],
    ]);
    expect((await eventsOf(postId))[3]!.tx_id).toBe(receipt.position);
  });

  it("refuses a friend of the post's author who is not the wall owner's friend with FORBIDDEN", async () => {
    const [ada, bob, dan] = [await t.register(), await t.register(), await t.register()];
    await t.befriend(ada, bob);
    await t.befriend(dan, ada);
    const postId = await publish(ada, bob);
    const error = await t.expectRefused('likePost', { postId }, 'FORBIDDEN', dan.token);
    expect(error.message).toContain('wall owner');
  });

  it('refuses a stranger with FORBIDDEN', async () => {
    const [ada, eve] = [await t.register(), await t.register()];
    const postId = await publish(ada);
    await t.expectRefused('likePost', { postId }, 'FORBIDDEN', eve.token);
  });

  it('refuses a former friend of the wall owner with FORBIDDEN', async () => {
    const [ada, bob] = [await t.register(), await t.register()];
    await t.befriend(ada, bob);
    const postId = await publish(ada);
    await t.command('removeFriend', { userId: bob.userId }, ada.token);
    await t.expectRefused('likePost', { postId }, 'FORBIDDEN', bob.token);
  });

  it('refuses an unknown post with NOT_FOUND', async () => {
    const ada = await t.register();
    const postId = randomUUID();
    const error = await t.expectRefused('likePost', { postId }, 'NOT_FOUND', ada.token);
    expect(error.message).toContain(postId);
  });

  it('refuses a deleted post with NOT_FOUND', async () => {
    const ada = await t.register();
    const postId = await publish(ada);
    await t.command('deletePost', { postId }, ada.token);
    await t.expectRefused('likePost', { postId }, 'NOT_FOUND', ada.token);
  });

  it('refuses a malformed postId with BAD_USER_INPUT naming the field', async () => {
    const ada = await t.register();
    const error = await t.expectRefused('likePost', { postId: '' }, 'BAD_USER_INPUT', ada.token);
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
    await t.expectRefused('likePost', { postId }, 'UNAUTHENTICATED', await tokenFor(ada));
  });
});
