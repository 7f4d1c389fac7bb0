import { queryRows, sql, type Queryable } from '../../src/db/connect.ts';
import type { LatestComment } from '../../src/db/schema/read.ts';
import { LATEST_COMMENTS } from '../../src/read/views/posts.ts';
import { readHorizon } from '../../src/write/event-log.ts';
import { mutationFor, type Person, type TestApp } from './app.ts';

/*
 * The oracle: random commands through GraphQL, then every view compared with what a plain query
 * over the normalized write tables says it should hold. Seeded, so a failure reproduces.
 */

// 1. A seeded PRNG (mulberry32): small, fast, and the same sequence on every machine.

export class Rng {
  private state: number;
  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let x = this.state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[this.int(items.length)];
  }
  /** A key of `weights`, with probability proportional to its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as [K, number][];
    let r = this.next() * entries.reduce((sum, [, w]) => sum + w, 0);
    for (const [key, w] of entries) {
      r -= w;
      if (r < 0) return key;
    }
    return entries.at(-1)![0];
  }
}

/** The seed from ORACLE_SEED, or `fallback`. */
export function oracleSeed(fallback: number): number {
  const raw = process.env['ORACLE_SEED'];
  if (raw === undefined || raw === '') return fallback;
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`ORACLE_SEED must be a non-negative integer, not ${raw}`);
  return seed;
}

// 2. The driver: picks mostly valid commands from the current state of the write tables.

type Field =
  | 'registerUser'
  | 'updateProfile'
  | 'sendFriendRequest'
  | 'acceptFriendRequest'
  | 'declineFriendRequest'
  | 'removeFriend'
  | 'publishPost'
  | 'editPost'
  | 'deletePost'
  | 'addComment'
  | 'deleteComment'
  | 'likePost'
  | 'unlikePost';

interface PlannedCommand {
  field: Field;
  input: Record<string, unknown>;
  /** Null for registration (anonymous). */
  actor: Person | null;
  /** Chosen to be refused (the rest may be refused too, when a concurrent command got there first). */
  invalid: boolean;
}

/** What the write tables hold, as far as choosing the next commands needs. */
interface World {
  friends: Map<string, Set<string>>;
  accepted: { a: string; b: string }[];
  pending: { from: string; to: string }[];
  /** Pairs with an accepted or pending row, as `low:high`. */
  linked: Set<string>;
  posts: { id: string; authorId: string; wallOwnerId: string }[];
  comments: { id: string; postId: string; authorId: string }[];
  likes: { postId: string; userId: string }[];
  liked: Set<string>;
}

export interface DriverStats {
  /** Outcomes per command: `ok` or the refusal's code. */
  outcomes: Record<string, Record<string, number>>;
  /** Errors that are not a refusal from the public contract (a bug, or an unexpected crash). */
  unexpected: string[];
  /** Commands chosen to be refused that went through (a rule the write side did not enforce). */
  acceptedInvalid: string[];
  succeeded: number;
  /** The highest position among the receipts. */
  maxPosition: bigint;
}

const REFUSALS = new Set(['BAD_USER_INPUT', 'FORBIDDEN', 'NOT_FOUND', 'CONFLICT']);

const WEIGHTS: Record<Field | 'invalid', number> = {
  registerUser: 1,
  updateProfile: 5,
  sendFriendRequest: 14,
  acceptFriendRequest: 11,
  declineFriendRequest: 2,
  removeFriend: 4,
  publishPost: 18,
  editPost: 6,
  deletePost: 3,
  addComment: 20,
  deleteComment: 3,
  likePost: 11,
  unlikePost: 3,
  invalid: 5,
};

