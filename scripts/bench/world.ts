/*
 * Builds the benchmark world: a fresh database, the migrations (through openDatabase), a
 * deterministic population written straight into the write tables and the event log, and then
 * the views, from the events.
 *
 *   npx tsx scripts/bench/world.ts --small                       # 1,000 people, 20,000 posts; views by the real projector
 *   npx tsx scripts/bench/world.ts --views sql --tail 5000       # 10,000 people, ~50 friends each, 200,000 posts
 *
 * options: --db wall_bench (must start with wall_bench; dropped and recreated)  --people N  --friends AVG
 *          --posts N  --seed 42  --late-friends 0.01 (share of friendships made while posts are written)
 *          --views projector|sql   projector (default): the real projector applies the whole log, batch
 *                                  by batch (--batch 2000 transactions; --project-seconds bound), rate printed;
 *                                  --check then compares every view table with the set-based build.
 *                                  sql: views up to all but the last --tail N events by the set-based
 *                                  builder (views-sql.ts), then the real projector applies the tail
 *                                  (--tail-batch 200, at most --tail-seconds 300), its rate printed, and the
 *                                  result is compared with the set-based build at the head (or rebuilt there).
 *          --feed-limit N (entries kept per reader; default the app's)  --no-analyze  --no-project
 *          --celebrity N   one more person, handle "celebrity", with N friends (the bench's fan-out; default 0).
 *                          Drawn from a PRNG of its own and left out of the friend lists that place posts,
 *                          comments and likes, so the rest of the world is the same as without it; the
 *                          celebrity writes nothing.
 *
 * When the views match the generated world, the parameters are recorded in bench.world with a
 * digest of the generating source (common.ts worldSource()): the bench reuses such a world.
 *
 * The write side is what the command handlers in src/write/commands/*.ts would have left: the same
 * rows, the same events (aggregate types, per-aggregate versions, event types and data), the same
 * metadata and command log, one transaction per command, in time order over the past 60 days. It
 * is bulk-loaded (COPY into the tables and into a staging table, then a procedure that appends each
 * command's events in its own transaction, so every command gets its own position) instead of
 * going through the bus, which would spend most of its time on scrypt and round trips.
 * This server runs with autovacuum off: the script ANALYZEs what it loads, as autovacuum would.
 */
import { createHash } from 'node:crypto';
import type { Writable } from 'node:stream';
import postgres from 'postgres';
import { openDatabase, queryRows, sql as dsql } from '../../src/db/connect.ts';
import { createLogger } from '../../src/logger.ts';
import { Projector } from '../../src/projector/projector.ts';
import { DEFAULT_FEED_LIMIT } from '../../src/read/views/feed.ts';
import { allProjections } from '../../src/read/views/index.ts';
import { adminUrl, benchDbName, dbUrl, fmt, numberArg, parseArgs, prng, sourceVersion, worldSource, type WorldParams } from './common.ts';
import { buildViews, createViewCopies, diffViews, truncateViews, viewTables } from './views-sql.ts';

const args = parseArgs();
const small = args.has('small');
const DB = benchDbName(args);
const PEOPLE = Math.round(numberArg(args, 'people', small ? 1000 : 10000));
const FRIENDS = numberArg(args, 'friends', 50);
const POSTS = Math.round(numberArg(args, 'posts', small ? 20000 : 200000));
const SEED = Math.round(numberArg(args, 'seed', 42));
const LATE_FRIENDS = numberArg(args, 'late-friends', 0.01);
const BATCH = Math.round(numberArg(args, 'batch', 2000));
const CELEBRITY = Math.min(Math.round(numberArg(args, 'celebrity', 0)), PEOPLE);
/** The people and the celebrity (the last index), if there is one. */
const EVERYONE = PEOPLE + (CELEBRITY > 0 ? 1 : 0);
const COMMENTS_PER_POST = 0.5;
const LIKES_PER_POST = 1;
const FRIEND_WALL_SHARE = 0.2;

const DAY = 86_400_000;
/** The world ends at the start of today (UTC), so runs on one day build identical worlds. */
const END = Math.floor(Date.now() / DAY) * DAY;
const START = END - 60 * DAY;
const REGISTER_UNTIL = START + 3 * DAY;
const FRIENDS_UNTIL = START + 10 * DAY;
const POSTS_FROM = START + 10 * DAY;
/** Nobody signs in with a password in the bench: one fixed, well-formed scrypt hash for everyone. */
const PASSWORD_HASH = 'scrypt$32768$8$1$YmVuY2gtc2FsdC0xMjM0NQ==$3f2Yp5gXw5oQ1bq4J8m1dPq0mS6cQ7r2m3wX0y4zK8E=';

