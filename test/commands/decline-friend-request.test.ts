import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { queryRows, sql } from '../../src/db/connect.ts';
import { mutationFor, useTestApp, type Person } from '../support/app.ts';

const t = useTestApp();

/** The pair's row in write.friendships (there is at most one, stored lower id first). */
const friendshipOf = async (a: Person, b: Person) => {
  const [low, high] = a.userId < b.userId ? [a.userId, b.userId] : [b.userId, a.userId];
  const rows = await queryRows<{ id: string; status: string; requested_by: string | null; requested: boolean; accepted: boolean; version: number }>(
    t.app.database.db,
    sql`select id, status::text as status, requested_by, requested_at is not null as requested, accepted_at is not null as accepted, version
        from write.friendships where user_low = ${low} and user_high = ${high}`,
  );
  expect(rows).toHaveLength(1);
  return rows[0]!;
};

const eventsOf = (aggregateId: string) =>
  queryRows<{ type: string; version: number; data: unknown; metadata: unknown; tx_id: string }>(
    t.app.database.db,
    sql`select type, version, data, metadata, tx_id::text from write.events where aggregate_id = ${aggregateId} order by version`,
  );

const usersOf = (...people: Person[]) =>
  Promise.all(
    people.map(async (person) => {
      const [row] = await queryRows<{ friend_count: number; version: number }>(
        t.app.database.db,
        sql`select friend_count, version from write.users where id = ${person.userId}`,
      );
      return row;
    }),
  );

