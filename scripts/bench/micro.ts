/*
 * CPU per call of a few pieces of a feed page, in this process (process.cpuUsage, so the thread
 * pool's WebCrypto work counts too), against a world built by world.ts. The feed benchmark cannot
 * resolve differences of a tenth of a millisecond on a shared machine; these can.
 *
 *   npx tsx scripts/bench/micro.ts [--db wall_bench] [--n 20000]
 *
 *   token verify:     TokenService.verify without and with the verified-token cache (1,000 tokens)
 *   checkpoint:       readCheckpoint (what every query did) against ProjectionStatus.current()
 *   page statements:  a feed page's three statements built by drizzle on each call against the prepared ones
 *   connection:       toConnection of a 21-row page, asked for nodes only
 */
import { and, desc, eq, getTableColumns, inArray } from 'drizzle-orm';
import { openDatabase } from '../../src/db/connect.ts';
import { feedEntries, likeViews, postViews, profiles } from '../../src/db/schema/read.ts';
import { readCheckpoint } from '../../src/read/checkpoint.ts';
import { ProjectionStatus } from '../../src/read/consistency.ts';
import { toConnection } from '../../src/read/pagination.ts';
import { feedPage } from '../../src/read/views/feed.ts';
import { likedAmong } from '../../src/read/views/posts.ts';
import { findProfiles } from '../../src/read/views/profile.ts';
import { TokenService } from '../../src/write/identity/tokens.ts';
import { BENCH_TOKEN_SECRET, benchDbName, dbUrl, numberArg, parseArgs } from './common.ts';

const args = parseArgs();
const N = Math.round(numberArg(args, 'n', 20000));
const say = (line: string) => process.stdout.write(line + '\n');

/** CPU microseconds per call of `f`, `concurrency` calls at a time, after a warm-up of a fifth as many. */
async function perCall(label: string, calls: number, f: (i: number) => Promise<unknown> | unknown, concurrency = 1) {
  const round = async (n: number) => {
    for (let i = 0; i < n; i += concurrency) await Promise.all(Array.from({ length: concurrency }, (_, j) => f(i + j)));
  };
  await round(Math.ceil(calls / 5));
  const before = process.cpuUsage();
  const started = performance.now();
  await round(calls);
  const used = process.cpuUsage(before);
  say(`${label.padEnd(58)} ${((used.user + used.system) / calls).toFixed(1).padStart(8)} us CPU per call (${(((performance.now() - started) * 1000) / calls).toFixed(1)} us wall)`);
}

const database = await openDatabase({ url: dbUrl(benchDbName(args)) });
const { db } = database;
try {
  const readers = (await db.select({ id: profiles.userId }).from(profiles).limit(1000)).map((r) => r.id);
  if (readers.length === 0) throw new Error('no profiles: build the world with world.ts first');

  for (const cacheSize of [0, 10_000]) {
    const tokens = new TokenService(BENCH_TOKEN_SECRET, { cacheSize });
    const issued = await Promise.all(readers.map((id) => tokens.issue(id)));
    await perCall(`token verify, cache ${cacheSize ? 'on' : 'off'}`, N, (i) => tokens.verify(issued[i % issued.length]!));
  }

  const status = new ProjectionStatus(db);
  await perCall('checkpoint: readCheckpoint per query (before)', N / 4, () => readCheckpoint(db), 4);
  await perCall('checkpoint: ProjectionStatus.current() (after)', N / 4, () => status.current(), 4);

  // The statements of a feed page: the page, the profiles of its authors, which of its posts the reader likes.
  const builtPage = async (i: number) => {
    const reader = readers[i % readers.length]!;
    const rows = await db
      .select(getTableColumns(postViews))
      .from(feedEntries)
      .innerJoin(postViews, eq(postViews.postId, feedEntries.postId))
      .where(and(eq(feedEntries.readerId, reader)))
      .orderBy(desc(feedEntries.createdAt), desc(feedEntries.postId))
      .limit(21);
    const ids = rows.map((r) => r.postId);
    await Promise.all([
      db.select().from(profiles).where(inArray(profiles.userId, [...new Set(rows.map((r) => r.authorId))])),
      ids.length ? db.select({ postId: likeViews.postId }).from(likeViews).where(and(eq(likeViews.userId, reader), inArray(likeViews.postId, ids))) : [],
    ]);
  };
  const preparedPage = async (i: number) => {
    const reader = readers[i % readers.length]!;
    const rows = await feedPage(db, reader, null, 21);
    await Promise.all([findProfiles(db, [...new Set(rows.map((r) => r.authorId))]), likedAmong(db, reader, rows.map((r) => r.postId))]);
  };
  await perCall('page statements: built by drizzle per call, unprepared', N / 10, builtPage, 4);
  await perCall('page statements: prepared (feedPage, findProfiles, likedAmong)', N / 10, preparedPage, 4);

  const rows = await feedPage(db, readers[0]!, null, 21);
  await perCall('connection: toConnection of 21 rows, nodes only', N, () => toConnection(rows, 20, (p) => ({ at: p.createdAt, id: p.postId }), (p) => p).nodes.length);
} finally {
  await database.close();
}
