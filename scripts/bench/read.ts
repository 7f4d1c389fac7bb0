/*
 * The read benchmark, against a world built by world.ts:
 *   (a) the home feed computed with joins at read time over the write tables, raw SQL, 16 clients;
 *   (b) the materialized feed page (feed_entries range scan joined to read.posts, then the one
 *       batched profile look-up), raw SQL, 16 clients;
 *   (c) the GraphQL feed over HTTP at 32 connections, against the real server (createApp, projector
 *       on) started as a child process; this process is the load generator.
 * Each for a fixed time after a warm-up, three rounds (a, b, c, a, b, c, ...), medians reported.
 *
 *   npx tsx scripts/bench/read.ts [--db wall_bench] [--duration 10] [--warmup 2] [--reps 3]
 *                                 [--sql-clients 16] [--connections 32] [--only a,b,c]
 *                                 [--wait-quiet SECONDS --quiet-load 1]  (wait, bounded, for other work to end)
 *                                 [--warmup-ops N]  (c: before the first round, also warm the server up with at least N pages,
 *                                                    at most 120 s: JIT and GC threads count in the server's CPU)
 *                                 [--cpu-prof DIR]  (the server runs with node --cpu-prof; summarize with profile.ts)
 *                                 [--server-node-args="--max-semi-space-size=32 ..."]  (more node options for the server; note the =)
 *                                 [--pool N]  (c: the server's PostgreSQL connections, as DB_POOL; default the app's)
 *                                 [--client wrk|node]  (c: the load generator; wrk, from Debian's package, by default when
 *                                                       /usr/bin/wrk exists: it spends a tenth of the CPU per request of
 *                                                       node's http client, and that CPU comes out of the same 2 cores)
 *   --only may add w: (b) with an ORDER BY matching the index's NULLS placement (a what-if; not what src runs)
 * Besides rates and latencies it prints the CPU time per operation of the bench database's
 * PostgreSQL backends and of the server process (from /proc), which other load does not change much.
 */
import { Agent, request } from 'node:http';
import { cpus, loadavg } from 'node:os';
import postgres from 'postgres';
import { DEFAULT_POOL_SIZE } from '../../src/db/connect.ts';
import { TokenService } from '../../src/write/identity/tokens.ts';
import {
  BENCH_TOKEN_SECRET,
  FEED_QUERY,
  JOIN_FEED_SQL,
  VIEW_FEED_INDEX_ORDER_SQL,
  VIEW_FEED_SQL,
  VIEW_PROFILES_SQL,
  benchDbName,
  dbUrl,
  fmt,
  median,
  numberArg,
  parseArgs,
  prng,
  sourceVersion,
} from './common.ts';
import { cpuSpent, sampleCpu, type CpuSample } from './cpu.ts';
import { closedLoop, type LoopResult } from './loop.ts';
import { BenchServer } from './processes.ts';
import { hasWrk, runWrk, WRK } from './wrk.ts';

const args = parseArgs();
const DB = benchDbName(args);
const DURATION = numberArg(args, 'duration', 10);
const WARMUP = numberArg(args, 'warmup', 2);
const WARMUP_OPS = Math.round(numberArg(args, 'warmup-ops', 0));
const REPS = Math.round(numberArg(args, 'reps', 3));
const SQL_CLIENTS = Math.round(numberArg(args, 'sql-clients', 16));
const CONNECTIONS = Math.round(numberArg(args, 'connections', 32));
/** The server's connections to PostgreSQL (DB_POOL). */
const POOL = Math.round(numberArg(args, 'pool', DEFAULT_POOL_SIZE));
const ONLY = new Set((args.get('only') ?? 'a,b,c').split(','));
const CLIENT = args.get('client') ?? (hasWrk() ? 'wrk' : 'node');
if (CLIENT !== 'wrk' && CLIENT !== 'node') throw new Error('--client is wrk or node');
/** The issue's join-based GraphQL server: feed pages per second at 32 connections (its reference). */
const REFERENCE_GRAPHQL_JOIN_RPS = 230;
const REQUEST_TIMEOUT_MS = 10_000;

const say = (line: string) => process.stdout.write(line + '\n');
const rand = prng(Math.round(numberArg(args, 'seed', 7)));
const url = dbUrl(DB);

interface RunResult extends LoopResult {
  /** CPU milliseconds per operation: PostgreSQL backends of the bench database, the server, the load generator. */
  cpu: { postgres: number; server: number; client: number };
}

