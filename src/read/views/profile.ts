import { eq, inArray, sql } from 'drizzle-orm';
import type { Queryable, Tx } from '../../db/connect.ts';
import { profiles } from '../../db/schema/read.ts';
import type { RecordedEvent } from '../../write/events.ts';
import type { Projection } from '../projection.ts';

/** The profile view: one row per person, with the counts a profile header shows. */
export type ProfileRow = typeof profiles.$inferSelect;

export const profileProjection: Projection = {
  name: 'profiles',
  async apply(tx: Tx, event: RecordedEvent) {
    switch (event.type) {
      case 'UserRegistered': {
        const { userId, handle, displayName } = event.data;
        await tx.insert(profiles).values({ userId, handle, displayName }).onConflictDoNothing();
        return;
      }
      case 'ProfileUpdated':
        await tx.update(profiles).set({ displayName: event.data.displayName }).where(eq(profiles.userId, event.data.userId));
        return;
      case 'FriendRequestAccepted':
        await addFriends(tx, [event.data.fromUserId, event.data.toUserId], 1);
        return;
      case 'FriendRemoved':
        await addFriends(tx, [event.data.userId, event.data.friendId], -1);
        return;
      case 'PostPublished':
        await addPosts(tx, event.data.authorId, 1);
        return;
      case 'PostDeleted':
        await addPosts(tx, event.data.authorId, -1);
        return;
      default:
        return;
    }
  },
};

const addFriends = (tx: Tx, userIds: string[], delta: number) =>
  tx
    .update(profiles)
    .set({ friendCount: sql`${profiles.friendCount} + ${delta}` })
    .where(inArray(profiles.userId, userIds));

const addPosts = (tx: Tx, userId: string, delta: number) =>
  tx
    .update(profiles)
    .set({ postCount: sql`${profiles.postCount} + ${delta}` })
    .where(eq(profiles.userId, userId));

export function findProfiles(db: Queryable, userIds: readonly string[]): Promise<ProfileRow[]> {
  return db.select().from(profiles).where(inArray(profiles.userId, [...userIds]));
}

export async function findProfileByHandle(db: Queryable, handle: string): Promise<ProfileRow | undefined> {
  const [row] = await db
    .select()
    .from(profiles)
    .where(eq(sql`lower(${profiles.handle})`, handle.toLowerCase()));
  return row;
}
