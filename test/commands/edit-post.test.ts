import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { queryRows, sql } from '../../src/db/connect.ts';
import { useTestApp, type Person } from '../support/app.ts';

const t = useTestApp();

async function publish(author: Person, wallOwner: Person = author, body = 'First draft') {
  return (await t.command('publishPost', { body, wallOwnerId: wallOwner.userId }, author.token)).aggregateId;
}

const postRows = (postId: string) =>
  queryRows<{ author_id: string; wall_owner_id: string; body: string; edited: boolean; version: number }>(
    t.app.database.db,
    sql`select author_id, wall_owner_id, body, edited_at is not null and edited_at >= created_at as edited, version
        from write.posts where id = ${postId}`,
  );

const eventsOf = (aggregateId: string) =>
  queryRows<{ type: string; version: number; data: unknown; tx_id: string }>(
    t.app.database.db,
    sql`select type, version, data, tx_id::text from write.events where aggregate_id = ${aggregateId} order by version`,
  );

describe('editPost', () => {
  it('replaces the body, stamps edited_at, appends PostEdited v2, and returns a receipt', async () => {
    const ada = await t.register();
    const postId = await publish(ada);
    const receipt = await t.command('editPost', { postId, body: '  Second draft ' }, ada.token);
    expect(receipt.aggregateId).toBe(postId);

    expect(await postRows(postId)).toEqual([
      { author_id: ada.userId, wall_owner_id: ada.userId, body: 'Second draft', edited: true, version: 2 },
    ]);
    const events = await eventsOf(postId);
    expect(events.map((e) => [e.type, e.version])).toEqual([
      ['PostPublished', 1],
      ['PostEdited', 2],
    ]);
    expect(events[1]).toEqual({ type: 'PostEdited', version: 2, data: { postId, body: 'Second draft' }, tx_id: receipt.position });
    expect(BigInt(receipt.position)).toBeGreaterThan(BigInt(events[0]!.tx_id));
  });

  it("continues the post's stream: PostPublished v1, PostLiked v2, PostEdited v3, PostEdited v4", async () => {
    const ada = await t.register();
    const postId = await publish(ada);
    await t.command('likePost', { postId }, ada.token);
    await t.command('editPost', { postId, body: 'Second draft' }, ada.token);
    const receipt = await t.command('editPost', { postId, body: 'Third draft' }, ada.token);

    expect((await eventsOf(postId)).map((e) => [e.type, e.version, e.data])).toEqual([
      ['PostPublished', 1, { postId, authorId: ada.userId, wallOwnerId: ada.userId, body: 'First draft' }],
      ['PostLiked', 2, { postId, userId: ada.userId }],
      ['PostEdited', 3, { postId, body: 'Second draft' }],
      ['PostEdited', 4, { postId, body: 'Third draft' }],
    ]);
    expect((await eventsOf(postId))[3]!.tx_id).toBe(receipt.position);
    expect(await postRows(postId)).toEqual([
      { author_id: ada.userId, wall_owner_id: ada.userId, body: 'Third draft', edited: true, version: 4 },
    ]);
  });

  it("lets the author edit their post on a friend's wall", async () => {
    const [ada, bob] = [await t.register(), await t.register()];
    await t.befriend(ada, bob);
    const postId = await publish(ada, bob);
    await t.command('editPost', { postId, body: 'Edited on your wall' }, ada.token);
    expect(await postRows(postId)).toEqual([
      { author_id: ada.userId, wall_owner_id: bob.userId, body: 'Edited on your wall', edited: true, version: 2 },
    ]);
  });

  it('refuses the owner of the wall the post is on with FORBIDDEN', async () => {
    const [ada, bob] = [await t.register(), await t.register()];
    await t.befriend(ada, bob);
    const postId = await publish(ada, bob);
    const error = await t.expectRefused('editPost', { postId, body: 'Not yours' }, 'FORBIDDEN', bob.token);
    expect(error.message).toContain('author');
  });

  it('refuses a friend of the author, and a stranger, with FORBIDDEN', async () => {
    const [ada, bob, eve] = [await t.register(), await t.register(), await t.register()];
    await t.befriend(ada, bob);
    const postId = await publish(ada);
    await t.expectRefused('editPost', { postId, body: 'Not yours' }, 'FORBIDDEN', bob.token);
    await t.expectRefused('editPost', { postId, body: 'Not yours' }, 'FORBIDDEN', eve.token);
  });

  it('refuses an unknown post with NOT_FOUND', async () => {
    const ada = await t.register();
    const postId = randomUUID();
    const error = await t.expectRefused('editPost', { postId, body: 'Anything' }, 'NOT_FOUND', ada.token);
    expect(error.message).toContain(postId);
  });

  it('refuses a deleted post with NOT_FOUND', async () => {
    const ada = await t.register();
    const postId = await publish(ada);
    await t.command('deletePost', { postId }, ada.token);
    await t.expectRefused('editPost', { postId, body: 'Too late' }, 'NOT_FOUND', ada.token);
  });

  it('accepts a body of 5000 characters, counted after trimming', async () => {
    const ada = await t.register();
    const postId = await publish(ada);
    await t.command('editPost', { postId, body: ` ${'y'.repeat(5000)}\n` }, ada.token);
    expect((await postRows(postId))[0]!.body).toBe('y'.repeat(5000));
  });

  it.each([
    ['an empty body', { body: '' }, 'body'],
    ['a blank body', { body: '   ' }, 'body'],
    ['a body of 5001 characters', { body: 'y'.repeat(5001) }, 'body'],
    ['a malformed postId', { postId: '42', body: 'Fine' }, 'postId'],
  ])('refuses %s with BAD_USER_INPUT naming the field', async (_what, input, field) => {
    const ada = await t.register();
    const postId = await publish(ada);
    const error = await t.expectRefused('editPost', { postId, ...input }, 'BAD_USER_INPUT', ada.token);
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
    await t.expectRefused('editPost', { postId, body: 'Anonymous edit' }, 'UNAUTHENTICATED', await tokenFor(ada));
  });
});