const t0 = performance.now();
const since = (t: number) => ((performance.now() - t) / 1000).toFixed(1) + ' s';
const say = (line: string) => process.stdout.write(`[world ${since(t0).padStart(7)}] ${line}\n`);

const rand = prng(SEED);
const int = (n: number) => Math.floor(rand() * n);

/** A version-7 UUID for instant `ms`, with random bits from the seeded PRNG (deterministic). */
function uuidv7(ms: number, draw: (n: number) => number = int): string {
  const hex = (n: number, len: number) => n.toString(16).padStart(len, '0');
  const ts = hex(Math.floor(ms), 12);
  const r1 = hex(draw(0x1000), 3);
  const r2 = hex(0x8000 | draw(0x4000), 4);
  const r3 = hex(draw(0x1000000), 6) + hex(draw(0x1000000), 6);
  return `${ts.slice(0, 8)}-${ts.slice(8, 12)}-7${r1}-${r2}-${r3}`;
}

const WORDS = (
  'the a wall feed friend photo today morning coffee walk city park rain sun weekend dinner cat dog book movie ' +
  'music train work home garden beach river mountain road trip lunch party birthday game news idea plan week ' +
  'new old great quiet long short happy tired busy lovely strange small big early late again finally really ' +
  'just still never always here there with without about after before during under over near far up down'
).split(' ');
const FIRST = 'Ada Alan Grace Linus Margaret Dennis Barbara Ken Edsger Frances Donald Radia Tim Sophie Niklaus Hedy John Karen Guido Anita'.split(' ');
const LAST = 'Lovelace Turing Hopper Torvalds Hamilton Ritchie Liskov Thompson Dijkstra Allen Knuth Perlman Berners-Lee Wilson Wirth Lamarr Backus Jones Rossum Borg'.split(' ');

function sentence(minWords: number, maxWords: number): string {
  const n = minWords + int(maxWords - minWords + 1);
  const words: string[] = [];
  for (let i = 0; i < n; i++) words.push(WORDS[int(WORDS.length)]!);
  const s = words.join(' ');
  return s[0]!.toUpperCase() + s.slice(1) + '.';
}

// ---------------------------------------------------------------------------------------------
// 1. The world, in memory.
// ---------------------------------------------------------------------------------------------
say(`source ${sourceVersion()}; seed ${SEED}: ${fmt(PEOPLE)} people, ~${FRIENDS} friends each, ${fmt(POSTS)} posts; database ${DB}`);

const userReg = new Float64Array(EVERYONE);
const userIds: string[] = [];
const handles: string[] = [];
const names: string[] = [];
for (let i = 0; i < PEOPLE; i++) {
  userReg[i] = START + ((i + rand()) / PEOPLE) * (REGISTER_UNTIL - START);
  userIds.push(uuidv7(userReg[i]!));
  handles.push(`user${String(i).padStart(6, '0')}`);
  names.push(`${FIRST[int(FIRST.length)]} ${LAST[int(LAST.length)]}`);
}

// Friendships: distinct random pairs until the average degree is FRIENDS (then the celebrity's).
const PAIRS = Math.min(Math.round((PEOPLE * FRIENDS) / 2), (PEOPLE * (PEOPLE - 1)) / 2);
const ALL_PAIRS = PAIRS + CELEBRITY;
const pairLow = new Int32Array(ALL_PAIRS); // indexes into the people, ordered by their uuid
const pairHigh = new Int32Array(ALL_PAIRS);
const pairFrom = new Int32Array(ALL_PAIRS);
const pairSent = new Float64Array(ALL_PAIRS);
const pairAccepted = new Float64Array(ALL_PAIRS);
const pairIds: string[] = [];
{
  const seen = new Set<number>();
  let k = 0;
  while (k < PAIRS) {
    let a = int(PEOPLE);
    let b = int(PEOPLE);
    if (a === b) continue;
    if (userIds[a]! > userIds[b]!) [a, b] = [b, a];
    const key = a * PEOPLE + b;
    if (seen.has(key)) continue;
    seen.add(key);
    pairLow[k] = a;
    pairHigh[k] = b;
    pairFrom[k] = rand() < 0.5 ? a : b;
    const earliest = Math.max(userReg[a]!, userReg[b]!) + 60_000;
    const late = rand() < LATE_FRIENDS;
    const from = late ? POSTS_FROM : earliest;
    const until = late ? END - DAY : FRIENDS_UNTIL;
    pairSent[k] = from + rand() * Math.max(0, until - from);
    pairAccepted[k] = pairSent[k]! + 60_000 + rand() * 12 * 3600_000;
    pairIds.push(uuidv7(pairSent[k]!));
    k++;
  }
}