const WORDS = ['wall', 'hello', 'friend', 'coffee', 'rain', 'news', 'party', 'photo', 'lol', 'monday', 'cat', 'saw', 'this', 'and', 'the', 'tonight', 'jazz'];
const ODD = ['"quoted"', "O'Brien", 'naïve', 'Zoë', '😀', 'back\\slash', 'tab\there', 'new\nline', '<b>bold</b>', '%s', '$1', 'ü ß 李'];
const FIRST = ['Ada', 'Bob', 'Chloé', 'Dmitri', 'Eve', 'Fumiko', 'Gus', 'Hana', 'Ines', 'Jo', 'Kwame', 'Li'];
const LAST = ['Lovelace', "O'Hara", 'Smith', 'Núñez', 'Okafor', 'Sato', 'Dubois', 'Li'];

const pairKey = (a: string, b: string) => (a < b ? `${a}:${b}` : `${b}:${a}`);

/**
 * Runs random commands through GraphQL, `concurrency` at a time so their transactions interleave.
 * Before each round it reloads the state from the write tables and picks mostly valid commands
 * from it; entities are ordered by when the driver created them (not by their random ids), so the
 * same seed makes the same choices on the single-connection embedded database.
 */
export class Driver {
  readonly people: Person[] = [];
  private readonly order = new Map<string, number>();
  private created = 0;
  private registered = 0;
  readonly stats: DriverStats = { outcomes: {}, unexpected: [], acceptedInvalid: [], succeeded: 0, maxPosition: 0n };

  constructor(
    private readonly t: TestApp,
    readonly rng: Rng,
  ) {}

  private get db() {
    return this.t.app.database.db;
  }

  /** Registers `n` people, `concurrency` at a time. */
  async registerPeople(n: number, concurrency = 4): Promise<void> {
    for (let i = 0; i < n; i += concurrency) {
      const planned = Array.from({ length: Math.min(concurrency, n - i) }, () => this.registration());
      await this.runRound(planned);
    }
  }

  /** Runs `n` random commands, `concurrency` at a time. */
  async run(n: number, concurrency = 4): Promise<DriverStats> {
    for (let done = 0; done < n; done += concurrency) {
      const world = await this.loadWorld();
      const planned = Array.from({ length: Math.min(concurrency, n - done) }, () => this.plan(world));
      await this.runRound(planned);
    }
    return this.stats;
  }

  private async runRound(planned: PlannedCommand[]): Promise<void> {
    const results = await Promise.all(planned.map((command) => this.execute(command)));
    // Ordinals in plan order, not completion order: the next round's choices stay reproducible.
    for (const receipt of results) {
      if (!receipt) continue;
      if (receipt.person) this.people.push(receipt.person);
      this.order.set(receipt.aggregateId, this.created++);
    }
  }

  private async execute(command: PlannedCommand): Promise<{ aggregateId: string; person?: Person } | null> {
    const { field, input, actor, invalid } = command;
    const outcomes = (this.stats.outcomes[field] ??= {});
    let result;
    try {
      result = await this.t.gql(mutationFor(field), { input }, actor ? { token: actor.token } : {});
    } catch (error) {
      this.stats.unexpected.push(`${field} ${JSON.stringify(input)} threw: ${(error as Error).stack ?? String(error)}`);
      return null;
    }
    const error = result.errors?.[0];
    if (error) {
      const code = String(error.extensions?.['code'] ?? 'NO_CODE');
      outcomes[code] = (outcomes[code] ?? 0) + 1;
      if (!REFUSALS.has(code)) this.stats.unexpected.push(`${field} by ${actor?.handle ?? 'anonymous'} ${JSON.stringify(input)}: ${code} ${error.message}`);
      return null;
    }
    const receipt = result.data?.[field] as { aggregateId: string; position: string } | undefined;
    if (!receipt) {
      this.stats.unexpected.push(`${field} ${JSON.stringify(input)}: neither data nor errors`);
      return null;
    }
    outcomes['ok'] = (outcomes['ok'] ?? 0) + 1;
    this.stats.succeeded += 1;
    if (BigInt(receipt.position) > this.stats.maxPosition) this.stats.maxPosition = BigInt(receipt.position);
    if (invalid) this.stats.acceptedInvalid.push(`${field} by ${actor?.handle ?? 'anonymous'} ${JSON.stringify(input)}`);
    if (field === 'registerUser') {
      const handle = input['handle'] as string;
      const token = await this.t.app.identity.tokens.issue(receipt.aggregateId);
      return { aggregateId: receipt.aggregateId, person: { userId: receipt.aggregateId, handle, token } };
    }
    return receipt;
  }

