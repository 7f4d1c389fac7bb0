import { and, desc, eq, getTableColumns, sql } from 'drizzle-orm';
import type { Queryable } from '../../db/connect.ts';
import { feedEntries, postViews } from '../../db/schema/read.ts';
import { atMost, literalLimit, preparedPerBucket, type Cursor } from '../pagination.ts';
import { stageFeedChanges } from '../changes.ts';
import { assertNever, at, idSet, recordset, type Projection, type ProjectionContext } from '../projection.ts';
import { likedByViewer, type PagePostRow } from './posts.ts';

/*
 * The home feed, fanned out on write. Reader R's feed holds the newest `feedLimit` live posts P,
 * by author A on W's wall, for which
 *   - R may see W's wall (R is W or a friend of W), and
 *   - R wrote P, or P is on R's wall, or R is a friend of A.
 * (A post reaches only people who may see the wall it is on: an author who is unfriended by the
 * wall's owner loses their own post from their feed, as they lose the wall.)
 * Publishing adds P to each such reader's feed; deleting P removes it everywhere. Becoming friends
 * or unfriending rebuilds both people's feeds from the rule above, so a new friend's posts appear
 * and an ex-friend's vanish. A deleted post leaves its place empty: posts trimmed earlier do not
 * come back.
 *
 * The bound is kept in steps: a feed may grow to `feedLimit` plus a tenth (its slack), and the
 * publish that takes it past that drops its oldest entries back down to `feedLimit`. Each trim
 * reads and writes the old end of one feed, pages no page read needs: once every tenth of the
 * bound, rather than on every publish, is a tenth of the pages (on a world of 10,000 people the
 * trim was the projector's costliest statement). The newest `feedLimit` are always there.
 */
/** Feed entries kept per reader unless FEED_LIMIT says otherwise. */
export const DEFAULT_FEED_LIMIT = 500;

/** How far past the bound a feed may grow before it is trimmed back to it. */
export const feedSlack = (feedLimit: number) => Math.ceil(feedLimit / 10);

/*
 * Over a batch: the friendships it made or ended touch their two people (the "affected"), whose
 * feeds are recomputed from the rule once the batch's friends and posts are in place, at the
 * position of the last such event. Everyone else saw no friendship of theirs change during the
 * batch, so the friend graph as it stands after the batch is the one each new post met: the
 * batch's posts are fanned out on it in one statement, to everyone but the affected. Posts
 * deleted in the batch leave every feed; those published and deleted within it are never fanned
 * out. Feeds past the bound's slack then drop their oldest entries.
 */
export const feedProjection: Projection = {
  name: 'feed',
  apply(ctx, batch) {
    const published = new Map<string, { post_id: string; author_id: string; wall_owner_id: string; created_at: Date; position: string }>();
    const deleted: { post_id: string; author_id: string; wall_owner_id: string; position: string }[] = [];
    const affected = new Map<string, string>();
    for (const event of batch) {
      switch (event.type) {
        case 'PostPublished': {
          const { postId, authorId, wallOwnerId } = event.data;
          published.set(postId, { post_id: postId, author_id: authorId, wall_owner_id: wallOwnerId, created_at: event.occurredAt, position: at(event) });
          break;
        }
        case 'PostDeleted':
          if (!published.delete(event.data.postId)) {
            const { postId, authorId, wallOwnerId } = event.data;
            deleted.push({ post_id: postId, author_id: authorId, wall_owner_id: wallOwnerId, position: at(event) });
          }
          break;
        case 'FriendRequestAccepted':
          affected.set(event.data.fromUserId, at(event)).set(event.data.toUserId, at(event));
          break;
        case 'FriendRemoved':
          affected.set(event.data.userId, at(event)).set(event.data.friendId, at(event));
          break;
        case 'UserRegistered':
        case 'ProfileUpdated':
        case 'FriendRequestSent':
        case 'FriendRequestDeclined':
        case 'PostEdited':
        case 'CommentAdded':
        case 'CommentDeleted':
        case 'PostLiked':
        case 'PostUnliked':
          break;
        default:
          assertNever(event);
      }
    }
    if (published.size > 0) {
      ctx.run(createOver);
      ctx.run(fanOut(ctx, [...published.values()], affected.keys()));
    }
    if (deleted.length > 0) ctx.run(removePosts(ctx, deleted));
    if (affected.size > 0) ctx.run(recompute(ctx, [...affected].map(([reader_id, position]) => ({ reader_id, position }))));
    if (published.size > 0) ctx.run(trim(ctx, [...published.values()].at(-1)!.position));
  },
};

