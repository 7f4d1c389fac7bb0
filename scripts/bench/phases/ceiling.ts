/*
 * (4) The write ceiling: what this PostgreSQL commits at most in the shape of a command, with no
 * server in between. pgbench's shape, driven by postgres.js from the bench: 16 clients, each
 * transaction inserting one narrow row and one event-like row (the columns of write.events, its
 * (tx_id, seq) index, and the data and metadata of a real event of typical size from the world's
 * log) into scratch tables, committed with the server's own settings, for a fixed time after a
 * warm-up. Reports transactions per second, p50/p99 and PostgreSQL's CPU per transaction; the
 * commands are later put against it.
 */
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { dbUrl } from '../common.ts';
import type { BenchContext, Phase } from '../context.ts';
import { cpuSpent, sampleCpu } from '../cpu.ts';
import { closedLoop } from '../loop.ts';

const SCHEMA = 'bench_ceiling';

export const ceiling: Phase = {
  name: 'ceiling',
  title: 'write ceiling (raw SQL, the shape of a command)',
  budgetSeconds: (o) => 2 * (o.warmup + o.seconds) + 60,
  async run(ctx: BenchContext) {
    const { sql, options } = ctx;
    await ctx.stopServer();
    // The event of median size among a sample of the log (data and metadata as stored).
    const sample = await sql<{ data: string; metadata: string; bytes: number }[]>`
      select data::text as data, metadata::text as metadata, pg_column_size(data) + pg_column_size(metadata) as bytes
      from write.events tablesample bernoulli (1) repeatable (42) order by 3`;
    const typical = sample[Math.floor(sample.length / 2)];
    if (!typical) throw new Error('the event log is empty');
    ctx.say(`payload: a real event of median size among ${sample.length} sampled, ${typical.bytes} bytes of jsonb`);
    await sql.unsafe(`
      drop schema if exists ${SCHEMA} cascade;
      create schema ${SCHEMA};
      create table ${SCHEMA}.rows (id uuid primary key, at timestamptz not null default now());
      create table ${SCHEMA}.events (
        seq bigint generated always as identity primary key, tx_id xid8 not null default pg_current_xact_id(),
        aggregate_id uuid not null, version int not null, type text not null, data jsonb not null, metadata jsonb not null,
        occurred_at timestamptz not null default now());
      create index on ${SCHEMA}.events (tx_id, seq);`);
    const clients = postgres(dbUrl(ctx.db), { max: options.ceilingClients, onnotice: () => {} });
    try {
      const transaction = () =>
        clients.begin(async (tx) => {
          const id = randomUUID();
          await tx`insert into bench_ceiling.rows (id) values (${id})`;
          await tx`insert into bench_ceiling.events (aggregate_id, version, type, data, metadata)
                   values (${id}, 1, 'PostPublished', ${typical.data}::jsonb, ${typical.metadata}::jsonb)`;
        });
      await closedLoop(options.ceilingClients, options.warmup, transaction);
      const before = await sampleCpu(sql, ctx.db);
      const r = await closedLoop(options.ceilingClients, options.seconds, transaction);
      const spent = cpuSpent(before, await sampleCpu(sql, ctx.db));
      if (r.errors) throw new Error(`${r.errors} transactions failed (first: ${r.firstError})`);
      const tps = r.ops / r.seconds;
      ctx.measured.ceilingTps = tps;
      ctx.say(`ceiling: ${tps.toFixed(0)} transactions/s at ${options.ceilingClients} clients, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms`);
      ctx.figure(`transactions/s (${options.ceilingClients} clients, 2 inserts each)`, tps, '/s');
      ctx.figure('p50', r.p50, 'ms');
      ctx.figure('p99', r.p99, 'ms');
      ctx.figure('PostgreSQL CPU per transaction', spent.postgres / Math.max(1, r.ops), 'ms');
      ctx.detail('payloadBytes', typical.bytes);
    } finally {
      await clients.end({ timeout: 5 });
      await sql.unsafe(`drop schema if exists ${SCHEMA} cascade`);
    }
  },
};