  private rank = (id: string) => this.order.get(id) ?? Number.MAX_SAFE_INTEGER;
  private byRank = <T>(key: (row: T) => string) => (x: T, y: T) => this.rank(key(x)) - this.rank(key(y)) || (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0);

  private async loadWorld(): Promise<World> {
    const [friendships, posts, comments, likes] = await Promise.all([
      queryRows<{ user_low: string; user_high: string; status: string; requested_by: string | null }>(
        this.db,
        sql`select user_low, user_high, status::text as status, requested_by from write.friendships where status <> 'none'`,
      ),
      queryRows<{ id: string; author_id: string; wall_owner_id: string }>(this.db, sql`select id, author_id, wall_owner_id from write.posts`),
      queryRows<{ id: string; post_id: string; author_id: string }>(this.db, sql`select id, post_id, author_id from write.comments`),
      queryRows<{ post_id: string; user_id: string }>(this.db, sql`select post_id, user_id from write.likes`),
    ]);
    const world: World = {
      friends: new Map(this.people.map((p) => [p.userId, new Set<string>()])),
      accepted: [],
      pending: [],
      linked: new Set(),
      posts: posts.map((p) => ({ id: p.id, authorId: p.author_id, wallOwnerId: p.wall_owner_id })).sort(this.byRank((p) => p.id)),
      comments: comments.map((c) => ({ id: c.id, postId: c.post_id, authorId: c.author_id })).sort(this.byRank((c) => c.id)),
      likes: likes
        .map((l) => ({ postId: l.post_id, userId: l.user_id }))
        .sort((x, y) => this.rank(x.postId) - this.rank(y.postId) || this.rank(x.userId) - this.rank(y.userId)),
      liked: new Set(likes.map((l) => `${l.post_id}:${l.user_id}`)),
    };
    const pairs = friendships.sort((x, y) => this.rank(x.user_low) - this.rank(y.user_low) || this.rank(x.user_high) - this.rank(y.user_high));
    for (const f of pairs) {
      world.linked.add(pairKey(f.user_low, f.user_high));
      if (f.status === 'accepted') {
        world.accepted.push({ a: f.user_low, b: f.user_high });
        world.friends.get(f.user_low)?.add(f.user_high);
        world.friends.get(f.user_high)?.add(f.user_low);
      } else if (f.requested_by) {
        world.pending.push({ from: f.requested_by, to: f.requested_by === f.user_low ? f.user_high : f.user_low });
      }
    }
    return world;
  }

  private person(id: string): Person {
    const person = this.people.find((p) => p.userId === id);
    if (!person) throw new Error(`the driver does not know ${id}`);
    return person;
  }

  private anyone(): Person {
    return this.rng.pick(this.people)!;
  }

  /** Someone near `p` in registration order most of the time, so friend circles overlap (walls seen by mutual friends). */
  private neighbour(p: Person): Person {
    const i = this.people.indexOf(p);
    if (this.rng.chance(0.4)) return this.anyone();
    const offset = 1 + this.rng.int(5);
    return this.people[(i + (this.rng.chance(0.5) ? offset : this.people.length - offset)) % this.people.length]!;
  }

  private popular = (postId: string) => this.rank(postId) % 7 === 0;

  /** Often one of a few popular posts, so some gather more comments than a post's view row keeps. */
  private hotPost(w: World) {
    const popular = w.posts.filter((p) => this.popular(p.id));
    return (this.rng.chance(0.7) ? this.rng.pick(popular) : undefined) ?? this.rng.pick(w.posts);
  }

  private text(maxWords: number): string {
    const words = Array.from({ length: 1 + this.rng.int(maxWords) }, () => (this.rng.chance(0.1) ? this.rng.pick(ODD)! : this.rng.pick(WORDS)!));
    const body = words.join(' ');
    // Leading or trailing spaces now and then: the write side trims them.
    return this.rng.chance(0.05) ? `  ${body} ` : body;
  }

