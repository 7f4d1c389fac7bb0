import { eq, inArray, sql } from 'drizzle-orm';
import type { Queryable } from '../../db/connect.ts';
import { perHandle } from '../../db/per-handle.ts';
import { profiles, type Views } from '../../db/schema/read.ts';
import type { Projection, ProjectionContext } from '../projection.ts';

/** The profile view: one row per person, with the counts a profile header shows. Names live only here. */
export type ProfileRow = typeof profiles.$inferSelect;

export const profileProjection: Projection = {
  name: 'profiles',
  async apply(ctx, event) {
    const { tx, views } = ctx;
    switch (event.type) {
      case 'UserRegistered': {
        const { userId, handle, displayName } = event.data;
        await tx.insert(views.profiles).values({ userId, handle, displayName });
        return;
      }
      case 'ProfileUpdated':
        await tx.update(views.profiles).set({ displayName: event.data.displayName }).where(eq(views.profiles.userId, event.data.userId));
        return;
      case 'FriendRequestAccepted':
        return addTo(ctx, 'friendCount', [event.data.fromUserId, event.data.toUserId], 1);
      case 'FriendRemoved':
        return addTo(ctx, 'friendCount', [event.data.userId, event.data.friendId], -1);
      case 'PostPublished':
        return addTo(ctx, 'postCount', [event.data.authorId], 1);
      case 'PostDeleted':
        return addTo(ctx, 'postCount', [event.data.authorId], -1);
      default:
        return;
    }
  },
};

async function addTo({ tx, views }: ProjectionContext, column: keyof Pick<Views['profiles']['_']['columns'], 'friendCount' | 'postCount'>, userIds: string[], delta: number) {
  const target = views.profiles[column];
  await tx
    .update(views.profiles)
    .set({ [column]: sql`${target} + ${delta}` })
    .where(inArray(views.profiles.userId, userIds));
}

/** Profiles by id: a prepared statement per database handle, the ids as one array parameter. */
export function findProfiles(db: Queryable, userIds: readonly string[]): Promise<ProfileRow[]> {
  return findProfilesStatement(db).execute({ userIds: [...userIds] });
}

const findProfilesStatement = perHandle((db) =>
  db.select().from(profiles).where(sql`${profiles.userId} = any(${sql.placeholder('userIds')}::uuid[])`).prepare('find_profiles'),
);

export async function findProfileByHandle(db: Queryable, handle: string): Promise<ProfileRow | undefined> {
  const [row] = await db
    .select()
    .from(profiles)
    .where(eq(sql`lower(${profiles.handle})`, handle.toLowerCase()));
  return row;
}
