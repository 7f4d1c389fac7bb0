import { sql } from 'drizzle-orm';
import type { App } from '../app.ts';
import { users } from '../db/schema/write.ts';
import { DomainError } from '../errors.ts';
import type { Receipt } from '../write/bus.ts';
import { commandCount, DEFAULT_SEED, DEMO_DISPLAY_NAME, DEMO_HANDLE, planWorld, SEED_PASSWORD } from './plan.ts';

export { commandCount, DEFAULT_SEED, DEMO_HANDLE, planWorld, SEED_PASSWORD, type WorldPlan } from './plan.ts';

export const DEFAULT_PEOPLE = 300;
export const DEFAULT_CONCURRENCY = 4;

export type SeedPhase = 'people' | 'friendships' | 'posts' | 'comments' | 'likes';

export interface SeedOptions {
  /** How many people, the demo account included (at least 2). */
  people: number;
  /** The PRNG seed (default 1): the same seed and size give the same handles, texts and graph. */
  seed?: number;
  /** Average friends per person (default 14, capped by the world's size). */
  averageFriends?: number;
  /** Commands in flight at once (default 4). */
  concurrency?: number;
  /** Called after every command: commands done, commands in all, the phase running. */
  onProgress?: (done: number, total: number, phase: SeedPhase) => void;
  /** Stops the seed between commands (the commands in flight finish); seedWorld then throws SeedAbortedError. */
  signal?: AbortSignal;
}

export interface SeedCounts {
  /** What was created: people registered, friendships accepted, posts, comments and likes. */
  people: number;
  friendships: number;
  posts: number;
  comments: number;
  likes: number;
  /** Commands run through the bus, refused ones included. */
  commands: number;
  /** Planned commands not done: refused by a rule, or left out because what they needed was refused. */
  skipped: number;
}

export interface SeedResult {
  demo: { userId: string; handle: string; password: string; token: string };
  counts: SeedCounts;
  /** Why commands were skipped: an error code (`CONFLICT`, ...) or `dependency`, with how many. */
  skippedBy: Record<string, number>;
  /** The highest receipt position: once the views have applied it, they show the whole world. */
  position: string;
  seed: number;
  seconds: number;
}

/** Seeding a database that already has the demo account: refused before anything is written. */
export class WorldAlreadySeededError extends Error {
  override name = 'WorldAlreadySeededError';
  constructor() {
    super(`This database already has the demo account (handle "${DEMO_HANDLE}"): it was seeded before, so nothing was written. Seed an empty database (another DATA_DIR or DATABASE_URL).`);
  }
}

/** The seed was stopped through its signal; what was committed before stays. */
export class SeedAbortedError extends Error {
  override name = 'SeedAbortedError';
  constructor(readonly commands: number) {
    super(`The seed was stopped after ${commands} commands; the database holds part of the world, and seeding it again is refused (it has the demo account).`);
  }
}

/**
 * Creates a demo world through the command bus, exactly as mutations would: registrations,
 * friend requests and acceptances, posts on one's own and friends' walls, comments and likes.
 * The content comes from `planWorld` (a seeded PRNG), so the same seed gives the same world; ids
 * and times are the server's own. Refuses a database that already has the demo account.
 */
