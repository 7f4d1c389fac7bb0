import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { posts } from '../../db/schema/write.ts';
import { forbidden } from '../../errors.ts';
import { defineCommand, lockKey } from '../command.ts';
import { field, loadPost } from './rules.ts';

export const deletePost = defineCommand({
  name: 'DeletePost',
  access: 'user',
  input: z.object({ postId: field.id('postId') }),
  async handle({ input, actorId, uow }) {
    await uow.lock(lockKey.post(input.postId));
    const post = await loadPost(uow.db, input.postId);
    if (actorId !== post.authorId && actorId !== post.wallOwnerId) {
      throw forbidden('Only the author of a post or the owner of the wall it is on can delete it.');
    }
    await uow.append({ type: 'post', id: post.id }, post.version, [
      {
        type: 'PostDeleted',
        data: { postId: post.id, authorId: post.authorId, wallOwnerId: post.wallOwnerId, deletedBy: actorId },
      },
    ]);
    // Its comments and likes go with it (ON DELETE CASCADE).
    await uow.db.delete(posts).where(eq(posts.id, post.id));
    return { aggregateId: post.id };
  },
});