/**
 * Adds each post to its readers' feeds: its author, its wall's owner, and the author's friends who
 * are friends of the owner. Readers whose feed it took past the bound's slack are noted for the trim.
 */
function fanOut(ctx: ProjectionContext, posts: { post_id: string; author_id: string; wall_owner_id: string; created_at: Date; position: string }[], skip: Iterable<string>) {
  const { views, feedLimit } = ctx;
  const { friends, feedEntries: feed, feedSizes: sizes } = views;
  return sql`
    with p as (select * from ${recordset(posts, 'p(post_id uuid, author_id uuid, wall_owner_id uuid, created_at timestamptz, position bigint)')}),
    readers as (
      -- The author may see the wall at publish time (the command checked it).
      select r.reader_id, p.post_id, p.created_at, p.position
      from p cross join lateral (
        select p.author_id as reader_id
        union select p.wall_owner_id
        union select f.friend_id from ${friends} f
              where f.user_id = p.author_id
                and (p.wall_owner_id = p.author_id
                     or exists (select 1 from ${friends} g where g.user_id = p.wall_owner_id and g.friend_id = f.friend_id))) r
      where r.reader_id not in ${idSet(skip)}),
    added as (
      insert into ${feed} (reader_id, post_id, created_at)
      select reader_id, post_id, created_at from readers order by reader_id, created_at, post_id
      on conflict do nothing
      returning reader_id, post_id),
    added_at as (select a.reader_id, a.post_id, r.position from added a join readers r using (reader_id, post_id)),
    logged as (${stageFeedChanges(ctx, 'ADDED', 'added_at')}),
    sized as (
      insert into ${sizes} (reader_id, entries) select reader_id, count(*) from added group by reader_id
      on conflict (reader_id) do update set entries = ${sizes}.entries + excluded.entries
      returning reader_id, entries)
    insert into ${OVER} (reader_id, excess)
    select reader_id, entries - ${feedLimit}::int from sized where entries > ${feedLimit + feedSlack(feedLimit)}::int`;
}

/**
 * Removes deleted posts from every feed that holds them. Whoever holds a post may see its wall
 * (fan-out gives it only to such readers, and a reader who loses sight of a wall is recomputed),
 * so the holders are among its author, its wall's owner and the owner's friends: a look-up in
 * each of their feeds, not a scan of every feed.
 */
function removePosts(ctx: ProjectionContext, posts: { post_id: string; author_id: string; wall_owner_id: string; position: string }[]) {
  const { friends, feedEntries: feed, feedSizes: sizes } = ctx.views;
  return sql`
    with d as (select * from ${recordset(posts, 'd(post_id uuid, author_id uuid, wall_owner_id uuid, position bigint)')}),
    held as (
      select x.row_id, d.position from d
      cross join lateral (
        select d.author_id as reader_id
        union select d.wall_owner_id
        union select f.friend_id from ${friends} f where f.user_id = d.wall_owner_id) c
      cross join lateral (select ctid as row_id from ${feed} e where e.reader_id = c.reader_id and e.post_id = d.post_id offset 0) x),
    removed as (
      delete from ${feed} e where e.ctid = any(array(select row_id from held))
      returning e.reader_id, e.post_id),
    removed_at as (select r.reader_id, r.post_id, d.position from removed r join d using (post_id)),
    logged as (${stageFeedChanges(ctx, 'REMOVED', 'removed_at')})
    update ${sizes} s set entries = s.entries - r.n
    from (select reader_id, count(*) as n from removed group by reader_id) r where s.reader_id = r.reader_id`;
}

/**
 * Rebuilds these readers' feeds from the rule at the top of this file, touching only the entries
 * that differ (and logging those as removed or added, at each reader's position).
 */