  private displayName(): string {
    return `${this.rng.pick(FIRST)} ${this.rng.pick(LAST)}${this.rng.chance(0.3) ? ` ${this.rng.int(100)}` : ''}`;
  }

  private registration(): PlannedCommand {
    const handle = `o${this.rng.seed.toString(36)}_${this.registered++}`;
    return { field: 'registerUser', input: { handle, displayName: this.displayName(), password: 'correct horse battery' }, actor: null, invalid: false };
  }

  private plan(world: World): PlannedCommand {
    for (let attempt = 0; attempt < 20; attempt++) {
      const kind = this.rng.weighted(WEIGHTS);
      const planned = kind === 'invalid' ? this.planInvalid(world) : this.planValid(kind, world);
      if (planned) return planned;
    }
    const actor = this.anyone();
    return { field: 'publishPost', input: { body: this.text(8) }, actor, invalid: false };
  }

  private planValid(field: Field, w: World): PlannedCommand | null {
    const ok = (input: Record<string, unknown>, actor: Person): PlannedCommand => ({ field, input, actor, invalid: false });
    const friendsOf = (id: string) => [...(w.friends.get(id) ?? [])].sort((x, y) => this.rank(x) - this.rank(y));
    switch (field) {
      case 'registerUser':
        return this.registration();
      case 'updateProfile':
        return ok({ displayName: this.displayName() }, this.anyone());
      case 'sendFriendRequest': {
        const me = this.anyone();
        const them = this.neighbour(me);
        if (them === me || w.linked.has(pairKey(me.userId, them.userId))) return null;
        return ok({ toUserId: them.userId }, me);
      }
      case 'acceptFriendRequest':
      case 'declineFriendRequest': {
        const request = this.rng.pick(w.pending);
        return request ? ok({ fromUserId: request.from }, this.person(request.to)) : null;
      }
      case 'removeFriend': {
        const pair = this.rng.pick(w.accepted);
        if (!pair) return null;
        const [me, them] = this.rng.chance(0.5) ? [pair.a, pair.b] : [pair.b, pair.a];
        return ok({ userId: them }, this.person(me));
      }
      case 'publishPost': {
        const me = this.anyone();
        const wall = this.rng.chance(0.5) ? this.rng.pick(friendsOf(me.userId)) : undefined;
        if (!wall) return ok(this.rng.chance(0.5) ? { body: this.text(12) } : { body: this.text(12), wallOwnerId: me.userId }, me);
        return ok({ body: this.text(12), wallOwnerId: wall }, me);
      }
      case 'editPost': {
        const post = this.rng.pick(w.posts);
        return post ? ok({ postId: post.id, body: this.text(12) }, this.person(post.authorId)) : null;
      }
      case 'deletePost': {
        // Popular posts live long, mostly: their comments pile up.
        const post = this.rng.pick(w.posts.filter((p) => !this.popular(p.id) || this.rng.chance(0.1)));
        return post ? ok({ postId: post.id }, this.person(this.rng.chance(0.5) ? post.authorId : post.wallOwnerId)) : null;
      }
      case 'addComment': {
        const post = this.hotPost(w);
        if (!post) return null;
        const who = this.rng.pick([post.wallOwnerId, ...friendsOf(post.wallOwnerId)])!;
        return ok({ postId: post.id, body: this.text(8) }, this.person(who));
      }
      case 'deleteComment': {
        const comment = this.rng.pick(w.comments);
        const post = comment && w.posts.find((p) => p.id === comment.postId);
        if (!comment || !post) return null;
        return ok({ commentId: comment.id }, this.person(this.rng.pick([comment.authorId, post.authorId, post.wallOwnerId])!));
      }
      case 'likePost': {
        const post = this.hotPost(w);
        if (!post) return null;
        const who = this.rng.pick([post.wallOwnerId, ...friendsOf(post.wallOwnerId)].filter((id) => !w.liked.has(`${post.id}:${id}`)));
        return who ? ok({ postId: post.id }, this.person(who)) : null;
      }
      case 'unlikePost': {
        const like = this.rng.pick(w.likes);
        return like ? ok({ postId: like.postId }, this.person(like.userId)) : null;
      }
    }
  }

