import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { queryRows, sql } from '../../src/db/connect.ts';
import { useTestApp, type Person } from '../support/app.ts';

const t = useTestApp();

const postRows = (postId: string) =>
  queryRows<{ author_id: string; wall_owner_id: string; body: string; edited_at: unknown; version: number }>(
    t.app.database.db,
    sql`select author_id, wall_owner_id, body, edited_at, version from write.posts where id = ${postId}`,
  );

const eventsOf = (aggregateId: string) =>
  queryRows<{ aggregate_type: string; type: string; version: number; data: unknown; tx_id: string }>(
    t.app.database.db,
    sql`select aggregate_type, type, version, data, tx_id::text from write.events where aggregate_id = ${aggregateId} order by version`,
  );

describe('publishPost', () => {
  it("writes a post on the caller's own wall, appends PostPublished v1, and returns a receipt", async () => {
    const ada = await t.register();
    const receipt = await t.command('publishPost', { body: '  Hello, wall  ' }, ada.token);
    expect(receipt.aggregateId).toMatch(/^[0-9a-f-]{36}$/);
    expect(BigInt(receipt.position)).toBeGreaterThan(0n);

    expect(await postRows(receipt.aggregateId)).toEqual([
      { author_id: ada.userId, wall_owner_id: ada.userId, body: 'Hello, wall', edited_at: null, version: 1 },
    ]);
    expect(await eventsOf(receipt.aggregateId)).toEqual([
      {
        aggregate_type: 'post',
        type: 'PostPublished',
        version: 1,
        data: { postId: receipt.aggregateId, authorId: ada.userId, wallOwnerId: ada.userId, body: 'Hello, wall' },
        tx_id: receipt.position,
      },
    ]);
    const commands = await queryRows<{ name: string; actor_id: string; metadata: unknown }>(
      t.app.database.db,
      sql`select c.name, c.actor_id, e.metadata from write.commands c join write.events e on e.aggregate_id = ${receipt.aggregateId}
          where c.id = ${receipt.commandId}`,
    );
    expect(commands).toEqual([
      { name: 'PublishPost', actor_id: ada.userId, metadata: { commandId: receipt.commandId, command: 'PublishPost', actorId: ada.userId } },
    ]);
  });

  it("writes on a friend's wall, each post in a stream of its own", async () => {
    const [ada, bob] = [await t.register(), await t.register()];
    await t.befriend(ada, bob);
    const first = await t.command('publishPost', { body: 'Hi Bob', wallOwnerId: bob.userId }, ada.token);
    const second = await t.command('publishPost', { body: 'Hi again', wallOwnerId: bob.userId }, ada.token);
    expect(second.aggregateId).not.toBe(first.aggregateId);
    expect(BigInt(second.position)).toBeGreaterThan(BigInt(first.position));

    expect(await postRows(first.aggregateId)).toEqual([
      { author_id: ada.userId, wall_owner_id: bob.userId, body: 'Hi Bob', edited_at: null, version: 1 },
    ]);
    for (const [receipt, body] of [[first, 'Hi Bob'], [second, 'Hi again']] as const) {
      expect(await eventsOf(receipt.aggregateId)).toEqual([
        {
          aggregate_type: 'post',
          type: 'PostPublished',
          version: 1,
          data: { postId: receipt.aggregateId, authorId: ada.userId, wallOwnerId: bob.userId, body },
          tx_id: receipt.position,
        },
      ]);
    }
  });

  it.each([
    ['their own id', (id: string) => id],
    ['null', () => null],
  ])("takes wallOwnerId %s as the caller's own wall", async (_what, wallOwnerId) => {
    const ada = await t.register();
    const receipt = await t.command('publishPost', { body: 'Mine', wallOwnerId: wallOwnerId(ada.userId) }, ada.token);
    expect(await postRows(receipt.aggregateId)).toEqual([
      { author_id: ada.userId, wall_owner_id: ada.userId, body: 'Mine', edited_at: null, version: 1 },
    ]);
  });

  it.each([
    ['their own id', 'own'],
    ["a friend's id", 'friend'],
  ] as const)('treats %s written in capitals as the same id', async (_what, whose) => {
    const [ada, bob] = [await t.register(), await t.register()];
    await t.befriend(ada, bob);
    const owner = whose === 'own' ? ada : bob;
    const receipt = await t.command('publishPost', { body: 'Shouting ids', wallOwnerId: owner.userId.toUpperCase() }, ada.token);
    expect(await postRows(receipt.aggregateId)).toEqual([
      { author_id: ada.userId, wall_owner_id: owner.userId, body: 'Shouting ids', edited_at: null, version: 1 },
    ]);
    const [event] = await eventsOf(receipt.aggregateId);
    expect(event!.data).toEqual({ postId: receipt.aggregateId, authorId: ada.userId, wallOwnerId: owner.userId, body: 'Shouting ids' });
  });

  it('accepts a body of 5000 characters, counted after trimming', async () => {
    const ada = await t.register();
    const body = 'x'.repeat(5000);
    const receipt = await t.command('publishPost', { body: `\n  ${body}  \t` }, ada.token);
    expect((await postRows(receipt.aggregateId))[0]!.body).toBe(body);
  });

  it('counts characters, not UTF-16 units: 5000 emoji are a body, 5001 are not', async () => {
    const ada = await t.register();
    const body = '🙂'.repeat(5000);
    expect(body.length).toBe(10_000);
    const receipt = await t.command('publishPost', { body }, ada.token);
    expect((await postRows(receipt.aggregateId))[0]!.body).toBe(body);
    const error = await t.expectRefused('publishPost', { body: `${body}🙂` }, 'BAD_USER_INPUT', ada.token);
    expect(error.message).toContain('body must be at most 5000 characters');
  });

  it("refuses a stranger's wall with FORBIDDEN", async () => {
    const [ada, eve] = [await t.register(), await t.register()];
    const error = await t.expectRefused('publishPost', { body: 'Hi', wallOwnerId: eve.userId }, 'FORBIDDEN', ada.token);
    expect(error.message).toContain(eve.handle);
  });

  it('refuses the wall of someone with only a pending friend request, either way', async () => {
    const [ada, bob] = [await t.register(), await t.register()];
    await t.command('sendFriendRequest', { toUserId: bob.userId }, ada.token);
    await t.expectRefused('publishPost', { body: 'Hi', wallOwnerId: bob.userId }, 'FORBIDDEN', ada.token);
    await t.expectRefused('publishPost', { body: 'Hi', wallOwnerId: ada.userId }, 'FORBIDDEN', bob.token);
  });

  it('refuses the wall of a former friend', async () => {
    const [ada, bob] = [await t.register(), await t.register()];
    await t.befriend(ada, bob);
    await t.command('publishPost', { body: 'While it lasted', wallOwnerId: bob.userId }, ada.token);
    await t.command('removeFriend', { userId: ada.userId }, bob.token);
    await t.expectRefused('publishPost', { body: 'Hi', wallOwnerId: bob.userId }, 'FORBIDDEN', ada.token);
  });

  it('refuses an unknown wall owner with NOT_FOUND', async () => {
    const ada = await t.register();
    const nobody = randomUUID();
    const error = await t.expectRefused('publishPost', { body: 'Hi', wallOwnerId: nobody }, 'NOT_FOUND', ada.token);
    expect(error.message).toContain(nobody);
  });

  it.each([
    ['an empty body', { body: '' }, 'body'],
    ['a blank body', { body: ' \n\t ' }, 'body'],
    ['a body of 5001 characters', { body: 'x'.repeat(5001) }, 'body'],
    ['a malformed wallOwnerId', { body: 'Hi', wallOwnerId: 'not-an-id' }, 'wallOwnerId'],
  ])('refuses %s with BAD_USER_INPUT naming the field', async (_what, input, field) => {
    const ada = await t.register();
    const error = await t.expectRefused('publishPost', input, 'BAD_USER_INPUT', ada.token);
    expect(error.extensions?.['fields']).toEqual([expect.objectContaining({ field })]);
    expect(error.message).toContain(field);
  });

  it.each([
    ['no token', () => undefined],
    ['a tampered token', (ada: Person) => `${ada.token}x`],
    ['a valid token naming no one known here', () => t.app.identity.tokens.issue(randomUUID())],
  ])('refuses a caller with %s as UNAUTHENTICATED', async (_what, tokenFor) => {
    const ada = await t.register();
    await t.expectRefused('publishPost', { body: 'Hi' }, 'UNAUTHENTICATED', await tokenFor(ada));
  });
});
