/*
 * wrk (Debian's package, /usr/bin/wrk) as the HTTP load generator, a process of its own: one
 * thread, N connections, for a fixed time, sending the requests of a plan with plan.lua (each
 * request its own person's token and body; every answer checked for GraphQL errors). Latencies are
 * wrk's own histogram; its CPU time comes from the shell's `times` (its children's user + system).
 *
 * wrk spends about a tenth of the CPU per request that node's http client does, and that CPU comes
 * out of the same cores as the server's and PostgreSQL's.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exited, onLines, signalGroup, spawnChild } from './processes.ts';

export const WRK = '/usr/bin/wrk';
export const hasWrk = () => existsSync(WRK);

/** One request of a plan: who sends it (a bearer token) and the JSON body of POST /graphql. */
export interface PlannedRequest {
  token: string;
  body: string;
}

export interface WrkOptions {
  port: number;
  connections: number;
  seconds: number;
  requests: readonly PlannedRequest[];
  /** A good answer holds this text (and no "errors"). */
  expect: string;
  /** Text counted in good answers (e.g. one per post of a page). */
  count?: string;
  /** Requests per second in all, open-loop (see plan.lua); unset: as fast as the connections go. */
  rate?: number;
  /** Stop after the plan's last request instead of starting it over (a backlog of exactly the plan). */
  once?: boolean;
  signal?: AbortSignal;
}

export interface WrkResult {
  requests: number;
  good: number;
  bad: number;
  counted: number;
  p50: number;
  p99: number;
  seconds: number;
  /** Times the plan was started over: a plan of commands that may run once each was too short. */
  wrapped: number;
  firstBad: string | null;
  /** wrk's CPU milliseconds. */
  cpuMs: number;
}

const REQUEST_TIMEOUT_S = 10;

export async function runWrk(options: WrkOptions): Promise<WrkResult> {
  if (!hasWrk()) throw new Error(`${WRK} is missing: apt-get install -y wrk`);
  if (options.requests.length === 0) throw new Error('wrk: an empty plan');
  const dir = mkdtempSync(join(tmpdir(), 'wall-bench-wrk-'));
  try {
    const planFile = join(dir, 'plan');
    writeFileSync(planFile, options.requests.map((r) => `${r.token}\t${r.body}\n`).join(''));
    const script = new URL('./plan.lua', import.meta.url).pathname;
    const seconds = Math.max(1, Math.round(options.seconds));
    const command = `${WRK} -t1 -c${options.connections} -d${seconds}s --timeout ${REQUEST_TIMEOUT_S}s -s ${script} http://127.0.0.1:${options.port}/graphql; times`;
    const child = spawnChild('bash', ['-c', command], {
      env: {
        ...process.env,
        WALL_PLAN: planFile,
        WALL_EXPECT: options.expect,
        WALL_COUNT: options.count ?? '',
        WALL_RATE: String(options.rate ?? 0),
        WALL_ONCE: options.once ? '1' : '',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
      ...(options.signal ? { signal: options.signal } : {}),
    });
    let out = '';
    onLines(child.stdout!, (line) => {
      out += line + '\n';
      // The plan is done (WALL_ONCE): wrk would sleep until -d is over; SIGINT ends it with its report.
      if (line === 'PLANDONE') signalGroup(child, 'SIGINT');
    });
    const code = await exited(child);
    options.signal?.throwIfAborted();
    if (code !== 0) throw new Error(`wrk exited with ${code}: ${out.slice(0, 500)}`);
    const m = /^PLAN (\d+) (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+) (\d+)$/m.exec(out);
    if (!m) throw new Error(`unexpected wrk output: ${out.slice(0, 500)}`);
    const [requests, bad, good, counted, p50, p99, elapsed, wrapped] = m.slice(1).map(Number) as [number, number, number, number, number, number, number, number];
    // `times` prints the shell's own times, then its children's: "0m1.234s 0m0.567s".
    const [user, system] = out
      .trim()
      .split('\n')
      .at(-1)!
      .split(' ')
      .map((t) => {
        const [min, sec] = t.replace(/s$/, '').split('m').map(Number) as [number, number];
        return (min * 60 + sec) * 1000;
      }) as [number, number];
    const firstBad = /^PLANFIRST (.+)$/m.exec(out)?.[1]?.trim() || null;
    return { requests, good, bad, counted, p50, p99, seconds: elapsed, wrapped, firstBad, cpuMs: user + system };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
