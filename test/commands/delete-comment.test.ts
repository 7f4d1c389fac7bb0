import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { queryRows, sql } from '../../src/db/connect.ts';
import { useTestApp, type Person } from '../support/app.ts';

const t = useTestApp();

async function comment(person: Person, postId: string, body = 'A comment') {
  return (await t.command('addComment', { postId, body }, person.token)).aggregateId;
}

const commentCount = async (commentId: string) => {
  const [row] = await queryRows<{ n: number }>(t.app.database.db, sql`select count(*)::int as n from write.comments where id = ${commentId}`);
  return row!.n;
};

const eventsOf = (aggregateId: string) =>
  queryRows<{ type: string; version: number; data: unknown; tx_id: string }>(
    t.app.database.db,
    sql`select type, version, data, tx_id::text from write.events where aggregate_id = ${aggregateId} order by version`,
  );

/** Olga owns the wall; Pat, her friend, posted on it; Cal, her friend, commented on the post. */
async function thread() {
  const [olga, pat, cal] = [await t.register(), await t.register(), await t.register()];
  await t.befriend(pat, olga);
  await t.befriend(cal, olga);
  const postId = (await t.command('publishPost', { body: 'Discuss', wallOwnerId: olga.userId }, pat.token)).aggregateId;
  return { olga, pat, cal, postId, commentId: await comment(cal, postId, 'First!') };
}

describe('deleteComment', () => {
  it('deletes the comment, appends CommentDeleted v2, and returns a receipt for the comment', async () => {
    const { cal, postId, commentId } = await thread();
    const other = await comment(cal, postId, 'Second');
    const receipt = await t.command('deleteComment', { commentId }, cal.token);
    expect(receipt.aggregateId).toBe(commentId);

    expect(await commentCount(commentId)).toBe(0);
    expect(await commentCount(other)).toBe(1);
    expect(await eventsOf(commentId)).toEqual([
      { type: 'CommentAdded', version: 1, data: { commentId, postId, authorId: cal.userId, body: 'First!' }, tx_id: expect.any(String) },
      { type: 'CommentDeleted', version: 2, data: { commentId, postId, deletedBy: cal.userId }, tx_id: receipt.position },
    ]);
    // The post itself does not change.
    const posts = await queryRows<{ version: number }>(t.app.database.db, sql`select version from write.posts where id = ${postId}`);
    expect(posts).toEqual([{ version: 1 }]);
    expect((await eventsOf(postId)).map((e) => e.type)).toEqual(['PostPublished']);
  });

  it.each([
    ["the post's author", 'pat'],
    ['the wall owner', 'olga'],
  ] as const)("lets %s delete someone else's comment", async (_who, role) => {
    const { postId, commentId, ...people } = await thread();
    const deleter = people[role];
    const receipt = await t.command('deleteComment', { commentId }, deleter.token);
    expect(await commentCount(commentId)).toBe(0);
    expect((await eventsOf(commentId))[1]).toEqual({
      type: 'CommentDeleted',
      version: 2,
      data: { commentId, postId, deletedBy: deleter.userId },
      tx_id: receipt.position,
    });
  });

  it('lets the author delete their comment after the wall owner unfriended them', async () => {
    const { olga, cal, commentId } = await thread();
    await t.command('removeFriend', { userId: cal.userId }, olga.token);
    await t.command('deleteComment', { commentId }, cal.token);
    expect(await commentCount(commentId)).toBe(0);
  });

  it('refuses a friend of everyone involved who wrote neither the comment nor the post, even one who commented too', async () => {
    const { olga, pat, cal, postId, commentId } = await thread();
    const fay = await t.register();
    for (const friend of [olga, pat, cal]) await t.befriend(fay, friend);
    await comment(fay, postId, 'Me too');
    const error = await t.expectRefused('deleteComment', { commentId }, 'FORBIDDEN', fay.token);
    expect(error.message).toContain('author');
  });

  it('refuses a stranger with FORBIDDEN', async () => {
    const { commentId } = await thread();
    const eve = await t.register();
    await t.expectRefused('deleteComment', { commentId }, 'FORBIDDEN', eve.token);
  });

  it('refuses an unknown comment with NOT_FOUND', async () => {
    const ada = await t.register();
    const commentId = randomUUID();
    const error = await t.expectRefused('deleteComment', { commentId }, 'NOT_FOUND', ada.token);
    expect(error.message).toContain(commentId);
  });

  it('refuses a comment already deleted with NOT_FOUND', async () => {
    const { cal, commentId } = await thread();
    await t.command('deleteComment', { commentId }, cal.token);
    await t.expectRefused('deleteComment', { commentId }, 'NOT_FOUND', cal.token);
  });

  it('refuses a comment whose post was deleted with NOT_FOUND', async () => {
    const { olga, cal, postId, commentId } = await thread();
    await t.command('deletePost', { postId }, olga.token);
    await t.expectRefused('deleteComment', { commentId }, 'NOT_FOUND', cal.token);
  });

  it('refuses a malformed commentId with BAD_USER_INPUT naming the field', async () => {
    const ada = await t.register();
    const error = await t.expectRefused('deleteComment', { commentId: `${randomUUID()}x` }, 'BAD_USER_INPUT', ada.token);
    expect(error.extensions?.['fields']).toEqual([expect.objectContaining({ field: 'commentId' })]);
    expect(error.message).toContain('commentId');
  });

  it.each([
    ['no token', () => undefined],
    ['a tampered token', (ada: Person) => `${ada.token}x`],
    ['a valid token naming no one known here', () => t.app.identity.tokens.issue(randomUUID())],
  ])('refuses a caller with %s as UNAUTHENTICATED', async (_what, tokenFor) => {
    const ada = await t.register();
    const postId = (await t.command('publishPost', { body: 'Mine' }, ada.token)).aggregateId;
    const commentId = await comment(ada, postId);
    await t.expectRefused('deleteComment', { commentId }, 'UNAUTHENTICATED', await tokenFor(ada));
  });
});
