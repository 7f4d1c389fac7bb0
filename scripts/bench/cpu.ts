/*
 * CPU accounting from /proc. Other work shares the machine, so rates alone mislead: the CPU time
 * each side spends per operation (the bench database's PostgreSQL backends, summed; a process such
 * as the Wall server) changes much less with what else runs. A sample reads utime + stime of each
 * pid; the difference of two samples is what was spent between them (a backend that exits between
 * the samples is not counted: sample while the connections are open).
 */
import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type postgres from 'postgres';

const TICKS = Number(execSync('getconf CLK_TCK').toString().trim()) || 100;

/** CPU milliseconds (user + system) process `pid` has used so far; 0 when it is gone. */
export function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS;
  } catch {
    return 0;
  }
}

export interface CpuSample {
  backends: Map<number, number>;
  processes: Map<string, number>;
}

/**
 * The CPU used so far by every backend connected to `database` (but the monitor's own) and by
 * each named process.
 */
export async function sampleCpu(monitor: postgres.Sql, database: string, processes: Record<string, number | undefined> = {}): Promise<CpuSample> {
  const pids = await monitor<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${database} and pid <> pg_backend_pid()`;
  return {
    backends: new Map(pids.map(({ pid }) => [pid, cpuMsOf(pid)])),
    processes: new Map(Object.entries(processes).map(([name, pid]) => [name, pid ? cpuMsOf(pid) : 0])),
  };
}

/** CPU milliseconds spent between two samples: by the PostgreSQL backends, and by each process. */
export function cpuSpent(before: CpuSample, after: CpuSample): { postgres: number; processes: Record<string, number> } {
  let postgresMs = 0;
  for (const [pid, ms] of after.backends) postgresMs += ms - (before.backends.get(pid) ?? 0);
  const processes: Record<string, number> = {};
  for (const [name, ms] of after.processes) processes[name] = ms - (before.processes.get(name) ?? 0);
  return { postgres: postgresMs, processes };
}
