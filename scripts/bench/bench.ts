/*
 * npm run bench: every figure of Wall's performance in one run, against a local PostgreSQL server
 * (DATABASE_URL), on a deterministic world (world.ts), with the real server as a child process
 * (server.ts), wrk and a subscribers' process as its clients. Each phase is a module of phases/
 * that says what it measures and how; this file runs them in order, each under a deadline, and
 * ends with one table and the same figures as JSON (report.ts).
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench [-- --small | --smoke] [--only lag,live] ...
 *
 * (npm run bench -- --help lists the options.) The database in DATABASE_URL is only used to
 * create and drop the bench's own: the world (--db, default wall_bench) and the run's copy of it.
 * A phase that fails is reported and the others still run; the exit code is then 1.
 */
import { loadavg } from 'node:os';
import postgres from 'postgres';
import { runtimeProblem } from '../../src/runtime.ts';
import { adminUrl, dbUrl, fmt, isLoopback, parseArgs } from './common.ts';
import { BenchContext, type Phase, type World } from './context.ts';
import { describe, loadText, machine } from './machine.ts';
import { benchOptions, USAGE, type BenchOptions } from './options.ts';
import { catchup } from './phases/catchup.ts';
import { ceiling } from './phases/ceiling.ts';
import { commands } from './phases/commands.ts';
import { fanout } from './phases/fanout.ts';
import { lag } from './phases/lag.ts';
import { live } from './phases/live.ts';
import { pages } from './phases/pages.ts';
import { rebuild } from './phases/rebuild.ts';
import { Planner } from './plans.ts';
import { table, writeJson } from './report.ts';
import { createRunCopy, dropDatabase, ensureWorld } from './world-db.ts';
import { hasWrk, WRK } from './wrk.ts';

const ALL: readonly Phase[] = [ceiling, pages, commands, lag, catchup, rebuild, fanout, live];

const refuse = (line: string): never => {
  process.stderr.write(`bench: ${line}\n`);
  process.exit(2);
};

const args = parseArgs();
if (args.has('help')) {
  process.stdout.write(USAGE + '\n');
  process.exit(0);
}
if (runtimeProblem()) refuse(runtimeProblem()!);
if (!process.env['DATABASE_URL']) {
  refuse('set DATABASE_URL to a local PostgreSQL server, e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench (it makes its own wall_bench databases there; it does not run on the embedded database)');
}
if (!isLoopback(process.env['DATABASE_URL']!)) refuse(`DATABASE_URL must name a server on this machine (127.0.0.1, localhost or ::1): the bench reads its processes' CPU time from /proc`);
if (!hasWrk()) refuse(`${WRK} is missing: apt-get install -y wrk`);
let options: BenchOptions;
try {
  options = benchOptions(args);
} catch (error) {
  refuse((error as Error).message);
}

const t0 = performance.now();
const say = (line: string) => process.stdout.write(`[bench ${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    say(`${signal}: stopping (children are killed; the run's copy stays until the next run)`);
    process.exit(130);
  });
}

