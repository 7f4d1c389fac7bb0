/*
 * The conditions a run's figures were taken in: the machine (cores, CPU model, load average, memory),
 * Node, PostgreSQL's version and the settings that move the figures, and the source's commit.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import type postgres from 'postgres';
import { sourceVersion } from './common.ts';

const SETTINGS = [
  'server_version',
  'shared_buffers',
  'work_mem',
  'effective_cache_size',
  'max_connections',
  'synchronous_commit',
  'fsync',
  'wal_level',
  'max_wal_size',
  'checkpoint_timeout',
  'autovacuum',
  'jit',
];

export interface Machine {
  cores: number;
  cpu: string;
  memoryGB: number;
  loadBefore: number[];
  loadAfter?: number[];
  node: string;
  postgres: Record<string, string>;
  source: string;
}

export async function machine(sql: postgres.Sql): Promise<Machine> {
  const rows = await sql<{ name: string; setting: string }[]>`select name, current_setting(name) as setting from pg_settings where name in ${sql(SETTINGS)}`;
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGB: Math.round(totalmem() / 2 ** 30),
    loadBefore: loadavg(),
    node: process.version,
    postgres: Object.fromEntries(rows.map((r) => [r.name, r.setting])),
    source: sourceVersion(),
  };
}

export const loadText = (load: number[]) => load.map((l) => l.toFixed(2)).join(' ');

export function describe(m: Machine): string {
  const s = m.postgres;
  return (
    `machine: ${m.cores} cores (${m.cpu}), ${m.memoryGB} GB, load average ${loadText(m.loadBefore)}; Node ${m.node}; ` +
    `PostgreSQL ${s['server_version']} (shared_buffers ${s['shared_buffers']}, work_mem ${s['work_mem']}, synchronous_commit ${s['synchronous_commit']}, ` +
    `fsync ${s['fsync']}, autovacuum ${s['autovacuum']}, jit ${s['jit']}); source ${m.source}`
  );
}
