import { z } from 'zod';
import { friendships } from '../../db/schema/write.ts';
import { badInput, conflict } from '../../errors.ts';
import { defineCommand, lockKey } from '../command.ts';
import { field, findFriendship, loadUser, orderedPair } from './rules.ts';

export const sendFriendRequest = defineCommand({
  name: 'SendFriendRequest',
  access: 'user',
  input: z.object({ toUserId: field.id('toUserId') }),
  async handle({ input, actorId, uow, now, newId, limits }) {
    const { toUserId } = input;
    if (toUserId === actorId) throw badInput('You cannot send a friend request to yourself.', 'toUserId');
    await uow.lock(lockKey.user(actorId), lockKey.user(toUserId), lockKey.pair(actorId, toUserId));
    const me = await loadUser(uow.db, actorId);
    const them = await loadUser(uow.db, toUserId);
    const pair = await findFriendship(uow.db, actorId, toUserId);
    if (pair?.status === 'accepted') throw conflict(`You and ${them.handle} are already friends.`);
    if (pair?.status === 'pending') {
      throw pair.requestedBy === actorId
        ? conflict(`You already sent ${them.handle} a friend request.`)
        : conflict(`${them.handle} already sent you a friend request: accept it instead.`);
    }
    if (me.friendCount >= limits.maxFriends) throw conflict(`You already have ${limits.maxFriends} friends, the most allowed.`);

    const friendshipId = pair?.id ?? newId();
    const version = await uow.append({ type: 'friendship', id: friendshipId }, pair?.version ?? 0, [
      { type: 'FriendRequestSent', data: { friendshipId, fromUserId: actorId, toUserId } },
    ]);
    const row = { status: 'pending' as const, requestedBy: actorId, requestedAt: now, acceptedAt: null, version };
    await uow.db
      .insert(friendships)
      .values({ id: friendshipId, ...orderedPair(actorId, toUserId), ...row })
      .onConflictDoUpdate({ target: friendships.id, set: row });
    return { aggregateId: friendshipId };
  },
});
