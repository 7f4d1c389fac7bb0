import { eq, sql } from 'drizzle-orm';
import type { Queryable } from '../../db/connect.ts';
import { perHandle } from '../../db/per-handle.ts';
import { profiles } from '../../db/schema/read.ts';
import { assertNever, recordset, type Projection } from '../projection.ts';

/** The profile view: one row per person, with the counts a profile header shows. Names live only here. */
export type ProfileRow = typeof profiles.$inferSelect;

export const profileProjection: Projection = {
  name: 'profiles',
  apply({ views, run }, batch) {
    const registered: { user_id: string; handle: string; display_name: string }[] = [];
    const names = new Map<string, string>();
    const counts = new Map<string, { friends: number; posts: number }>();
    const add = (userId: string, key: 'friends' | 'posts', delta: number) => {
      const count = counts.get(userId) ?? counts.set(userId, { friends: 0, posts: 0 }).get(userId)!;
      count[key] += delta;
    };
    for (const event of batch) {
      switch (event.type) {
        case 'UserRegistered':
          registered.push({ user_id: event.data.userId, handle: event.data.handle, display_name: event.data.displayName });
          break;
        case 'ProfileUpdated':
          names.set(event.data.userId, event.data.displayName);
          break;
        case 'FriendRequestAccepted':
          add(event.data.fromUserId, 'friends', 1);
          add(event.data.toUserId, 'friends', 1);
          break;
        case 'FriendRemoved':
          add(event.data.userId, 'friends', -1);
          add(event.data.friendId, 'friends', -1);
          break;
        case 'PostPublished':
          add(event.data.authorId, 'posts', 1);
          break;
        case 'PostDeleted':
          add(event.data.authorId, 'posts', -1);
          break;
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
    const { profiles: p } = views;
    if (registered.length > 0) {
      run(sql`insert into ${p} (user_id, handle, display_name)
              select user_id, handle, display_name from ${recordset(registered, 'r(user_id uuid, handle text, display_name text)')}`);
    }
    if (names.size > 0) {
      const rows = [...names].map(([user_id, display_name]) => ({ user_id, display_name }));
      run(sql`update ${p} as t set display_name = r.display_name
              from ${recordset(rows, 'r(user_id uuid, display_name text)')} where t.user_id = r.user_id`);
    }
    const moved = [...counts].filter(([, c]) => c.friends !== 0 || c.posts !== 0);
    if (moved.length > 0) {
      const rows = moved.map(([user_id, c]) => ({ user_id, friends: c.friends, posts: c.posts }));
      run(sql`update ${p} as t set friend_count = t.friend_count + r.friends, post_count = t.post_count + r.posts
              from ${recordset(rows, 'r(user_id uuid, friends int, posts int)')} where t.user_id = r.user_id`);
    }
  },
};

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
