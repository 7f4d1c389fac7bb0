import { and, desc, eq, getTableColumns, sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { Queryable } from '../../db/connect.ts';
import { perHandle } from '../../db/per-handle.ts';
import { commentViews, likeViews, postViews, type ChangeKind, type Views } from '../../db/schema/read.ts';
import { atMost, literalLimit, preparedPerBucket, type Cursor } from '../pagination.ts';
import { stagePostChanges } from '../changes.ts';
import { assertNever, at, idSet, recordset, type Projection } from '../projection.ts';

/** How many of a post's newest comments its view row carries for walls and feeds. */
export const LATEST_COMMENTS = 3;

export type PostRow = typeof postViews.$inferSelect;
/** A post as a page shows it to a viewer: its view row, and whether the viewer likes it. */
export type PagePostRow = PostRow & { likedByMe: boolean };
export type CommentRow = typeof commentViews.$inferSelect;

/**
 * Posts with their counts and newest comments; the comments and likes behind them. Over a batch:
 * new posts, the last edit of each, likes and comments as they stand after the batch (a like then
 * an unlike is no like), counters moved once per post, the newest comments rewritten once per post,
 * and deleted posts removed last, with their comments and likes.
 */
export const postsProjection: Projection = {
  name: 'posts',
  apply(ctx, batch) {
    const published: { post_id: string; author_id: string; wall_owner_id: string; body: string; created_at: Date }[] = [];
    const edits = new Map<string, { body: string; edited_at: Date }>();
    const likesAfter = new Map<string, { post_id: string; user_id: string; liked: boolean }>();
    const addedComments: { comment_id: string; post_id: string; author_id: string; body: string; created_at: Date }[] = [];
    const deletedComments: string[] = [];
    const counters = new Map<string, { likes: number; comments: number }>();
    const deleted = new Set<string>();
    const commented = new Set<string>();
    const changes: { position: string; seq: string; kind: ChangeKind; post_id: string }[] = [];
    const count = (postId: string, key: 'likes' | 'comments', delta: number) => {
      const c = counters.get(postId) ?? counters.set(postId, { likes: 0, comments: 0 }).get(postId)!;
      c[key] += delta;
    };
    const like = (postId: string, userId: string, liked: boolean) => {
      likesAfter.set(`${postId}|${userId}`, { post_id: postId, user_id: userId, liked });
      count(postId, 'likes', liked ? 1 : -1);
    };
    for (const event of batch) {
      const change = (kind: ChangeKind, postId: string) => changes.push({ position: at(event), seq: event.seq.toString(), kind, post_id: postId });
      switch (event.type) {
        case 'PostPublished': {
          const { postId, authorId, wallOwnerId, body } = event.data;
          published.push({ post_id: postId, author_id: authorId, wall_owner_id: wallOwnerId, body, created_at: event.occurredAt });
          change('ADDED', postId);
          break;
        }
        case 'PostEdited':
          edits.set(event.data.postId, { body: event.data.body, edited_at: event.occurredAt });
          change('UPDATED', event.data.postId);
          break;
        case 'PostDeleted':
          deleted.add(event.data.postId);
          change('REMOVED', event.data.postId);
          break;
        case 'PostLiked':
          like(event.data.postId, event.data.userId, true);
          change('UPDATED', event.data.postId);
          break;
        case 'PostUnliked':
          like(event.data.postId, event.data.userId, false);
          change('UPDATED', event.data.postId);
          break;
        case 'CommentAdded': {
          const { commentId, postId, authorId, body } = event.data;
          addedComments.push({ comment_id: commentId, post_id: postId, author_id: authorId, body, created_at: event.occurredAt });
          count(postId, 'comments', 1);
          commented.add(postId);
          change('UPDATED', postId);
          break;
        }
        case 'CommentDeleted':
          deletedComments.push(event.data.commentId);
          count(event.data.postId, 'comments', -1);
          commented.add(event.data.postId);
          change('UPDATED', event.data.postId);
          break;
        case 'UserRegistered':
        case 'ProfileUpdated':
        case 'FriendRequestSent':
        case 'FriendRequestAccepted':
        case 'FriendRequestDeclined':
        case 'FriendRemoved':
          break;
        default:
          assertNever(event);
      }
    }

    const { run, views } = ctx;
    const { posts, comments, likes } = views;
    if (published.length > 0) {
      run(sql`insert into ${posts} (post_id, author_id, wall_owner_id, body, created_at)
              select post_id, author_id, wall_owner_id, body, created_at
              from ${recordset(published, 'r(post_id uuid, author_id uuid, wall_owner_id uuid, body text, created_at timestamptz)')}`);
    }
    if (edits.size > 0) {
      const rows = [...edits].map(([post_id, e]) => ({ post_id, ...e }));
      run(sql`update ${posts} as t set body = r.body, edited_at = r.edited_at
              from ${recordset(rows, 'r(post_id uuid, body text, edited_at timestamptz)')} where t.post_id = r.post_id`);
    }
    const liked = [...likesAfter.values()].filter((l) => l.liked).map(({ post_id, user_id }) => ({ post_id, user_id }));
    const unliked = [...likesAfter.values()].filter((l) => !l.liked).map(({ post_id, user_id }) => ({ post_id, user_id }));
    if (liked.length > 0) {
      run(sql`insert into ${likes} (post_id, user_id) select post_id, user_id from ${recordset(liked, 'r(post_id uuid, user_id uuid)')}
              on conflict do nothing`);
    }
    if (unliked.length > 0) {
      run(sql`delete from ${likes} t using ${recordset(unliked, 'r(post_id uuid, user_id uuid)')}
              where t.post_id = r.post_id and t.user_id = r.user_id`);
    }
    if (addedComments.length > 0) {
      run(sql`insert into ${comments} (comment_id, post_id, author_id, body, created_at)
              select comment_id, post_id, author_id, body, created_at
              from ${recordset(addedComments, 'r(comment_id uuid, post_id uuid, author_id uuid, body text, created_at timestamptz)')}`);
    }
    if (deletedComments.length > 0) run(sql`delete from ${comments} where comment_id in ${idSet(deletedComments)}`);
    const moved = [...counters].filter(([id, c]) => !deleted.has(id) && (c.likes !== 0 || c.comments !== 0));
    if (moved.length > 0) {
      const rows = moved.map(([post_id, c]) => ({ post_id, likes: c.likes, comments: c.comments }));
      run(sql`update ${posts} as t set like_count = t.like_count + r.likes, comment_count = t.comment_count + r.comments
              from ${recordset(rows, 'r(post_id uuid, likes int, comments int)')} where t.post_id = r.post_id`);
    }
    for (const id of deleted) commented.delete(id);
    if (commented.size > 0) run(refreshLatestComments(views, commented));
    // Logged while the posts still exist (their walls are read from them).
    stagePostChanges(ctx, changes);
    if (deleted.size > 0) {
      run(sql`delete from ${comments} where post_id in ${idSet(deleted)}`);
      run(sql`delete from ${likes} where post_id in ${idSet(deleted)}`);
      run(sql`delete from ${posts} where post_id in ${idSet(deleted)}`);
    }
  },
};

/** Rewrites the newest-comments copy of `postIds` from their comments, in one statement. */
function refreshLatestComments({ posts, comments }: Views, postIds: Iterable<string>) {
  return sql`
    update ${posts} as t set latest_comments = coalesce((
      select jsonb_agg(jsonb_build_object('commentId', c.comment_id, 'authorId', c.author_id, 'body', c.body,
                                          'createdAt', to_char(c.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
                       order by c.created_at desc, c.comment_id desc)
      from (select * from ${comments} x where x.post_id = t.post_id order by x.created_at desc, x.comment_id desc limit ${LATEST_COMMENTS}) c
    ), '[]'::jsonb)
    where t.post_id in ${idSet(postIds)}`;
}

/*
 * The reads below run on every page, so each is a prepared statement per database handle: drizzle
 * builds its SQL once, and postgres.js prepares it once per connection. Lists of ids go in as one
 * array parameter (`= any($1::uuid[])`), so any number of them shares one statement.
 */

export function findPosts(db: Queryable, postIds: readonly string[]): Promise<PostRow[]> {
  return statementsFor(db).findPosts.execute({ postIds: [...postIds] });
}

/** One wall page as `viewerId` sees it: an index range scan on (wall_owner_id, created_at, post_id). */
export async function wallPage(db: Queryable, wallOwnerId: string, viewerId: string, after: Cursor | null, limit: number): Promise<PagePostRow[]> {
  const page = pageStatements(db, limit).wallPage;
  const rows = after
    ? await page.after.execute({ wallOwnerId, viewerId, at: after.at, id: after.id })
    : await page.first.execute({ wallOwnerId, viewerId });
  return atMost(rows, limit);
}

/**
 * Whether the viewer (the placeholder `viewer`) likes the post of the row, read with a page: one
 * primary-key probe per row in the page's own statement instead of a statement of its own.
 */
export const likedByViewer = (viewer: string) =>
  // Spelled out: in a one-table select drizzle leaves columns unqualified, and an unqualified
  // post_id here would mean the like's own.
  sql<boolean>`exists (select 1 from ${likeViews} l where l.post_id = ${postViews}.post_id and l.user_id = ${sql.placeholder(viewer)}::uuid)`;

/** Which of `postIds` `userId` likes (one query for a page). */
export async function likedAmong(db: Queryable, userId: string, postIds: readonly string[]): Promise<Set<string>> {
  if (postIds.length === 0) return new Set();
  const rows = await statementsFor(db).likedAmong.execute({ userId, postIds: [...postIds] });
  return new Set(rows.map((r) => r.postId));
}

/** Which of `userIds` like `postId` (one query for every subscriber a live change reaches). */
export async function likersAmong(db: Queryable, postId: string, userIds: readonly string[]): Promise<Set<string>> {
  if (userIds.length === 0) return new Set();
  const rows = await statementsFor(db).likersAmong.execute({ postId, userIds: [...userIds] });
  return new Set(rows.map((r) => r.userId));
}

/** The same page of comments for many posts at once, newest first, `limit` per post. */
export async function commentPages(db: Queryable, postIds: readonly string[], after: Cursor | null, limit: number): Promise<Map<string, CommentRow[]>> {
  const pages = new Map<string, CommentRow[]>(postIds.map((id) => [id, []]));
  if (postIds.length === 0 || limit === 0) return pages;
  const page = pageStatements(db, limit).commentPages;
  const rows = after
    ? await page.after.execute({ postIds: [...postIds], at: after.at, id: after.id })
    : await page.first.execute({ postIds: [...postIds] });
  for (const row of rows) {
    const comments = pages.get(row.postId);
    if (comments && comments.length < limit) comments.push(row);
  }
  return pages;
}

const anyId = (column: AnyPgColumn, name: string) => sql`${column} = any(${sql.placeholder(name)}::uuid[])`;
const before = (at: AnyPgColumn, id: AnyPgColumn) => sql`(${at}, ${id}) < (${sql.placeholder('at')}::timestamptz, ${sql.placeholder('id')}::uuid)`;

/** Pages: prepared per limit bucket, so that PostgreSQL keeps their plans (see limitBucket). */
const pageStatements = preparedPerBucket((db, bucket) => {
  const wallPage = (withCursor: boolean) =>
    db
      .select({ ...getTableColumns(postViews), likedByMe: likedByViewer('viewerId') })
      .from(postViews)
      .where(and(eq(postViews.wallOwnerId, sql.placeholder('wallOwnerId')), withCursor ? before(postViews.createdAt, postViews.postId) : undefined))
      .orderBy(desc(postViews.createdAt), desc(postViews.postId))
      .limit(literalLimit(bucket))
      .prepare(`wall_page${withCursor ? '_after' : ''}_${bucket}`);
  // Per post, the newest `limit` comments (before the cursor): a lateral index range scan each.
  const commentPage = (withCursor: boolean) =>
    db
      .select()
      .from(commentViews)
      .where(
        sql`${commentViews.commentId} in (
          select c.comment_id from unnest(${sql.placeholder('postIds')}::uuid[]) as p(post_id)
          cross join lateral (
            select comment_id from ${commentViews} c
            where c.post_id = p.post_id ${withCursor ? sql`and (c.created_at, c.comment_id) < (${sql.placeholder('at')}::timestamptz, ${sql.placeholder('id')}::uuid)` : sql``}
            order by c.created_at desc, c.comment_id desc limit ${literalLimit(bucket)}) c)`,
      )
      .orderBy(desc(commentViews.createdAt), desc(commentViews.commentId))
      .prepare(`comment_pages${withCursor ? '_after' : ''}_${bucket}`);
  return { wallPage: { first: wallPage(false), after: wallPage(true) }, commentPages: { first: commentPage(false), after: commentPage(true) } };
});

const statementsFor = perHandle((db) => ({
  findPosts: db.select().from(postViews).where(anyId(postViews.postId, 'postIds')).prepare('find_posts'),
  likedAmong: db
    .select({ postId: likeViews.postId })
    .from(likeViews)
    .where(and(eq(likeViews.userId, sql.placeholder('userId')), anyId(likeViews.postId, 'postIds')))
    .prepare('liked_among'),
  likersAmong: db
    .select({ userId: likeViews.userId })
    .from(likeViews)
    .where(and(eq(likeViews.postId, sql.placeholder('postId')), anyId(likeViews.userId, 'userIds')))
    .prepare('likers_among'),
}));
