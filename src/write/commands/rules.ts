import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Queryable } from '../../db/connect.ts';
import { friendships, posts, users } from '../../db/schema/write.ts';
import { notFound } from '../../errors.ts';

/** Bounds on what people type; the README lists them. */
export const LIMITS = {
  handle: { min: 3, max: 30 },
  displayName: { min: 1, max: 80 },
  password: { min: 8, max: 200 },
  postBody: { min: 1, max: 5000 },
  commentBody: { min: 1, max: 2000 },
} as const;

/**
 * Characters are Unicode code points, as PostgreSQL's char_length counts them: an emoji is one,
 * where JavaScript's length (UTF-16 units) would count two.
 */
const characters = (s: string) => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

const text = (what: string, { min, max }: { min: number; max: number }) =>
  z
    .string()
    .trim()
    .refine((s) => characters(s) >= min, min === 1 ? `${what} must not be empty` : `${what} must be at least ${min} characters`)
    .refine((s) => characters(s) <= max, `${what} must be at most ${max} characters`);

export const field = {
  /** Ids are UUIDs; compared as text everywhere, so they are lower-cased here once. */
  id: (what: string) => z.uuid({ message: `${what} must be an id` }).transform((id) => id.toLowerCase()),
  handle: z
    .string()
    .min(LIMITS.handle.min, `handle must be at least ${LIMITS.handle.min} characters`)
    .max(LIMITS.handle.max, `handle must be at most ${LIMITS.handle.max} characters`)
    .regex(/^[A-Za-z0-9_]+$/, 'handle may contain only letters, digits and underscores'),
  displayName: text('displayName', LIMITS.displayName),
  password: z
    .string()
    .min(LIMITS.password.min, `password must be at least ${LIMITS.password.min} characters`)
    .max(LIMITS.password.max, `password must be at most ${LIMITS.password.max} characters`),
  postBody: text('body', LIMITS.postBody),
  commentBody: text('body', LIMITS.commentBody),
};

export async function findUser(db: Queryable, id: string) {
  const [user] = await db.select().from(users).where(eq(users.id, id));
  return user;
}

export async function loadUser(db: Queryable, id: string, what = 'person') {
  const user = await findUser(db, id);
  if (!user) throw notFound(`No ${what} has the id ${id}.`);
  return user;
}

export async function loadPost(db: Queryable, id: string) {
  const [post] = await db.select().from(posts).where(eq(posts.id, id));
  if (!post) throw notFound(`No post has the id ${id}; it may have been deleted.`);
  return post;
}

/** The pair's row, stored with the lower id first. */
export async function findFriendship(db: Queryable, a: string, b: string) {
  const { userLow, userHigh } = orderedPair(a, b);
  const [row] = await db
    .select()
    .from(friendships)
    .where(and(eq(friendships.userLow, userLow), eq(friendships.userHigh, userHigh)));
  return row;
}

export async function areFriends(db: Queryable, a: string, b: string): Promise<boolean> {
  if (a === b) return false;
  return (await findFriendship(db, a, b))?.status === 'accepted';
}

/** A wall and its posts are seen by the wall's owner and the owner's friends. */
export async function canSeeWall(db: Queryable, viewerId: string, wallOwnerId: string): Promise<boolean> {
  return viewerId === wallOwnerId || areFriends(db, viewerId, wallOwnerId);
}

export const orderedPair = (a: string, b: string) => (a < b ? { userLow: a, userHigh: b } : { userLow: b, userHigh: a });

