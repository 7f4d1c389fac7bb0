import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { friendships } from '../../db/schema/write.ts';
import { notFound } from '../../errors.ts';
import { defineCommand, lockKey } from '../command.ts';
import { field, findFriendship } from './rules.ts';

export const declineFriendRequest = defineCommand({
  name: 'DeclineFriendRequest',
  access: 'user',
  input: z.object({ fromUserId: field.id('fromUserId') }),
  async handle({ input, actorId, uow }) {
    const { fromUserId } = input;
    await uow.lock(lockKey.pair(actorId, fromUserId));
    const pair = await findFriendship(uow.db, actorId, fromUserId);
    if (pair?.status !== 'pending' || pair.requestedBy !== fromUserId) {
      throw notFound(`There is no pending friend request from ${fromUserId} to you.`);
    }
    const version = await uow.append({ type: 'friendship', id: pair.id }, pair.version, [
      { type: 'FriendRequestDeclined', data: { friendshipId: pair.id, fromUserId, toUserId: actorId } },
    ]);
    await uow.db
      .update(friendships)
      .set({ status: 'none', requestedBy: null, requestedAt: null, version })
      .where(eq(friendships.id, pair.id));
    return { aggregateId: pair.id };
  },
});
