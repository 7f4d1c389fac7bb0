import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { posts } from '../../db/schema/write.ts';
import { forbidden } from '../../errors.ts';
import { defineCommand, lockKey } from '../command.ts';
import { field, loadPost } from './rules.ts';

export const editPost = defineCommand({
  name: 'EditPost',
  access: 'user',
  input: z.object({ postId: field.id('postId'), body: field.postBody }),
  async handle({ input, actorId, uow, now }) {
    await uow.lock(lockKey.post(input.postId));
    const post = await loadPost(uow.db, input.postId);
    if (post.authorId !== actorId) throw forbidden('Only the author of a post can edit it.');
    const version = await uow.append({ type: 'post', id: post.id }, post.version, [
      { type: 'PostEdited', data: { postId: post.id, body: input.body } },
    ]);
    await uow.db.update(posts).set({ body: input.body, editedAt: now, version }).where(eq(posts.id, post.id));
    return { aggregateId: post.id };
  },
});
