import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { queryRows, sql } from '../../src/db/connect.ts';
import { useTestApp, type Person } from '../support/app.ts';

const t = useTestApp();

async function publish(author: Person, wallOwner: Person = author, body = 'Soon gone') {
  return (await t.command('publishPost', { body, wallOwnerId: wallOwner.userId }, author.token)).aggregateId;
}

/** How many rows of the post, its comments and its likes the write tables hold. */
async function rowsOf(postId: string) {
  const [row] = await queryRows<{ posts: number; comments: number; likes: number }>(
    t.app.database.db,
    sql`select (select count(*)::int from write.posts where id = ${postId}) as posts,
               (select count(*)::int from write.comments where post_id = ${postId}) as comments,
               (select count(*)::int from write.likes where post_id = ${postId}) as likes`,
  );
  return row!;
}

const eventsOf = (aggregateId: string) =>
  queryRows<{ type: string; version: number; data: unknown; tx_id: string }>(
    t.app.database.db,
    sql`select type, version, data, tx_id::text from write.events where aggregate_id = ${aggregateId} order by version`,
  );

describe('deletePost', () => {
  it('deletes the post with its comments and likes, appends PostDeleted, keeps the events, and returns a receipt', async () => {
    const [ada, bob] = [await t.register(), await t.register()];
    await t.befriend(ada, bob);
    const postId = await publish(ada);
    const comment = await t.command('addComment', { postId, body: 'Nice' }, bob.token);
    await t.command('likePost', { postId }, bob.token);
    await t.command('likePost', { postId }, ada.token);
    expect(await rowsOf(postId)).toEqual({ posts: 1, comments: 1, likes: 2 });

    const receipt = await t.command('deletePost', { postId }, ada.token);
    expect(receipt.aggregateId).toBe(postId);

    expect(await rowsOf(postId)).toEqual({ posts: 0, comments: 0, likes: 0 });
    expect((await eventsOf(postId)).map((e) => [e.type, e.version])).toEqual([
      ['PostPublished', 1],
      ['PostLiked', 2],
      ['PostLiked', 3],
      ['PostDeleted', 4],
    ]);
    expect((await eventsOf(postId))[3]).toEqual({
      type: 'PostDeleted',
      version: 4,
      data: { postId, authorId: ada.userId, wallOwnerId: ada.userId, deletedBy: ada.userId },
      tx_id: receipt.position,
    });
    expect((await eventsOf(comment.aggregateId)).map((e) => [e.type, e.version])).toEqual([['CommentAdded', 1]]);
  });

  it("leaves other posts' comments and likes alone", async () => {
    const ada = await t.register();
    const [doomed, kept] = [await publish(ada), await publish(ada, ada, 'Staying')];
    for (const postId of [doomed, kept]) {
      await t.command('addComment', { postId, body: 'A comment' }, ada.token);
      await t.command('likePost', { postId }, ada.token);
    }
    await t.command('deletePost', { postId: doomed }, ada.token);
    expect(await rowsOf(kept)).toEqual({ posts: 1, comments: 1, likes: 1 });
    expect(await rowsOf(doomed)).toEqual({ posts: 0, comments: 0, likes: 0 });
  });

  it("lets the wall owner delete a friend's post on their wall", async () => {
    const [ada, bob] = [await t.register(), await t.register()];
    await t.befriend(ada, bob);
    const postId = await publish(ada, bob);
    const receipt = await t.command('deletePost', { postId }, bob.token);
    expect((await rowsOf(postId)).posts).toBe(0);
    expect((await eventsOf(postId))[1]).toEqual({
      type: 'PostDeleted',
      version: 2,
      data: { postId, authorId: ada.userId, wallOwnerId: bob.userId, deletedBy: bob.userId },
      tx_id: receipt.position,
    });
  });

  it("lets the author delete their post on a friend's wall", async () => {
    const [ada, bob] = [await t.register(), await t.register()];
    await t.befriend(ada, bob);
    const postId = await publish(ada, bob);
    await t.command('deletePost', { postId }, ada.token);
    expect((await rowsOf(postId)).posts).toBe(0);
    expect((await eventsOf(postId))[1]!.data).toEqual({ postId, authorId: ada.userId, wallOwnerId: bob.userId, deletedBy: ada.userId });
  });

  it('refuses a friend of both who neither wrote the post nor owns the wall, even one who commented and liked', async () => {
    const [ada, bob, cid] = [await t.register(), await t.register(), await t.register()];
    await t.befriend(ada, bob);
    await t.befriend(cid, bob);
    await t.befriend(cid, ada);
    const postId = await publish(ada, bob);
    await t.command('addComment', { postId, body: 'Mine too?' }, cid.token);
    await t.command('likePost', { postId }, cid.token);
    const error = await t.expectRefused('deletePost', { postId }, 'FORBIDDEN', cid.token);
    expect(error.message).toContain('author');
  });

  it('refuses a stranger with FORBIDDEN', async () => {
    const [ada, eve] = [await t.register(), await t.register()];
    const postId = await publish(ada);
    await t.expectRefused('deletePost', { postId }, 'FORBIDDEN', eve.token);
  });

  it('refuses an unknown post with NOT_FOUND', async () => {
    const ada = await t.register();
    const postId = randomUUID();
    const error = await t.expectRefused('deletePost', { postId }, 'NOT_FOUND', ada.token);
    expect(error.message).toContain(postId);
  });

  it('refuses a post already deleted with NOT_FOUND', async () => {
    const ada = await t.register();
    const postId = await publish(ada);
    await t.command('deletePost', { postId }, ada.token);
    await t.expectRefused('deletePost', { postId }, 'NOT_FOUND', ada.token);
  });

  it('refuses a malformed postId with BAD_USER_INPUT naming the field', async () => {
    const ada = await t.register();
    const error = await t.expectRefused('deletePost', { postId: 'post-1' }, 'BAD_USER_INPUT', ada.token);
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
    await t.expectRefused('deletePost', { postId }, 'UNAUTHENTICATED', await tokenFor(ada));
  });
});
