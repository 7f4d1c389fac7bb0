/*
 * What a page costs: EXPLAIN (ANALYZE, BUFFERS) of every statement a GraphQL feed page and a wall
 * page run, for one typical reader, captured from the real resolvers (src/graphql, with the
 * DataLoader batching) rather than written out by hand; then the raw-SQL statements of read.ts for
 * the same reader, and what the projector runs to publish one post (applied and rolled back).
 *
 * Last, a "what if": the same page and trim statements with an ORDER BY whose NULLS placement
 * matches the indexes (not what src runs), to show what an index-ordered plan would cost.
 *
 *   npx tsx scripts/bench/explain.ts [--db wall_bench] [--plans none|all] [--no-what-if]
 */
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import type { Db } from '../../src/db/connect.ts';
import * as schema from '../../src/db/schema/index.ts';
import { views } from '../../src/db/schema/read.ts';
import { clientAddressOf } from '../../src/graphql/client-address.ts';
import { createWallYoga } from '../../src/graphql/yoga.ts';
import { applyBatch } from '../../src/projector/projector.ts';
import { DEFAULT_CHANGE_LOG_SIZE } from '../../src/read/changes.ts';
import { ChangeHub } from '../../src/read/live/hub.ts';
import { createLogger } from '../../src/logger.ts';
import { ProjectionStatus } from '../../src/read/consistency.ts';
import { DEFAULT_FEED_LIMIT } from '../../src/read/views/feed.ts';
import { allProjections } from '../../src/read/views/index.ts';
import type { CommandBus } from '../../src/write/bus.ts';
import type { RecordedEvent } from '../../src/write/events.ts';
import { IdentityService } from '../../src/write/identity/identity.ts';
import { TokenService } from '../../src/write/identity/tokens.ts';
import { BENCH_TOKEN_SECRET, FEED_QUERY, JOIN_FEED_SQL, VIEW_FEED_SQL, VIEW_PROFILES_SQL, WALL_QUERY, benchDbName, dbUrl, parseArgs, sourceVersion } from './common.ts';

const args = parseArgs();
const DB = benchDbName(args);
const showPlans = (args.get('plans') ?? 'all') !== 'none';
const say = (line = '') => process.stdout.write(line + '\n');

interface Statement {
  query: string;
  params: unknown[];
}
let captured: Statement[] | null = null;
const client = postgres(dbUrl(DB), { max: 4, onnotice: () => {} });
const db = drizzle({
  client,
  schema,
  logger: {
    logQuery(query: string, params: unknown[]) {
      captured?.push({ query, params });
    },
  },
}) as unknown as Db;

// The GraphQL layer over this capturing connection: the same schema, resolvers and loaders the
// server runs. Queries never touch the command bus.
const tokens = new TokenService(BENCH_TOKEN_SECRET);
const yoga = createWallYoga({
  bus: null as unknown as CommandBus,
  identity: new IdentityService(db, tokens),
  viewsDb: db,
  projection: new ProjectionStatus(db),
  log: createLogger('warn'),
  consistencyTimeoutMs: 5000,
  clientAddressOf: clientAddressOf(undefined),
  live: new ChangeHub({ viewsDb: db, log: createLogger('warn') }),
});

async function graphql(query: string, userId: string): Promise<{ statements: Statement[]; nodes: number }> {
  const token = await tokens.issue(userId);
  const run = async () => {
    const response = await yoga.fetch('http://127.0.0.1/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query }),
    });
    const body = (await response.json()) as { data?: Record<string, { nodes: unknown[] }>; errors?: { message: string }[] };
    if (body.errors?.length) throw new Error(`GraphQL error: ${body.errors[0]!.message}`);
    return Object.values(body.data ?? {})[0]?.nodes.length ?? 0;
  };
  await run(); // warm the caches and the prepared plans
  captured = [];
  const nodes = await run();
  const statements = captured;
  captured = null;
  return { statements, nodes };
}