// CPU accounting (cpu.ts): other work shares the machine, so rates alone mislead; the CPU time
// each side spends per operation does not depend on what else runs.
let monitor: postgres.Sql | null = null;
const cpuSample = async () => {
  const { user, system } = process.cpuUsage();
  return { sample: await sampleCpu(monitor!, DB, { server: server?.pid }), client: (user + system) / 1000 };
};
function cpuPerOp(before: { sample: CpuSample; client: number }, after: { sample: CpuSample; client: number }, ops: number) {
  const spent = cpuSpent(before.sample, after.sample);
  return { postgres: spent.postgres / ops, server: spent.processes['server']! / ops, client: (after.client - before.client) / ops };
}

/** closedLoop (loop.ts) with the CPU each side spent per operation. */
async function load(concurrency: number, seconds: number, op: () => Promise<void>, maxOps?: number): Promise<RunResult> {
  const before = await cpuSample();
  const result = await closedLoop(concurrency, seconds, op, maxOps);
  return { ...result, cpu: cpuPerOp(before, await cpuSample(), Math.max(1, result.ops)) };
}

// -------------------------------------------------------------------------------------------------
// The world and the environment.
// -------------------------------------------------------------------------------------------------
const pg = postgres(url, { max: 1, onnotice: () => {} });
const readers = (await pg<{ user_id: string }[]>`select user_id from read.profiles order by user_id`).map((r) => r.user_id);
const [world] = await pg<{ posts: string; feed: string; position: string; head: string }[]>`
  select (select count(*) from read.posts)::text as posts, (select count(*) from read.feed_entries)::text as feed,
         (select position::text from read.checkpoints where name = 'views') as position,
         (select max(tx_id)::text from write.events) as head`;
const settings = Object.fromEntries(
  (await pg<{ name: string; setting: string }[]>`
    select name, setting from pg_settings where name in ('server_version', 'shared_buffers', 'autovacuum', 'jit', 'work_mem', 'max_connections')`).map((r) => [
    r.name,
    r.setting,
  ]),
);
// (a) and (b) must answer the same page: compare them for a sample of readers first.
let samePages = 0;
const SAMPLE = Math.min(50, readers.length);
for (let i = 0; i < SAMPLE; i++) {
  const r = readers[Math.floor((i * readers.length) / SAMPLE)]!;
  const a = (await pg.unsafe<{ id: string }[]>(JOIN_FEED_SQL, [r])).map((x) => x.id).join();
  const b = (await pg.unsafe<{ post_id: string }[]>(VIEW_FEED_SQL, [r])).slice(0, 20).map((x) => x.post_id).join();
  if (a === b) samePages++;
}
await pg.end();
if (readers.length === 0) throw new Error(`${DB} has no profiles: build it with world.ts first`);
if (world!.position !== world!.head) say(`WARNING: the views (position ${world!.position}) are behind the log (head ${world!.head}); the server's projector will be working during the run`);
const randomReader = () => readers[Math.floor(rand() * readers.length)]!;

say(`Wall read benchmark — source ${sourceVersion()}, database ${DB}: ${fmt(readers.length)} people, ${fmt(+world!.posts)} posts, ${fmt(+world!.feed)} feed entries`);
say(
  `machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load average before the run ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; PostgreSQL ${settings['server_version']} (shared_buffers ${Number(settings['shared_buffers']) / 128} MB, ` +
    `work_mem ${settings['work_mem']} kB, jit ${settings['jit']}, autovacuum ${settings['autovacuum']}); Node ${process.version}`,
);
say(
  `client and server share this machine: PostgreSQL, the Wall server (c) and this load generator all run on the same ${cpus().length} cores, ` +
    'and other work on the machine (tests) may be running too.',
);
say(`check: (a) and (b) return the same first page (same posts, same order) for ${samePages} of ${SAMPLE} readers`);
say(`load generator for (c): ${CLIENT === 'wrk' ? `wrk (${WRK}), 1 thread` : "node's http client in this process"}`);
say(`each measurement: ${WARMUP} s warm-up, then ${DURATION} s; ${REPS} rounds (${['a', 'b', 'w', 'c'].filter((k) => ONLY.has(k)).join(', ')} in turn); medians of the rounds; random readers\n`);