function recompute(ctx: ProjectionContext, readers: { reader_id: string; position: string }[]) {
  const { views, feedLimit } = ctx;
  const { friends, posts, feedEntries: feed, feedSizes: sizes } = views;
  // The sub-statements see one snapshot: the delete and the insert never meet on a key, because
  // one takes what is not wanted and the other only what is. A reader's candidates are the posts
  // on their own wall and, per friend, the posts on that friend's wall by the reader or a friend
  // of theirs: index range scans on the walls, not a pass over every post (`offset 0` keeps the
  // planner from flattening the lateral look-ups into joins over whole tables).
  return sql`
    with r as (select * from ${recordset(readers, 'r(reader_id uuid, position bigint)')}),
    wanted as (
      select r.reader_id, w.post_id, w.created_at from r cross join lateral (
        select c.post_id, c.created_at from (
          select p.post_id, p.created_at from ${posts} p where p.wall_owner_id = r.reader_id
          union all
          select p.post_id, p.created_at from ${friends} f cross join lateral (
            select p.post_id, p.created_at, p.author_id from ${posts} p where p.wall_owner_id = f.friend_id offset 0) p
          where f.user_id = r.reader_id
            and (p.author_id = r.reader_id or p.author_id = f.friend_id
                 or exists (select 1 from ${friends} g where g.user_id = r.reader_id and g.friend_id = p.author_id))
        ) c
        order by c.created_at desc, c.post_id desc
        limit ${feedLimit}) w),
    held as (
      select r.reader_id, r.position, e.post_id, e.ctid as row_id
      from r cross join lateral (select post_id, ctid from ${feed} e where e.reader_id = r.reader_id offset 0) e),
    gone as (
      delete from ${feed} e
      where e.ctid = any(array(select h.row_id from held h
                               where not exists (select 1 from wanted w where w.reader_id = h.reader_id and w.post_id = h.post_id)))
      returning e.reader_id, e.post_id),
    gone_at as (select g.reader_id, g.post_id, r.position from gone g join r using (reader_id)),
    added as (
      insert into ${feed} (reader_id, post_id, created_at)
      select w.reader_id, w.post_id, w.created_at from wanted w
      where not exists (select 1 from held h where h.reader_id = w.reader_id and h.post_id = w.post_id)
      returning reader_id, post_id),
    added_at as (select a.reader_id, a.post_id, r.position from added a join r using (reader_id)),
    logged_gone as (${stageFeedChanges(ctx, 'REMOVED', 'gone_at')}),
    logged_added as (${stageFeedChanges(ctx, 'ADDED', 'added_at')})
    insert into ${sizes} (reader_id, entries)
    select r.reader_id, coalesce(n.entries, 0) from r left join (select reader_id, count(*) as entries from wanted group by reader_id) n using (reader_id)
    on conflict (reader_id) do update set entries = excluded.entries`;
}

/**
 * Drops the oldest entries of every feed the fan-out took past the bound's slack, back down to the
 * bound, logged at the position of the batch's last post.
 */
function trim(ctx: ProjectionContext, position: string) {
  const { feedEntries: feed, feedSizes: sizes } = ctx.views;
  return sql`
    with over as (delete from ${OVER} returning reader_id, excess),
    victims as (
      select x.row_id from over o cross join lateral (
        select ctid as row_id from ${feed} x where x.reader_id = o.reader_id order by x.created_at, x.post_id limit o.excess) x),
    trimmed as (
      delete from ${feed} e where e.ctid = any(array(select row_id from victims))
      returning e.reader_id, e.post_id, ${position}::bigint as position),
    logged as (${stageFeedChanges(ctx, 'REMOVED', 'trimmed')})
    update ${sizes} s set entries = s.entries - o.excess from over o where s.reader_id = o.reader_id`;
}

/** Readers a batch's fan-out took past the bound's slack, and how many entries to drop (a temporary table, emptied at commit). */
const OVER = sql.raw('pg_temp.wall_feed_over');
const createOver = sql`create temp table if not exists wall_feed_over (reader_id uuid not null, excess int not null) on commit delete rows`;

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
