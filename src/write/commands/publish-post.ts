import { z } from 'zod';
import { posts } from '../../db/schema/write.ts';
import { forbidden } from '../../errors.ts';
import { defineCommand, lockKey } from '../command.ts';
import { areFriends, field, loadUser } from './rules.ts';

export const publishPost = defineCommand({
  name: 'PublishPost',
  access: 'user',
  input: z.object({ body: field.postBody, wallOwnerId: field.id('wallOwnerId').nullish() }),
  async handle({ input, actorId, uow, now, newId }) {
    const wallOwnerId = input.wallOwnerId ?? actorId;
    // Locking the pair orders this post against an unfriending that races it.
    await uow.lock(lockKey.pair(actorId, wallOwnerId));
    await loadUser(uow.db, actorId);
    if (wallOwnerId !== actorId) {
      const owner = await loadUser(uow.db, wallOwnerId, 'wall owner');
      if (!(await areFriends(uow.db, actorId, wallOwnerId))) {
        throw forbidden(`Only friends of ${owner.handle} can write on their wall.`);
      }
    }
    const postId = newId();
    await uow.db.insert(posts).values({ id: postId, authorId: actorId, wallOwnerId, body: input.body, createdAt: now, version: 1 });
    await uow.append({ type: 'post', id: postId }, 0, [
      { type: 'PostPublished', data: { postId, authorId: actorId, wallOwnerId, body: input.body } },
    ]);
    return { aggregateId: postId };
  },
});