// -------------------------------------------------------------------------------------------------
// (a) and (b): raw SQL through postgres.js, prepared statements.
// -------------------------------------------------------------------------------------------------
async function sqlScenario(kind: 'a' | 'b' | 'w'): Promise<RunResult> {
  const sql = postgres(url, { max: SQL_CLIENTS, prepare: true, onnotice: () => {} });
  try {
    const op =
      kind === 'a'
        ? async () => {
            const rows = await sql.unsafe(JOIN_FEED_SQL, [randomReader()], { prepare: true });
            if (rows.length === 0) throw new Error('empty join feed');
          }
        : async () => {
            const rows = await sql.unsafe<{ author_id: string; latest_comments: { authorId: string }[] }[]>(
              kind === 'w' ? VIEW_FEED_INDEX_ORDER_SQL : VIEW_FEED_SQL,
              [randomReader()],
              { prepare: true },
            );
            if (rows.length === 0) throw new Error('empty feed page');
            const ids = new Set<string>();
            for (const r of rows.slice(0, 20)) {
              ids.add(r.author_id);
              for (const c of r.latest_comments) ids.add(c.authorId);
            }
            const profiles = await sql.unsafe(VIEW_PROFILES_SQL, [[...ids]], { prepare: true });
            if (profiles.length !== ids.size) throw new Error('missing profiles');
          };
    await load(SQL_CLIENTS, WARMUP, op);
    return await load(SQL_CLIENTS, DURATION, op);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

// -------------------------------------------------------------------------------------------------
// (c): the GraphQL server, a separate process.
// -------------------------------------------------------------------------------------------------
let server = null as BenchServer | null;

async function startServer(): Promise<void> {
  const profileDir = args.get('cpu-prof');
  const nodeArgs = [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), ...(args.get('server-node-args') ?? '').split(' ').filter(Boolean)];
  server = await BenchServer.start({ db: DB, projector: true, pool: POOL, nodeArgs });
  say(
    `server: child process ${server.pid} (node ${nodeArgs.length ? nodeArgs.join(' ') + ' ' : ''}--import tsx scripts/bench/server.ts), ` +
      `createApp against ${DB} (${POOL} connections), projector on, 127.0.0.1:${server.port}`,
  );
}

const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS, maxFreeSockets: CONNECTIONS });
const BODY = JSON.stringify({ query: FEED_QUERY });
let nodesSeen = 0;
let pagesSeen = 0;

function graphqlFeed(token: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server!.port,
        path: '/graphql',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY), authorization: `Bearer ${token}` },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString().slice(0, 200)}`);
            const body = JSON.parse(Buffer.concat(chunks).toString()) as { data?: { feed?: { nodes?: unknown[] } }; errors?: { message: string }[] };
            if (body.errors?.length) throw new Error(`GraphQL error: ${body.errors[0]!.message}`);
            const nodes = body.data?.feed?.nodes;
            if (!Array.isArray(nodes)) throw new Error('no feed in the answer');
            nodesSeen += nodes.length;
            pagesSeen++;
            resolve();
          } catch (error) {
            reject(error as Error);
          }
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(BODY);
  });
}

let tokens: string[] = [];
async function httpScenario(): Promise<RunResult> {
  if (CLIENT === 'wrk') {
    await wrkLoad(WARMUP);
    return wrkLoad(DURATION);
  }
  const op = () => graphqlFeed(tokens[Math.floor(rand() * tokens.length)]!);
  await load(CONNECTIONS, WARMUP, op);
  return load(CONNECTIONS, DURATION, op);
}

/** wrk (wrk.ts) as the load generator: a random reader's token per request, every answer checked. */
async function wrkLoad(seconds: number): Promise<RunResult> {
  const requests = Array.from({ length: Math.max(tokens.length, 1000) }, () => ({ token: tokens[Math.floor(rand() * tokens.length)]!, body: BODY }));
  const before = await cpuSample();
  const r = await runWrk({ port: server!.port, connections: CONNECTIONS, seconds, requests, expect: '"nodes":[', count: '"likedByMe"' });
  const after = await cpuSample();
  pagesSeen += r.good;
  nodesSeen += r.counted;
  const ops = Math.max(1, r.good);
  return {
    ops: r.good,
    errors: r.bad,
    seconds: r.seconds,
    p50: r.p50,
    p99: r.p99,
    firstError: r.firstBad,
    cpu: { ...cpuPerOp(before, after, ops), client: r.cpuMs / ops },
  };
}

// -------------------------------------------------------------------------------------------------
// The rounds.
// -------------------------------------------------------------------------------------------------
const results: Record<'a' | 'b' | 'c' | 'w', RunResult[]> = { a: [], b: [], c: [], w: [] };
monitor = postgres(url, { max: 1, onnotice: () => {} });
// Optionally wait (bounded) for the machine to be quiet: other work shares these cores.
{
  const waitSeconds = numberArg(args, 'wait-quiet', 0);
  const threshold = numberArg(args, 'quiet-load', 1);
  const until = Date.now() + waitSeconds * 1000;
  while (Date.now() < until && loadavg()[0]! > threshold) await new Promise((resolve) => setTimeout(resolve, 5000));
  if (waitSeconds) say(`waited for a 1-minute load average under ${threshold} (at most ${waitSeconds} s): now ${loadavg()[0]!.toFixed(2)}`);
}
try {
  if (ONLY.has('c')) {
    const started = performance.now();
    const issuer = new TokenService(BENCH_TOKEN_SECRET);
    tokens = await Promise.all(readers.map((id) => issuer.issue(id)));
    say(`tokens: ${fmt(tokens.length)} (one per person) issued with TokenService in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    await startServer();
    if (WARMUP_OPS > 0) {
      const w = await load(CONNECTIONS, 120, () => graphqlFeed(tokens[Math.floor(rand() * tokens.length)]!), WARMUP_OPS);
      say(`server warm-up: ${fmt(w.ops)} pages in ${w.seconds.toFixed(1)} s, server CPU ${w.cpu.server.toFixed(2)} ms per page`);
    }
  }
  for (let rep = 1; rep <= REPS; rep++) {
    for (const kind of ['a', 'b', 'w', 'c'] as const) {
      if (!ONLY.has(kind)) continue;
      const r = kind === 'c' ? await httpScenario() : await sqlScenario(kind);
      results[kind].push(r);
      say(
        `round ${rep} (${kind}): ${fmt(r.ops / r.seconds).padStart(7)} /s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, ` +
          `${r.errors} errors${r.firstError ? ` (first: ${r.firstError})` : ''}; CPU per op: PostgreSQL ${r.cpu.postgres.toFixed(2)} ms, ` +
          `server ${r.cpu.server.toFixed(2)} ms, load generator ${r.cpu.client.toFixed(2)} ms; load average ${loadavg()[0]!.toFixed(2)}`,
      );
    }
  }
} finally {
  await server?.stop();
  agent.destroy();
  await monitor.end();
}