  /** A command the rules refuse, whatever runs beside it. */
  private planInvalid(w: World): PlannedCommand | null {
    const bad = (field: Field, input: Record<string, unknown>, actor: Person | null): PlannedCommand => ({ field, input, actor, invalid: true });
    const me = this.anyone();
    const strangers = this.people.filter((p) => p !== me && !w.friends.get(me.userId)?.has(p.userId));
    const post = this.rng.pick(w.posts);
    switch (this.rng.int(9)) {
      case 0: {
        const stranger = this.rng.pick(strangers);
        return stranger ? bad('publishPost', { body: this.text(5), wallOwnerId: stranger.userId }, me) : null;
      }
      case 1:
        return post && post.authorId !== me.userId ? bad('editPost', { postId: post.id, body: this.text(5) }, me) : null;
      case 2: {
        const like = this.rng.pick(w.likes);
        return like ? bad('likePost', { postId: like.postId }, this.person(like.userId)) : null;
      }
      case 3:
        return bad('sendFriendRequest', { toUserId: me.userId }, me);
      case 4:
        return post ? bad('addComment', { postId: post.id, body: '   ' }, this.person(post.wallOwnerId)) : null;
      case 5:
        return post && post.authorId !== me.userId && post.wallOwnerId !== me.userId ? bad('deletePost', { postId: post.id }, me) : null;
      case 6: {
        const stranger = this.rng.pick(strangers);
        const pending = stranger && w.pending.some((r) => r.from === stranger.userId && r.to === me.userId);
        return stranger && !pending ? bad('acceptFriendRequest', { fromUserId: stranger.userId }, me) : null;
      }
      case 7: {
        const taken = this.anyone();
        return bad('registerUser', { handle: taken.handle.toUpperCase(), displayName: 'Copycat', password: 'correct horse battery' }, null);
      }
      default:
        return post && !w.liked.has(`${post.id}:${me.userId}`) ? bad('unlikePost', { postId: post.id }, me) : null;
    }
  }
}

// 3. What each view should hold, from the write tables; and what it holds.

export interface ViewRows {
  profiles: { userId: string; handle: string; displayName: string; friendCount: number; postCount: number }[];
  friends: { userId: string; friendId: string; since: string }[];
  friendRequests: { toUserId: string; fromUserId: string; createdAt: string }[];
  posts: {
    postId: string;
    authorId: string;
    wallOwnerId: string;
    body: string;
    createdAt: string;
    editedAt: string | null;
    likeCount: number;
    commentCount: number;
    latestComments: LatestComment[];
  }[];
  comments: { commentId: string; postId: string; authorId: string; body: string; createdAt: string }[];
  likes: { postId: string; userId: string }[];
  feedEntries: { readerId: string; postId: string; createdAt: string }[];
}

export type ViewName = keyof ViewRows;

/** Each view's primary key, as one string. */
const KEYS: { [V in ViewName]: (row: ViewRows[V][number]) => string } = {
  profiles: (r) => r.userId,
  friends: (r) => `${r.userId}→${r.friendId}`,
  friendRequests: (r) => `${r.fromUserId}→${r.toUserId}`,
  posts: (r) => r.postId,
  comments: (r) => r.commentId,
  likes: (r) => `${r.postId}♥${r.userId}`,
  feedEntries: (r) => `${r.readerId}∋${r.postId}`,
};

/** A timestamp as the ISO string JavaScript writes (millisecond precision, UTC), whichever driver reads it. */
const iso = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

async function rows<T extends Record<string, unknown>>(db: Queryable, query: string): Promise<T[]> {
  return queryRows<T>(db, sql.raw(query));
}

function sortRows<V extends ViewName>(view: V, list: ViewRows[V]): ViewRows[V] {
  const key = KEYS[view] as (row: ViewRows[V][number]) => string;
  return [...list].sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0)) as ViewRows[V];
}

