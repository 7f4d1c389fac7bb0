/*
 * The benchmarks' child processes: the Wall server (server.ts), the live subscribers
 * (subscribers.ts) and wrk. Each child leads a process group of its own (wrk runs under bash), and
 * every group is killed when this process exits, however it exits; one started with a signal is
 * killed when the signal aborts (a phase's deadline). The server and the subscribers also stop by
 * themselves when their stdin closes (this process died).
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { ROOT } from './common.ts';

const children = new Set<ChildProcess>();
/** When each child has exited and its output streams are closed (its last lines read). */
const closed = new WeakMap<ChildProcess, Promise<number | null>>();
process.on('exit', () => {
  for (const child of children) signalGroup(child, 'SIGKILL');
});

/**
 * Sends `signal` to the child's whole process group (bash and what it runs). The group outlives
 * its leader while a member lives, and its id is not given to another process meanwhile.
 */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (!child.pid) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

export interface ChildOptions extends Omit<SpawnOptions, 'signal' | 'detached'> {
  /** Open files it may hold (sockets: a subscriber holds one): raised with bash's ulimit -n first. */
  openFiles?: number;
  /** Kills the child's group when it aborts. */
  signal?: AbortSignal;
}

/**
 * Spawns a child in a process group of its own, killed when this process exits or `signal`
 * aborts. With `openFiles`, through bash, which raises the open-file limit to that many and then
 * runs the command in its own place (exec: the pid is the command's).
 */
export function spawnChild(command: string, args: string[], options: ChildOptions = {}): ChildProcess {
  const { openFiles, signal, ...spawnOptions } = options;
  signal?.throwIfAborted();
  const raise = 'ulimit -n "$0" 2>/dev/null || echo "could not raise the open-file limit to $0 (hard limit $(ulimit -Hn)): run as root or raise it" >&2; exec "$@"';
  const child = openFiles
    ? spawn('bash', ['-c', raise, String(openFiles), command, ...args], { ...spawnOptions, detached: true })
    : spawn(command, args, { ...spawnOptions, detached: true });
  children.add(child);
  child.on('error', (error) => process.stderr.write(`${command}: ${error.message}\n`));
  closed.set(child, new Promise((resolve) => child.once('close', (code) => resolve(code))));
  const abort = () => signalGroup(child, 'SIGKILL');
  signal?.addEventListener('abort', abort, { once: true });
  child.once('exit', () => {
    children.delete(child);
    signal?.removeEventListener('abort', abort);
  });
  return child;
}

/** Calls `listener` with each line of `stream`. */
export function onLines(stream: Readable, listener: (line: string) => void): void {
  createInterface({ input: stream }).on('line', listener);
}

/** Resolves with the exit code of a child of spawnChild once it has exited and its output is read. */
export function exited(child: ChildProcess): Promise<number | null> {
  return closed.get(child)!;
}

/** SIGTERM, then SIGKILL if the child has not exited after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited(child);
  clearTimeout(timer);
}

/** node with tsx, from the repository's root (where node_modules/tsx is). */
export function spawnNodeScript(script: string, args: string[], options: ChildOptions & { nodeArgs?: string[] } = {}): ChildProcess {
  const { nodeArgs = [], ...rest } = options;
  return spawnChild(process.execPath, [...nodeArgs, '--import', 'tsx', new URL(script, import.meta.url).pathname, ...args], { cwd: ROOT, ...rest });
}

export interface ServerOptions {
  db: string;
  /** The projector in the process (ROLE=all), or not (ROLE=api). */
  projector: boolean;
  /** DB_POOL; default the app's. */
  pool?: number | undefined;
  /** More node options (--cpu-prof, --expose-gc, ...). */
  nodeArgs?: string[];
  /** Sockets it must be able to hold (see spawnChild). */
  openFiles?: number;
}

export interface ServerStats {
  rss: number;
  heapUsed: number;
  subscribers: number;
}

/**
 * A Wall server (server.ts) as a child process, on a free port. Its log lines (pino JSON, level
 * warn and above) are counted by message, so a run can say what the server complained of.
 */
export class BenchServer {
  readonly logs = new Map<string, number>();
  private readonly statsWaiters: ((stats: ServerStats) => void)[] = [];

  private constructor(
    readonly child: ChildProcess,
    readonly options: ServerOptions,
    readonly port: number,
  ) {}

  get pid(): number {
    return this.child.pid!;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/graphql`;
  }

  static async start(options: ServerOptions): Promise<BenchServer> {
    const args = ['--db', options.db, '--port', '0', '--projector', String(options.projector), ...(options.pool ? ['--pool', String(options.pool)] : [])];
    const child = spawnNodeScript('./server.ts', args, {
      stdio: ['pipe', 'pipe', 'inherit'],
      ...(options.nodeArgs ? { nodeArgs: options.nodeArgs } : {}),
      ...(options.openFiles ? { openFiles: options.openFiles } : {}),
    });
    return new Promise<BenchServer>((resolve, reject) => {
      let server: BenchServer | null = null;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error('the server did not start within 60 s'));
      }, 60_000);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (!server) reject(new Error(`the server exited with ${signal ?? `code ${code}`} before it listened`));
      });
      onLines(child.stdout!, (line) => {
        const listening = /^listening \S+:(\d+) pid \d+$/.exec(line);
        if (listening && !server) {
          clearTimeout(timer);
          server = new BenchServer(child, options, Number(listening[1]));
          resolve(server);
        } else if (line.startsWith('stats ')) {
          server?.statsWaiters.shift()?.(JSON.parse(line.slice(6)) as ServerStats);
        } else if (server) {
          server.logged(line);
        }
      });
    });
  }

  /** The server's memory and live subscribers; after a full GC (`memory`) if it runs with --expose-gc. */
  stats(command: 'stats' | 'memory' = 'stats'): Promise<ServerStats> {
    return new Promise((resolve, reject) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return reject(new Error('the server has exited'));
      this.statsWaiters.push(resolve);
      this.child.stdin!.write(`${command}\n`);
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  stop(): Promise<void> {
    return stopChild(this.child);
  }

  /** What the server logged, "count × message", most frequent first. */
  logSummary(): string[] {
    return [...this.logs].sort((a, b) => b[1] - a[1]).map(([msg, n]) => `${n} × ${msg}`);
  }

  private logged(line: string) {
    let msg = line;
    try {
      const entry = JSON.parse(line) as { msg?: string; level?: number; err?: { message?: string } };
      msg = `${entry.msg ?? '?'}${entry.err?.message ? `: ${entry.err.message}` : ''}`;
    } catch {
      // not a log line: counted as it is
    }
    this.logs.set(msg, (this.logs.get(msg) ?? 0) + 1);
  }
}