// The celebrity and its friends, who ask it during the friendship period, from a PRNG of its own.
const celebrityFriend = new Uint8Array(PEOPLE);
if (CELEBRITY > 0) {
  const crand = prng(SEED + 1_000_003);
  const cint = (n: number) => Math.floor(crand() * n);
  const c = PEOPLE;
  userReg[c] = START + crand() * (REGISTER_UNTIL - START);
  userIds.push(uuidv7(userReg[c]!, cint));
  handles.push('celebrity');
  names.push('Celebrity');
  const pool = Int32Array.from({ length: PEOPLE }, (_, i) => i);
  for (let j = 0; j < CELEBRITY; j++) {
    const pick = j + cint(PEOPLE - j);
    [pool[j], pool[pick]] = [pool[pick]!, pool[j]!];
    const fan = pool[j]!;
    celebrityFriend[fan] = 1;
    const k = PAIRS + j;
    [pairLow[k], pairHigh[k]] = userIds[c]! < userIds[fan]! ? [c, fan] : [fan, c];
    pairFrom[k] = fan;
    const earliest = Math.max(userReg[c]!, userReg[fan]!) + 60_000;
    pairSent[k] = earliest + crand() * Math.max(0, FRIENDS_UNTIL - earliest);
    pairAccepted[k] = pairSent[k]! + 60_000 + crand() * 12 * 3600_000;
    pairIds.push(uuidv7(pairSent[k]!, cint));
  }
}

// Adjacency (CSR) of the random friendships (not the celebrity's): each person's friends and when
// each friendship was accepted.
const degree = new Int32Array(PEOPLE);
for (let k = 0; k < PAIRS; k++) {
  degree[pairLow[k]!]!++;
  degree[pairHigh[k]!]!++;
}
/** write.users.friend_count: the random friendships and the celebrity's. */
const friendCount = (i: number) => (i === PEOPLE ? CELEBRITY : degree[i]! + celebrityFriend[i]!);
const adjStart = new Int32Array(PEOPLE + 1);
for (let i = 0; i < PEOPLE; i++) adjStart[i + 1] = adjStart[i]! + degree[i]!;
const adjFriend = new Int32Array(PAIRS * 2);
const adjSince = new Float64Array(PAIRS * 2);
{
  const fill = adjStart.slice(0, PEOPLE);
  for (let k = 0; k < PAIRS; k++) {
    const a = pairLow[k]!;
    const b = pairHigh[k]!;
    adjFriend[fill[a]!] = b;
    adjSince[fill[a]!++] = pairAccepted[k]!;
    adjFriend[fill[b]!] = a;
    adjSince[fill[b]!++] = pairAccepted[k]!;
  }
}
/** A random friend of `person` who was one at `at`, or -1 (a few tries). */
function friendAt(person: number, at: number): number {
  const n = degree[person]!;
  if (n === 0) return -1;
  for (let tries = 0; tries < 5; tries++) {
    const j = adjStart[person]! + int(n);
    if (adjSince[j]! < at) return adjFriend[j]!;
  }
  return -1;
}

// Posts: uniform in time over the last 50 days, authors uniform; ~20% on a friend's wall.
const postAt = new Float64Array(POSTS);
for (let p = 0; p < POSTS; p++) postAt[p] = POSTS_FROM + rand() * (END - 60_000 - POSTS_FROM);
postAt.sort();
const postAuthor = new Int32Array(POSTS);
const postWall = new Int32Array(POSTS);
const postIds: string[] = [];
const postBodies: string[] = [];
for (let p = 0; p < POSTS; p++) {
  const author = int(PEOPLE);
  postAuthor[p] = author;
  const friend = rand() < FRIEND_WALL_SHARE ? friendAt(author, postAt[p]!) : -1;
  postWall[p] = friend >= 0 ? friend : author;
  postIds.push(uuidv7(postAt[p]!));
  postBodies.push(sentence(4, 40));
}

/** A moment after `at` (an hour-scale exponential delay), before the world's end. */
function after(at: number): number {
  const t = at + 1000 + -Math.log(1 - rand()) * 6 * 3600_000;
  return t < END ? t : at + 1000 + rand() * Math.max(0, END - at - 2000);
}
/** Someone who may see post p's wall at `at`: the owner, or a friend of the owner. */
function viewerOf(p: number, at: number): number {
  const owner = postWall[p]!;
  if (rand() < 0.25) return owner;
  const f = friendAt(owner, at);
  return f >= 0 ? f : owner;
}

