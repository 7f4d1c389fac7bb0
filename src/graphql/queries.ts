import { forbidden, notFound } from '../errors.ts';
import { decodeCursor, pageSize, toConnection } from '../read/pagination.ts';
import { feedPage } from '../read/views/feed.ts';
import { pendingRequests } from '../read/views/friends.ts';
import { wallPage, type PostRow } from '../read/views/posts.ts';
import { findProfileByHandle } from '../read/views/profile.ts';
import { parseId } from './args.ts';
import { builder } from './builder.ts';
import { primePostPage, requireActor, type GraphQLContext } from './context.ts';
import { pageComplexity } from './limits.ts';
import { afterArgDescription, firstArgDescription } from './types/connection.ts';
import { FriendRequestRef } from './types/friend-request.ts';
import { PostConnectionRef, PostRef } from './types/post.ts';
import { loadProfile, UserRef } from './types/user.ts';

builder.queryType({ description: 'Reads. Every field answers from the read views, never from the write tables.' });

/** The most pending requests `friendRequests` lists. */
const MAX_FRIEND_REQUESTS = 500;


const postPage = (rows: PostRow[], size: number) => toConnection(rows, size, (p) => ({ at: p.createdAt, id: p.postId }), (p) => p);

export async function requireWallVisible(ctx: GraphQLContext, ownerId: string) {
  if (!(await ctx.loaders.seesWallOf.load(ownerId))) throw forbidden("Only the wall's owner and their friends can see it.");
}

builder.queryField('me', (t) =>
  t.field({
    type: UserRef,
    description: 'The signed-in person. UNAUTHENTICATED without a valid token.',
    resolve: async (_root, _args, ctx) => {
      const userId = requireActor(ctx);
      const profile = await loadProfile(ctx, userId);
      if (!profile) throw notFound('Your profile is not in the views yet; retry with X-Consistent-With.');
      return profile;
    },
  }),
);

builder.queryField('user', (t) =>
  t.field({
    type: UserRef,
    nullable: true,
    description: 'A person by handle (ignoring case); null when there is no such person. Needs a signed-in caller.',
    args: { handle: t.arg.string({ required: true, description: 'The handle to look up.' }) },
    resolve: async (_root, { handle }, ctx) => {
      requireActor(ctx);
      const profile = await findProfileByHandle(ctx.services.viewsDb, handle);
      if (profile) ctx.loaders.profile.prime(profile.userId, profile);
      return profile ?? null;
    },
  }),
);

builder.queryField('wall', (t) =>
  t.field({
    type: PostConnectionRef,
    description:
      "The posts on a person's wall, newest first. Visible to the owner and the owner's friends (FORBIDDEN otherwise); NOT_FOUND for no such person.",
    complexity: pageComplexity,
    args: {
      userId: t.arg.id({ required: true, description: 'Whose wall.' }),
      first: t.arg.int({ defaultValue: 20, description: firstArgDescription }),
      after: t.arg.string({ description: afterArgDescription }),
    },
    resolve: async (_root, args, ctx) => {
      const viewerId = requireActor(ctx);
      const ownerId = parseId(args.userId, 'userId');
      const size = pageSize(args.first);
      const after = decodeCursor(args.after);
      if (!(await loadProfile(ctx, ownerId))) throw notFound(`No person has the id ${ownerId}.`);
      await requireWallVisible(ctx, ownerId);
      const rows = await wallPage(ctx.services.viewsDb, ownerId, viewerId, after, size + 1);
      await primePostPage(ctx, rows.slice(0, size));
      return postPage(rows, size);
    },
  }),
);

builder.queryField('feed', (t) =>
  t.field({
    type: PostConnectionRef,
    description:
      "The signed-in person's home feed, newest first: their own posts, posts on their wall, and friends' posts they may see (see the README for the rule and its bound).",
    complexity: pageComplexity,
    args: {
      first: t.arg.int({ defaultValue: 20, description: firstArgDescription }),
      after: t.arg.string({ description: afterArgDescription }),
    },
    resolve: async (_root, args, ctx) => {
      const readerId = requireActor(ctx);
      const size = pageSize(args.first);
      const rows = await feedPage(ctx.services.viewsDb, readerId, decodeCursor(args.after), size + 1);
      await primePostPage(ctx, rows.slice(0, size));
      return postPage(rows, size);
    },
  }),
);

builder.queryField('post', (t) =>
  t.field({
    type: PostRef,
    nullable: true,
    description: "One post; null when there is none (or it was deleted). FORBIDDEN unless the caller may see the wall it is on.",
    args: { id: t.arg.id({ required: true, description: 'The post.' }) },
    resolve: async (_root, args, ctx) => {
      requireActor(ctx);
      const post = await ctx.loaders.post.load(parseId(args.id, 'id'));
      if (!post) return null;
      await requireWallVisible(ctx, post.wallOwnerId);
      return post;
    },
  }),
);

builder.queryField('friendRequests', (t) =>
  t.field({
    type: [FriendRequestRef],
    description: `Pending friend requests sent to the signed-in person, newest first (at most ${MAX_FRIEND_REQUESTS}).`,
    complexity: { field: 1, multiplier: MAX_FRIEND_REQUESTS },
    resolve: async (_root, _args, ctx) => pendingRequests(ctx.services.viewsDb, requireActor(ctx), MAX_FRIEND_REQUESTS),
  }),
);
