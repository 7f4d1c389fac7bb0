import DataLoader from 'dataloader';
import type { Db } from '../db/connect.ts';
import type { ClientAddressOf } from './client-address.ts';
import { unauthenticated, type DomainError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { ProjectionStatus } from '../read/consistency.ts';
import type { ChangeHub } from '../read/live/hub.ts';
import type { Cursor } from '../read/pagination.ts';
import { friendsAmong } from '../read/views/friends.ts';
import { commentPages, findPosts, likedAmong, type CommentRow, type PagePostRow, type PostRow } from '../read/views/posts.ts';
import { findProfiles, type ProfileRow } from '../read/views/profile.ts';
import type { CommandBus } from '../write/bus.ts';
import type { IdentityService } from '../write/identity/identity.ts';
import { Loader } from './loader.ts';

/** What every resolver can reach: the bus for mutations, the views for everything else. */
export interface Services {
  bus: CommandBus;
  identity: IdentityService;
  viewsDb: Db;
  projection: ProjectionStatus;
  /** Live changes for subscriptions. */
  live: ChangeHub;
  log: Logger;
  /** How long a read waits for `X-Consistent-With` before answering stale. */
  consistencyTimeoutMs: number;
  /** The client's address from the request (the peer's, or a trusted proxy's X-Forwarded-For). */
  clientAddressOf: ClientAddressOf;
}

export interface GraphQLContext {
  services: Services;
  requestId: string;
  /** The signed-in caller, when a valid token came with the request. */
  actorId: string | null;
  /** Why a token that came with the request was refused (reported only where sign-in is needed). */
  authError: DomainError | null;
  /** A receipt position the caller wants the views to have applied before reading. */
  consistentWith: bigint | null;
  /** The client's address, when the request came over the network (sign-in limits count by it). */
  clientAddress: string | null;
  loaders: Loaders;
}

export type Loaders = ReturnType<typeof createLoaders>;

/**
 * Per-request loaders over the views: whatever a page asks for, each kind of row costs one
 * query per tick of the resolver tree, not one per item; what a page reader primed is answered
 * without a query or a promise.
 */
export function createLoaders(viewsDb: Db, actorId: string | null) {
  const byKey = <Row, K extends string>(rows: Row[], key: (row: Row) => K) => new Map(rows.map((r) => [key(r), r]));
  return {
    profile: new Loader<string, ProfileRow | null>(async (ids) => {
      const found = byKey(await findProfiles(viewsDb, ids), (r) => r.userId);
      return ids.map((id) => found.get(id) ?? null);
    }),
    post: new Loader<string, PostRow | null>(async (ids) => {
      const found = byKey(await findPosts(viewsDb, ids), (r) => r.postId);
      return ids.map((id) => found.get(id) ?? null);
    }),
    /** Does the caller like each post? */
    liked: new Loader<string, boolean>(async (postIds) => {
      if (!actorId) return postIds.map(() => false);
      const liked = await likedAmong(viewsDb, actorId, postIds);
      return postIds.map((id) => liked.has(id));
    }),
    /** May the caller see each person's wall (their own, or a friend's)? */
    seesWallOf: new DataLoader<string, boolean>(async (ownerIds) => {
      if (!actorId) return ownerIds.map(() => false);
      const friends = await friendsAmong(viewsDb, actorId, ownerIds);
      return ownerIds.map((id) => id === actorId || friends.has(id));
    }),
    /** A page of comments per post; one query for all posts asking for the same page. */
    comments: new DataLoader<{ postId: string; after: Cursor | null; limit: number }, CommentRow[], string>(
      async (keys) => {
        const groups = new Map<string, { after: Cursor | null; limit: number; postIds: string[] }>();
        for (const k of keys) {
          const g = pageKey(k);
          const group = groups.get(g) ?? groups.set(g, { after: k.after, limit: k.limit, postIds: [] }).get(g)!;
          group.postIds.push(k.postId);
        }
        const pages = new Map<string, CommentRow[]>();
        for (const [g, group] of groups) {
          for (const [postId, rows] of await commentPages(viewsDb, group.postIds, group.after, group.limit)) pages.set(`${g}|${postId}`, rows);
        }
        return keys.map((k) => pages.get(`${pageKey(k)}|${k.postId}`) ?? []);
      },
      { cacheKeyFn: (k) => `${pageKey(k)}|${k.postId}` },
    ),
  };
}

/**
 * What a page of posts shows besides the posts: each post is held, whether the caller likes it
 * (read with the page), and the people it shows (authors and the latest comments' authors), in
 * one batch, so the page's fields resolve from memory.
 */
export async function primePostPage(ctx: GraphQLContext, rows: readonly PagePostRow[]): Promise<void> {
  const { post, liked, profile } = ctx.loaders;
  const people = new Set<string>();
  for (const row of rows) {
    post.prime(row.postId, row);
    liked.prime(row.postId, row.likedByMe);
    people.add(row.authorId);
    for (const comment of row.latestComments) people.add(comment.authorId);
  }
  await profile.loadAll(people);
}

/** Which page of comments a key asks for (the same for every post asking for that page). */
const pageKey = (k: { after: Cursor | null; limit: number }) => `${k.limit}|${k.after?.at ?? ''}|${k.after?.id ?? ''}`;

export function requireActor(ctx: GraphQLContext): string {
  if (ctx.authError) throw ctx.authError;
  if (!ctx.actorId) throw unauthenticated();
  return ctx.actorId;
}
