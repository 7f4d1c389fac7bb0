import { spawn, type ChildProcess } from 'node:child_process';
import type { GraphQLResponse, Receipt } from './app.ts';
import { mutationFor } from './app.ts';

const root = new URL('../../', import.meta.url).pathname;

/** The entry points a person runs: `npm start` and `npm run projector`. */
export const SCRIPTS = {
  server: `${root}src/main.ts`,
  projector: `${root}src/projector/main.ts`,
} as const;

/** One secret for every process of a test, so a token issued by one is accepted by the others. */
export const PROCESS_TOKEN_SECRET = 'process-test-secret-process-test-secret';

/** Settings of the test runner's environment that must not leak into a child unless a test sets them. */
const WALL_SETTINGS = ['PORT', 'HOST', 'DATABASE_URL', 'READ_DATABASE_URL', 'ROLE', 'DATA_DIR', 'TOKEN_SECRET', 'LOG_LEVEL', 'FEED_LIMIT', 'MAX_FRIENDS'];

const running = new Set<WallProcess>();
let exitHook = false;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A real child process, run as `npm start` and `npm run projector` run it (`node --import tsx`:
 * one process, which gets signals itself), in a process group of its own so that it can be
 * signalled and killed as a whole. Its stdout and stderr are kept, to wait for lines and to show
 * when something fails.
 */
export class WallProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  exit: Exit | null = null;
  private out = '';
  private waiters = new Set<() => void>();

  constructor(
    readonly name: string,
    script: string,
    env: Record<string, string | undefined>,
  ) {
    const childEnv: NodeJS.ProcessEnv = { ...process.env };
    for (const key of WALL_SETTINGS) delete childEnv[key];
    for (const [key, value] of Object.entries({ LOG_LEVEL: 'info', TOKEN_SECRET: PROCESS_TOKEN_SECRET, ...env })) {
      if (value !== undefined) childEnv[key] = value;
    }
    this.child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: root, env: childEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (chunk: Buffer) => {
      this.out += chunk.toString('utf8');
      this.notify();
    };
    this.child.stdout!.on('data', collect);
    this.child.stderr!.on('data', collect);
    this.exited = new Promise<Exit>((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        running.delete(this);
        this.notify();
        resolve(this.exit);
      });
      this.child.once('error', (error) => {
        this.out += `\n[spawn error] ${error.message}\n`;
        this.exit = { code: null, signal: null };
        running.delete(this);
        this.notify();
        resolve(this.exit);
      });
    });
    running.add(this);
    if (!exitHook) {
      exitHook = true;
      // A test runner that dies (or a suite that forgets) must not leave servers behind.
      process.once('exit', () => {
        for (const p of running) p.kill();
      });
    }
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Everything the process wrote so far (stdout and stderr interleaved). */
  get output(): string {
    return this.out;
  }

  /** The last lines written, for failure messages. */
  tail(lines = 30): string {
    return `--- ${this.name} (pid ${this.child.pid}) ---\n${this.out.split('\n').slice(-lines).join('\n')}`;
  }

  /** Waits until the output after `from` (a length of `output`) matches; fails if the process exits first. */
  async waitFor(pattern: RegExp, { timeoutMs = 60_000, from = 0 } = {}): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(this.out.slice(from));
      if (match) return match;
      if (this.exit) throw new Error(`${this.name} exited (${JSON.stringify(this.exit)}) before printing ${pattern}\n${this.tail()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name} did not print ${pattern} within ${timeoutMs} ms\n${this.tail()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        const waiter = () => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve();
        };
        this.waiters.add(waiter);
      });
    }
  }

  /** How many times `pattern` occurs in the output after `from`. */
  count(pattern: RegExp, from = 0): number {
    const global = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`);
    return [...this.out.slice(from).matchAll(global)].length;
  }

  /** Sends a signal to the whole group, as a terminal or systemd would. */
  signal(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }

  /** SIGKILL to the whole group; harmless when it is gone already. */
  kill(): void {
    if (this.child.pid === undefined) return;
    this.signal('SIGKILL');
  }

  private notify() {
    for (const waiter of [...this.waiters]) waiter();
  }
}

export interface WallServer extends WallProcess {
  port: number;
  /** http://127.0.0.1:PORT/graphql */
  http: string;
  /** ws://127.0.0.1:PORT/graphql */
  ws: string;
}

/**
 * Starts src/main.ts on a port the system picks (PORT=0) and resolves once it prints
 * "Wall is running. GraphiQL: <url>", with the URL it printed.
 */
export async function startServer(name: string, env: Record<string, string | undefined>, timeoutMs = 120_000): Promise<WallServer> {
  const p = new WallProcess(name, SCRIPTS.server, { PORT: '0', HOST: '127.0.0.1', ...env });
  const [, url] = await p.waitFor(/Wall is running\. GraphiQL: (http:\/\/\S+)/, { timeoutMs });
  const parsed = new URL(url!);
  return Object.assign(p, { port: Number(parsed.port), http: parsed.toString(), ws: parsed.toString().replace(/^http/, 'ws') });
}

/** Starts src/projector/main.ts and resolves once it says it started. */
export async function startProjector(name: string, env: Record<string, string | undefined>, timeoutMs = 120_000): Promise<WallProcess> {
  const p = new WallProcess(name, SCRIPTS.projector, env);
  await p.waitFor(/projector started/, { timeoutMs });
  return p;
}

/** SIGKILLs every process group these helpers started that is still running, and waits for them. */
export async function killAll(): Promise<void> {
  const all = [...running];
  for (const p of all) p.kill();
  await Promise.all(all.map((p) => p.exited));
}

/** POSTs one GraphQL operation over real HTTP. */
export async function post<T = Record<string, any>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  { token, headers = {} }: { token?: string | undefined; headers?: Record<string, string> } = {},
): Promise<GraphQLResponse<T> & { status: number }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  let body: GraphQLResponse<T>;
  try {
    body = JSON.parse(text) as GraphQLResponse<T>;
  } catch {
    throw new Error(`${url} answered ${response.status} with non-JSON: ${text.slice(0, 500)}`);
  }
  return { status: response.status, ...body };
}

/** Runs a command mutation over HTTP and returns its receipt; throws with the errors otherwise. */
export async function command(url: string, field: string, input: Record<string, unknown>, token?: string): Promise<Receipt> {
  const result = await post<Record<string, Receipt>>(url, mutationFor(field), { input }, { token });
  const receipt = result.data?.[field];
  if (result.errors || !receipt) throw new Error(`${field} failed (${result.status}): ${JSON.stringify(result.errors ?? result)}`);
  return receipt;
}

export interface SignedIn {
  userId: string;
  handle: string;
  token: string;
}

export const PASSWORD = 'correct horse battery';

/** registerUser, then signIn (which waits for the new profile to reach the views), over HTTP. */
export async function registerAndSignIn(url: string, handle: string): Promise<SignedIn & { registered: Receipt }> {
  const registered = await command(url, 'registerUser', { handle, displayName: handle.replace(/_/g, ' '), password: PASSWORD });
  const session = await post<{ signIn: { token: string; user: { id: string } } }>(
    url,
    'mutation ($handle: String!, $password: String!) { signIn(handle: $handle, password: $password) { token user { id } } }',
    { handle, password: PASSWORD },
  );
  if (!session.data?.signIn) throw new Error(`signIn failed (${session.status}): ${JSON.stringify(session.errors)}`);
  return { userId: session.data.signIn.user.id, handle, token: session.data.signIn.token, registered };
}
