import { and, desc, eq, sql } from 'drizzle-orm';
import type { Queryable } from '../../db/connect.ts';
import { feedEntries, postViews } from '../../db/schema/read.ts';
import type { Cursor } from '../pagination.ts';
import type { Projection, ProjectionContext } from '../projection.ts';
import type { PostRow } from './posts.ts';

/*
 * The home feed, fanned out on write. Reader R's feed holds the newest `feedLimit` live posts P
 * for which
 *   - R wrote P or P is on R's wall, or
 *   - R is a friend of P's author, and P is on the author's own wall or on the wall of one of
 *     R's friends (a post on a wall reaches only people who may see that wall).
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
    const { tx, views } = ctx;
    switch (event.type) {
      case 'PostPublished':
        return fanOut(ctx, event.data.postId, event.data.authorId, event.data.wallOwnerId, event.occurredAt);
      case 'PostDeleted':
        await tx.delete(views.feedEntries).where(eq(views.feedEntries.postId, event.data.postId));
        return;
      case 'FriendRequestAccepted':
        await recompute(ctx, event.data.fromUserId);
        await recompute(ctx, event.data.toUserId);
        return;
      case 'FriendRemoved':
        await recompute(ctx, event.data.userId);
        await recompute(ctx, event.data.friendId);
        return;
      default:
        return;
    }
  },
};

async function fanOut({ tx, views, feedLimit }: ProjectionContext, postId: string, authorId: string, wallOwnerId: string, createdAt: Date) {
  const { friends, feedEntries: feed } = views;
  await tx.execute(sql`
    insert into ${feed} (reader_id, post_id, created_at)
    select reader_id, ${postId}::uuid, ${createdAt.toISOString()}::timestamptz from (
      select ${authorId}::uuid as reader_id
      union select ${wallOwnerId}::uuid
      union select f.friend_id from ${friends} f
            where f.user_id = ${authorId}
              and (${wallOwnerId}::uuid = ${authorId}::uuid
                   or exists (select 1 from ${friends} g where g.user_id = ${wallOwnerId} and g.friend_id = f.friend_id))) readers
    on conflict do nothing`);
  // Trim each reader who just got the post to the newest `feedLimit` entries.
  await tx.execute(sql`
    delete from ${feed} e
    using (select r.reader_id, cut.created_at, cut.post_id
           from ${feed} r
           cross join lateral (select created_at, post_id from ${feed} x where x.reader_id = r.reader_id
                               order by created_at desc, post_id desc offset ${feedLimit - 1} limit 1) cut
           where r.post_id = ${postId}) c
    where e.reader_id = c.reader_id and (e.created_at, e.post_id) < (c.created_at, c.post_id)`);
}

/** Rebuilds one reader's feed from the rule at the top of this file. */
async function recompute({ tx, views, feedLimit }: ProjectionContext, readerId: string) {
  const { friends, posts, feedEntries: feed } = views;
  await tx.delete(feed).where(eq(feed.readerId, readerId));
  await tx.execute(sql`
    insert into ${feed} (reader_id, post_id, created_at)
    select ${readerId}, p.post_id, p.created_at from ${posts} p
    where p.author_id = ${readerId} or p.wall_owner_id = ${readerId}
       or (p.author_id in (select friend_id from ${friends} where user_id = ${readerId})
           and (p.wall_owner_id = p.author_id
                or p.wall_owner_id in (select friend_id from ${friends} where user_id = ${readerId})))
    order by p.created_at desc, p.post_id desc
    limit ${feedLimit}`);
}

/** One feed page: an index range scan on (reader_id, created_at, post_id), joined to the posts by key. */
export function feedPage(db: Queryable, readerId: string, after: Cursor | null, limit: number): Promise<PostRow[]> {
  return db
    .select({ post: postViews })
    .from(feedEntries)
    .innerJoin(postViews, eq(postViews.postId, feedEntries.postId))
    .where(
      and(
        eq(feedEntries.readerId, readerId),
        after ? sql`(${feedEntries.createdAt}, ${feedEntries.postId}) < (${after.at}::timestamptz, ${after.id}::uuid)` : undefined,
      ),
    )
    .orderBy(desc(feedEntries.createdAt), desc(feedEntries.postId))
    .limit(limit)
    .then((rows) => rows.map((r) => r.post));
}

