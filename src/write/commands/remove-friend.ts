import { eq, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import { friendships, users } from '../../db/schema/write.ts';
import { badInput, notFound } from '../../errors.ts';
import { defineCommand, lockKey } from '../command.ts';
import { field, findFriendship } from './rules.ts';

export const removeFriend = defineCommand({
  name: 'RemoveFriend',
  access: 'user',
  input: z.object({ userId: field.id('userId') }),
  async handle({ input, actorId, uow }) {
    const friendId = input.userId;
    if (friendId === actorId) throw badInput('You cannot unfriend yourself.', 'userId');
    await uow.lock(lockKey.user(actorId), lockKey.user(friendId), lockKey.pair(actorId, friendId));
    const pair = await findFriendship(uow.db, actorId, friendId);
    if (pair?.status !== 'accepted') throw notFound(`You are not friends with ${friendId}.`);

    const version = await uow.append({ type: 'friendship', id: pair.id }, pair.version, [
      { type: 'FriendRemoved', data: { friendshipId: pair.id, userId: actorId, friendId } },
    ]);
    await uow.db
      .update(friendships)
      .set({ status: 'none', requestedBy: null, requestedAt: null, acceptedAt: null, version })
      .where(eq(friendships.id, pair.id));
    await uow.db
      .update(users)
      .set({ friendCount: sql`${users.friendCount} - 1` })
      .where(inArray(users.id, [actorId, friendId]));
    return { aggregateId: pair.id };
  },
});