export async function seedWorld(app: App, options: SeedOptions): Promise<SeedResult> {
  const started = performance.now();
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_CONCURRENCY));
  const seed = options.seed ?? DEFAULT_SEED;

  const existing = await app.database.db.select({ handle: sql<string>`lower(${users.handle})` }).from(users);
  const takenHandles = new Set(existing.map((row) => row.handle));
  if (takenHandles.has(DEMO_HANDLE)) throw new WorldAlreadySeededError();
  const plan = planWorld({
    people: options.people,
    seed,
    takenHandles,
    ...(options.averageFriends !== undefined ? { averageFriends: options.averageFriends } : {}),
  });

  const total = commandCount(plan);
  const counts: SeedCounts = { people: 0, friendships: 0, posts: 0, comments: 0, likes: 0, commands: 0, skipped: 0 };
  const skippedBy: Record<string, number> = {};
  let done = 0;
  let position = 0n;
  let phase: SeedPhase = 'people';
  const skip = (reason: string, n = 1) => {
    skippedBy[reason] = (skippedBy[reason] ?? 0) + n;
    counts.skipped += n;
    advance(n);
  };
  const advance = (n = 1) => {
    done += n;
    options.onProgress?.(done, total, phase);
  };

  /** Runs one command; a refusal is counted and answered with null, anything else stops the seed. */
  const run = async (name: string, input: Record<string, unknown>, actorId: string | null): Promise<Receipt | null> => {
    try {
      const receipt = await app.bus.execute({ name, input }, { actorId, requestId: 'seed' });
      const at = BigInt(receipt.position);
      if (at > position) position = at;
      counts.commands += 1;
      advance();
      return receipt;
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      counts.commands += 1;
      skip(error.code);
      return null;
    }
  };

  const stopIfAborted = () => {
    if (options.signal?.aborted) throw new SeedAbortedError(counts.commands);
  };

  const userIds: (string | undefined)[] = new Array(plan.people.length);
  const postIds: (string | undefined)[] = new Array(plan.posts.length);

  // People. The demo account goes first and alone: if someone registered it since the check above,
  // the seed stops before writing anything else.
  try {
    const receipt = await app.bus.execute(
      { name: 'RegisterUser', input: { handle: DEMO_HANDLE, displayName: DEMO_DISPLAY_NAME, password: SEED_PASSWORD } },
      { actorId: null, requestId: 'seed' },
    );
    userIds[0] = receipt.aggregateId;
    position = BigInt(receipt.position);
    counts.commands += 1;
    counts.people += 1;
    advance();
  } catch (error) {
    if (error instanceof DomainError && error.code === 'CONFLICT') throw new WorldAlreadySeededError();
    throw error;
  }
  await pool(plan.people.slice(1), concurrency, options.signal, async (person, index) => {
    const receipt = await run('RegisterUser', { handle: person.handle, displayName: person.displayName, password: SEED_PASSWORD }, null);
    if (receipt) {
      userIds[index + 1] = receipt.aggregateId;
      counts.people += 1;
    }
  });

  stopIfAborted();
  phase = 'friendships';
  await pool(plan.friendships, concurrency, options.signal, async ({ from, to }) => {
    const fromId = userIds[from];
    const toId = userIds[to];
    if (!fromId || !toId) return skip('dependency', 2);
    if (!(await run('SendFriendRequest', { toUserId: toId }, fromId))) return skip('dependency');
    if (await run('AcceptFriendRequest', { fromUserId: fromId }, toId)) counts.friendships += 1;
  });

  stopIfAborted();
  phase = 'posts';
  await pool(plan.posts, concurrency, options.signal, async (post, index) => {
    const authorId = userIds[post.author];
    const wallId = userIds[post.wall];
    if (!authorId || !wallId) return skip('dependency');
    const receipt = await run('PublishPost', { body: post.body, ...(wallId !== authorId ? { wallOwnerId: wallId } : {}) }, authorId);
    if (receipt) {
      postIds[index] = receipt.aggregateId;
      counts.posts += 1;
    }
  });

  stopIfAborted();
  phase = 'comments';
  await pool(plan.comments, concurrency, options.signal, async (c) => {
    const authorId = userIds[c.author];
    const postId = postIds[c.post];
    if (!authorId || !postId) return skip('dependency');
    if (await run('AddComment', { postId, body: c.body }, authorId)) counts.comments += 1;
  });

  stopIfAborted();
  phase = 'likes';
  await pool(plan.likes, concurrency, options.signal, async (like) => {
    const userId = userIds[like.person];
    const postId = postIds[like.post];
    if (!userId || !postId) return skip('dependency');
    if (await run('LikePost', { postId }, userId)) counts.likes += 1;
  });

  stopIfAborted();
  const demoId = userIds[0]!;
  return {
    demo: { userId: demoId, handle: DEMO_HANDLE, password: SEED_PASSWORD, token: await app.identity.tokens.issue(demoId) },
    counts,
    skippedBy,
    position: position.toString(),
    seed,
    seconds: (performance.now() - started) / 1000,
  };
}

/** Runs `work` over `items`, at most `concurrency` in flight; the first error, or the signal, stops the rest. */
async function pool<T>(items: readonly T[], concurrency: number, signal: AbortSignal | undefined, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && !signal?.aborted && next < items.length) {
      const index = next++;
      try {
        await work(items[index]!, index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  // Settle every worker before failing, so no command is still running when the caller stops the app.
  const results = await Promise.allSettled(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
}
