import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { queryRows, sql } from '../../src/db/connect.ts';
import { mutationFor, useTestApp, type Person } from '../support/app.ts';

// A small cap, to show that removing a friend frees a place; no other test here needs more.
const MAX_FRIENDS = 2;
const t = useTestApp({ limits: { maxFriends: MAX_FRIENDS } });

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

describe('removeFriend', () => {
  it('ends the friendship, appends FriendRemoved v3, and takes one friend off each count', async () => {
    const ann = await t.register();
    const bob = await t.register();
    await t.befriend(ann, bob);
    const friendshipId = (await friendshipOf(ann, bob)).id;
    expect(await viewedFriendCounts(ann, ann, bob)).toEqual([1, 1]);

    const receipt = await t.command('removeFriend', { userId: bob.userId }, ann.token);
    expect(receipt.aggregateId).toBe(friendshipId);

    expect(await friendshipOf(ann, bob)).toEqual({ id: friendshipId, status: 'none', requested_by: null, requested: false, accepted: false, version: 3 });
    const events = await eventsOf(friendshipId);
    expect(events.map((e) => [e.type, e.version])).toEqual([
      ['FriendRequestSent', 1],
      ['FriendRequestAccepted', 2],
      ['FriendRemoved', 3],
    ]);
    expect(events[2]).toEqual({
      type: 'FriendRemoved',
      version: 3,
      data: { friendshipId, userId: ann.userId, friendId: bob.userId },
      metadata: { commandId: receipt.commandId, command: 'RemoveFriend', actorId: ann.userId },
      tx_id: receipt.position,
    });
    const commands = await queryRows<{ name: string; actor_id: string; receipt: unknown }>(
      t.app.database.db,
      sql`select name, actor_id, receipt from write.commands where id = ${receipt.commandId}`,
    );
    expect(commands).toEqual([{ name: 'RemoveFriend', actor_id: ann.userId, receipt }]);

    expect(await friendCounts(ann, bob)).toEqual([0, 0]);
    expect(await viewedFriendCounts(ann, ann, bob)).toEqual([0, 0]);
  });

  it('lets either friend end it, and leaves their other friendships alone', async () => {
    const ann = await t.register();
    const bob = await t.register();
    const cat = await t.register();
    await t.befriend(ann, bob);
    await t.befriend(ann, cat);
    const receipt = await t.command('removeFriend', { userId: ann.userId }, bob.token); // bob accepted; he may remove too
    expect(await eventsOf(receipt.aggregateId)).toContainEqual(
      expect.objectContaining({ type: 'FriendRemoved', version: 3, data: { friendshipId: receipt.aggregateId, userId: bob.userId, friendId: ann.userId } }),
    );
    expect(await friendshipOf(ann, cat)).toMatchObject({ status: 'accepted', version: 2 });
    expect(await friendCounts(ann, bob, cat)).toEqual([1, 0, 1]);
    expect(await viewedFriendCounts(cat, ann, bob, cat)).toEqual([1, 0, 1]);
  });

  it(`frees a place under the cap of ${MAX_FRIENDS} friends`, async () => {
    const ann = await t.register();
    const bob = await t.register();
    await t.befriend(ann, bob);
    await t.befriend(ann, await t.register());
    const dan = await t.register();
    await t.expectRefused('sendFriendRequest', { toUserId: dan.userId }, 'CONFLICT', ann.token);

    await t.command('removeFriend', { userId: bob.userId }, ann.token);
    await t.befriend(ann, dan);
    expect(await friendCounts(ann, bob, dan)).toEqual([2, 0, 1]);
  });

  it('lets the pair become friends again on the same friendship (v4, v5)', async () => {
    const ann = await t.register();
    const bob = await t.register();
    await t.befriend(ann, bob);
    const removed = await t.command('removeFriend', { userId: bob.userId }, ann.token);
    await t.befriend(bob, ann);
    expect((await eventsOf(removed.aggregateId)).map((e) => [e.type, e.version])).toEqual([
      ['FriendRequestSent', 1],
      ['FriendRequestAccepted', 2],
      ['FriendRemoved', 3],
      ['FriendRequestSent', 4],
      ['FriendRequestAccepted', 5],
    ]);
    expect(await friendshipOf(ann, bob)).toMatchObject({ id: removed.aggregateId, status: 'accepted', accepted: true, version: 5 });
    expect(await friendCounts(ann, bob)).toEqual([1, 1]);
  });

  it('refuses an anonymous caller', async () => {
    const ann = await t.register();
    const bob = await t.register();
    await t.befriend(ann, bob);
    const error = await t.expectRefused('removeFriend', { userId: bob.userId }, 'UNAUTHENTICATED');
    expect(error.message).toContain('Sign in');
  });

  it('refuses a token that is not valid', async () => {
    const ann = await t.register();
    const bob = await t.register();
    await t.befriend(ann, bob);
    await t.expectRefused('removeFriend', { userId: bob.userId }, 'UNAUTHENTICATED', `${ann.token}x`);
  });

  it.each([
    ['a word', 'bob'],
    ['an empty id', ''],
    ['a number', '7'],
    ['an id with a letter past f', '5f0c2a1e-8b3d-4c5e-9f6a-7b8c9d0e1f2g'],
  ])('refuses %s as userId with BAD_USER_INPUT naming the field', async (_what, userId) => {
    const ann = await t.register();
    const error = await t.expectRefused('removeFriend', { userId }, 'BAD_USER_INPUT', ann.token);
    expect(error.extensions?.['fields']).toEqual([expect.objectContaining({ field: 'userId' })]);
    expect(error.message).toContain('userId');
  });

  it('refuses to unfriend yourself with BAD_USER_INPUT', async () => {
    const ann = await t.register();
    const error = await t.expectRefused('removeFriend', { userId: ann.userId }, 'BAD_USER_INPUT', ann.token);
    expect(error.message).toContain('yourself');
    expect(error.extensions?.['fields']).toEqual([expect.objectContaining({ field: 'userId' })]);
  });

  it('refuses to unfriend yourself with your id in capitals with BAD_USER_INPUT', async () => {
    // An id is a UUID, which names the same thing in any case (RFC 9562); today `friendId === actorId` misses it.
    const ann = await t.register();
    const error = await t.expectRefused('removeFriend', { userId: ann.userId.toUpperCase() }, 'BAD_USER_INPUT', ann.token);
    expect(error.message).toContain('yourself');
  });

  it('refuses nobody with NOT_FOUND', async () => {
    const ann = await t.register();
    const nobody = randomUUID();
    const error = await t.expectRefused('removeFriend', { userId: nobody }, 'NOT_FOUND', ann.token);
    expect(error.message).toContain(nobody);
  });

  it('refuses someone who is not a friend with NOT_FOUND', async () => {
    const ann = await t.register();
    const bob = await t.register();
    const error = await t.expectRefused('removeFriend', { userId: bob.userId }, 'NOT_FOUND', ann.token);
    expect(error.message).toContain('not friends');
  });

  it('refuses a pending request (not a friendship yet) with NOT_FOUND, from either side', async () => {
    const ann = await t.register();
    const bob = await t.register();
    await t.command('sendFriendRequest', { toUserId: bob.userId }, ann.token);
    await t.expectRefused('removeFriend', { userId: bob.userId }, 'NOT_FOUND', ann.token);
    await t.expectRefused('removeFriend', { userId: ann.userId }, 'NOT_FOUND', bob.token);
    expect(await friendshipOf(ann, bob)).toMatchObject({ status: 'pending', version: 1 });
    expect(await friendCounts(ann, bob)).toEqual([0, 0]);
  });

  it('refuses to remove the same friend twice with NOT_FOUND', async () => {
    const ann = await t.register();
    const bob = await t.register();
    await t.befriend(ann, bob);
    await t.command('removeFriend', { userId: bob.userId }, ann.token);
    await t.expectRefused('removeFriend', { userId: bob.userId }, 'NOT_FOUND', ann.token);
    await t.expectRefused('removeFriend', { userId: ann.userId }, 'NOT_FOUND', bob.token);
    expect(await friendCounts(ann, bob)).toEqual([0, 0]);
  });

  it('treats a friend\'s id in capitals as that person, or refuses it as BAD_USER_INPUT', async () => {
    const ann = await t.register();
    const bob = await t.register();
    await t.befriend(bob, ann);
    const result = await t.gql(mutationFor('removeFriend'), { input: { userId: bob.userId.toUpperCase() } }, { token: ann.token });
    if (result.errors?.[0]?.extensions?.['code'] === 'BAD_USER_INPUT') return;
    expect(result.errors, 'an id in capitals names the same person').toBeUndefined();
    const friendship = await friendshipOf(ann, bob);
    expect(friendship).toMatchObject({ status: 'none', version: 3 });
    expect((await eventsOf(friendship.id))[2]).toMatchObject({
      type: 'FriendRemoved',
      data: { friendshipId: friendship.id, userId: ann.userId, friendId: bob.userId },
    });
    expect(await friendCounts(ann, bob)).toEqual([0, 0]);
  });
});
