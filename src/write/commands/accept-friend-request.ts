import { eq, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import { friendships, users } from '../../db/schema/write.ts';
import { conflict, notFound } from '../../errors.ts';
import { defineCommand, lockKey } from '../command.ts';
import { field, findFriendship, loadUser } from './rules.ts';

export const acceptFriendRequest = defineCommand({
  name: 'AcceptFriendRequest',
  access: 'user',
  input: z.object({ fromUserId: field.id('fromUserId') }),
  async handle({ input, actorId, uow, now, limits }) {
    const { fromUserId } = input;
    await uow.lock(lockKey.user(actorId), lockKey.user(fromUserId), lockKey.pair(actorId, fromUserId));
    const pair = await findFriendship(uow.db, actorId, fromUserId);
    if (pair?.status !== 'pending' || pair.requestedBy !== fromUserId) {
      throw notFound(`There is no pending friend request from ${fromUserId} to you.`);
    }
    const me = await loadUser(uow.db, actorId);
    const them = await loadUser(uow.db, fromUserId);
    if (me.friendCount >= limits.maxFriends) throw conflict(`You already have ${limits.maxFriends} friends, the most allowed.`);
    if (them.friendCount >= limits.maxFriends) throw conflict(`${them.handle} already has ${limits.maxFriends} friends, the most allowed.`);

    const version = await uow.append({ type: 'friendship', id: pair.id }, pair.version, [
      { type: 'FriendRequestAccepted', data: { friendshipId: pair.id, fromUserId, toUserId: actorId } },
    ]);
    await uow.db.update(friendships).set({ status: 'accepted', acceptedAt: now, version }).where(eq(friendships.id, pair.id));
    await uow.db
      .update(users)
      .set({ friendCount: sql`${users.friendCount} + 1` })
      .where(inArray(users.id, [actorId, fromUserId]));
    return { aggregateId: pair.id };
  },
});
