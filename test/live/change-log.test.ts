import { describe, expect, it } from 'vitest';
import { queryRows, sql } from '../../src/db/connect.ts';
import { changeLogTrimmedThrough } from '../../src/read/changes.ts';
import { mutationFor, useTestApp, type Person, type TestApp } from '../support/app.ts';
import { databaseKind } from '../support/database.ts';

/*
 * The change log tells the same story as the views. After a seeded pseudo-random run of commands
 * (friendships made, declined and ended, posts on one's own and friends' walls, edits, comments,
 * likes, deletions), a few at a time so their transactions interleave, the whole log is replayed
 * from seq 0:
 *   - per reader, the feed rows (reader_id set) added and removed give exactly read.feed_entries;
 *   - per wall, the post rows (reader_id null) added and removed give exactly read.posts;
 *   - each row adds what was absent and removes or updates what was present (no ghost rows);
 *   - positions never go back in seq order, and every position is some command's receipt.
 * Once with a feed bound nothing reaches, once with a bound of 3, so that publishing trims feeds
 * (logged as REMOVED at the publish's position). Reproduce with CHANGE_LOG_SEED=<seed>; CHANGE_LOG_DUMP=1
 * prints the log's history of every post a replayed feed disagrees on.
 */

const SEED = Number(process.env['CHANGE_LOG_SEED'] ?? 20261126);
const PEOPLE = 9;
const COMMANDS = Number(process.env['CHANGE_LOG_COMMANDS'] ?? 180);
const CONCURRENCY = 3;
/** Refusals a command planned from a slightly stale model may meet (a concurrent command got there first). */
const REFUSALS = new Set(['CONFLICT', 'NOT_FOUND', 'FORBIDDEN']);

/** mulberry32: small, seeded, the same everywhere. */
function rng(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(items: readonly T[]): T | undefined => (items.length === 0 ? undefined : items[Math.floor(next() * items.length)]);
  return { next, pick };
}

type Planned = { field: string; input: Record<string, unknown>; actor: Person; apply: (aggregateId: string) => void };

/** What the test believes the write side holds, from the commands that succeeded. */
class World {
  readonly friends = new Set<string>();
  readonly requests = new Set<string>();
  readonly posts = new Map<string, { author: string; wall: string }>();
  readonly comments = new Map<string, { post: string; author: string }>();
  readonly likes = new Set<string>();
  constructor(readonly people: Person[]) {}

  areFriends = (a: string, b: string) => this.friends.has(`${a}|${b}`);
  sees = (viewer: string, wall: string) => viewer === wall || this.areFriends(viewer, wall);