interface Summary {
  label: string;
  ms: number;
  planningMs: number;
  hit: number;
  read: number;
  rows: string;
  scans: string[];
}
const summaries: { page: string; s: Summary }[] = [];
const whatIf: { projector: Statement[]; createStage: string } = { projector: [], createStage: '' };

/** The tables a statement reads, for a label. */
function label(query: string): string {
  const q = query.replace(/\s+/g, ' ');
  const verb = q.trim().split(' ')[0]!.toLowerCase();
  const tables = [...new Set([...q.matchAll(/"?(read|write)"?\."?(\w+)"?/g)].map((m) => `${m[1]}.${m[2]}`))];
  return `${verb === 'with' ? 'with' : verb} ${tables.join(', ')}`;
}

function summarize(plan: string[], lbl: string): Summary {
  const exec = plan.find((l) => l.startsWith('Execution Time'));
  const planning = plan.find((l) => l.startsWith('Planning Time'));
  const top = plan[0] ?? '';
  const buffers = plan.find((l) => l.trim().startsWith('Buffers:')) ?? '';
  const scans = plan
    .map((l) => /((?:Parallel )?(?:Seq Scan|Index Only Scan|Index Scan|Bitmap Heap Scan|Bitmap Index Scan)(?: Backward)?)(?: using (\S+))? on (\S+)/.exec(l))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => {
      const loops = /loops=(\d+)/.exec(plan.find((l) => l.includes(m[0])) ?? '')?.[1];
      return `${m[1]}${m[2] ? ` ${m[2]}` : ` ${m[3]}`}${loops && loops !== '1' ? ` ×${loops}` : ''}`;
    });
  for (const l of plan) {
    const node = /^\s*(?:->\s*)?(Sort|Incremental Sort|Hash Join|Merge Join|HashAggregate)\s+\(/.exec(l);
    if (node) scans.push(node[1]!);
  }
  return {
    label: lbl,
    ms: Number(/([\d.]+) ms/.exec(exec ?? '')?.[1] ?? NaN),
    planningMs: Number(/([\d.]+) ms/.exec(planning ?? '')?.[1] ?? NaN),
    hit: Number(/hit=(\d+)/.exec(buffers)?.[1] ?? 0),
    read: Number(/read=(\d+)/.exec(buffers)?.[1] ?? 0),
    rows: /actual time=[\d.]+\.\.[\d.]+ rows=(\d+)/.exec(top)?.[1] ?? '?',
    scans,
  };
}

async function explain(sql: postgres.Sql | postgres.TransactionSql, page: string, statement: Statement, repeat = true): Promise<void> {
  const text = `explain (analyze, buffers) ${statement.query}`;
  if (repeat) await sql.unsafe(text, statement.params as never[]); // warm
  const rows = await sql.unsafe<{ 'QUERY PLAN': string }[]>(text, statement.params as never[]);
  const plan = rows.map((r) => r['QUERY PLAN']);
  const s = summarize(plan, label(statement.query));
  summaries.push({ page, s });
  say(`-- ${page}: ${s.label}`);
  say(`   ${statement.query.replace(/\s+/g, ' ').trim().slice(0, 400)}`);
  if (statement.params.length) say(`   params: ${JSON.stringify(statement.params).slice(0, 300)}`);
  if (showPlans) for (const l of plan) say(`   | ${l}`);
  say(`   => ${s.ms} ms (planning ${s.planningMs} ms), ${s.rows} rows, buffers hit=${s.hit} read=${s.read}; ${s.scans.join('; ')}`);
  say();
}

// -------------------------------------------------------------------------------------------------
// A typical reader: the median number of friends among people with a full first page; a typical
// wall: the friend of theirs with the median number of posts on their wall.
// -------------------------------------------------------------------------------------------------
const [reader] = await client<{ user_id: string; handle: string; friend_count: number; entries: number }[]>`
  select p.user_id, p.handle, p.friend_count, s.entries
  from read.profiles p join (select reader_id, count(*)::int entries from read.feed_entries group by 1) s on s.reader_id = p.user_id
  where s.entries > 20
  order by p.friend_count, p.user_id
  offset (select count(*) / 2 from read.profiles) limit 1`;
