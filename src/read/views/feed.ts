import { and, desc, eq, getTableColumns, sql } from 'drizzle-orm';
import type { Queryable } from '../../db/connect.ts';
import { feedEntries, postViews } from '../../db/schema/read.ts';
import { atMost, literalLimit, preparedPerBucket, type Cursor } from '../pagination.ts';
import { feedChangesCte } from '../changes.ts';
import type { Projection, ProjectionContext } from '../projection.ts';
import type { RecordedEvent } from '../../write/events.ts';
import { likedByViewer, type PagePostRow } from './posts.ts';

/*
 * The home feed, fanned out on write. Reader R's feed holds the newest `feedLimit` live posts P,
 * by author A on W's wall, for which
 *   - R may see W's wall (R is W or a friend of W), and
 *   - R wrote P, or P is on R's wall, or R is a friend of A.
 * (A post reaches only people who may see the wall it is on: an author who is unfriended by the
 * wall's owner loses their own post from their feed, as they lose the wall.)
 * Publishing adds P to each such reader's feed and trims it; deleting P removes it everywhere.
 * Becoming friends or unfriending rebuilds both people's feeds from the rule above, so a new
 * friend's posts appear and an ex-friend's vanish. A deleted post leaves its place empty: posts
 * trimmed earlier do not come back.
 */
/** Feed entries kept per reader unless FEED_LIMIT says otherwise. */
export const DEFAULT_FEED_LIMIT = 500;

export const feedProjection: Projection = {
  name: 'feed',
  async apply(ctx, event) {
    switch (event.type) {
      case 'PostPublished':
        return fanOut(ctx, event, event.data.postId, event.data.authorId, event.data.wallOwnerId, event.occurredAt);
      case 'PostDeleted':
        return removePost(ctx, event, event.data.postId);
      case 'FriendRequestAccepted':
        await recompute(ctx, event, event.data.fromUserId);
        await recompute(ctx, event, event.data.toUserId);
        return;
      case 'FriendRemoved':
        await recompute(ctx, event, event.data.userId);
        await recompute(ctx, event, event.data.friendId);
        return;
      default:
        return;
    }
  },
};

/** Adds the post to its readers' feeds, then drops the oldest entry of each feed now over the bound. */
async function fanOut(ctx: ProjectionContext, event: RecordedEvent, postId: string, authorId: string, wallOwnerId: string, createdAt: Date) {
  const { tx, views, feedLimit } = ctx;
  const { friends, feedEntries: feed, feedSizes: sizes } = views;
  await tx.execute(sql`
    with readers as (
      -- The author may see the wall at publish time (the command checked it).
      select ${authorId}::uuid as reader_id
      union select ${wallOwnerId}::uuid
      union select f.friend_id from ${friends} f
            where f.user_id = ${authorId}
              and exists (select 1 from ${friends} g where g.user_id = ${wallOwnerId} and g.friend_id = f.friend_id)),
    added as (
      insert into ${feed} (reader_id, post_id, created_at)
      select reader_id, ${postId}::uuid, ${createdAt.toISOString()}::timestamptz from readers
      on conflict do nothing
      returning reader_id, post_id),
    logged as (${feedChangesCte(ctx, event, 'ADDED', 'added')})
    insert into ${sizes} (reader_id, entries) select reader_id, 1 from added
    on conflict (reader_id) do update set entries = ${sizes}.entries + 1`);
  // Statements see the rows of earlier statements only: the trim is a statement of its own.
  await tx.execute(sql`
    with over as (
      update ${sizes} s set entries = s.entries - 1
      from (select reader_id from ${feed} where post_id = ${postId}) r
      where s.reader_id = r.reader_id and s.entries > ${feedLimit}
      returning s.reader_id),
    trimmed as (
      delete from ${feed} e
      using over o
      cross join lateral (select created_at, post_id from ${feed} x where x.reader_id = o.reader_id
                          order by created_at, post_id limit 1) oldest
      where e.reader_id = o.reader_id and e.created_at = oldest.created_at and e.post_id = oldest.post_id
      returning e.reader_id, e.post_id)
    ${feedChangesCte(ctx, event, 'REMOVED', 'trimmed')}`);
}

