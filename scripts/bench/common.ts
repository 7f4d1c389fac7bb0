/*
 * Shared helpers for the benchmark scripts (world.ts, read.ts, explain.ts): argument parsing, a
 * seeded PRNG, database URLs, percentiles and the raw SQL the read benchmark and EXPLAIN share.
 */
import { execSync } from 'node:child_process';

/** Where PostgreSQL is; the bench creates its own databases there. Only 127.0.0.1. */
export const PG_BASE = process.env['BENCH_PG'] ?? 'postgres://postgres@127.0.0.1:5432';
export const DEFAULT_DB = 'wall_bench';
/** The token secret the bench server is started with and the bench signs tokens with (not a real secret). */
export const BENCH_TOKEN_SECRET = 'wall-bench-token-secret-not-for-production-0123456789';

export const dbUrl = (name: string) => `${PG_BASE}/${name}`;

/** `--name value`, `--name=value` and bare `--flag` arguments. */
export function parseArgs(argv: readonly string[] = process.argv.slice(2)): Map<string, string> {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new Error(`Unexpected argument ${arg}`);
    const eq = arg.indexOf('=');
    if (eq > 0) args.set(arg.slice(2, eq), arg.slice(eq + 1));
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) args.set(arg.slice(2), argv[++i]!);
    else args.set(arg.slice(2), 'true');
  }
  return args;
}

export function numberArg(args: Map<string, string>, name: string, fallback: number): number {
  const value = args.get(name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, not ${value}`);
  return n;
}

/** A database name the bench may drop and recreate: it must start with wall_bench. */
export function benchDbName(args: Map<string, string>): string {
  const name = args.get('db') ?? DEFAULT_DB;
  if (!/^wall_bench[a-z0-9_]*$/.test(name)) throw new Error(`--db must start with wall_bench (lower-case letters, digits, _), not ${name}`);
  return name;
}

/** The seeded PRNG of src/seed/: the same seed gives the same world. */
export { mulberry32 as prng } from '../../src/seed/random.ts';

/** Percentile (0..100) of an ascending-sorted array, nearest rank. */
export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/**
 * (a) The home feed computed with joins at read time, over the write tables only, by the rule of
 * src/read/views/feed.ts: posts P by A on W's wall such that the reader R may see W's wall (R is W
 * or a friend of W) and R wrote P, or P is on R's wall, or R is a friend of A; newest 20, with the
 * author's name and like and comment counts counted by subqueries. $1 is the reader. Written to
 * use the write side's indexes (one branch per part of the rule, each an index scan), not as one
 * OR that would scan every post: a fair baseline, not a straw man.
 */
export const JOIN_FEED_SQL = `
with f as (
  select case when fr.user_low = $1::uuid then fr.user_high else fr.user_low end as id
  from write.friendships fr
  where fr.status = 'accepted' and (fr.user_low = $1::uuid or fr.user_high = $1::uuid)
),
candidates as (
  select p.id, p.created_at from write.posts p
  where p.author_id = $1::uuid and (p.wall_owner_id = $1::uuid or p.wall_owner_id in (select id from f))
  union
  select p.id, p.created_at from write.posts p where p.wall_owner_id = $1::uuid
  union
  select p.id, p.created_at from f join write.posts p on p.author_id = f.id
  where p.wall_owner_id in (select id from f)
),
page as (select id from candidates order by created_at desc, id desc limit 20)
select p.id, p.body, p.created_at, p.wall_owner_id, u.handle, u.display_name,
       (select count(*) from write.likes l where l.post_id = p.id)::int as like_count,
       (select count(*) from write.comments c where c.post_id = p.id)::int as comment_count
from page
join write.posts p on p.id = page.id
join write.users u on u.id = p.author_id
order by p.created_at desc, p.id desc`;

/** The commit the figures are measured at (with "+dirty" when src/ has uncommitted changes). */
export function sourceVersion(): string {
  try {
    const run = (cmd: string) => execSync(cmd, { cwd: new URL('../../', import.meta.url).pathname, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    return run('git rev-parse --short HEAD') + (run('git status --porcelain -- src drizzle') ? '+dirty' : '');
  } catch {
    return 'unknown';
  }
}

/** (b) The materialized feed page: the range scan on feed_entries joined to read.posts (as feedPage does). */
export const VIEW_FEED_SQL = `
select p.post_id, p.author_id, p.wall_owner_id, p.body, p.created_at, p.edited_at,
       p.like_count, p.comment_count, p.latest_comments
from read.feed_entries e
join read.posts p on p.post_id = e.post_id
where e.reader_id = $1::uuid
order by e.created_at desc, e.post_id desc
limit 21`;

/**
 * What if (NOT what src runs): the page of (b) with an ORDER BY whose NULLS placement matches
 * feed_entries_reader_idx (created DESC NULLS LAST by drizzle-kit for `.desc()`), so the planner
 * can read the 21 newest entries in index order instead of all of the reader's entries. The
 * columns are NOT NULL: the rows and their order are the same.
 */
export const VIEW_FEED_INDEX_ORDER_SQL = VIEW_FEED_SQL.replace(
  'order by e.created_at desc, e.post_id desc',
  'order by e.created_at desc nulls last, e.post_id desc nulls last',
);

/** (b) ...and the one batched profile look-up for the page's authors and its comments' authors. */
export const VIEW_PROFILES_SQL = `select user_id, handle, display_name, friend_count, post_count from read.profiles where user_id = any($1::uuid[])`;

/** The GraphQL document the HTTP benchmark sends. */
export const FEED_QUERY =
  '{ feed(first: 20) { nodes { id body createdAt likeCount commentCount likedByMe author { handle displayName } latestComments { body author { handle } } } } }';

export const WALL_QUERY = (userId: string) =>
  `{ wall(userId: "${userId}", first: 20) { nodes { id body createdAt likeCount commentCount likedByMe author { handle displayName } latestComments { body author { handle } } } } }`;