const COMMENTS = Math.round(POSTS * COMMENTS_PER_POST);
const commentPost = new Int32Array(COMMENTS);
const commentAuthor = new Int32Array(COMMENTS);
const commentAt = new Float64Array(COMMENTS);
const commentIds: string[] = [];
const commentBodies: string[] = [];
for (let c = 0; c < COMMENTS; c++) {
  const p = int(POSTS);
  commentPost[c] = p;
  commentAt[c] = after(postAt[p]!);
  commentAuthor[c] = viewerOf(p, commentAt[c]!);
  commentIds.push(uuidv7(commentAt[c]!));
  commentBodies.push(sentence(2, 15));
}

const likePostArr: number[] = [];
const likeUserArr: number[] = [];
const likeAtArr: number[] = [];
{
  const seen = new Set<number>();
  const target = Math.round(POSTS * LIKES_PER_POST);
  for (let i = 0; i < target; i++) {
    for (let tries = 0; tries < 5; tries++) {
      const p = int(POSTS);
      const at = after(postAt[p]!);
      const u = viewerOf(p, at);
      const key = p * PEOPLE + u;
      if (seen.has(key)) continue;
      seen.add(key);
      likePostArr.push(p);
      likeUserArr.push(u);
      likeAtArr.push(at);
      break;
    }
  }
}
const LIKES = likePostArr.length;

// Every command, in time order: one event each.
const Kind = { Register: 0, Send: 1, Accept: 2, Publish: 3, Comment: 4, Like: 5 } as const;
type Kind = (typeof Kind)[keyof typeof Kind];
const COMMANDS = EVERYONE + 2 * ALL_PAIRS + POSTS + COMMENTS + LIKES;
const cmdKind = new Uint8Array(COMMANDS);
const cmdRef = new Int32Array(COMMANDS);
const cmdAt = new Float64Array(COMMANDS);
{
  let n = 0;
  const push = (kind: Kind, ref: number, at: number) => {
    cmdKind[n] = kind;
    cmdRef[n] = ref;
    cmdAt[n++] = at;
  };
  for (let i = 0; i < EVERYONE; i++) push(Kind.Register, i, userReg[i]!);
  for (let k = 0; k < ALL_PAIRS; k++) push(Kind.Send, k, pairSent[k]!), push(Kind.Accept, k, pairAccepted[k]!);
  for (let p = 0; p < POSTS; p++) push(Kind.Publish, p, postAt[p]!);
  for (let c = 0; c < COMMENTS; c++) push(Kind.Comment, c, commentAt[c]!);
  for (let l = 0; l < LIKES; l++) push(Kind.Like, l, likeAtArr[l]!);
}
const order = new Uint32Array(COMMANDS);
for (let i = 0; i < COMMANDS; i++) order[i] = i;
order.sort((x, y) => cmdAt[x]! - cmdAt[y]! || cmdKind[x]! - cmdKind[y]! || cmdRef[x]! - cmdRef[y]!);

let minDeg = Infinity;
let maxDeg = 0;
for (let i = 0; i < PEOPLE; i++) (minDeg = Math.min(minDeg, degree[i]!)), (maxDeg = Math.max(maxDeg, degree[i]!));
const friendWallPosts = postWall.reduce((n, w, p) => n + (w !== postAuthor[p] ? 1 : 0), 0);
say(
  `generated: ${fmt(PEOPLE)} people, ${fmt(PAIRS)} friendships (degree avg ${((2 * PAIRS) / PEOPLE).toFixed(1)}, min ${minDeg}, max ${maxDeg}, ` +
    `${fmt(Math.round(PAIRS * LATE_FRIENDS))} made late)${CELEBRITY ? `, a celebrity with ${fmt(CELEBRITY)} friends` : ''}, ${fmt(POSTS)} posts (${((100 * friendWallPosts) / POSTS).toFixed(1)}% on a friend's wall), ` +
    `${fmt(COMMENTS)} comments, ${fmt(LIKES)} likes = ${fmt(COMMANDS)} commands/events`,
);