if (!reader) throw new Error(`${DB} has no reader with a full feed page: build it with world.ts first`);
const [owner] = await client<{ user_id: string; handle: string; posts: number }[]>`
  select f.friend_id as user_id, p.handle, (select count(*)::int from read.posts w where w.wall_owner_id = f.friend_id) as posts
  from read.friends f join read.profiles p on p.user_id = f.friend_id
  where f.user_id = ${reader.user_id}
  order by 3, 1 offset (select count(*) / 2 from read.friends where user_id = ${reader.user_id}) limit 1`;
const [sizes] = await client<{ posts: string; feed: string; shared_buffers: string }[]>`
  select (select count(*) from read.posts)::text posts, (select count(*) from read.feed_entries)::text feed, current_setting('shared_buffers') shared_buffers`;
say(`EXPLAIN (ANALYZE, BUFFERS), source ${sourceVersion()}, on ${DB}: ${sizes!.posts} posts, ${sizes!.feed} feed entries; shared_buffers ${sizes!.shared_buffers}`);
say(`typical reader: ${reader.handle} (${reader.user_id}), ${reader.friend_count} friends, ${reader.entries} feed entries`);
say(`typical wall: ${owner!.handle} (${owner!.user_id}), a friend of the reader, ${owner!.posts} posts on the wall`);
say('every statement is run once to warm the cache, then explained; "hit"/"read" are shared buffers of the whole statement\n');

// -------------------------------------------------------------------------------------------------
// The pages, as the server runs them.
// -------------------------------------------------------------------------------------------------
const pageStatements: Statement[] = [];
for (const [page, query, as] of [
  ['feed page', FEED_QUERY, reader.user_id],
  ['wall page', WALL_QUERY(owner!.user_id), reader.user_id],
] as const) {
  const { statements, nodes } = await graphql(query, as);
  say(`==== ${page}: ${query.slice(0, 60)}... → ${nodes} posts, ${statements.length} SQL statements ====\n`);
  for (const statement of statements) await explain(client, page, statement);
  pageStatements.push(...statements);
}

// -------------------------------------------------------------------------------------------------
// read.ts's raw SQL, same reader.
// -------------------------------------------------------------------------------------------------
say(`==== read.ts raw SQL, same reader ====\n`);
await explain(client, '(a) join feed', { query: JOIN_FEED_SQL, params: [reader.user_id] });
await explain(client, '(b) view feed', { query: VIEW_FEED_SQL, params: [reader.user_id] });
{
  const rows = await client.unsafe<{ author_id: string; latest_comments: { authorId: string }[] }[]>(VIEW_FEED_SQL, [reader.user_id]);
  const ids = [...new Set(rows.slice(0, 20).flatMap((r) => [r.author_id, ...r.latest_comments.map((c) => c.authorId)]))];
  await explain(client, '(b) view feed', { query: VIEW_PROFILES_SQL, params: [ids] });
}