/** The run; resolves with the exit code. */
async function main(): Promise<number> {
  const startedAt = new Date().toISOString();
  const adminSql = postgres(adminUrl(), { max: 1, onnotice: () => {} });
  const conditions = await machine(adminSql).finally(() => adminSql.end());
  say(describe(conditions));
  say(`preset ${options.preset}; phases ${options.only.join(', ')}`);

  const worldStarted = performance.now();
  const worldState = await ensureWorld(options, say);
  const worldSeconds = (performance.now() - worldStarted) / 1000;
  const run = await createRunCopy(options.db);
  say(`run database: ${run}, a copy of ${options.db}${worldState === 'built' ? ` (built in ${worldSeconds.toFixed(0)} s)` : ''}`);

  const sql = postgres(dbUrl(run), { max: 2, onnotice: () => {} });
  const [facts] = await sql<{ people: number; events: number; celebrity: string | null }[]>`
    select (select count(*) from write.users)::int as people, (select count(*) from write.events)::int as events,
           (select id from write.users where handle = 'celebrity') as celebrity`;
  const world: World = {
    people: facts!.people,
    events: facts!.events,
    celebrityId: facts!.celebrity,
    celebrityFriends: facts!.celebrity ? (await sql<{ id: string }[]>`select friend_id as id from read.friends where user_id = ${facts!.celebrity} order by 1`).map((r) => r.id) : [],
  };
  const planner = new Planner(sql, options.seed, world.celebrityId);
  await planner.load();
  say(`world: ${fmt(world.people)} people, ${fmt(world.events)} events; the celebrity has ${fmt(world.celebrityFriends.length)} friends; tokens signed for everyone`);

  const ctx = new BenchContext(run, sql, options, world, planner, say);
  const failures: { phase: string; error: string }[] = [];
  const timings: { phase: string; seconds: number; ok: boolean }[] = [];
  for (const phase of ALL.filter((p) => options.only.includes(p.name))) {
    const budget = phase.budgetSeconds(options);
    say(`== ${phase.name}: ${phase.title} (deadline ${budget.toFixed(0)} s)`);
    const deadline = new AbortController();
    ctx.phase = phase.name;
    ctx.signal = deadline.signal;
    const timer = setTimeout(() => deadline.abort(new Error(`deadline: still running after ${budget.toFixed(0)} s`)), budget * 1000);
    const aborted = new Promise<never>((_, reject) => deadline.signal.addEventListener('abort', () => reject(deadline.signal.reason as Error)));
    const started = performance.now();
    let ok = true;
    try {
      await Promise.race([phase.run(ctx), aborted]);
    } catch (error) {
      ok = false;
      const message = error instanceof Error ? error.message : String(error);
      failures.push({ phase: phase.name, error: message });
      say(`${phase.name} FAILED: ${message}`);
      if (error instanceof Error && error.constructor !== Error) process.stderr.write(`${explain(error)}\n`);
      // What the phase left running goes with it: its children, and the server it may have left in any state.
      deadline.abort(new Error('the phase failed'));
      await ctx.stopServer().catch((stopError: unknown) => say(`the server did not stop cleanly: ${explain(stopError)}`));
    } finally {
      clearTimeout(timer);
    }
    const seconds = (performance.now() - started) / 1000;
    timings.push({ phase: phase.name, seconds, ok });
    say(`${phase.name}: ${ok ? 'done' : 'failed'} in ${seconds.toFixed(0)} s`);
  }
  await ctx.stopServer();
  await sql.end();
  if (options.keep) say(`--keep: ${run} is left for a look`);
  else await dropDatabase(run);

  const loadAfter = loadavg();
  const totalSeconds = (performance.now() - t0) / 1000;
  process.stdout.write(`\nWall benchmark, ${startedAt}, source ${conditions.source}, ${options.preset} world ${options.db} (${fmt(world.people)} people, ${fmt(world.events)} events); load average before ${loadText(conditions.loadBefore)}, after ${loadText(loadAfter)}\n\n`);
  process.stdout.write(table(ctx.figures, failures) + '\n\n');
  const file = writeJson({
    startedAt,
    seconds: totalSeconds,
    argv: process.argv.slice(2),
    options,
    machine: { ...conditions, loadAfter },
    world: { database: options.db, run, params: options.world, state: worldState, buildSeconds: worldState === 'built' ? worldSeconds : null, ...world, celebrityFriends: world.celebrityFriends.length },
    phases: timings,
    figures: ctx.figures,
    failures,
    details: ctx.details,
  });
  say(`${failures.length ? `${failures.length} phase(s) FAILED; ` : ''}figures written to ${file.slice(file.indexOf('artifacts/'))} and artifacts/bench/latest.json; ${totalSeconds.toFixed(0)} s in all`);
  return failures.length ? 1 : 0;
}

/** The bench's own failures are plain Errors whose message says it all; a TypeError and the like is a bug: its stack. */
const explain = (error: unknown) => (error instanceof Error ? (error.constructor === Error ? error.message : String(error.stack)) : String(error));

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${explain(error)}\n`);
    process.exit(1);
  },
);
