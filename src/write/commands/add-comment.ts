import { z } from 'zod';
import { comments } from '../../db/schema/write.ts';
import { forbidden } from '../../errors.ts';
import { defineCommand, lockKey } from '../command.ts';
import { canSeeWall, field, loadPost } from './rules.ts';

export const addComment = defineCommand({
  name: 'AddComment',
  access: 'user',
  input: z.object({ postId: field.id('postId'), body: field.commentBody }),
  async handle({ input, actorId, uow, now, newId }) {
    // The post's lock keeps a comment off a post being deleted; the pair's, off a wall whose owner
    // is unfriending the commenter. The wall owner never changes, so it can be read before locking.
    const { wallOwnerId } = await loadPost(uow.db, input.postId);
    await uow.lock(lockKey.post(input.postId), lockKey.pair(actorId, wallOwnerId));
    const post = await loadPost(uow.db, input.postId);
    if (!(await canSeeWall(uow.db, actorId, post.wallOwnerId))) {
      throw forbidden('Only the wall owner and their friends can comment on this post.');
    }
    const commentId = newId();
    await uow.db.insert(comments).values({ id: commentId, postId: post.id, authorId: actorId, body: input.body, createdAt: now, version: 1 });
    await uow.append({ type: 'comment', id: commentId }, 0, [
      { type: 'CommentAdded', data: { commentId, postId: post.id, authorId: actorId, body: input.body } },
    ]);
    return { aggregateId: commentId };
  },
});