  /** One mostly valid command, chosen from the model. */
  plan(r: ReturnType<typeof rng>): Planned | null {
    const person = r.pick(this.people)!;
    const me = person.userId;
    const other = r.pick(this.people.filter((p) => p.userId !== me))!;
    const roll = r.next();
    const visiblePosts = [...this.posts].filter(([, p]) => this.sees(me, p.wall));
    if (roll < 0.14) {
      if (this.areFriends(me, other.userId) || this.requests.has(`${me}>${other.userId}`) || this.requests.has(`${other.userId}>${me}`)) return null;
      return { field: 'sendFriendRequest', input: { toUserId: other.userId }, actor: person, apply: () => this.requests.add(`${me}>${other.userId}`) };
    }
    if (roll < 0.26) {
      const request = r.pick([...this.requests].filter((k) => k.endsWith(`>${me}`)));
      if (!request) return null;
      const from = request.split('>')[0]!;
      if (r.next() < 0.2) return { field: 'declineFriendRequest', input: { fromUserId: from }, actor: person, apply: () => this.requests.delete(request) };
      return {
        field: 'acceptFriendRequest',
        input: { fromUserId: from },
        actor: person,
        apply: () => {
          this.requests.delete(request);
          this.friends.add(`${from}|${me}`).add(`${me}|${from}`);
        },
      };
    }
    if (roll < 0.32) {
      const friend = r.pick(this.people.filter((p) => this.areFriends(me, p.userId)));
      if (!friend) return null;
      return {
        field: 'removeFriend',
        input: { userId: friend.userId },
        actor: person,
        apply: () => {
          this.friends.delete(`${me}|${friend.userId}`);
          this.friends.delete(`${friend.userId}|${me}`);
        },
      };
    }
    if (roll < 0.58) {
      const wall = r.next() < 0.6 ? me : r.pick(this.people.filter((p) => this.areFriends(me, p.userId)))?.userId;
      if (!wall) return null;
      return {
        field: 'publishPost',
        input: wall === me ? { body: `post by ${person.handle}` } : { body: `post by ${person.handle} for a friend`, wallOwnerId: wall },
        actor: person,
        apply: (id) => this.posts.set(id, { author: me, wall }),
      };
    }
    if (roll < 0.64) {
      const mine = r.pick([...this.posts].filter(([, p]) => p.author === me));
      if (!mine) return null;
      return { field: 'editPost', input: { postId: mine[0], body: `edited ${r.next()}` }, actor: person, apply: () => {} };
    }
    if (roll < 0.7) {
      const doomed = r.pick([...this.posts].filter(([, p]) => p.author === me || p.wall === me));
      if (!doomed) return null;
      const [postId] = doomed;
      return {
        field: 'deletePost',
        input: { postId },
        actor: person,
        apply: () => {
          this.posts.delete(postId);
          for (const [id, c] of this.comments) if (c.post === postId) this.comments.delete(id);
          for (const like of this.likes) if (like.startsWith(`${postId}|`)) this.likes.delete(like);
        },
      };
    }
    if (roll < 0.8) {
      const post = r.pick(visiblePosts);
      if (!post) return null;
      return { field: 'addComment', input: { postId: post[0], body: `comment by ${person.handle}` }, actor: person, apply: (id) => this.comments.set(id, { post: post[0], author: me }) };
    }
    if (roll < 0.85) {
      const comment = r.pick([...this.comments].filter(([, c]) => c.author === me));
      if (!comment) return null;
      return { field: 'deleteComment', input: { commentId: comment[0] }, actor: person, apply: () => this.comments.delete(comment[0]) };
    }
    if (roll < 0.95) {
      const post = r.pick(visiblePosts.filter(([id]) => !this.likes.has(`${id}|${me}`)));
      if (!post) return null;
      return { field: 'likePost', input: { postId: post[0] }, actor: person, apply: () => this.likes.add(`${post[0]}|${me}`) };
    }
    const liked = r.pick([...this.likes].filter((k) => k.endsWith(`|${me}`)));
    if (!liked) return null;
    return { field: 'unlikePost', input: { postId: liked.split('|')[0] }, actor: person, apply: () => this.likes.delete(liked) };
  }
}

interface Run {
  /** Receipt positions of every command that succeeded, with the command's name. */
  receipts: Map<string, string[]>;
  outcomes: Record<string, Record<string, number>>;
}

async function drive(t: TestApp, seed: number): Promise<Run> {
  const r = rng(seed);
  const people: Person[] = [];
  for (let i = 0; i < PEOPLE; i++) people.push(await t.register());
  const world = new World(people);
  const receipts = new Map<string, string[]>();
  const outcomes: Record<string, Record<string, number>> = {};
  const record = (position: string, field: string) => receipts.set(position, [...(receipts.get(position) ?? []), field]);
  for (let done = 0; done < COMMANDS; ) {
    const round: Planned[] = [];
    for (let tries = 0; round.length < CONCURRENCY && tries < 50; tries++) {
      const planned = world.plan(r);
      if (planned) round.push(planned);
    }
    if (round.length === 0) break;
    done += round.length;
    const results = await Promise.all(round.map((p) => t.gql(mutationFor(p.field), { input: p.input }, { token: p.actor.token })));
    results.forEach((result, i) => {
      const { field, apply } = round[i]!;
      const counts = (outcomes[field] ??= {});
      const error = result.errors?.[0];
      if (error) {
        const code = String(error.extensions?.['code']);
        counts[code] = (counts[code] ?? 0) + 1;
        expect(REFUSALS.has(code), `${field} ${JSON.stringify(round[i]!.input)}: ${code} ${error.message} (seed ${seed})`).toBe(true);
        return;
      }
      counts['ok'] = (counts['ok'] ?? 0) + 1;
      const receipt = result.data![field] as { aggregateId: string; position: string };
      record(receipt.position, field);
      apply(receipt.aggregateId);
    });
  }
  // Registrations and the setup are commands too: their positions are receipts (they log no change).
  return { receipts, outcomes };
}

