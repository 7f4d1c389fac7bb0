/*
 * subscribers.ts as a child process, for the fan-out and live phases: starts it with a plan,
 * waits until its connections are up and the server has registered every subscription, then
 * tells it to publish and collects what it reports.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';
import type { BenchServer } from './processes.ts';
import { exited, onLines, spawnNodeScript, stopChild } from './processes.ts';
import type { Done, Plan, Ready, Receipt } from './subscribers.ts';

/** Sockets beyond the subscribers' that a process may hold (PostgreSQL, HTTP, files). */
const SPARE_FILES = 1000;

export class SubscribersProcess {
  private readonly receiptListeners: ((receipt: Receipt) => void)[] = [];
  private done: ((done: Done) => void) | null = null;

  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly ready: Ready,
  ) {}

  /** Needed by the server too, which holds the other end of each connection. */
  static openFiles(subscribers: number): number {
    return subscribers + SPARE_FILES;
  }

  /**
   * Starts the subscribers and resolves once all of them are connected and `server` has
   * registered as many live subscriptions (at most `timeoutMs`).
   */
  static async start(plan: Plan, server: BenchServer, timeoutMs: number, signal: AbortSignal): Promise<SubscribersProcess> {
    const dir = mkdtempSync(join(tmpdir(), 'wall-bench-subscribers-'));
    const file = join(dir, 'plan.json');
    writeFileSync(file, JSON.stringify(plan));
    const child = spawnNodeScript('./subscribers.ts', [file], { stdio: ['pipe', 'pipe', 'inherit'], openFiles: SubscribersProcess.openFiles(plan.subscribers.length), signal });
    let started: SubscribersProcess | null = null;
    const ready = await new Promise<Ready>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the subscribers did not connect within ${timeoutMs / 1000} s`)), timeoutMs);
      void exited(child).then((code) => reject(new Error(`the subscribers exited with ${code}`)));
      onLines(child.stdout!, (line) => {
        if (!line.startsWith('{')) return void process.stdout.write(`subscribers: ${line}\n`);
        const message = JSON.parse(line) as Ready | Receipt | Done;
        if (message.type === 'ready') {
          clearTimeout(timer);
          resolve(message);
        } else if (message.type === 'receipt') for (const listener of started?.receiptListeners ?? []) listener(message);
        else started?.done?.(message);
      });
    }).catch(async (error: unknown) => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
      throw error;
    });
    started = new SubscribersProcess(child, dir, ready);
    if (ready.failed > 0) {
      await started.stop();
      throw new Error(`${ready.failed} of ${plan.subscribers.length} subscribers could not connect (first: ${ready.firstError})`);
    }
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      signal.throwIfAborted();
      const { subscribers } = await server.stats();
      if (subscribers >= plan.subscribers.length) break;
      if (performance.now() > deadline) {
        await started.stop();
        throw new Error(`the server registered ${subscribers} of ${plan.subscribers.length} subscriptions within ${timeoutMs / 1000} s`);
      }
      await sleep(100);
    }
    return started;
  }

  onReceipt(listener: (receipt: Receipt) => void): void {
    this.receiptListeners.push(listener);
  }

  /** Publishes the plan's posts; resolves with the subscribers' report. */
  go(): Promise<Done> {
    return new Promise((resolve, reject) => {
      this.done = resolve;
      void exited(this.child).then((code) => reject(new Error(`the subscribers exited with ${code} before they reported`)));
      this.child.stdin!.write('go\n');
    });
  }

  /** Closes its stdin: it disconnects and exits (killed if it does not). */
  async stop(): Promise<void> {
    this.child.stdin!.end();
    await Promise.race([exited(this.child), sleep(10_000)]);
    await stopChild(this.child);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