function sortAll(views: ViewRows): ViewRows {
  const sorted = {} as Record<ViewName, unknown>;
  for (const view of Object.keys(KEYS) as ViewName[]) sorted[view] = sortRows(view, views[view] as never);
  return sorted as ViewRows;
}

/**
 * What every view should hold, computed the plain way from the normalized write tables. The feed
 * follows the rule in src/read/views/feed.ts: reader R holds the newest `feedLimit` live posts P,
 * by A on W's wall, for which R may see W's wall (R is W or W's friend) and R wrote P, P is on
 * R's wall, or R is A's friend. (A deleted post leaves a gap the rule does not refill, so this
 * agrees only while no reader's feed was ever trimmed: use a large `feedLimit`.)
 */
export async function expectedViews(db: Queryable, feedLimit: number): Promise<ViewRows> {
  const [profiles, friends, friendRequests, posts, comments, likes, feedEntries] = await Promise.all([
    rows<ViewRows['profiles'][number]>(
      db,
      `select u.id::text as "userId", u.handle, u.display_name as "displayName",
              (select count(*) from write.friendships f where f.status = 'accepted' and u.id in (f.user_low, f.user_high))::int as "friendCount",
              (select count(*) from write.posts p where p.author_id = u.id)::int as "postCount"
       from write.users u`,
    ),
    rows<ViewRows['friends'][number]>(
      db,
      `select user_low::text as "userId", user_high::text as "friendId", ${iso('accepted_at')} as since from write.friendships where status = 'accepted'
       union all
       select user_high::text, user_low::text, ${iso('accepted_at')} from write.friendships where status = 'accepted'`,
    ),
    rows<ViewRows['friendRequests'][number]>(
      db,
      `select (case when requested_by = user_low then user_high else user_low end)::text as "toUserId",
              requested_by::text as "fromUserId", ${iso('requested_at')} as "createdAt"
       from write.friendships where status = 'pending'`,
    ),
    rows<Omit<ViewRows['posts'][number], 'latestComments'>>(
      db,
      `select p.id::text as "postId", p.author_id::text as "authorId", p.wall_owner_id::text as "wallOwnerId", p.body,
              ${iso('p.created_at')} as "createdAt", ${iso('p.edited_at')} as "editedAt",
              (select count(*) from write.likes l where l.post_id = p.id)::int as "likeCount",
              (select count(*) from write.comments c where c.post_id = p.id)::int as "commentCount"
       from write.posts p`,
    ),
    rows<ViewRows['comments'][number]>(
      db,
      `select id::text as "commentId", post_id::text as "postId", author_id::text as "authorId", body, ${iso('created_at')} as "createdAt"
       from write.comments`,
    ),
    rows<ViewRows['likes'][number]>(db, `select post_id::text as "postId", user_id::text as "userId" from write.likes`),
    rows<ViewRows['feedEntries'][number]>(
      db,
      `with friend as (
         select user_low as a, user_high as b from write.friendships where status = 'accepted'
         union all
         select user_high, user_low from write.friendships where status = 'accepted'),
       visible as (
         select r.id as reader_id, p.id as post_id, p.created_at
         from write.users r join write.posts p
           on (p.wall_owner_id = r.id or exists (select 1 from friend where a = r.id and b = p.wall_owner_id))
          and (p.author_id = r.id or p.wall_owner_id = r.id or exists (select 1 from friend where a = r.id and b = p.author_id))),
       ranked as (
         select *, row_number() over (partition by reader_id order by created_at desc, post_id desc) as n from visible)
       select reader_id::text as "readerId", post_id::text as "postId", ${iso('created_at')} as "createdAt"
       from ranked where n <= ${Number(feedLimit)}`,
    ),
  ]);

  // The newest LATEST_COMMENTS comments of each post, newest first (ties: the larger id first).
  const byPost = new Map<string, ViewRows['comments']>();
  for (const c of comments) byPost.set(c.postId, [...(byPost.get(c.postId) ?? []), c]);
  const latest = (postId: string): LatestComment[] =>
    (byPost.get(postId) ?? [])
      .sort((x, y) => (x.createdAt !== y.createdAt ? (x.createdAt < y.createdAt ? 1 : -1) : x.commentId < y.commentId ? 1 : -1))
      .slice(0, LATEST_COMMENTS)
      .map((c) => ({ commentId: c.commentId, authorId: c.authorId, body: c.body, createdAt: c.createdAt }));

  return sortAll({
    profiles,
    friends,
    friendRequests,
    posts: posts.map((p) => ({ ...p, latestComments: latest(p.postId) })),
    comments,
    likes,
    feedEntries,
  });
}