type LogRow = { seq: number; position: string; kind: string; postId: string | null; wallId: string | null; readerId: string | null };

async function readLog(t: TestApp): Promise<LogRow[]> {
  const rows = await queryRows<{ seq: string; position: string; kind: string; post_id: string | null; wall_id: string | null; reader_id: string | null }>(
    t.app.readDatabase.db,
    sql`select c.seq::text as seq, c.position::text as position, c.kind, c.post_id, c.wall_id, c.reader_id from read.changes c order by c.seq`,
  );
  return rows.map((row) => ({ seq: Number(row.seq), position: row.position, kind: row.kind, postId: row.post_id, wallId: row.wall_id, readerId: row.reader_id }));
}

/** Replays `rows` into sets keyed by `key`; reports each row that adds what is there or removes what is not. */
function replay(rows: LogRow[], key: (row: LogRow) => string, problems: string[], what: string) {
  const sets = new Map<string, Set<string>>();
  for (const row of rows) {
    const k = key(row);
    const set = sets.get(k) ?? sets.set(k, new Set()).get(k)!;
    const has = set.has(row.postId!);
    if (row.kind === 'ADDED') {
      if (has) problems.push(`${what} ${k}: seq ${row.seq} adds post ${row.postId}, already there`);
      set.add(row.postId!);
    } else if (row.kind === 'REMOVED') {
      if (!has) problems.push(`${what} ${k}: seq ${row.seq} removes post ${row.postId}, not there`);
      set.delete(row.postId!);
    } else if (row.kind === 'UPDATED' && !has) {
      problems.push(`${what} ${k}: seq ${row.seq} updates post ${row.postId}, not there`);
    }
  }
  return sets;
}

const sorted = (sets: Map<string, Set<string>>) =>
  Object.fromEntries([...sets].filter(([, s]) => s.size > 0).map(([k, s]) => [k, [...s].sort()]).sort(([a], [b]) => (a! < b! ? -1 : 1)));

function group(rows: { key: string; postId: string }[]) {
  const out = new Map<string, Set<string>>();
  for (const { key, postId } of rows) (out.get(key) ?? out.set(key, new Set()).get(key)!).add(postId);
  return out;
}