describe('declineFriendRequest', () => {
  it('clears the pending request, appends FriendRequestDeclined v2, and leaves the people as they were', async () => {
    const ann = await t.register();
    const bob = await t.register();
    const sent = await t.command('sendFriendRequest', { toUserId: bob.userId }, ann.token);
    const receipt = await t.command('declineFriendRequest', { fromUserId: ann.userId }, bob.token);
    expect(receipt.aggregateId).toBe(sent.aggregateId);
    expect(BigInt(receipt.position)).toBeGreaterThan(BigInt(sent.position));

    expect(await friendshipOf(ann, bob)).toEqual({ id: sent.aggregateId, status: 'none', requested_by: null, requested: false, accepted: false, version: 2 });
    expect(await eventsOf(receipt.aggregateId)).toEqual([
      expect.objectContaining({ type: 'FriendRequestSent', version: 1, tx_id: sent.position }),
      {
        type: 'FriendRequestDeclined',
        version: 2,
        data: { friendshipId: receipt.aggregateId, fromUserId: ann.userId, toUserId: bob.userId },
        metadata: { commandId: receipt.commandId, command: 'DeclineFriendRequest', actorId: bob.userId },
        tx_id: receipt.position,
      },
    ]);
    const commands = await queryRows<{ name: string; actor_id: string; receipt: unknown }>(
      t.app.database.db,
      sql`select name, actor_id, receipt from write.commands where id = ${receipt.commandId}`,
    );
    expect(commands).toEqual([{ name: 'DeclineFriendRequest', actor_id: bob.userId, receipt }]);
    expect(await usersOf(ann, bob)).toEqual([
      { friend_count: 0, version: 1 },
      { friend_count: 0, version: 1 },
    ]);
  });

  it('leaves the pair free for a new request, and the new one can be declined too (v4)', async () => {
    const ann = await t.register();
    const bob = await t.register();
    const sent = await t.command('sendFriendRequest', { toUserId: bob.userId }, ann.token);
    await t.command('declineFriendRequest', { fromUserId: ann.userId }, bob.token);
    await t.command('sendFriendRequest', { toUserId: ann.userId }, bob.token);
    const receipt = await t.command('declineFriendRequest', { fromUserId: bob.userId }, ann.token);
    expect(receipt.aggregateId).toBe(sent.aggregateId);
    expect((await eventsOf(sent.aggregateId)).map((e) => [e.type, e.version])).toEqual([
      ['FriendRequestSent', 1],
      ['FriendRequestDeclined', 2],
      ['FriendRequestSent', 3],
      ['FriendRequestDeclined', 4],
    ]);
    expect(await friendshipOf(ann, bob)).toMatchObject({ status: 'none', requested_by: null, version: 4 });
  });

  it('refuses an anonymous caller', async () => {
    const ann = await t.register();
    const bob = await t.register();
    await t.command('sendFriendRequest', { toUserId: bob.userId }, ann.token);
    const error = await t.expectRefused('declineFriendRequest', { fromUserId: ann.userId }, 'UNAUTHENTICATED');
    expect(error.message).toContain('Sign in');
  });

  it('refuses a token that is not valid', async () => {
    const ann = await t.register();
    const bob = await t.register();
    await t.command('sendFriendRequest', { toUserId: bob.userId }, ann.token);
    await t.expectRefused('declineFriendRequest', { fromUserId: ann.userId }, 'UNAUTHENTICATED', `${bob.token}x`);
  });

  it.each([
    ['a word', 'ann'],
    ['an empty id', ''],
    ['a number', '42'],
    ['an id with a letter past f', '5f0c2a1e-8b3d-4c5e-9f6a-7b8c9d0e1f2g'],
  ])('refuses %s as fromUserId with BAD_USER_INPUT naming the field', async (_what, fromUserId) => {
    const bob = await t.register();
    const error = await t.expectRefused('declineFriendRequest', { fromUserId }, 'BAD_USER_INPUT', bob.token);
    expect(error.extensions?.['fields']).toEqual([expect.objectContaining({ field: 'fromUserId' })]);
    expect(error.message).toContain('fromUserId');
  });

  it('refuses a request from nobody with NOT_FOUND', async () => {
    const bob = await t.register();
    const nobody = randomUUID();
    const error = await t.expectRefused('declineFriendRequest', { fromUserId: nobody }, 'NOT_FOUND', bob.token);
    expect(error.message).toContain(nobody);
  });

  it('refuses when no request was ever sent with NOT_FOUND', async () => {
    const ann = await t.register();
    const bob = await t.register();
    const error = await t.expectRefused('declineFriendRequest', { fromUserId: ann.userId }, 'NOT_FOUND', bob.token);
    expect(error.message).toContain('no pending friend request');
  });

  it('refuses to let the sender decline their own request with NOT_FOUND', async () => {
    const ann = await t.register();
    const bob = await t.register();
    await t.command('sendFriendRequest', { toUserId: bob.userId }, ann.token);
    await t.expectRefused('declineFriendRequest', { fromUserId: bob.userId }, 'NOT_FOUND', ann.token);
    expect(await friendshipOf(ann, bob)).toMatchObject({ status: 'pending', requested_by: ann.userId, version: 1 });
  });

  it('refuses a request from yourself with NOT_FOUND', async () => {
    const ann = await t.register();
    await t.expectRefused('declineFriendRequest', { fromUserId: ann.userId }, 'NOT_FOUND', ann.token);
  });

  it('refuses to decline the same request twice with NOT_FOUND', async () => {
    const ann = await t.register();
    const bob = await t.register();
    await t.command('sendFriendRequest', { toUserId: bob.userId }, ann.token);
    await t.command('declineFriendRequest', { fromUserId: ann.userId }, bob.token);
    await t.expectRefused('declineFriendRequest', { fromUserId: ann.userId }, 'NOT_FOUND', bob.token);
  });

  it('refuses to decline an accepted request (a friendship) with NOT_FOUND', async () => {
    const ann = await t.register();
    const bob = await t.register();
    await t.befriend(ann, bob);
    await t.expectRefused('declineFriendRequest', { fromUserId: ann.userId }, 'NOT_FOUND', bob.token);
    expect(await friendshipOf(ann, bob)).toMatchObject({ status: 'accepted', version: 2 });
    expect(await usersOf(ann, bob)).toEqual([
      { friend_count: 1, version: 1 },
      { friend_count: 1, version: 1 },
    ]);
  });

  it('treats the sender\'s id in capitals as that person, or refuses it as BAD_USER_INPUT', async () => {
    const ann = await t.register();
    const bob = await t.register();
    const sent = await t.command('sendFriendRequest', { toUserId: ann.userId }, bob.token);
    const result = await t.gql(mutationFor('declineFriendRequest'), { input: { fromUserId: bob.userId.toUpperCase() } }, { token: ann.token });
    if (result.errors?.[0]?.extensions?.['code'] === 'BAD_USER_INPUT') return;
    expect(result.errors, 'an id in capitals names the same person').toBeUndefined();
    expect(await friendshipOf(ann, bob)).toMatchObject({ id: sent.aggregateId, status: 'none', version: 2 });
    expect((await eventsOf(sent.aggregateId))[1]).toMatchObject({
      type: 'FriendRequestDeclined',
      data: { friendshipId: sent.aggregateId, fromUserId: bob.userId, toUserId: ann.userId },
    });
  });
});
