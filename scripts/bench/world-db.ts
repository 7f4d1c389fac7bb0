/*
 * The run's databases. The world is built by world.ts (a child process; its progress is shown),
 * or reused when its database exists and bench.world says it was built with the same parameters
 * by the same source (common.ts worldSource()).
 *
 * The scenarios write (posts, likes, comments, a backlog; a finished rebuild swaps the views), so
 * a run does not write into the world: it writes into a copy made for it (CREATE DATABASE ...
 * TEMPLATE, a copy of the files: seconds), dropped at its end. So the world stays exactly as it
 * was built, every run starts from the same data, and the reuse check needs no tolerance for what
 * earlier runs added. Transaction ids stay valid in the copy: it is in the same cluster.
 */
import postgres from 'postgres';
import { adminUrl, dbUrl, worldSource, type WorldParams } from './common.ts';
import type { BenchOptions } from './options.ts';
import { exited, onLines, spawnNodeScript } from './processes.ts';

const admin = () => postgres(adminUrl(), { max: 1, onnotice: () => {} });
const sameParams = (a: WorldParams, b: WorldParams) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

/** Why the world in `db` cannot be reused, or null when it can. */
async function reuseProblem(db: string, params: WorldParams): Promise<string | null> {
  const sql = admin();
  try {
    const [exists] = await sql`select 1 from pg_database where datname = ${db}`;
    if (!exists) return 'there is none yet';
  } finally {
    await sql.end();
  }
  const world = postgres(dbUrl(db), { max: 1, onnotice: () => {} });
  try {
    const [table] = await world`select to_regclass('bench.world') as t`;
    if (!table?.['t']) return 'it was not completed by world.ts (no bench.world)';
    const [row] = await world<{ params: WorldParams; source: string }[]>`select params, source from bench.world`;
    if (!row) return 'bench.world is empty';
    if (!sameParams(row.params, params)) return `it was built with ${JSON.stringify(row.params)}`;
    if (row.source !== worldSource()) return `it was built by another version of world.ts, views-sql.ts or the migrations (${row.source})`;
    return null;
  } finally {
    await world.end();
  }
}

/** Builds the world with world.ts unless the one in options.db can be reused; says which. */
export async function ensureWorld(options: BenchOptions, say: (line: string) => void): Promise<'reused' | 'built'> {
  const { db, world } = options;
  const problem = options.rebuildWorld ? '--rebuild-world' : await reuseProblem(db, world);
  if (problem === null) {
    say(`world: reusing ${db} (${JSON.stringify(world)})`);
    return 'reused';
  }
  say(`world: building ${db} with world.ts (${problem})`);
  const args = ['--db', db, '--people', world.people, '--friends', world.friends, '--posts', world.posts, '--seed', world.seed, '--celebrity', world.celebrity];
  const child = spawnNodeScript('./world.ts', [...args.map(String), '--late-friends', String(world.lateFriends), '--feed-limit', String(world.feedLimit), '--views', 'sql', '--tail', String(options.tail)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  onLines(child.stdout!, (line) => process.stdout.write(`${line}\n`)); // world.ts's own progress lines
  const code = await exited(child);
  if (code !== 0) throw new Error(`world.ts failed (exit code ${code})`);
  return 'built';
}

/** A fresh copy of the world for this run, named <world>_run. */
export async function createRunCopy(world: string): Promise<string> {
  const run = `${world}_run`;
  const sql = admin();
  try {
    await sql.unsafe(`drop database if exists ${run} with (force)`);
    await sql.unsafe(`create database ${run} template ${world}`);
  } finally {
    await sql.end();
  }
  return run;
}

export async function dropDatabase(name: string): Promise<void> {
  const sql = admin();
  try {
    await sql.unsafe(`drop database if exists ${name} with (force)`);
  } finally {
    await sql.end();
  }
}
