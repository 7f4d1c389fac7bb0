import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../logger.ts';
import { ProjectorSignals, type ProjectorHandle } from './projector.ts';

/** What the worker needs to open its own connections and projector (plain data: it is copied). */
export interface ProjectorThreadSettings {
  databaseUrl: string;
  readDatabaseUrl: string | undefined;
  poolSize: number | undefined;
  feedLimit: number | undefined;
  changeLogSize: number | undefined;
  lockName: string;
  logLevel: string;
}

export type ToProjector = { type: 'wake' } | { type: 'stop' } | { type: 'catch-up'; id: number };
export type FromProjector =
  | { type: 'started' }
  | { type: 'applied'; position: string }
  | { type: 'batch'; position: string; events: number; ms: number }
  | { type: 'caught-up'; id: number; applied: number; error?: string }
  | { type: 'stopped' };

/** How long after an unexpected exit the worker is started again. */
const RESTART_MS = 1000;

/**
 * The projector of a process that also serves the API, in a worker thread of its own (on
 * PostgreSQL; the embedded database has one connection, owned by the main thread). In the main
 * thread the projector's batches waited behind every request the event loop had queued: at the
 * server's own maximum command rate the views fell seconds behind. In its own thread it gets its
 * share of the CPU whatever the API's load, and the API thread spends none on it.
 */
export class ProjectorThread extends ProjectorSignals implements ProjectorHandle {
  private worker: Worker | null = null;
  private stopping = false;
  private restart: NodeJS.Timeout | null = null;
  private readonly waiting = new Map<number, { resolve: (n: number) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private stopped: (() => void) | null = null;
  private markStarted: () => void = () => {};
  /** Resolves once the worker has opened its connections and started its projector. */
  readonly started = new Promise<void>((resolve) => (this.markStarted = resolve));

  constructor(
    private readonly settings: ProjectorThreadSettings,
    private readonly log: Logger,
  ) {
    super();
  }

  start(): void {
    if (this.worker || this.stopping) return;
    // The worker loads TypeScript as the main thread does, through tsx's loader.
    const tsx = createRequire(import.meta.url).resolve('tsx');
    const worker = new Worker(new URL('./worker.ts', import.meta.url), { workerData: this.settings, execArgv: ['--import', tsx] });
    this.worker = worker;
    worker.on('message', (message: FromProjector) => this.receive(message));
    worker.on('error', (error) => this.log.error({ err: error }, 'the projector thread failed'));
    worker.on('exit', (code) => {
      this.worker = null;
      for (const { reject } of this.waiting.values()) reject(new Error('the projector thread exited'));
      this.waiting.clear();
      if (this.stopping) {
        this.stopped?.();
        return;
      }
      this.log.error({ code }, `the projector thread exited; starting it again in ${RESTART_MS} ms`);
      this.restart = setTimeout(() => {
        this.restart = null;
        this.start();
      }, RESTART_MS);
    });
  }

  wake(): void {
    this.post({ type: 'wake' });
  }

  /** Applies batches until none is left (in the worker); resolves with how many events it applied. */
  catchUp(): Promise<number> {
    const worker = this.worker;
    if (!worker) return Promise.reject(new Error('the projector thread is not running'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ type: 'catch-up', id } satisfies ToProjector);
    });
  }

  /** Stops the worker's projector after its batch, closes its connections and ends the thread. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restart) clearTimeout(this.restart);
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => (this.stopped = resolve));
    worker.postMessage({ type: 'stop' } satisfies ToProjector);
    // A worker that does not end by itself is ended.
    const timer = setTimeout(() => void worker.terminate(), 15_000);
    await exited;
    clearTimeout(timer);
  }

  private post(message: ToProjector) {
    this.worker?.postMessage(message);
  }

  private receive(message: FromProjector) {
    switch (message.type) {
      case 'applied':
        this.announceApplied(BigInt(message.position));
        return;
      case 'batch':
        this.announceBatch({ position: BigInt(message.position), events: message.events, ms: message.ms });
        return;
      case 'caught-up': {
        const waiter = this.waiting.get(message.id);
        this.waiting.delete(message.id);
        if (message.error) waiter?.reject(new Error(message.error));
        else waiter?.resolve(message.applied);
        return;
      }
      case 'stopped':
        void this.worker?.terminate();
        return;
      case 'started':
        this.markStarted();
        return;
    }
  }
}
