import DataLoader from 'dataloader';
import type { Db } from '../db/connect.ts';
import { notFound } from '../errors.ts';
import type { Topic } from '../read/changes.ts';
import type { LiveChange, LiveMessage } from '../read/live/subscriber.ts';
import { likersAmong } from '../read/views/posts.ts';
import { parseId, parseResumePoint } from './args.ts';
import { builder } from './builder.ts';
import { Loader } from './loader.ts';
import { createLoaders, requireActor, type GraphQLContext } from './context.ts';
import { requireWallVisible } from './queries.ts';
import { PostRef } from './types/post.ts';
import { loadProfile } from './types/user.ts';

builder.subscriptionType({
  description:
    'Live changes, read from the views after the projector applies them (graphql-ws on /graphql, or SSE). ' +
    'Each message is one post that was added, updated or removed, with its position. To resume without a gap, pass the last ' +
    "position you saw as `since` (or the `extensions.projection.position` of the query you rendered): the changes after it come first, then live ones.",
});

const ChangeKindRef = builder.enumType('ChangeKind', {
  description: 'What happened to the post, as the subscribed wall, feed or post sees it.',
  values: {
    ADDED: { description: 'It appeared: published on the wall, or entered the feed.' },
    UPDATED: { description: 'It changed: edited, liked or unliked, commented on, or a comment was deleted.' },
    REMOVED: { description: 'It is gone: deleted, or it left the feed (trimmed, or its author is no longer a friend).' },
  },
});

const PostChangeRef = builder.objectRef<LiveChange>('PostChange').implement({
  description: 'One change to a post, as the views hold it when it is sent.',
  fields: (t) => ({
    kind: t.field({ type: ChangeKindRef, description: 'Added, updated or removed.', resolve: (c) => c.kind }),
    postId: t.exposeID('postId', { description: 'The post that changed.' }),
    post: t.field({
      type: PostRef,
      nullable: true,
      description: 'The post as the views hold it when the message is sent; null when REMOVED.',
      resolve: (c) => c.post,
    }),
    position: t.field({
      type: 'String',
      description: 'The position of the change (a receipt position): pass the last one you saw as `since` to resume after it.',
      resolve: (c) => c.position.toString(),
    }),
    cursor: t.field({
      type: 'String',
      description:
        "This message's own place (opaque): pass it as `since` to resume right after it, even within a transaction that changed several entries (a new friend's posts entering a feed share one position).",
      resolve: (c) => `${c.position}:${c.seq}`,
    }),
  }),
});

const SINCE =
  "Resume after this position (every change at it was seen), or after a change's `cursor` (exactly that message): the changes logged after it are sent first, then live ones.";

/**
 * Each message gets fresh loaders primed with what the hub loaded once for every subscriber, so
 * the post and the people it shows cost no query per subscriber; `likedByMe` is one query for all
 * the subscribers who ask (see likesOf).
 */
function deliver(message: LiveMessage, ctx: GraphQLContext): LiveChange {
  if ('end' in message) throw message.end;
  const { actorId } = ctx;
  const loaders = (ctx.loaders = createLoaders(ctx.services.viewsDb, actorId));
  for (const [id, profile] of message.profiles) loaders.profile.prime(id, profile);
  if (message.post) loaders.post.prime(message.postId, message.post);
  if (message.post && actorId) {
    const likes = likesOf(message, ctx.services.viewsDb);
    const others = loaders.liked;
    loaders.liked = new Loader((postIds) => Promise.all(postIds.map((id) => (id === message.postId ? likes.load(actorId) : others.load(id)))));
  }
  return message;
}

/** Per live change, who among its viewers likes its post. */
const likesByChange = new WeakMap<LiveChange, DataLoader<string, boolean>>();

/**
 * The hub hands one change to all its subscribers in the same turn of the event loop; the viewers
 * asking for `likedByMe` in that turn are answered by one query (dispatched in the next turn).
 */
function likesOf(change: LiveChange, viewsDb: Db): DataLoader<string, boolean> {
  let likes = likesByChange.get(change);
  if (!likes) {
    likes = new DataLoader(
      async (viewerIds) => {
        const likers = await likersAmong(viewsDb, change.postId, viewerIds);
        return viewerIds.map((id) => likers.has(id));
      },
      { batchScheduleFn: (dispatch) => setImmediate(dispatch) },
    );
    likesByChange.set(change, likes);
  }
  return likes;
}

function watch(ctx: GraphQLContext, topic: Topic, since: string | null | undefined, authorize: (viewerId: string) => Promise<{ wallId: string | null }>) {
  const viewerId = requireActor(ctx);
  const from = parseResumePoint(since, 'since');
  return ctx.services.live.subscribe(topic, { viewerId, since: from, authorize: () => authorize(viewerId) });
}

builder.subscriptionField('wallChanged', (t) =>
  t.field({
    type: PostChangeRef,
    description:
      "Posts added to, changed on or removed from a person's wall. Visible to the owner and the owner's friends (FORBIDDEN otherwise); ends with FORBIDDEN when the friendship ends.",
    args: {
      userId: t.arg.id({ required: true, description: 'Whose wall.' }),
      since: t.arg.string({ description: SINCE }),
    },
    subscribe: (_root, args, ctx) => {
      const wallId = parseId(args.userId, 'userId');
      return watch(ctx, { kind: 'wall', wallId }, args.since, async () => {
        if (!(await loadProfile(ctx, wallId))) throw notFound(`No person has the id ${wallId}.`);
        await requireWallVisible(ctx, wallId);
        return { wallId };
      });
    },
    resolve: (message: LiveMessage, _args, ctx) => deliver(message, ctx),
  }),
);

builder.subscriptionField('feedChanged', (t) =>
  t.field({
    type: PostChangeRef,
    description: "The signed-in person's feed: posts entering it (ADDED), changing while in it (UPDATED), and leaving it (REMOVED).",
    args: { since: t.arg.string({ description: SINCE }) },
    subscribe: (_root, args, ctx) => {
      const readerId = requireActor(ctx);
      return watch(ctx, { kind: 'feed', readerId }, args.since, async () => ({ wallId: null }));
    },
    resolve: (message: LiveMessage, _args, ctx) => deliver(message, ctx),
  }),
);

builder.subscriptionField('postChanged', (t) =>
  t.field({
    type: PostChangeRef,
    description:
      'One post: likes, comments, edits, and its deletion (REMOVED, after which the subscription completes). NOT_FOUND for no such post; FORBIDDEN unless the caller may see its wall, and when that ends.',
    args: {
      postId: t.arg.id({ required: true, description: 'The post.' }),
      since: t.arg.string({ description: SINCE }),
    },
    subscribe: (_root, args, ctx) => {
      const postId = parseId(args.postId, 'postId');
      return watch(ctx, { kind: 'post', postId }, args.since, async () => {
        const post = await ctx.loaders.post.load(postId);
        if (!post) throw notFound(`No post has the id ${postId} (or it was deleted).`);
        await requireWallVisible(ctx, post.wallOwnerId);
        return { wallId: post.wallOwnerId };
      });
    },
    resolve: (message: LiveMessage, _args, ctx) => deliver(message, ctx),
  }),
);