// ---------------------------------------------------------------------------------------------
// 2. A fresh database with the migrations applied by the application itself.
// ---------------------------------------------------------------------------------------------
{
  const admin = postgres(adminUrl(), { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${DB} with (force)`);
  await admin.unsafe(`create database ${DB}`);
  await admin.end();
}
const url = dbUrl(DB);
const database = await openDatabase({ url });
say(`created ${DB} and applied the migrations (openDatabase)`);

const pg = postgres(url, { max: 1, onnotice: () => {} });
await pg`set synchronous_commit = off`;

const iso = (ms: number) => new Date(ms).toISOString();
/** COPY text format: escape backslashes, tabs, newlines; \N is null. */
const field = (v: string | number | null) => (v === null ? '\\N' : String(v).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r'));

async function copy(table: string, columns: string, count: number, row: (i: number) => (string | number | null)[]) {
  const started = performance.now();
  const stream = (await pg.unsafe(`copy ${table} (${columns}) from stdin`).writable()) as Writable;
  const CHUNK = 2000;
  for (let i = 0; i < count; i += CHUNK) {
    let text = '';
    for (let j = i; j < Math.min(count, i + CHUNK); j++) text += row(j).map(field).join('\t') + '\n';
    if (!stream.write(text)) await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) => {
    stream.once('error', reject);
    stream.once('finish', () => resolve());
    stream.end();
  });
  say(`  copied ${fmt(count).padStart(9)} rows into ${table} in ${since(started)}`);
}

// ---------------------------------------------------------------------------------------------
// 3. The write tables, as the handlers leave them.
// ---------------------------------------------------------------------------------------------
const likeCountOf = new Int32Array(POSTS);
for (const p of likePostArr) likeCountOf[p]!++;

await copy('write.users', 'id, handle, display_name, password_hash, friend_count, version, created_at, updated_at', EVERYONE, (i) => [
  userIds[i]!,
  handles[i]!,
  names[i]!,
  PASSWORD_HASH,
  friendCount(i),
  1,
  iso(userReg[i]!),
  iso(userReg[i]!),
]);
await copy('write.friendships', 'id, user_low, user_high, status, requested_by, requested_at, accepted_at, version', ALL_PAIRS, (k) => [
  pairIds[k]!,
  userIds[pairLow[k]!]!,
  userIds[pairHigh[k]!]!,
  'accepted',
  userIds[pairFrom[k]!]!,
  iso(pairSent[k]!),
  iso(pairAccepted[k]!),
  2,
]);
// Each like appends a PostLiked event to the post's stream and sets the post row's version to it.
await copy('write.posts', 'id, author_id, wall_owner_id, body, created_at, edited_at, version', POSTS, (p) => [
  postIds[p]!,
  userIds[postAuthor[p]!]!,
  userIds[postWall[p]!]!,
  postBodies[p]!,
  iso(postAt[p]!),
  null,
  1 + likeCountOf[p]!,
]);
await copy('write.comments', 'id, post_id, author_id, body, created_at, version', COMMENTS, (c) => [
  commentIds[c]!,
  postIds[commentPost[c]!]!,
  userIds[commentAuthor[c]!]!,
  commentBodies[c]!,
  iso(commentAt[c]!),
  1,
]);
await copy('write.likes', 'post_id, user_id, created_at', LIKES, (l) => [postIds[likePostArr[l]!]!, userIds[likeUserArr[l]!]!, iso(likeAtArr[l]!)]);

// ---------------------------------------------------------------------------------------------
// 4. The event log and the command log, one transaction per command, in time order.
// ---------------------------------------------------------------------------------------------
/** The bus's idempotency fingerprint: the command name and its non-secret input, keys sorted. */
const fingerprint = (name: string, input: Record<string, unknown>) =>
  createHash('sha256')
    .update(name)
    .update('\0')
    .update(JSON.stringify(Object.fromEntries(Object.entries(input).sort(([a], [b]) => a.localeCompare(b)))))
    .digest('hex');

await pg.unsafe(`
  create schema bench_stage;
  create table bench_stage.commands (
    ord int primary key, command_id uuid not null, command text not null, actor_id uuid, scope text not null,
    fingerprint text not null, aggregate_type text not null, aggregate_id uuid not null, version int not null,
    type text not null, data jsonb not null, occurred_at timestamptz not null);`);
{
  const postVersion = new Int32Array(POSTS).fill(1);
  // Command ids are made from the PRNG in log order: same world, same ids.
  const commandIds: string[] = new Array(COMMANDS);
  for (let o = 0; o < COMMANDS; o++) commandIds[o] = uuidv7(cmdAt[order[o]!]!);
  await copy(
    'bench_stage.commands',
    'ord, command_id, command, actor_id, scope, fingerprint, aggregate_type, aggregate_id, version, type, data, occurred_at',
    COMMANDS,
    (o) => {
      const i = order[o]!;
      const ref = cmdRef[i]!;
      const at = iso(cmdAt[i]!);
      let command: string, actor: string | null, input: Record<string, unknown>, aggType: string, aggId: string, version: number, type: string, data: object;
      switch (cmdKind[i] as Kind) {
        case Kind.Register:
          command = 'RegisterUser';
          actor = null;
          input = { handle: handles[ref]!, displayName: names[ref]! };
          [aggType, aggId, version, type] = ['user', userIds[ref]!, 1, 'UserRegistered'];
          data = { userId: userIds[ref]!, handle: handles[ref]!, displayName: names[ref]! };
          break;
        case Kind.Send: {
          const from = pairFrom[ref]!;
          const to = from === pairLow[ref]! ? pairHigh[ref]! : pairLow[ref]!;
          command = 'SendFriendRequest';
          actor = userIds[from]!;
          input = { toUserId: userIds[to]! };
          [aggType, aggId, version, type] = ['friendship', pairIds[ref]!, 1, 'FriendRequestSent'];
          data = { friendshipId: pairIds[ref]!, fromUserId: userIds[from]!, toUserId: userIds[to]! };
          break;
        }
        case Kind.Accept: {
          const from = pairFrom[ref]!;
          const to = from === pairLow[ref]! ? pairHigh[ref]! : pairLow[ref]!;
          command = 'AcceptFriendRequest';
          actor = userIds[to]!;
          input = { fromUserId: userIds[from]! };
          [aggType, aggId, version, type] = ['friendship', pairIds[ref]!, 2, 'FriendRequestAccepted'];
          data = { friendshipId: pairIds[ref]!, fromUserId: userIds[from]!, toUserId: userIds[to]! };
          break;
        }
        case Kind.Publish: {
          const own = postWall[ref] === postAuthor[ref];
          command = 'PublishPost';
          actor = userIds[postAuthor[ref]!]!;
          input = own ? { body: postBodies[ref]! } : { body: postBodies[ref]!, wallOwnerId: userIds[postWall[ref]!]! };
          [aggType, aggId, version, type] = ['post', postIds[ref]!, 1, 'PostPublished'];
          data = { postId: postIds[ref]!, authorId: actor, wallOwnerId: userIds[postWall[ref]!]!, body: postBodies[ref]! };
          break;
        }
        case Kind.Comment: {
          const post = postIds[commentPost[ref]!]!;
          command = 'AddComment';
          actor = userIds[commentAuthor[ref]!]!;
          input = { postId: post, body: commentBodies[ref]! };
          [aggType, aggId, version, type] = ['comment', commentIds[ref]!, 1, 'CommentAdded'];
          data = { commentId: commentIds[ref]!, postId: post, authorId: actor, body: commentBodies[ref]! };
          break;
        }
        case Kind.Like: {
          const p = likePostArr[ref]!;
          command = 'LikePost';
          actor = userIds[likeUserArr[ref]!]!;
          input = { postId: postIds[p]! };
          [aggType, aggId, version, type] = ['post', postIds[p]!, ++postVersion[p]!, 'PostLiked'];
          data = { postId: postIds[p]!, userId: actor };
          break;
        }
      }
      const fp = fingerprint(command, input);
      return [o + 1, commandIds[o]!, command, actor, actor ?? `anonymous:${fp}`, fp, aggType, aggId, version, type, JSON.stringify(data), at];
    },
  );
}

// One transaction per command, as the bus runs them: each gets its own transaction id (its
// position), its event row and its command-log row with the receipt.
await pg.unsafe(`
  create procedure bench_stage.replay(first_ord int, last_ord int) language plpgsql as $$
  declare c bench_stage.commands;
  begin
    for c in select * from bench_stage.commands where ord between first_ord and last_ord order by ord loop
      insert into write.events (aggregate_type, aggregate_id, version, type, data, metadata, occurred_at)
      values (c.aggregate_type, c.aggregate_id, c.version, c.type, c.data,
              jsonb_build_object('commandId', c.command_id, 'command', c.command, 'actorId', c.actor_id), c.occurred_at);
      insert into write.commands (id, name, actor_id, scope, idempotency_key, fingerprint, receipt, created_at)
      values (c.command_id, c.command, c.actor_id, c.scope, null, c.fingerprint,
              jsonb_build_object('commandId', c.command_id, 'aggregateId', c.aggregate_id, 'position', pg_current_xact_id()::text),
              c.occurred_at);
      commit;
    end loop;
  end $$;`);
{
  const started = performance.now();
  const STEP = 50_000;
  for (let first = 1; first <= COMMANDS; first += STEP) {
    const last = Math.min(COMMANDS, first + STEP - 1);
    await pg.unsafe(`call bench_stage.replay(${first}, ${last})`);
    const s = (performance.now() - started) / 1000;
    say(`  event log: ${fmt(last).padStart(9)} / ${fmt(COMMANDS)} commands, one transaction each (${fmt(last / s)} commands/s)`);
  }
}
await pg.unsafe('drop schema bench_stage cascade');
await pg.unsafe('vacuum analyze write.events, write.commands, write.users, write.friendships, write.posts, write.comments, write.likes');
{
  const [row] = await pg<{ events: string; txs: string; head: string }[]>`
    select count(*)::text as events, count(distinct tx_id)::text as txs, max(tx_id)::text as head from write.events`;
  say(`write side ready: ${fmt(Number(row!.events))} events in ${fmt(Number(row!.txs))} transactions, head position ${row!.head}`);
}

// ---------------------------------------------------------------------------------------------
// 5. The views, from the events.
// ---------------------------------------------------------------------------------------------
const log = createLogger('warn');
const analyzeViews = async (vacuum: boolean) =>
  pg.unsafe(`${vacuum ? 'vacuum analyze' : 'analyze'} ${(await viewTables(pg)).map((t) => `read.${t}`).join(', ')}`);
const FEED_LIMIT = Math.round(numberArg(args, 'feed-limit', DEFAULT_FEED_LIMIT));

/**
 * Runs the real projector (src/projector/projector.ts, every projection of src/read/views) batch by
 * batch, as catchUp() does, until the log is applied or `maxSeconds` have passed; prints progress.
 * This server runs with autovacuum off, so the views' statistics would stay those of empty tables:
 * an ANALYZE of the views every 60 s stands in for autovacuum's (--no-analyze to leave it out).
 */
async function runProjector(batchSize: number, maxSeconds: number, total: number) {
  const projector = new Projector({ eventsDb: database.db, viewsDb: database.db, projections: allProjections, log, batchSize, feedLimit: FEED_LIMIT });
  const started = performance.now();
  const deadline = started + maxSeconds * 1000;
  let applied = 0;
  let lastReport = started;
  let lastApplied = 0;
  let lastAnalyze = started;
  let analyzeMs = 0;
  let finished = false;
  while (performance.now() < deadline) {
    const n = await projector.applyNextBatch();
    if (n === 0) {
      finished = true;
      break;
    }
    applied += n;
    const now = performance.now();
    if (!args.has('no-analyze') && now - lastAnalyze >= 60_000) {
      await analyzeViews(false);
      analyzeMs += performance.now() - now;
      lastAnalyze = performance.now();
    }
    if (now - lastReport >= 15_000) {
      say(
        `  projector: ${fmt(applied).padStart(9)} / ${fmt(total)} events, ${fmt(((applied - lastApplied) * 1000) / (now - lastReport))} events/s ` +
          `(last ${((now - lastReport) / 1000).toFixed(0)} s), ${fmt((applied * 1000) / (now - started))} events/s overall`,
      );
      lastReport = now;
      lastApplied = applied;
    }
  }
  const seconds = (performance.now() - started - analyzeMs) / 1000;
  say(
    `projector: applied ${fmt(applied)} events in ${seconds.toFixed(1)} s = ${fmt(applied / seconds)} events/s ` +
      `(batches of ${batchSize} transactions${analyzeMs ? `; ${(analyzeMs / 1000).toFixed(1)} s of ANALYZE not counted` : ''})` +
      (finished ? '' : ` — stopped after ${maxSeconds} s, ${fmt(total - applied)} events left`),
  );
  return { applied, seconds, finished };
}

async function eventTypesAbove(position: string) {
  const rows = await pg<{ type: string; n: string }[]>`
    select type, count(*)::text n from write.events where tx_id > ${position}::xid8 group by 1 order by 2 desc`;
  return rows.map((r) => `${r.type} ${fmt(+r.n)}`).join(', ');
}

async function checkAgainstSql(position: string, what: string) {
  await createViewCopies(pg, 'bench_check');
  await buildViews(pg, 'bench_check', position, FEED_LIMIT, () => {});
  const differences = await diffViews(pg, 'read', 'bench_check', FEED_LIMIT);
  await pg.unsafe('drop schema bench_check cascade');
  if (differences.length) {
    say(`check: ${what} and the set-based build DIFFER:\n    ${differences.join('\n    ')}`);
    process.exitCode = 1;
  } else say(`check: ${what} and the set-based build (views-sql.ts) hold exactly the same rows in every view table`);
}

const [{ head }] = (await pg<{ head: string }[]>`select max(tx_id)::text as head from write.events`) as unknown as [{ head: string }];
const VIEWS = args.get('views') ?? 'projector';
if (args.has('no-project')) {
  say('--no-project: the views are left empty');
} else if (VIEWS === 'projector') {
  // The whole log through the real projector.
  await runProjector(BATCH, numberArg(args, 'project-seconds', 24 * 3600), COMMANDS);
  if (args.has('check')) await checkAgainstSql(head, 'the projector');
} else if (VIEWS === 'sql') {
  // Views up to a cut by the set-based builder; the real projector measured on the events after it
  // (a full-size world's steady state: posts, comments and likes arriving), bounded in time; then
  // the views are checked against the set-based build (if the projector reached the head) or
  // rebuilt up to the head by it, so the read benchmark starts from views at the head either way.
  const TAIL = Math.round(numberArg(args, 'tail', 5000));
  const TAIL_SECONDS = numberArg(args, 'tail-seconds', 300);
  const TAIL_BATCH = Math.round(numberArg(args, 'tail-batch', 200));
  const [cutRow] = await pg<{ cut: string | null }[]>`
    select tx_id::text as cut from write.events order by tx_id desc, seq desc offset ${TAIL} limit 1`;
  const cut = cutRow?.cut ?? '0';
  const started = performance.now();
  await buildViews(pg, 'read', cut, FEED_LIMIT, say);
  await analyzeViews(true);
  say(`views (sql) up to position ${cut} in ${since(started)}; the last ${fmt(TAIL)} events are left to the projector: ${await eventTypesAbove(cut)}`);
  const { finished } = await runProjector(TAIL_BATCH, TAIL_SECONDS, TAIL);
  if (finished) await checkAgainstSql(head, 'the set-based views plus the projector on the tail');
  else {
    await truncateViews(pg, 'read');
    await buildViews(pg, 'read', head, FEED_LIMIT, say);
    say(`views rebuilt up to the head (${head}) by the set-based builder`);
  }
} else throw new Error('--views must be projector or sql');

if (!args.has('no-project')) {
  await analyzeViews(true);
  const [v] = await queryRows<Record<string, string>>(
    database.db,
    dsql`select (select count(*) from read.profiles)::text as profiles, (select count(*) from read.friends)::text as friends,
                (select count(*) from read.posts)::text as posts, (select count(*) from read.comments)::text as comments,
                (select count(*) from read.likes)::text as likes, (select count(*) from read.feed_entries)::text as feed,
                (select sum(like_count) from read.posts)::text as like_sum, (select sum(comment_count) from read.posts)::text as comment_sum,
                (select percentile_disc(0.5) within group (order by n) from (select count(*) n from read.feed_entries group by reader_id) s)::text as feed_median,
                (select position::text from read.checkpoints where name = 'views') as position`,
  );
  say(
    `views: ${fmt(+v!['profiles']!)} profiles, ${fmt(+v!['friends']!)} friend rows, ${fmt(+v!['posts']!)} posts, ${fmt(+v!['comments']!)} comments, ` +
      `${fmt(+v!['likes']!)} likes, ${fmt(+v!['feed']!)} feed entries (median ${v!['feed_median']} per reader), checkpoint ${v!['position']} (head ${head})`,
  );
  const ok =
    +v!['profiles']! === EVERYONE &&
    +v!['friends']! === 2 * ALL_PAIRS &&
    +v!['posts']! === POSTS &&
    +v!['comments']! === COMMENTS &&
    +v!['likes']! === LIKES &&
    +v!['like_sum']! === LIKES &&
    +v!['comment_sum']! === COMMENTS &&
    v!['position'] === head;
  if (!ok) {
    say('views do NOT match the generated world');
    process.exitCode = 1;
  } else say('views match the generated world (row counts, per-post totals, checkpoint at the head)');
  if (!process.exitCode) {
    const params: WorldParams = { people: PEOPLE, friends: FRIENDS, posts: POSTS, seed: SEED, lateFriends: LATE_FRIENDS, celebrity: CELEBRITY, feedLimit: FEED_LIMIT };
    await pg.unsafe('create schema bench; create table bench.world (params jsonb not null, source text not null, built_at timestamptz not null default now())');
    await pg`insert into bench.world (params, source) values (${pg.json(params as unknown as postgres.JSONValue)}, ${worldSource()})`;
    say(`recorded the parameters in bench.world: ${JSON.stringify(params)}`);
  }
}

await pg.end();
await database.close();
const size = postgres(adminUrl(), { max: 1, onnotice: () => {} });
const [s] = await size<{ size: string }[]>`select pg_size_pretty(pg_database_size(${DB})) as size`;
await size.end();
say(`done: ${DB} is ${s!.size}; total ${since(t0)}`);