async function removePost(ctx: ProjectionContext, event: RecordedEvent, postId: string) {
  const { feedEntries: feed, feedSizes: sizes } = ctx.views;
  await ctx.tx.execute(sql`
    with removed as (delete from ${feed} where post_id = ${postId} returning reader_id, post_id),
    logged as (${feedChangesCte(ctx, event, 'REMOVED', 'removed')})
    update ${sizes} s set entries = s.entries - 1 from removed r where s.reader_id = r.reader_id`);
}

/**
 * Rebuilds one reader's feed from the rule at the top of this file, touching only the entries
 * that differ (and logging those as removed or added).
 */
async function recompute(ctx: ProjectionContext, event: RecordedEvent, readerId: string) {
  const { tx, views, feedLimit } = ctx;
  const { friends, posts, feedEntries: feed, feedSizes: sizes } = views;
  // The sub-statements see one snapshot: the delete and the insert never meet on a key, because
  // one takes what is not wanted and the other only what is.
  await tx.execute(sql`
    with wanted as (
      select ${readerId}::uuid as reader_id, p.post_id, p.created_at from ${posts} p
      where (p.wall_owner_id = ${readerId} or p.wall_owner_id in (select friend_id from ${friends} where user_id = ${readerId}))
        and (p.author_id = ${readerId} or p.wall_owner_id = ${readerId}
             or p.author_id in (select friend_id from ${friends} where user_id = ${readerId}))
      order by p.created_at desc, p.post_id desc
      limit ${feedLimit}),
    gone as (
      delete from ${feed} e where e.reader_id = ${readerId} and e.post_id not in (select post_id from wanted)
      returning e.reader_id, e.post_id),
    added as (
      insert into ${feed} (reader_id, post_id, created_at) select reader_id, post_id, created_at from wanted
      on conflict do nothing
      returning reader_id, post_id),
    logged_gone as (${feedChangesCte(ctx, event, 'REMOVED', 'gone')}),
    logged_added as (${feedChangesCte(ctx, event, 'ADDED', 'added')})
    insert into ${sizes} (reader_id, entries) select ${readerId}, count(*) from wanted
    on conflict (reader_id) do update set entries = excluded.entries`);
}

/**
 * One feed page: an index range scan on (reader_id, created_at, post_id), joined to the posts by
 * key. Prepared statements per database handle and limit bucket (one for the first page, one
 * after a cursor): drizzle builds the SQL once, postgres.js prepares it once per connection, and
 * PostgreSQL keeps its plan.
 */
export async function feedPage(db: Queryable, readerId: string, after: Cursor | null, limit: number): Promise<PagePostRow[]> {
  const statements = feedStatements(db, limit);
  const rows = after
    ? await statements.after.execute({ readerId, at: after.at, id: after.id })
    : await statements.first.execute({ readerId });
  return atMost(rows, limit);
}

const feedStatements = preparedPerBucket((db, bucket) => {
  const page = (withCursor: boolean) =>
    db
      .select({ ...getTableColumns(postViews), likedByMe: likedByViewer('readerId') })
      .from(feedEntries)
      .innerJoin(postViews, eq(postViews.postId, feedEntries.postId))
      .where(
        and(
          eq(feedEntries.readerId, sql.placeholder('readerId')),
          withCursor
            ? sql`(${feedEntries.createdAt}, ${feedEntries.postId}) < (${sql.placeholder('at')}::timestamptz, ${sql.placeholder('id')}::uuid)`
            : undefined,
        ),
      )
      .orderBy(desc(feedEntries.createdAt), desc(feedEntries.postId))
      .limit(literalLimit(bucket))
      .prepare(`feed_page${withCursor ? '_after' : ''}_${bucket}`);
  return { first: page(false), after: page(true) };
});