/** What the views hold (the live ones in schema `read`, or a copy's), in the same shape as `expectedViews`. */
export async function actualViews(db: Queryable, schema = 'read'): Promise<ViewRows> {
  if (!/^[a-z_]+$/.test(schema)) throw new Error(`not a schema name: ${schema}`);
  const [profiles, friends, friendRequests, posts, comments, likes, feedEntries] = await Promise.all([
    rows<ViewRows['profiles'][number]>(
      db,
      `select user_id::text as "userId", handle, display_name as "displayName", friend_count as "friendCount", post_count as "postCount" from ${schema}.profiles`,
    ),
    rows<ViewRows['friends'][number]>(db, `select user_id::text as "userId", friend_id::text as "friendId", ${iso('since')} as since from ${schema}.friends`),
    rows<ViewRows['friendRequests'][number]>(
      db,
      `select to_user_id::text as "toUserId", from_user_id::text as "fromUserId", ${iso('created_at')} as "createdAt" from ${schema}.friend_requests`,
    ),
    rows<Omit<ViewRows['posts'][number], 'latestComments'> & { latestComments: string }>(
      db,
      `select post_id::text as "postId", author_id::text as "authorId", wall_owner_id::text as "wallOwnerId", body,
              ${iso('created_at')} as "createdAt", ${iso('edited_at')} as "editedAt",
              like_count as "likeCount", comment_count as "commentCount", latest_comments::text as "latestComments"
       from ${schema}.posts`,
    ),
    rows<ViewRows['comments'][number]>(
      db,
      `select comment_id::text as "commentId", post_id::text as "postId", author_id::text as "authorId", body, ${iso('created_at')} as "createdAt" from ${schema}.comments`,
    ),
    rows<ViewRows['likes'][number]>(db, `select post_id::text as "postId", user_id::text as "userId" from ${schema}.likes`),
    rows<ViewRows['feedEntries'][number]>(
      db,
      `select reader_id::text as "readerId", post_id::text as "postId", ${iso('created_at')} as "createdAt" from ${schema}.feed_entries`,
    ),
  ]);
  return sortAll({
    profiles,
    friends,
    friendRequests,
    // jsonb keeps its keys in its own order: rebuild each comment in the expected key order.
    posts: posts.map((p) => ({
      ...p,
      latestComments: (JSON.parse(p.latestComments) as LatestComment[]).map(({ commentId, authorId, body, createdAt }) => ({ commentId, authorId, body, createdAt })),
    })),
    comments,
    likes,
    feedEntries,
  });
}

/**
 * The differences between two sets of views, row by row (missing, extra, changed), at most
 * `limit` lines per view plus a count: readable where a deep-equality diff of thousands of rows is not.
 */
