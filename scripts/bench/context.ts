/*
 * What every phase of npm run bench works with: the run's database and a connection to it, the
 * options, the planner, the figures it reports, and the one Wall server that runs at a time (a
 * child process, started again when a phase needs it with or without the projector).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type postgres from 'postgres';
import { cpuSpent, sampleCpu } from './cpu.ts';
import type { BenchOptions, PhaseName } from './options.ts';
import type { Planner } from './plans.ts';
import { readPositions, waitForViews } from './positions.ts';
import { BenchServer, type ServerOptions } from './processes.ts';
import { runWrk, type WrkOptions, type WrkResult } from './wrk.ts';

export interface Figure {
  phase: PhaseName;
  what: string;
  value: number | null;
  unit: string;
}

export interface World {
  people: number;
  events: number;
  /** world.ts --celebrity: the person with thousands of friends (fan-out), if the world has one. */
  celebrityId: string | null;
  celebrityFriends: string[];
}

export class BenchContext {
  readonly figures: Figure[] = [];
  /** Per phase: what else is worth keeping in the JSON (raw results, server log summaries). */
  readonly details: Partial<Record<PhaseName, Record<string, unknown>>> = {};
  /** Figures later phases build on (the ceiling, each command's rate). */
  readonly measured: { ceilingTps?: number; commandRates: Partial<Record<string, number>> } = { commandRates: {} };
  phase: PhaseName = 'ceiling';
  signal: AbortSignal = new AbortController().signal;
  private current: BenchServer | null = null;

  constructor(
    readonly db: string,
    readonly sql: postgres.Sql,
    readonly options: BenchOptions,
    readonly world: World,
    readonly planner: Planner,
    readonly say: (line: string) => void,
  ) {}

  figure(what: string, value: number | null, unit: string): void {
    this.figures.push({ phase: this.phase, what, value: value === null || Number.isFinite(value) ? value : null, unit });
  }

  detail(key: string, value: unknown): void {
    (this.details[this.phase] ??= {})[key] = value;
  }

  /**
   * The running server if it has this configuration, else a new one (the old one stopped first:
   * one server at a time, so the CPU figures are one process's). `fresh` always starts a new one.
   */
  async server(options: Omit<ServerOptions, 'db' | 'pool'>, fresh = false): Promise<BenchServer> {
    this.signal.throwIfAborted(); // a phase past its deadline starts nothing more
    const c = this.current;
    const same = c?.running && c.options.projector === options.projector && !fresh && !options.nodeArgs && !options.openFiles && !c.options.nodeArgs && !c.options.openFiles;
    if (same) return c;
    await this.stopServer();
    const started = performance.now();
    this.current = await BenchServer.start({ ...options, db: this.db, pool: this.options.pool });
    this.say(`server: pid ${this.current.pid}, port ${this.current.port}, projector ${options.projector ? 'in the process (ROLE=all)' : 'off (ROLE=api)'}, started in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return this.current;
  }

  /**
   * Stops the server, once the commands it still runs are done (the log's head stays put for
   * 300 ms; at most 10 s): a load generator that stops closes its connections with commands in
   * flight, and the server's shutdown does not wait for a request whose client went away.
   */
  async stopServer(): Promise<void> {
    const server = this.current;
    if (!server) return;
    this.current = null;
    const until = performance.now() + 10_000;
    let head = await headOf(this.sql);
    let since = performance.now();
    while (performance.now() - since < 300 && performance.now() < until) {
      await sleep(50);
      const now = await headOf(this.sql);
      if (now !== head) {
        head = now;
        since = performance.now();
      }
    }
    await server.stop();
    const logs = server.logSummary();
    if (logs.length) {
      this.say(`server log (warnings and errors): ${logs.slice(0, 5).join('; ')}`);
      this.detail(`serverLog:${server.pid}`, logs);
    }
  }

  /** With a projector running (the server's, or a new server's), waits until the views have applied the whole log. */
  async settle(why: string): Promise<number> {
    if (!(this.current?.running && this.current.options.projector)) await this.server({ projector: true });
    const ms = await waitForViews(this.sql, this.options.settleSeconds * 1000, this.signal);
    if (ms > 50) this.say(`views caught up with the log ${why} in ${(ms / 1000).toFixed(1)} s`);
    return ms;
  }

  /**
   * wrk against `server`, with the CPU the server process and the database's backends spent per
   * good answer, from the start of the load until `until` resolves after it (default: at once;
   * the commands pass the views catching up, so a command's CPU includes its projection).
   */
  async httpLoad(server: BenchServer, wrk: Omit<WrkOptions, 'port' | 'signal'>, until?: () => Promise<unknown>): Promise<HttpLoad> {
    const before = await sampleCpu(this.sql, this.db, { server: server.pid });
    const result = await runWrk({ ...wrk, port: server.port, signal: this.signal });
    if (until) await until();
    const spent = cpuSpent(before, await sampleCpu(this.sql, this.db, { server: server.pid }));
    const ops = Math.max(1, result.good);
    return { ...result, rate: result.good / result.seconds, serverCpu: spent.processes['server']! / ops, postgresCpu: spent.postgres / ops };
  }
}

const headOf = async (sql: postgres.Sql) => (await readPositions(sql)).head;

export interface HttpLoad extends WrkResult {
  /** Good answers per second. */
  rate: number;
  /** CPU ms per good answer. */
  serverCpu: number;
  postgresCpu: number;
}

/** A phase of npm run bench: what it measures is said at the top of its module. */
export interface Phase {
  name: PhaseName;
  title: string;
  /** Its deadline: the phase is aborted (its children killed) when it runs longer. */
  budgetSeconds(options: BenchOptions): number;
  run(ctx: BenchContext): Promise<void>;
}
