import { and, desc, eq, sql } from 'drizzle-orm';
import type { Queryable } from '../../db/connect.ts';
import { perHandle } from '../../db/per-handle.ts';
import { friendRequests, friends } from '../../db/schema/read.ts';
import { stageRevoked } from '../changes.ts';
import { assertNever, at, recordset, type Projection } from '../projection.ts';
import type { Cursor } from '../pagination.ts';

/**
 * The friend graph (both directions) and pending requests: friend lists, fan-out, visibility.
 * A batch may hold several events of one pair (asked, accepted, removed, asked again...): the
 * last one decides what the pair's rows hold.
 */
export const friendsProjection: Projection = {
  name: 'friends',
  apply(ctx, batch) {
    const { views, run } = ctx;
    // Keyed by recipient and sender: whether a request is pending after the batch, and since when.
    const requests = new Map<string, { to_user_id: string; from_user_id: string; created_at: Date; pending: boolean }>();
    // Keyed by the pair: whether they are friends after the batch, and since when.
    const pairs = new Map<string, Pair>();
    const revoked: { position: string; reader_id: string; wall_id: string }[] = [];
    const request = (to: string, from: string, createdAt: Date, pending: boolean) =>
      requests.set(`${to}|${from}`, { to_user_id: to, from_user_id: from, created_at: createdAt, pending });
    const pair = (a: string, b: string, since: Date, friends: boolean) => pairs.set(a < b ? `${a}|${b}` : `${b}|${a}`, { a, b, since, friends });
    for (const event of batch) {
      switch (event.type) {
        case 'FriendRequestSent':
          request(event.data.toUserId, event.data.fromUserId, event.occurredAt, true);
          break;
        case 'FriendRequestDeclined':
          request(event.data.toUserId, event.data.fromUserId, event.occurredAt, false);
          break;
        case 'FriendRequestAccepted':
          request(event.data.toUserId, event.data.fromUserId, event.occurredAt, false);
          pair(event.data.fromUserId, event.data.toUserId, event.occurredAt, true);
          break;
        case 'FriendRemoved': {
          const { userId, friendId } = event.data;
          pair(userId, friendId, event.occurredAt, false);
          revoked.push({ position: at(event), reader_id: userId, wall_id: friendId }, { position: at(event), reader_id: friendId, wall_id: userId });
          break;
        }
        case 'UserRegistered':
        case 'ProfileUpdated':
        case 'PostPublished':
        case 'PostEdited':
        case 'PostDeleted':
        case 'CommentAdded':
        case 'CommentDeleted':
        case 'PostLiked':
        case 'PostUnliked':
          break;
        default:
          assertNever(event);
      }
    }
    const { friendRequests: fr, friends: f } = views;
    const [pending, settled] = partition([...requests.values()], (r) => r.pending);
    if (settled.length > 0) {
      run(sql`delete from ${fr} t using ${recordset(settled.map(({ to_user_id, from_user_id }) => ({ to_user_id, from_user_id })), 'r(to_user_id uuid, from_user_id uuid)')}
              where t.to_user_id = r.to_user_id and t.from_user_id = r.from_user_id`);
    }
    if (pending.length > 0) {
      run(sql`insert into ${fr} (to_user_id, from_user_id, created_at)
              select to_user_id, from_user_id, created_at from ${recordset(pending.map(({ pending: _, ...r }) => r), 'r(to_user_id uuid, from_user_id uuid, created_at timestamptz)')}
              on conflict (to_user_id, from_user_id) do update set created_at = excluded.created_at`);
    }
    // One row per direction.
    const directed = (list: Pair[]) => list.flatMap(({ a, b, since }) => [{ user_id: a, friend_id: b, since }, { user_id: b, friend_id: a, since }]);
    const [friendsAfter, apart] = partition([...pairs.values()], (p) => p.friends);
    if (apart.length > 0) {
      run(sql`delete from ${f} t using ${recordset(directed(apart).map(({ user_id, friend_id }) => ({ user_id, friend_id })), 'r(user_id uuid, friend_id uuid)')}
              where t.user_id = r.user_id and t.friend_id = r.friend_id`);
    }
    if (friendsAfter.length > 0) {
      run(sql`insert into ${f} (user_id, friend_id, since)
              select user_id, friend_id, since from ${recordset(directed(friendsAfter), 'r(user_id uuid, friend_id uuid, since timestamptz)')}
              on conflict (user_id, friend_id) do update set since = excluded.since`);
    }
    stageRevoked(ctx, revoked);
  },
};

type Pair = { a: string; b: string; since: Date; friends: boolean };

function partition<T>(items: readonly T[], test: (item: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const item of items) (test(item) ? yes : no).push(item);
  return [yes, no];
}

export type FriendRow = typeof friends.$inferSelect;
export type FriendRequestRow = typeof friendRequests.$inferSelect;

/** Which of `otherIds` are friends of `userId` (one query for any number). */
export async function friendsAmong(db: Queryable, userId: string, otherIds: readonly string[]): Promise<Set<string>> {
  if (otherIds.length === 0) return new Set();
  const rows = await friendsAmongStatement(db).execute({ userId, otherIds: [...otherIds] });
  return new Set(rows.map((r) => r.friendId));
}

/** A prepared statement per database handle (it runs for every wall page and live post), the ids as one array parameter. */
const friendsAmongStatement = perHandle((db) =>
  db
    .select({ friendId: friends.friendId })
    .from(friends)
    .where(and(eq(friends.userId, sql.placeholder('userId')), sql`${friends.friendId} = any(${sql.placeholder('otherIds')}::uuid[])`))
    .prepare('friends_among'),
);

/** A page of someone's friends, newest friendship first; `limit` rows at most. */
export function friendsPage(db: Queryable, userId: string, after: Cursor | null, limit: number): Promise<FriendRow[]> {
  return db
    .select()
    .from(friends)
    .where(
      and(
        eq(friends.userId, userId),
        after ? sql`(${friends.since}, ${friends.friendId}) < (${after.at}::timestamptz, ${after.id}::uuid)` : undefined,
      ),
    )
    .orderBy(desc(friends.since), desc(friends.friendId))
    .limit(limit);
}

/** Pending requests sent to `userId`, newest first. */
export function pendingRequests(db: Queryable, userId: string, limit: number): Promise<FriendRequestRow[]> {
  return db
    .select()
    .from(friendRequests)
    .where(eq(friendRequests.toUserId, userId))
    .orderBy(desc(friendRequests.createdAt), desc(friendRequests.fromUserId))
    .limit(limit);
}