export function diffViews(expected: ViewRows, actual: ViewRows, limit = 8): string[] {
  const problems: string[] = [];
  for (const view of Object.keys(KEYS) as ViewName[]) {
    const key = KEYS[view] as (row: object) => string;
    const want = new Map((expected[view] as object[]).map((r) => [key(r), r]));
    const have = new Map((actual[view] as object[]).map((r) => [key(r), r]));
    const lines: string[] = [];
    for (const [k, row] of want) {
      const got = have.get(k);
      if (!got) lines.push(`${view}: missing ${JSON.stringify(row)}`);
      else if (JSON.stringify(got) !== JSON.stringify(row)) lines.push(`${view}: ${k} is ${JSON.stringify(got)}, should be ${JSON.stringify(row)}`);
    }
    for (const [k, row] of have) if (!want.has(k)) lines.push(`${view}: extra ${JSON.stringify(row)}`);
    if ((expected[view] as object[]).length !== want.size || (actual[view] as object[]).length !== have.size) lines.push(`${view}: duplicate keys`);
    problems.push(...lines.slice(0, limit));
    if (lines.length > limit) problems.push(`${view}: … and ${lines.length - limit} more differences`);
  }
  return problems;
}

/**
 * `read.feed_sizes`, where it exists, counts each reader's feed entries (a reader without a row
 * holds none): compared with the expected feed. Null when there is no such table.
 */
export async function feedSizeProblems(db: Queryable, expected: ViewRows, limit = 8): Promise<string[] | null> {
  const [table] = await queryRows<{ name: string | null }>(db, sql`select to_regclass('read.feed_sizes')::text as name`);
  if (!table?.name) return null;
  const sizes = await rows<{ readerId: string; entries: number }>(db, `select reader_id::text as "readerId", entries from read.feed_sizes`);
  const want = new Map<string, number>();
  for (const e of expected.feedEntries) want.set(e.readerId, (want.get(e.readerId) ?? 0) + 1);
  const have = new Map(sizes.map((s) => [s.readerId, s.entries]));
  const lines = [...new Set([...want.keys(), ...have.keys()])]
    .sort()
    .filter((reader) => (want.get(reader) ?? 0) !== (have.get(reader) ?? 0))
    .map((reader) => `feedSizes: reader ${reader} has ${have.get(reader) ?? 'no row'}, should have ${want.get(reader) ?? 0} entries`);
  return lines.length > limit ? [...lines.slice(0, limit), `feedSizes: … and ${lines.length - limit} more differences`] : lines;
}

/** Row counts per view: a summary for logs, and proof that the comparison was not of empty tables. */
export function viewSizes(views: ViewRows): Record<ViewName, number> {
  return Object.fromEntries((Object.keys(KEYS) as ViewName[]).map((v) => [v, views[v].length])) as Record<ViewName, number>;
}

/** The write side's own counter of friends (kept for the friend cap) against its friendships. */
export async function friendCounterProblems(db: Queryable): Promise<string[]> {
  const wrong = await rows<{ id: string; counter: number; friends: number }>(
    db,
    `select u.id::text as id, u.friend_count as counter,
            (select count(*) from write.friendships f where f.status = 'accepted' and u.id in (f.user_low, f.user_high))::int as friends
     from write.users u`,
  );
  return wrong.filter((u) => u.counter !== u.friends).map((u) => `write.users ${u.id}: friend_count ${u.counter}, but ${u.friends} accepted friendships`);
}

/** The newest transaction that wrote events (the position a caught-up projector reaches). */
export async function logHead(db: Queryable): Promise<bigint> {
  const [row] = await queryRows<{ head: string | null }>(db, sql`select max(tx_id)::text as head from write.events`);
  return BigInt(row?.head ?? 0);
}

/**
 * Waits until readers can see the whole log up to `head`: the projector reads only below the
 * horizon of this database's running transactions (`readHorizon`, src/write/event-log.ts). On a
 * timeout, names the transactions holding it back.
 */
export async function waitForReadableLog(db: Queryable, head: bigint, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const horizon = await readHorizon(db);
    if (horizon > head) return;
    if (Date.now() > deadline) {
      const blockers = await queryRows(
        db,
        sql`select pid, backend_xid::text as xid, state, xact_start::text as since, left(query, 100) as query
            from pg_stat_activity where datname = current_database() and backend_xid is not null order by xact_start limit 5`,
      ).catch((error: unknown) => [{ error: String(error) }]);
      throw new Error(`the event log is readable only below transaction ${horizon}, not past ${head}, after ${timeoutMs} ms: still running: ${JSON.stringify(blockers)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