// -------------------------------------------------------------------------------------------------
// The projector publishing one post by the reader (on their own wall): captured in a transaction
// that is rolled back, then each statement explained (and so executed) in another, rolled back too.
// -------------------------------------------------------------------------------------------------
{
  const postId = '01ffffff-ffff-7fff-bfff-ffffffffffff';
  const event = {
    type: 'PostPublished',
    data: { postId, authorId: reader.user_id, wallOwnerId: reader.user_id, body: 'A post for EXPLAIN.' },
    seq: 0n,
    position: 0n,
    aggregateType: 'post',
    aggregateId: postId,
    version: 1,
    occurredAt: new Date(),
    metadata: { commandId: postId, command: 'PublishPost', actorId: reader.user_id },
  } as RecordedEvent;
  class Rollback extends Error {}
  captured = [];
  try {
    await db.transaction(async (tx) => {
      await applyBatch(tx, [event], { views, projections: allProjections, feedLimit: DEFAULT_FEED_LIMIT, changeLogSize: DEFAULT_CHANGE_LOG_SIZE });
      throw new Rollback();
    });
  } catch (error) {
    if (!(error instanceof Rollback)) throw error;
  }
  // The change stage is made as the batch's first statement: made again below, not explained.
  const statements = captured.filter((s) => !/^\s*(begin|commit|rollback|savepoint|create)/i.test(s.query));
  const createStageSql = captured.find((s) => /^\s*create/i.test(s.query))!.query;
  captured = null;
  say(`==== projector: PostPublished by the reader (${reader.friend_count} friends): ${statements.length} statements, run and rolled back ====\n`);
  try {
    await client.begin(async (tx) => {
      await tx.unsafe(createStageSql);
      for (const statement of statements) await explain(tx, 'projector post', statement, false);
      throw new Rollback();
    });
  } catch (error) {
    if (!(error instanceof Rollback)) throw error;
  }
  whatIf.projector = statements;
  whatIf.createStage = createStageSql;
}

// -------------------------------------------------------------------------------------------------
// What if the ORDER BY matched the indexes? The view indexes are declared `.desc()` in Drizzle,
// which drizzle-kit creates as DESC NULLS LAST, while `order by x desc` means DESC NULLS FIRST in
// PostgreSQL (and `order by x` means ASC NULLS LAST, while a backward scan of the index gives ASC
// NULLS FIRST): the planner cannot take the rows in index order and sorts. The same statements
// with the NULLS placement of the index (NOT what src runs; the columns are NOT NULL, so the rows
// are the same) show what an index-ordered plan costs. Nothing is changed in the database.
// -------------------------------------------------------------------------------------------------
if (!args.has('no-what-if')) {
  say(`==== what if: the same statements with the ORDER BY's NULLS placement matching the index (not what src runs) ====\n`);
  const matchIndex = (q: string) =>
    q
      .replace(/("created_at" desc), ("read"\."\w+"\."post_id" desc)/g, '$1 nulls last, $2 nulls last')
      .replace(/order by created_at, post_id limit 1/g, 'order by created_at nulls first, post_id nulls first limit 1');
  for (const statement of pageStatements) {
    const changed = matchIndex(statement.query);
    if (changed !== statement.query) await explain(client, 'what-if page', { query: changed, params: statement.params });
  }
  class Rollback extends Error {}
  try {
    await client.begin(async (tx) => {
      await tx.unsafe(whatIf.createStage);
      for (const statement of whatIf.projector) {
        const changed = matchIndex(statement.query);
        if (changed === statement.query) await tx.unsafe(statement.query, statement.params as never[]);
        else await explain(tx, 'what-if post', { query: changed, params: statement.params }, false);
      }
      throw new Rollback();
    });
  } catch (error) {
    if (!(error instanceof Rollback)) throw error;
  }
}

// -------------------------------------------------------------------------------------------------
say('==== summary ====');
say(`${'page'.padEnd(15)} ${'statement'.padEnd(48)} ${'ms'.padStart(8)} ${'rows'.padStart(5)} ${'hit'.padStart(6)} ${'read'.padStart(5)}  plan`);
for (const { page, s } of summaries) {
  say(`${page.padEnd(15)} ${s.label.slice(0, 48).padEnd(48)} ${s.ms.toFixed(3).padStart(8)} ${s.rows.padStart(5)} ${String(s.hit).padStart(6)} ${String(s.read).padStart(5)}  ${s.scans.join('; ')}`);
}
for (const page of ['feed page', 'wall page']) {
  const rows = summaries.filter((x) => x.page === page);
  say(
    `${page}: ${rows.length} statements, ${rows.reduce((n, x) => n + x.s.ms, 0).toFixed(2)} ms of execution in all, ` +
      `${rows.reduce((n, x) => n + x.s.hit + x.s.read, 0)} buffers`,
  );
}
await client.end();
