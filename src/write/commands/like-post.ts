import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { likes, posts } from '../../db/schema/write.ts';
import { conflict, forbidden } from '../../errors.ts';
import { defineCommand, lockKey } from '../command.ts';
import { canSeeWall, field, loadPost } from './rules.ts';

/** Liking a post twice is refused with CONFLICT (not a silent no-op), so a client learns its state was stale. */
export const likePost = defineCommand({
  name: 'LikePost',
  access: 'user',
  input: z.object({ postId: field.id('postId') }),
  async handle({ input, actorId, uow, now }) {
    // As for comments: the post's lock and the lock of the pair (liker, wall owner).
    const { wallOwnerId } = await loadPost(uow.db, input.postId);
    await uow.lock(lockKey.post(input.postId), lockKey.pair(actorId, wallOwnerId));
    const post = await loadPost(uow.db, input.postId);
    if (!(await canSeeWall(uow.db, actorId, post.wallOwnerId))) {
      throw forbidden('Only the wall owner and their friends can like this post.');
    }
    const [liked] = await uow.db
      .select({ userId: likes.userId })
      .from(likes)
      .where(and(eq(likes.postId, post.id), eq(likes.userId, actorId)));
    if (liked) throw conflict('You already like this post.');

    const version = await uow.append({ type: 'post', id: post.id }, post.version, [
      { type: 'PostLiked', data: { postId: post.id, userId: actorId } },
    ]);
    await uow.db.insert(likes).values({ postId: post.id, userId: actorId, createdAt: now });
    await uow.db.update(posts).set({ version }).where(eq(posts.id, post.id));
    return { aggregateId: post.id };
  },
});
