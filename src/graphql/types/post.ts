import { decodeCursor, pageSize, toConnection } from '../../read/pagination.ts';
import { LATEST_COMMENTS, type PostRow } from '../../read/views/posts.ts';
import { builder } from '../builder.ts';
import type { GraphQLContext } from '../context.ts';
import { thenMaybe } from '../loader.ts';
import { pageComplexity } from '../limits.ts';
import { afterArgDescription, connectionOf, firstArgDescription } from './connection.ts';
import { loadProfile, UserRef } from './user.ts';

export interface CommentShape {
  commentId: string;
  authorId: string;
  body: string;
  createdAt: Date | string;
}

export const CommentRef = builder.objectRef<CommentShape>('Comment').implement({
  description: 'A comment on a post.',
  fields: (t) => ({
    id: t.exposeID('commentId', { description: 'The stable id of the comment.' }),
    author: t.field({
      type: UserRef,
      description: 'Who wrote it.',
      resolve: (c, _args, ctx) => requireProfile(ctx, c.authorId),
    }),
    body: t.exposeString('body', { description: 'The text.' }),
    createdAt: t.field({ type: 'DateTime', description: 'When it was written.', resolve: (c) => c.createdAt }),
  }),
});

export const CommentConnectionRef = connectionOf('Comment', CommentRef, 'comment');

export const PostRef = builder.objectRef<PostRow>('Post').implement({
  description: "A post on someone's wall, as the wall and the feed show it.",
  fields: (t) => ({
    id: t.exposeID('postId', { description: 'The stable id of the post.' }),
    author: t.field({ type: UserRef, description: 'Who wrote it.', resolve: (p, _args, ctx) => requireProfile(ctx, p.authorId) }),
    wallOwner: t.field({
      type: UserRef,
      description: 'Whose wall it is on (the author, or a friend of the author).',
      resolve: (p, _args, ctx) => requireProfile(ctx, p.wallOwnerId),
    }),
    body: t.exposeString('body', { description: 'The text.' }),
    createdAt: t.field({ type: 'DateTime', description: 'When it was published.', resolve: (p) => p.createdAt }),
    editedAt: t.field({ type: 'DateTime', nullable: true, description: 'When it was last edited; null if never.', resolve: (p) => p.editedAt }),
    likeCount: t.exposeInt('likeCount', { description: 'How many people like it.' }),
    commentCount: t.exposeInt('commentCount', { description: 'How many comments it has.' }),
    likedByMe: t.field({
      type: 'Boolean',
      description: 'Whether the signed-in caller likes it.',
      resolve: (p, _args, ctx) => ctx.loaders.liked.load(p.postId),
    }),
    latestComments: t.field({
      type: [CommentRef],
      description: `The newest few comments (up to ${LATEST_COMMENTS}), newest first, kept with the post for walls and feeds.`,
      complexity: { field: 1, multiplier: LATEST_COMMENTS },
      resolve: (p) => p.latestComments,
    }),
    comments: t.field({
      type: CommentConnectionRef,
      description: 'All comments, newest first, a page at a time.',
      complexity: pageComplexity,
      args: {
        first: t.arg.int({ defaultValue: 20, description: firstArgDescription }),
        after: t.arg.string({ description: afterArgDescription }),
      },
      resolve: async (p, args, ctx) => {
        const size = pageSize(args.first);
        const rows = await ctx.loaders.comments.load({ postId: p.postId, after: decodeCursor(args.after), limit: size + 1 });
        return toConnection(rows, size, (r) => ({ at: r.createdAt, id: r.commentId }), (r) => r as CommentShape);
      },
    }),
  }),
});

export const PostConnectionRef = connectionOf('Post', PostRef, 'post');

/** A person the views must know (authors, wall owners): a missing one is a broken view, not a null. */
function requireProfile(ctx: GraphQLContext, userId: string) {
  return thenMaybe(loadProfile(ctx, userId), (profile) => {
    if (!profile) throw new Error(`profile ${userId} is missing from the views`);
    return profile;
  });
}
