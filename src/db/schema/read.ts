import { sql } from 'drizzle-orm';
import { bigint, index, integer, jsonb, pgSchema, primaryKey, text, timestamp, uuid, type PgSchema } from 'drizzle-orm/pg-core';

/**
 * What a change-log row says: a post was ADDED, UPDATED or REMOVED (on a wall, or in one reader's
 * feed), or a reader REVOKED: lost sight of a wall (a friendship ended).
 */
export type ChangeKind = 'ADDED' | 'UPDATED' | 'REMOVED' | 'REVOKED';

const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** A comment as kept inside its post's view row (the newest few, for the wall and the feed). */
export interface LatestComment {
  commentId: string;
  authorId: string;
  body: string;
  createdAt: string;
}

/**
 * The views, defined once for any schema: `read` holds the live ones, and a rebuild fills a copy
 * beside them (see projector/rebuild.ts) before swapping it in.
 */
export function defineViews(schema: PgSchema) {
  const profiles = schema.table(
    'profiles',
    {
      userId: uuid('user_id').primaryKey(),
      handle: text('handle').notNull(),
      displayName: text('display_name').notNull(),
      friendCount: integer('friend_count').notNull().default(0),
      postCount: integer('post_count').notNull().default(0),
    },
    (t) => [index('profiles_handle_lower_idx').on(sql`lower(${t.handle})`)],
  );

  /** The read side's own friend graph, one row per direction: fan-out and visibility read it. */
  const friends = schema.table(
    'friends',
    {
      userId: uuid('user_id').notNull(),
      friendId: uuid('friend_id').notNull(),
      since: timestamptz('since').notNull(),
    },
    (t) => [primaryKey({ columns: [t.userId, t.friendId] }), index('friends_user_since_idx').on(t.userId, t.since.desc().nullsFirst(), t.friendId.desc().nullsFirst())],
  );

  /** Pending friend requests, by recipient. */
  const friendRequests = schema.table(
    'friend_requests',
    {
      toUserId: uuid('to_user_id').notNull(),
      fromUserId: uuid('from_user_id').notNull(),
      createdAt: timestamptz('created_at').notNull(),
    },
    (t) => [primaryKey({ columns: [t.toUserId, t.fromUserId] }), index('friend_requests_to_idx').on(t.toUserId, t.createdAt.desc().nullsFirst())],
  );

  /** One row per live post: what a wall or feed entry shows, counts and newest comments included. */
  const posts = schema.table(
    'posts',
    {
      postId: uuid('post_id').primaryKey(),
      authorId: uuid('author_id').notNull(),
      wallOwnerId: uuid('wall_owner_id').notNull(),
      body: text('body').notNull(),
      createdAt: timestamptz('created_at').notNull(),
      editedAt: timestamptz('edited_at'),
      likeCount: integer('like_count').notNull().default(0),
      commentCount: integer('comment_count').notNull().default(0),
      latestComments: jsonb('latest_comments').$type<LatestComment[]>().notNull().default([]),
    },
    (t) => [index('posts_wall_idx').on(t.wallOwnerId, t.createdAt.desc().nullsFirst(), t.postId.desc().nullsFirst())],
  );

  const comments = schema.table(
    'comments',
    {
      commentId: uuid('comment_id').primaryKey(),
      postId: uuid('post_id').notNull(),
      authorId: uuid('author_id').notNull(),
      body: text('body').notNull(),
      createdAt: timestamptz('created_at').notNull(),
    },
    (t) => [index('comments_post_idx').on(t.postId, t.createdAt.desc().nullsFirst(), t.commentId.desc().nullsFirst())],
  );

  const likes = schema.table('likes', { postId: uuid('post_id').notNull(), userId: uuid('user_id').notNull() }, (t) => [
    primaryKey({ columns: [t.postId, t.userId] }),
  ]);

  /** The home feed, fanned out on write: one row per (reader, post), newest first per reader. */
  const feedEntries = schema.table(
    'feed_entries',
    {
      readerId: uuid('reader_id').notNull(),
      postId: uuid('post_id').notNull(),
      createdAt: timestamptz('created_at').notNull(),
    },
    (t) => [
      // One index, for the pages (a backward range scan of a reader's newest entries, index only),
      // for uniqueness (a post has one creation time, so (reader, time, post) is unique exactly
      // when (reader, post) is) and for finding who holds a post (those who may see its wall:
      // see feed.ts). Every entry the fan-out writes updates each index of this table: with an
      // index on (reader, post) and one on the post as well, the fan-out took about twice as long.
      primaryKey({ columns: [t.readerId, t.createdAt, t.postId] }),
    ],
  );

  /** How many entries each reader's feed holds, so trimming touches only feeds over the bound. */
  const feedSizes = schema.table('feed_sizes', {
    readerId: uuid('reader_id').primaryKey(),
    entries: integer('entries').notNull(),
  });

  /** How far the projector has applied the event log (a transaction position, see event-log.ts). */
  const checkpoints = schema.table('checkpoints', {
    name: text('name').primaryKey(),
    position: bigint('position', { mode: 'bigint' }).notNull(),
    updatedAt: timestamptz('updated_at').notNull(),
  });

  /**
   * The change log that live subscriptions tail and resume from, written by the projector in the
   * same transaction as the views it describes, and trimmed to a bound (see read/changes.ts).
   *   post row:   reader_id null; post_id and the wall it is on (wall_id); ADDED, UPDATED, REMOVED
   *   feed row:   reader_id; post_id entered (ADDED) or left (REMOVED) that reader's feed
   *   access row: reader_id lost sight of wall_id (REVOKED)
   */
  const changes = schema.table(
    'changes',
    {
      seq: bigint('seq', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
      position: bigint('position', { mode: 'bigint' }).notNull(),
      kind: text('kind').$type<ChangeKind>().notNull(),
      postId: uuid('post_id'),
      wallId: uuid('wall_id'),
      readerId: uuid('reader_id'),
    },
    (t) => [
      index('changes_post_idx').on(t.postId, t.seq).where(sql`reader_id is null`),
      index('changes_wall_idx').on(t.wallId, t.seq).where(sql`reader_id is null`),
      index('changes_reader_idx').on(t.readerId, t.seq).where(sql`reader_id is not null`),
    ],
  );

  return { profiles, friends, friendRequests, posts, comments, likes, feedEntries, feedSizes, checkpoints, changes };
}

export type Views = ReturnType<typeof defineViews>;

/** The query side: denormalized views kept by the projector from events alone. */
export const readSchema = pgSchema('read');
export const views = defineViews(readSchema);
export const {
  profiles,
  friends,
  friendRequests,
  posts: postViews,
  comments: commentViews,
  likes: likeViews,
  feedEntries,
  feedSizes,
  checkpoints,
  changes,
} = views;
