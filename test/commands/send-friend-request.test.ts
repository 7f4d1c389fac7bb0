import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { queryRows, sql } from '../../src/db/connect.ts';
import { mutationFor, useTestApp, type Person } from '../support/app.ts';

// A small cap, so the friend-cap refusal is reachable; no other test here gives anyone 2 friends.
const MAX_FRIENDS = 2;
const t = useTestApp({ limits: { maxFriends: MAX_FRIENDS } });

type FriendshipRow = {
  id: string;
  user_low: string;
  user_high: string;
  status: string;
  requested_by: string | null;
  requested: boolean;
  accepted: boolean;
  version: number;
};

/** The pair's row in write.friendships (there is at most one, stored lower id first). */
const friendshipOf = async (a: Person, b: Person) => {
  const [low, high] = a.userId < b.userId ? [a.userId, b.userId] : [b.userId, a.userId];
  const rows = await queryRows<FriendshipRow>(
    t.app.database.db,
    sql`select id, user_low, user_high, status::text as status, requested_by, requested_at is not null as requested,
               accepted_at is not null as accepted, version
        from write.friendships where (user_low = ${a.userId} and user_high = ${b.userId}) or (user_low = ${b.userId} and user_high = ${a.userId})`,
  );
  expect(rows).toHaveLength(1);
  expect([rows[0]!.user_low, rows[0]!.user_high]).toEqual([low, high]);
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

describe('sendFriendRequest', () => {
  it('creates a pending friendship, appends FriendRequestSent v1, and returns the friendship as aggregate', async () => {
    const ann = await t.register();
    const bob = await t.register();
    const receipt = await t.command('sendFriendRequest', { toUserId: bob.userId }, ann.token);
    expect(receipt.aggregateId).toMatch(/^[0-9a-f-]{36}$/);
    expect(receipt.aggregateId).not.toBe(ann.userId);
    expect(receipt.aggregateId).not.toBe(bob.userId);

    expect(await friendshipOf(ann, bob)).toEqual({
      id: receipt.aggregateId,
      user_low: expect.any(String),
      user_high: expect.any(String),
      status: 'pending',
      requested_by: ann.userId,
      requested: true,
      accepted: false,
      version: 1,
    });

    expect(await eventsOf(receipt.aggregateId)).toEqual([
      {
        type: 'FriendRequestSent',
        version: 1,
        data: { friendshipId: receipt.aggregateId, fromUserId: ann.userId, toUserId: bob.userId },
        metadata: { commandId: receipt.commandId, command: 'SendFriendRequest', actorId: ann.userId },
        tx_id: receipt.position,
      },
    ]);

    const commands = await queryRows<{ name: string; actor_id: string; receipt: unknown }>(
      t.app.database.db,
      sql`select name, actor_id, receipt from write.commands where id = ${receipt.commandId}`,
    );
    expect(commands).toEqual([{ name: 'SendFriendRequest', actor_id: ann.userId, receipt }]);
    // A request is not a friendship yet.
    expect(await friendCounts(ann, bob)).toEqual([0, 0]);
  });

  it('stores the pair lower id first whichever side asks', async () => {
    const people = [await t.register(), await t.register(), await t.register(), await t.register()].sort((x, y) =>
      x.userId < y.userId ? -1 : 1,
    );
    const [a, b, c, d] = people as [Person, Person, Person, Person];
    await t.command('sendFriendRequest', { toUserId: b.userId }, a.token); // the lower id asks
    await t.command('sendFriendRequest', { toUserId: c.userId }, d.token); // the higher id asks
    expect(await friendshipOf(a, b)).toMatchObject({ user_low: a.userId, user_high: b.userId, requested_by: a.userId });
    expect(await friendshipOf(c, d)).toMatchObject({ user_low: c.userId, user_high: d.userId, requested_by: d.userId });
  });

  it('reuses the pair\'s friendship after a declined request, from either side (v3)', async () => {
    const ann = await t.register();
    const bob = await t.register();
    const first = await t.command('sendFriendRequest', { toUserId: bob.userId }, ann.token);
    await t.command('declineFriendRequest', { fromUserId: ann.userId }, bob.token);

    const again = await t.command('sendFriendRequest', { toUserId: ann.userId }, bob.token);
    expect(again.aggregateId).toBe(first.aggregateId);
    expect(await friendshipOf(ann, bob)).toMatchObject({ id: first.aggregateId, status: 'pending', requested_by: bob.userId, requested: true, version: 3 });
    const events = await eventsOf(first.aggregateId);
    expect(events.map((e) => [e.type, e.version])).toEqual([
      ['FriendRequestSent', 1],
      ['FriendRequestDeclined', 2],
      ['FriendRequestSent', 3],
    ]);
    expect(events[2]).toMatchObject({
      data: { friendshipId: first.aggregateId, fromUserId: bob.userId, toUserId: ann.userId },
      tx_id: again.position,
    });
  });

  it('starts over on the same friendship after an unfriending (v4)', async () => {
    const ann = await t.register();
    const bob = await t.register();
    await t.befriend(ann, bob);
    await t.command('removeFriend', { userId: ann.userId }, bob.token);

    const receipt = await t.command('sendFriendRequest', { toUserId: bob.userId }, ann.token);
    expect(await friendshipOf(ann, bob)).toEqual({
      id: receipt.aggregateId,
      user_low: expect.any(String),
      user_high: expect.any(String),
      status: 'pending',
      requested_by: ann.userId,
      requested: true,
      accepted: false,
      version: 4,
    });
    const events = await eventsOf(receipt.aggregateId);
    expect(events.map((e) => [e.type, e.version])).toEqual([
      ['FriendRequestSent', 1],
      ['FriendRequestAccepted', 2],
      ['FriendRemoved', 3],
      ['FriendRequestSent', 4],
    ]);
    expect(events[3]!.tx_id).toBe(receipt.position);
    expect(await friendCounts(ann, bob)).toEqual([0, 0]);
  });

  it('refuses an anonymous caller', async () => {
    const bob = await t.register();
    const error = await t.expectRefused('sendFriendRequest', { toUserId: bob.userId }, 'UNAUTHENTICATED');
    expect(error.message).toContain('Sign in');
  });

  it('refuses a token that is not valid', async () => {
    const ann = await t.register();
    const bob = await t.register();
    await t.expectRefused('sendFriendRequest', { toUserId: bob.userId }, 'UNAUTHENTICATED', `${ann.token}x`);
  });

  it.each([
    ['a word', 'bob'],
    ['an empty id', ''],
    ['a number', '123'],
    ['an id one character short', '5f0c2a1e-8b3d-4c5e-9f6a-7b8c9d0e1f2'],
    ['an id with a letter past f', '5f0c2a1e-8b3d-4c5e-9f6a-7b8c9d0e1f2g'],
  ])('refuses %s as toUserId with BAD_USER_INPUT naming the field', async (_what, toUserId) => {
    const ann = await t.register();
    const error = await t.expectRefused('sendFriendRequest', { toUserId }, 'BAD_USER_INPUT', ann.token);
    expect(error.extensions?.['fields']).toEqual([expect.objectContaining({ field: 'toUserId' })]);
    expect(error.message).toContain('toUserId');
  });

  it('refuses a request to yourself with BAD_USER_INPUT', async () => {
    const ann = await t.register();
    const error = await t.expectRefused('sendFriendRequest', { toUserId: ann.userId }, 'BAD_USER_INPUT', ann.token);
    expect(error.message).toContain('yourself');
    expect(error.extensions?.['fields']).toEqual([expect.objectContaining({ field: 'toUserId' })]);
  });

  it('refuses a request to yourself with your id in capitals with BAD_USER_INPUT', async () => {
    // An id is a UUID, which names the same thing in any case (RFC 9562). Today the check
    // `toUserId === actorId` misses it, and the insert breaks the ordered-pair constraint.
    const ann = await t.register();
    const error = await t.expectRefused('sendFriendRequest', { toUserId: ann.userId.toUpperCase() }, 'BAD_USER_INPUT', ann.token);
    expect(error.message).toContain('yourself');
  });

  it('treats someone\'s id in capitals as that person, or refuses it as BAD_USER_INPUT', async () => {
    const ann = await t.register();
    const bob = await t.register();
    const result = await t.gql(mutationFor('sendFriendRequest'), { input: { toUserId: bob.userId.toUpperCase() } }, { token: ann.token });
    if (result.errors) {
      expect(result.errors[0]!.extensions?.['code'], JSON.stringify(result.errors)).toBe('BAD_USER_INPUT');
      return;
    }
    const receipt = result.data!['sendFriendRequest'];
    expect(await friendshipOf(ann, bob)).toMatchObject({ id: receipt.aggregateId, status: 'pending', requested_by: ann.userId });
    expect(await eventsOf(receipt.aggregateId)).toEqual([
      expect.objectContaining({ type: 'FriendRequestSent', data: { friendshipId: receipt.aggregateId, fromUserId: ann.userId, toUserId: bob.userId } }),
    ]);
  });

  it('refuses a request to nobody with NOT_FOUND', async () => {
    const ann = await t.register();
    const nobody = randomUUID();
    const error = await t.expectRefused('sendFriendRequest', { toUserId: nobody }, 'NOT_FOUND', ann.token);
    expect(error.message).toContain(nobody);
  });

  it('refuses a sender who does not exist (valid token, no person) with UNAUTHENTICATED', async () => {
    const bob = await t.register();
    const ghost = randomUUID();
    const error = await t.expectRefused('sendFriendRequest', { toUserId: bob.userId }, 'UNAUTHENTICATED', await t.app.identity.tokens.issue(ghost));
    expect(error.message).toMatch(/sign in again/);
  });

  it('refuses a request between friends with CONFLICT, from either side', async () => {
    const ann = await t.register();
    const bob = await t.register();
    await t.befriend(ann, bob);
    expect((await t.expectRefused('sendFriendRequest', { toUserId: bob.userId }, 'CONFLICT', ann.token)).message).toContain('already friends');
    expect((await t.expectRefused('sendFriendRequest', { toUserId: ann.userId }, 'CONFLICT', bob.token)).message).toContain('already friends');
  });

  it('refuses a second request to the same person with CONFLICT', async () => {
    const ann = await t.register();
    const bob = await t.register();
    await t.command('sendFriendRequest', { toUserId: bob.userId }, ann.token);
    const error = await t.expectRefused('sendFriendRequest', { toUserId: bob.userId }, 'CONFLICT', ann.token);
    expect(error.message).toContain(`already sent ${bob.handle}`);
  });

  it('refuses a request to someone who already asked you with CONFLICT (accept it instead)', async () => {
    const ann = await t.register();
    const bob = await t.register();
    await t.command('sendFriendRequest', { toUserId: ann.userId }, bob.token);
    const error = await t.expectRefused('sendFriendRequest', { toUserId: bob.userId }, 'CONFLICT', ann.token);
    expect(error.message).toContain(`${bob.handle} already sent you`);
    expect(error.message).toContain('accept');
  });

  it(`refuses a sender who has ${MAX_FRIENDS} friends (the cap) with CONFLICT`, async () => {
    const ann = await t.register();
    const friends = [await t.register(), await t.register()];
    for (const friend of friends) await t.befriend(ann, friend);
    expect(await friendCounts(ann)).toEqual([MAX_FRIENDS]);

    const dan = await t.register();
    const error = await t.expectRefused('sendFriendRequest', { toUserId: dan.userId }, 'CONFLICT', ann.token);
    expect(error.message).toContain(`${MAX_FRIENDS} friends`);
  });

  it('lets a sender one under the cap ask', async () => {
    const ann = await t.register();
    await t.befriend(ann, await t.register());
    const dan = await t.register();
    const receipt = await t.command('sendFriendRequest', { toUserId: dan.userId }, ann.token);
    expect(await friendshipOf(ann, dan)).toMatchObject({ id: receipt.aggregateId, status: 'pending' });
  });
});