// -------------------------------------------------------------------------------------------------
// The table.
// -------------------------------------------------------------------------------------------------
const label = {
  a: `(a) feed by joins at read time, raw SQL`,
  b: `(b) materialized feed page, raw SQL`,
  w: `(w) (b) if ORDER BY matched the index`,
  c: `(c) GraphQL feed over HTTP`,
};
const conc = { a: SQL_CLIENTS, b: SQL_CLIENTS, w: SQL_CLIENTS, c: CONNECTIONS };
const med: Partial<Record<'a' | 'b' | 'c' | 'w', { rps: number; p50: number; p99: number; errors: number; pgCpu: number; serverCpu: number }>> = {};
say('');
say(
  `${'scenario'.padEnd(42)} ${'conc'.padStart(4)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'errors'.padStart(6)} ` +
    `${'pg cpu'.padStart(7)} ${'srv cpu'.padStart(7)}   req/s per round`,
);
say('-'.repeat(120));
for (const kind of ['a', 'b', 'w', 'c'] as const) {
  const runs = results[kind];
  if (runs.length === 0) continue;
  const m = {
    rps: median(runs.map((r) => r.ops / r.seconds)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    pgCpu: median(runs.map((r) => r.cpu.postgres)),
    serverCpu: median(runs.map((r) => r.cpu.server)),
  };
  med[kind] = m;
  say(
    `${label[kind].padEnd(42)} ${String(conc[kind]).padStart(4)} ${fmt(m.rps).padStart(8)} ${m.p50.toFixed(2).padStart(7)} ${m.p99.toFixed(2).padStart(7)} ${String(m.errors).padStart(6)} ` +
      `${m.pgCpu.toFixed(2).padStart(7)} ${(kind === 'c' ? m.serverCpu.toFixed(2) : '-').padStart(7)}   ` +
      runs.map((r) => fmt(r.ops / r.seconds)).join(' / '),
  );
}
say('pg cpu / srv cpu: CPU milliseconds per operation (medians) spent by the bench database\'s PostgreSQL backends / by the Wall server process');
say('');
if (med.a && med.b) say(`(b)/(a): the materialized page is ${(med.b.rps / med.a.rps).toFixed(1)}x the join feed in raw SQL (issue's figures: 9,000 vs 710/s = 12.7x)`);
if (med.c) {
  say(
    `(c) vs the issue's join-based GraphQL server (230 pages/s, p99 ~210 ms at 32 connections): ${(med.c.rps / REFERENCE_GRAPHQL_JOIN_RPS).toFixed(1)}x ` +
      `(goal: 10x = 2,300/s with p99 under 30 ms; p99 here ${med.c.p99.toFixed(1)} ms)`,
  );
  if (pagesSeen) say(`(c) pages answered: ${fmt(pagesSeen)} with ${(nodesSeen / pagesSeen).toFixed(1)} posts each on average (warm-up included)`);
}
if (med.w) say(`(w) is NOT what src runs: the page of (b) with "desc nulls last", the NULLS placement of feed_entries_reader_idx (see explain.ts)`);
if (med.b && med.w) say(`(w)/(b): ${(med.w.rps / med.b.rps).toFixed(1)}x`);
if (med.a && med.c) say(`(c)/(a): GraphQL over HTTP serves ${(med.c.rps / med.a.rps).toFixed(1)}x the raw-SQL join feed`);
say(`load average after the run: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
