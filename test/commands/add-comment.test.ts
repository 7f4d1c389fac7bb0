import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { queryRows, sql } from '../../src/db/connect.ts';
import { useTestApp, type Person } from '../support/app.ts';

const t = useTestApp();

async function publish(author: Person, wallOwner: Person = author, body = 'Say something') {
  return (await t.command('publishPost', { body, wallOwnerId: wallOwner.userId }, author.token)).aggregateId;
}

const commentRows = (commentId: string) =>
  queryRows<{ post_id: string; author_id: string; body: string; version: number }>(
    t.app.database.db,
    sql`select post_id, author_id, body, version from write.comments where id = ${commentId}`,
  );

const eventsOf = (aggregateId: string) =>
  queryRows<{ aggregate_type: string; type: string; version: number; data: unknown; tx_id: string }>(
    t.app.database.db,
    sql`select aggregate_type, type, version, data, tx_id::text from write.events where aggregate_id = ${aggregateId} order by version`,
  );

/** Ada writes on Bob's wall; Cid is Bob's friend; Dan is only Ada's friend; Eve knows nobody. */
async function circle() {
  const [ada, bob, cid, dan, eve] = [await t.register(), await t.register(), await t.register(), await t.register(), await t.register()];
  await t.befriend(ada, bob);
  await t.befriend(cid, bob);
  await t.befriend(dan, ada);
  return { ada, bob, cid, dan, eve, postId: await publish(ada, bob) };
}

describe('addComment', () => {
  it('adds the comment, appends CommentAdded v1 to a new comment stream, and returns its id', async () => {
    const [ada, bob] = [await t.register(), await t.register()];
    await t.befriend(ada, bob);
    const postId = await publish(ada);
    const receipt = await t.command('addComment', { postId, body: '  Well said \n' }, bob.token);
    expect(receipt.aggregateId).toMatch(/^[0-9a-f-]{36}$/);
    expect(receipt.aggregateId).not.toBe(postId);

    expect(await commentRows(receipt.aggregateId)).toEqual([{ post_id: postId, author_id: bob.userId, body: 'Well said', version: 1 }]);
    expect(await eventsOf(receipt.aggregateId)).toEqual([
      {
        aggregate_type: 'comment',
        type: 'CommentAdded',
        version: 1,
        data: { commentId: receipt.aggregateId, postId, authorId: bob.userId, body: 'Well said' },
        tx_id: receipt.position,
      },
    ]);
    // The post itself does not change.
    expect((await eventsOf(postId)).map((e) => [e.type, e.version])).toEqual([['PostPublished', 1]]);
  });

  it("lets the wall owner, the post's author and the owner's other friends comment, each in a stream of its own", async () => {
    const { ada, bob, cid, postId } = await circle();
    for (const person of [bob, ada, cid]) {
      const receipt = await t.command('addComment', { postId, body: `From ${person.handle}` }, person.token);
      expect(await commentRows(receipt.aggregateId)).toEqual([{ post_id: postId, author_id: person.userId, body: `From ${person.handle}`, version: 1 }]);
      expect((await eventsOf(receipt.aggregateId)).map((e) => [e.type, e.version, e.tx_id])).toEqual([['CommentAdded', 1, receipt.position]]);
    }
  });

  it("refuses a friend of the post's author who is not the wall owner's friend with FORBIDDEN", async () => {
    const { dan, postId } = await circle();
    const error = await t.expectRefused('addComment', { postId, body: 'Hello' }, 'FORBIDDEN', dan.token);
    expect(error.message).toContain('wall owner');
  });

  it('refuses a stranger with FORBIDDEN', async () => {
    const { eve, postId } = await circle();
    await t.expectRefused('addComment', { postId, body: 'Hello' }, 'FORBIDDEN', eve.token);
  });

  it('refuses someone whose friend request the wall owner has not accepted', async () => {
    const { bob, eve, postId } = await circle();
    await t.command('sendFriendRequest', { toUserId: bob.userId }, eve.token);
    await t.expectRefused('addComment', { postId, body: 'Hello' }, 'FORBIDDEN', eve.token);
  });

  it('refuses a former friend of the wall owner, even on their own post', async () => {
    const { ada, bob, postId } = await circle();
    await t.command('addComment', { postId, body: 'While friends' }, ada.token);
    await t.command('removeFriend', { userId: ada.userId }, bob.token);
    await t.expectRefused('addComment', { postId, body: 'After' }, 'FORBIDDEN', ada.token);
  });

  it('refuses an unknown post with NOT_FOUND', async () => {
    const ada = await t.register();
    const postId = randomUUID();
    const error = await t.expectRefused('addComment', { postId, body: 'Hello?' }, 'NOT_FOUND', ada.token);
    expect(error.message).toContain(postId);
  });

  it('refuses a deleted post with NOT_FOUND', async () => {
    const ada = await t.register();
    const postId = await publish(ada);
    await t.command('deletePost', { postId }, ada.token);
    await t.expectRefused('addComment', { postId, body: 'Hello?' }, 'NOT_FOUND', ada.token);
  });

  it('accepts a body of 2000 characters, counted after trimming', async () => {
    const ada = await t.register();
    const postId = await publish(ada);
    const receipt = await t.command('addComment', { postId, body: `\t${'z'.repeat(2000)}  ` }, ada.token);
    expect((await commentRows(receipt.aggregateId))[0]!.body).toBe('z'.repeat(2000));
  });

  it.each([
    ['an empty body', { body: '' }, 'body'],
    ['a blank body', { body: '\n \n' }, 'body'],
    ['a body of 2001 characters', { body: 'z'.repeat(2001) }, 'body'],
    ['a malformed postId', { postId: 'abc', body: 'Fine' }, 'postId'],
  ])('refuses %s with BAD_USER_INPUT naming the field', async (_what, input, field) => {
    const ada = await t.register();
    const postId = await publish(ada);
    const error = await t.expectRefused('addComment', { postId, ...input }, 'BAD_USER_INPUT', ada.token);
    expect(error.extensions?.['fields']).toEqual([expect.objectContaining({ field })]);
    expect(error.message).toContain(field);
  });

  it.each([
    ['no token', () => undefined],
    ['a tampered token', (ada: Person) => `${ada.token}x`],
    ['a valid token naming no one known here', () => t.app.identity.tokens.issue(randomUUID())],
  ])('refuses a caller with %s as UNAUTHENTICATED', async (_what, tokenFor) => {
    const ada = await t.register();
    const postId = await publish(ada);
    await t.expectRefused('addComment', { postId, body: 'Anonymous' }, 'UNAUTHENTICATED', await tokenFor(ada));
  });
});
