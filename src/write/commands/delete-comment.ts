import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { comments, posts } from '../../db/schema/write.ts';
import type { Queryable } from '../../db/connect.ts';
import { forbidden, notFound } from '../../errors.ts';
import { defineCommand, lockKey } from '../command.ts';
import { field } from './rules.ts';

async function loadComment(db: Queryable, commentId: string) {
  const [row] = await db
    .select({ comment: comments, postAuthorId: posts.authorId, wallOwnerId: posts.wallOwnerId })
    .from(comments)
    .innerJoin(posts, eq(posts.id, comments.postId))
    .where(eq(comments.id, commentId));
  if (!row) throw notFound(`No comment has the id ${commentId}; it may have been deleted.`);
  return row;
}

export const deleteComment = defineCommand({
  name: 'DeleteComment',
  access: 'user',
  input: z.object({ commentId: field.id('commentId') }),
  async handle({ input, actorId, uow }) {
    // The post to lock is found first; the comment is read again under the locks.
    const { comment: found } = await loadComment(uow.db, input.commentId);
    await uow.lock(lockKey.comment(found.id), lockKey.post(found.postId));
    const { comment, postAuthorId, wallOwnerId } = await loadComment(uow.db, input.commentId);
    if (actorId !== comment.authorId && actorId !== postAuthorId && actorId !== wallOwnerId) {
      throw forbidden("Only the comment's author, the post's author or the wall owner can delete a comment.");
    }
    await uow.append({ type: 'comment', id: comment.id }, comment.version, [
      { type: 'CommentDeleted', data: { commentId: comment.id, postId: comment.postId, deletedBy: actorId } },
    ]);
    await uow.db.delete(comments).where(eq(comments.id, comment.id));
    return { aggregateId: comment.id };
  },
});
