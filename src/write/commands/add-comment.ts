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
    // The post's lock keeps a comment from landing on a post that is being deleted.
    await uow.lock(lockKey.post(input.postId));
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