function changeLogProperty(feedLimit: number, label: string) {
  describe(`the change log replays into the views: ${label} (seed ${SEED}, ${databaseKind()})`, () => {
    const t = useTestApp({ feedLimit, livePollMs: 60_000 });

    it(`after ${COMMANDS} random commands by ${PEOPLE} people, ${CONCURRENCY} at a time`, { timeout: 180_000 }, async () => {
      const run = await drive(t, SEED);
      // Every command's transaction applied (t.settle() knows only the commands run through t.command).
      const newest = [...run.receipts.keys()].reduce((a, b) => (BigInt(b) > BigInt(a) ? b : a));
      const deadline = Date.now() + 30_000;
      while ((await t.app.projection.applied()) < BigInt(newest)) {
        if (Date.now() > deadline) throw new Error(`the views did not reach ${newest}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const reproduce = `CHANGE_LOG_SEED=${SEED} CHANGE_LOG_COMMANDS=${COMMANDS} (${databaseKind()}); outcomes ${JSON.stringify(run.outcomes)}`;
      for (const field of ['acceptFriendRequest', 'removeFriend', 'publishPost', 'editPost', 'deletePost', 'addComment', 'deleteComment', 'likePost', 'unlikePost']) {
        expect(run.outcomes[field]?.['ok'] ?? 0, `${field} never succeeded: ${reproduce}`).toBeGreaterThan(0);
      }
      expect(await changeLogTrimmedThrough(t.app.readDatabase.db), 'the whole log is still there').toBe(0n);
      const rows = await readLog(t);
      expect(rows.length).toBeGreaterThan(COMMANDS);

      // Positions never go back in seq order, and each one is a receipt's.
      const backwards = rows.filter((row, i) => i > 0 && BigInt(row.position) < BigInt(rows[i - 1]!.position));
      expect(backwards, `rows whose position is below the previous row's: ${reproduce}`).toEqual([]);
      const strangers = rows.filter((row) => !run.receipts.has(row.position));
      expect(strangers, `rows at positions no command answered: ${reproduce}`).toEqual([]);

      // Per wall: the post rows give read.posts.
      const problems: string[] = [];
      const postRows = rows.filter((row) => row.readerId === null);
      expect(new Set(postRows.map((row) => row.kind))).toEqual(new Set(['ADDED', 'UPDATED', 'REMOVED']));
      const walls = replay(postRows, (row) => row.wallId!, problems, 'wall');
      const posts = await queryRows<{ wall: string; post: string }>(t.app.readDatabase.db, sql`select wall_owner_id as wall, post_id as post from read.posts`);
      expect(sorted(walls), `walls replayed from the log vs read.posts: ${reproduce}`).toEqual(sorted(group(posts.map((p) => ({ key: p.wall, postId: p.post })))));

      // Per reader: the feed rows give read.feed_entries.
      const feedRows = rows.filter((row) => row.readerId !== null && row.kind !== 'REVOKED');
      const feeds = replay(feedRows, (row) => row.readerId!, problems, 'feed');
      expect(problems, reproduce).toEqual([]);
      const entries = await queryRows<{ reader: string; post: string }>(t.app.readDatabase.db, sql`select reader_id as reader, post_id as post from read.feed_entries`);
      if (process.env['CHANGE_LOG_DUMP']) {
        // To diagnose a difference: each post's whole history in the log, with the commands at its positions.
        const history = (post: string) => JSON.stringify(rows.filter((r) => r.postId === post).map((r) => [r.seq, r.position, r.kind, r.readerId ?? `wall ${r.wallId}`, run.receipts.get(r.position)]));
        const actual = group(entries.map((e) => ({ key: e.reader, postId: e.post })));
        for (const [reader, set] of feeds) for (const post of set) if (!actual.get(reader)?.has(post)) console.log('only in the log', reader, post, history(post));
        for (const [reader, set] of actual) for (const post of set) if (!feeds.get(reader)?.has(post)) console.log('only in the view', reader, post, history(post));
      }
      expect(sorted(feeds), `feeds replayed from the log vs read.feed_entries: ${reproduce}`).toEqual(sorted(group(entries.map((e) => ({ key: e.reader, postId: e.post })))));

      // An ended friendship logs that each of the two lost the other's wall, at its position.
      const revoked = rows.filter((row) => row.kind === 'REVOKED');
      const removals = [...run.receipts].filter(([, fields]) => fields.includes('removeFriend'));
      expect(revoked.length, reproduce).toBe(2 * removals.length);
      for (const row of revoked) expect(run.receipts.get(row.position), `REVOKED at ${row.position}`).toContain('removeFriend');

      // Feed rows removed at a publish's position are trims: only when the bound is reached.
      const trims = feedRows.filter((row) => row.kind === 'REMOVED' && run.receipts.get(row.position)?.includes('publishPost'));
      const fullFeeds = [...group(entries.map((e) => ({ key: e.reader, postId: e.post }))).values()].filter((s) => s.size === feedLimit);
      if (feedLimit >= 1000) {
        expect(trims, reproduce).toEqual([]);
      } else {
        expect(trims.length, `feeds were trimmed: ${reproduce}`).toBeGreaterThan(0);
        expect(fullFeeds.length).toBeGreaterThan(0);
      }
      console.log(`${label}: ${rows.length} log rows (${feedRows.length} feed, ${postRows.length} post, ${revoked.length} revoked, ${trims.length} trims); ${run.receipts.size} receipts; ${JSON.stringify(run.outcomes)}`);
    });
  });
}

changeLogProperty(100_000, 'no feed is ever trimmed');
changeLogProperty(3, 'feeds of 3, trimmed on publish');
