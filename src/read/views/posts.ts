import { and, desc, eq, getTableColumns, sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { Queryable, Tx } from '../../db/connect.ts';
import { perHandle } from '../../db/per-handle.ts';
import { commentViews, likeViews, postViews, type Views } from '../../db/schema/read.ts';
import { atMost, literalLimit, preparedPerBucket, type Cursor } from '../pagination.ts';
import { logPostChange } from '../changes.ts';
import type { Projection } from '../projection.ts';

/** How many of a post's newest comments its view row carries for walls and feeds. */
export const LATEST_COMMENTS = 3;

export type PostRow = typeof postViews.$inferSelect;
/** A post as a page shows it to a viewer: its view row, and whether the viewer likes it. */
export type PagePostRow = PostRow & { likedByMe: boolean };
export type CommentRow = typeof commentViews.$inferSelect;

/** Posts with their counts and newest comments; the comments and likes behind them. */
export const postsProjection: Projection = {
  name: 'posts',
  async apply(ctx, event) {
    const { tx, views } = ctx;
    const { posts, comments, likes } = views;
    switch (event.type) {
      case 'PostPublished': {
        const { postId, authorId, wallOwnerId, body } = event.data;
        await tx.insert(posts).values({ postId, authorId, wallOwnerId, body, createdAt: event.occurredAt });
        return logPostChange(ctx, event, 'ADDED', postId);
      }
      case 'PostEdited':
        await tx.update(posts).set({ body: event.data.body, editedAt: event.occurredAt }).where(eq(posts.postId, event.data.postId));
        return logPostChange(ctx, event, 'UPDATED', event.data.postId);
      case 'PostDeleted': {
        const { postId } = event.data;
        await logPostChange(ctx, event, 'REMOVED', postId);
        await tx.delete(comments).where(eq(comments.postId, postId));
        await tx.delete(likes).where(eq(likes.postId, postId));
        await tx.delete(posts).where(eq(posts.postId, postId));
        return;
      }
      case 'PostLiked':
        await tx.insert(likes).values({ postId: event.data.postId, userId: event.data.userId });
        await tx.update(posts).set({ likeCount: sql`${posts.likeCount} + 1` }).where(eq(posts.postId, event.data.postId));
        return logPostChange(ctx, event, 'UPDATED', event.data.postId);
      case 'PostUnliked':
        await tx.delete(likes).where(and(eq(likes.postId, event.data.postId), eq(likes.userId, event.data.userId)));
        await tx.update(posts).set({ likeCount: sql`${posts.likeCount} - 1` }).where(eq(posts.postId, event.data.postId));
        return logPostChange(ctx, event, 'UPDATED', event.data.postId);
      case 'CommentAdded': {
        const { commentId, postId, authorId, body } = event.data;
        await tx.insert(comments).values({ commentId, postId, authorId, body, createdAt: event.occurredAt });
        await tx.update(posts).set({ commentCount: sql`${posts.commentCount} + 1` }).where(eq(posts.postId, postId));
        await refreshLatestComments(tx, views, postId);
        return logPostChange(ctx, event, 'UPDATED', postId);
      }
      case 'CommentDeleted': {
        const { commentId, postId } = event.data;
        await tx.delete(comments).where(eq(comments.commentId, commentId));
        await tx.update(posts).set({ commentCount: sql`${posts.commentCount} - 1` }).where(eq(posts.postId, postId));
        await refreshLatestComments(tx, views, postId);
        return logPostChange(ctx, event, 'UPDATED', postId);
      }
      default:
        return;
    }
  },
};

/** Rewrites a post's newest-comments copy from its comments, in one statement. */
async function refreshLatestComments(tx: Tx, { posts, comments }: Views, postId: string) {
  await tx.execute(sql`
    update ${posts} set latest_comments = coalesce((
      select jsonb_agg(jsonb_build_object('commentId', c.comment_id, 'authorId', c.author_id, 'body', c.body,
                                          'createdAt', to_char(c.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
                       order by c.created_at desc, c.comment_id desc)
      from (select * from ${comments} where post_id = ${postId} order by created_at desc, comment_id desc limit ${LATEST_COMMENTS}) c
    ), '[]'::jsonb)
    where post_id = ${postId}`);
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
