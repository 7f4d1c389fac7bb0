import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { likes, posts } from '../../db/schema/write.ts';
import { conflict } from '../../errors.ts';
import { defineCommand, lockKey } from '../command.ts';
import { field, loadPost } from './rules.ts';

/** Unliking a post one does not like is refused with CONFLICT, like a second like. */
export const unlikePost = defineCommand({
  name: 'UnlikePost',
  access: 'user',
  input: z.object({ postId: field.id('postId') }),
  async handle({ input, actorId, uow }) {
    await uow.lock(lockKey.post(input.postId));
    const post = await loadPost(uow.db, input.postId);
    const removed = await uow.db
      .delete(likes)
      .where(and(eq(likes.postId, post.id), eq(likes.userId, actorId)))
      .returning({ userId: likes.userId });
    if (removed.length === 0) throw conflict('You do not like this post.');

    const version = await uow.append({ type: 'post', id: post.id }, post.version, [
      { type: 'PostUnliked', data: { postId: post.id, userId: actorId } },
    ]);
    await uow.db.update(posts).set({ version }).where(eq(posts.id, post.id));
    return { aggregateId: post.id };
  },
});
