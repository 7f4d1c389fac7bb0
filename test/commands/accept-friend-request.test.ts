import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { queryRows, sql } from '../../src/db/connect.ts';
import { mutationFor, useTestApp, type Person } from '../support/app.ts';

// A small cap, so both friend-cap refusals are reachable; no other test here gives anyone 2 friends.
const MAX_FRIENDS = 2;
const t = useTestApp({ limits: { maxFriends: MAX_FRIENDS } });

/** The pair's row in write.friendships (there is at most one, stored lower id first). */
const friendshipOf = async (a: Person, b: Person) => {
  const [low, high] = a.userId < b.userId ? [a.userId, b.userId] : [b.userId, a.userId];
  const rows = await queryRows<{ id: string; status: string; requested: boolean; accepted: boolean; version: number }>(
    t.app.database.db,
    sql`select id, status::text as status, requested_at is not null as requested, accepted_at is not null as accepted, version
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

const friendCounts = async (...people: Person[]) => {
  const counts: number[] = [];
  for (const person of people) {
    const [row] = await queryRows<{ friend_count: number }>(t.app.database.db, sql`select friend_count from write.users where id = ${person.userId}`);
    counts.push(row!.friend_count);
  }
  return counts;
};

/** friendCount as the read view shows it, once the projector has caught up. */
const viewedFriendCounts = async (viewer: Person, ...people: Person[]) => {
  await t.settle();
  const counts: number[] = [];
  for (const person of people) {
    const result = await t.gql(`query ($handle: String!) { user(handle: $handle) { friendCount } }`, { handle: person.handle }, { token: viewer.token });
    expect(result.errors).toBeUndefined();
    counts.push(result.data!['user'].friendCount);
  }
  return counts;
};

describe('acceptFriendRequest', () => {
  it('makes the pair friends, appends FriendRequestAccepted v2, and counts one friend each', async () => {
    const ann = await t.register();
    const bob = await t.register();
    const bystander = await t.register();
    const sent = await t.command('sendFriendRequest', { toUserId: bob.userId }, ann.token);
    const receipt = await t.command('acceptFriendRequest', { fromUserId: ann.userId }, bob.token);
    expect(receipt.aggregateId).toBe(sent.aggregateId);
    expect(BigInt(receipt.position)).toBeGreaterThan(BigInt(sent.position));

    expect(await friendshipOf(ann, bob)).toEqual({ id: sent.aggregateId, status: 'accepted', requested: true, accepted: true, version: 2 });
    expect(await eventsOf(receipt.aggregateId)).toEqual([
      expect.objectContaining({ type: 'FriendRequestSent', version: 1, tx_id: sent.position }),
      {
        type: 'FriendRequestAccepted',
        version: 2,
        data: { friendshipId: receipt.aggregateId, fromUserId: ann.userId, toUserId: bob.userId },
        metadata: { commandId: receipt.commandId, command: 'AcceptFriendRequest', actorId: bob.userId },
        tx_id: receipt.position,
      },
    ]);
    const commands = await queryRows<{ name: string; actor_id: string; receipt: unknown }>(
      t.app.database.db,
      sql`select name, actor_id, receipt from write.commands where id = ${receipt.commandId}`,
    );
    expect(commands).toEqual([{ name: 'AcceptFriendRequest', actor_id: bob.userId, receipt }]);

    expect(await friendCounts(ann, bob, bystander)).toEqual([1, 1, 0]);
    expect(await viewedFriendCounts(bystander, ann, bob, bystander)).toEqual([1, 1, 0]);
  });

  it('adds up friend counts across friendships, in the write table and the view', async () => {
    const ann = await t.register();
    const bob = await t.register();
    const cat = await t.register();
    await t.befriend(ann, bob);
    await t.befriend(cat, ann);
    expect(await friendCounts(ann, bob, cat)).toEqual([2, 1, 1]);
    expect(await viewedFriendCounts(bob, ann, bob, cat)).toEqual([2, 1, 1]);
  });

  it('refuses an anonymous caller', async () => {
    const ann = await t.register();
    const bob = await t.register();
    await t.command('sendFriendRequest', { toUserId: bob.userId }, ann.token);
    const error = await t.expectRefused('acceptFriendRequest', { fromUserId: ann.userId }, 'UNAUTHENTICATED');
    expect(error.message).toContain('Sign in');
  });

  it('refuses a token that is not valid', async () => {
    const ann = await t.register();
    const bob = await t.register();
    await t.command('sendFriendRequest', { toUserId: bob.userId }, ann.token);
    await t.expectRefused('acceptFriendRequest', { fromUserId: ann.userId }, 'UNAUTHENTICATED', `${bob.token}x`);
  });

  it.each([
    ['a word', 'ann'],
    ['an empty id', ''],
    ['a number', '42'],
    ['an id with a letter past f', '5f0c2a1e-8b3d-4c5e-9f6a-7b8c9d0e1f2g'],
  ])('refuses %s as fromUserId with BAD_USER_INPUT naming the field', async (_what, fromUserId) => {
    const bob = await t.register();
    const error = await t.expectRefused('acceptFriendRequest', { fromUserId }, 'BAD_USER_INPUT', bob.token);
    expect(error.extensions?.['fields']).toEqual([expect.objectContaining({ field: 'fromUserId' })]);
    expect(error.message).toContain('fromUserId');
  });

  it('refuses a request from nobody with NOT_FOUND', async () => {
    const bob = await t.register();
    const nobody = randomUUID();
    const error = await t.expectRefused('acceptFriendRequest', { fromUserId: nobody }, 'NOT_FOUND', bob.token);
    expect(error.message).toContain(nobody);
  });

  it('refuses when no request was ever sent with NOT_FOUND', async () => {
    const ann = await t.register();
    const bob = await t.register();
    const error = await t.expectRefused('acceptFriendRequest', { fromUserId: ann.userId }, 'NOT_FOUND', bob.token);
    expect(error.message).toContain('no pending friend request');
  });

  it('refuses to let the sender accept their own request with NOT_FOUND', async () => {
    const ann = await t.register();
    const bob = await t.register();
    await t.command('sendFriendRequest', { toUserId: bob.userId }, ann.token);
    await t.expectRefused('acceptFriendRequest', { fromUserId: bob.userId }, 'NOT_FOUND', ann.token);
    expect(await friendshipOf(ann, bob)).toMatchObject({ status: 'pending', version: 1 });
  });

  it('refuses a request from yourself with NOT_FOUND', async () => {
    const ann = await t.register();
    await t.expectRefused('acceptFriendRequest', { fromUserId: ann.userId }, 'NOT_FOUND', ann.token);
  });

  it('refuses to accept the same request twice with NOT_FOUND', async () => {
    const ann = await t.register();
    const bob = await t.register();
    await t.befriend(ann, bob);
    await t.expectRefused('acceptFriendRequest', { fromUserId: ann.userId }, 'NOT_FOUND', bob.token);
    expect(await friendCounts(ann, bob)).toEqual([1, 1]);
  });

  it('refuses a declined request with NOT_FOUND', async () => {
    const ann = await t.register();
    const bob = await t.register();
    await t.command('sendFriendRequest', { toUserId: bob.userId }, ann.token);
    await t.command('declineFriendRequest', { fromUserId: ann.userId }, bob.token);
    await t.expectRefused('acceptFriendRequest', { fromUserId: ann.userId }, 'NOT_FOUND', bob.token);
  });

  it('refuses the old request of a friendship that was ended with NOT_FOUND', async () => {
    const ann = await t.register();
    const bob = await t.register();
    await t.befriend(ann, bob);
    await t.command('removeFriend', { userId: bob.userId }, ann.token);
    await t.expectRefused('acceptFriendRequest', { fromUserId: ann.userId }, 'NOT_FOUND', bob.token);
    expect(await friendCounts(ann, bob)).toEqual([0, 0]);
  });

  it(`refuses with CONFLICT when the one accepting already has ${MAX_FRIENDS} friends`, async () => {
    const ann = await t.register();
    const dan = await t.register();
    await t.command('sendFriendRequest', { toUserId: ann.userId }, dan.token);
    await t.befriend(ann, await t.register());
    await t.befriend(ann, await t.register());

    const error = await t.expectRefused('acceptFriendRequest', { fromUserId: dan.userId }, 'CONFLICT', ann.token);
    expect(error.message).toContain(`You already have ${MAX_FRIENDS} friends`);
    expect(await friendshipOf(ann, dan)).toMatchObject({ status: 'pending', version: 1 });
    expect(await friendCounts(ann, dan)).toEqual([MAX_FRIENDS, 0]);
  });

  it(`refuses with CONFLICT when the sender has reached ${MAX_FRIENDS} friends meanwhile`, async () => {
    const ann = await t.register();
    const dan = await t.register();
    await t.command('sendFriendRequest', { toUserId: dan.userId }, ann.token);
    await t.befriend(ann, await t.register());
    await t.befriend(ann, await t.register());

    const error = await t.expectRefused('acceptFriendRequest', { fromUserId: ann.userId }, 'CONFLICT', dan.token);
    expect(error.message).toContain(`${ann.handle} already has ${MAX_FRIENDS} friends`);
    expect(await friendCounts(ann, dan)).toEqual([MAX_FRIENDS, 0]);
  });

  it('treats the sender\'s id in capitals as that person, or refuses it as BAD_USER_INPUT', async () => {
    const ann = await t.register();
    const bob = await t.register();
    const sent = await t.command('sendFriendRequest', { toUserId: ann.userId }, bob.token);
    const result = await t.gql(mutationFor('acceptFriendRequest'), { input: { fromUserId: bob.userId.toUpperCase() } }, { token: ann.token });
    if (result.errors?.[0]?.extensions?.['code'] === 'BAD_USER_INPUT') return;
    expect(result.errors, 'an id in capitals names the same person').toBeUndefined();
    expect(await friendshipOf(ann, bob)).toMatchObject({ id: sent.aggregateId, status: 'accepted', version: 2 });
    expect((await eventsOf(sent.aggregateId))[1]).toMatchObject({
      type: 'FriendRequestAccepted',
      data: { friendshipId: sent.aggregateId, fromUserId: bob.userId, toUserId: ann.userId },
    });
  });
});
