import { and, desc, eq, or, sql } from 'drizzle-orm';
import type { Queryable } from '../../db/connect.ts';
import { perHandle } from '../../db/per-handle.ts';
import { friendRequests, friends } from '../../db/schema/read.ts';
import { logRevoked } from '../changes.ts';
import type { Projection } from '../projection.ts';
import type { Cursor } from '../pagination.ts';

/** The friend graph (both directions) and pending requests: friend lists, fan-out, visibility. */
export const friendsProjection: Projection = {
  name: 'friends',
  async apply(ctx, event) {
    const { tx, views } = ctx;
    switch (event.type) {
      case 'FriendRequestSent': {
        const { fromUserId, toUserId } = event.data;
        await tx.insert(views.friendRequests).values({ toUserId, fromUserId, createdAt: event.occurredAt });
        return;
      }
      case 'FriendRequestDeclined': {
        const { fromUserId, toUserId } = event.data;
        await tx
          .delete(views.friendRequests)
          .where(and(eq(views.friendRequests.toUserId, toUserId), eq(views.friendRequests.fromUserId, fromUserId)));
        return;
      }
      case 'FriendRequestAccepted': {
        const { fromUserId, toUserId } = event.data;
        await tx
          .delete(views.friendRequests)
          .where(and(eq(views.friendRequests.toUserId, toUserId), eq(views.friendRequests.fromUserId, fromUserId)));
        await tx.insert(views.friends).values([
          { userId: fromUserId, friendId: toUserId, since: event.occurredAt },
          { userId: toUserId, friendId: fromUserId, since: event.occurredAt },
        ]);
        return;
      }
      case 'FriendRemoved': {
        const { userId, friendId } = event.data;
        await tx
          .delete(views.friends)
          .where(
            or(
              and(eq(views.friends.userId, userId), eq(views.friends.friendId, friendId)),
              and(eq(views.friends.userId, friendId), eq(views.friends.friendId, userId)),
            ),
          );
        await logRevoked(ctx, event, userId, friendId);
        await logRevoked(ctx, event, friendId, userId);
        return;
      }
      default:
        return;
    }
  },
};

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

