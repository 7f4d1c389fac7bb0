/*
 * The Wall server for the benchmarks: createApp() against a bench database, listening on
 * 127.0.0.1, signing tokens with the bench secret; with the projector in the process (as ROLE=all)
 * or without (--projector false, as ROLE=api). read.ts and bench.ts start it as a child process
 * (processes.ts), so the load generator and the server are separate processes, and stop it with
 * SIGTERM.
 *
 *   node --import tsx scripts/bench/server.ts --db wall_bench --port 4100 (0: any free port)
 *        [--projector thread|main|false] [--pool N (default: the app's DEFAULT_POOL_SIZE)] [--log-level warn]
 *
 * It prints "listening <address>:<port> pid <pid>" once it serves. Lines on stdin ask it about
 * itself: "stats" answers "stats {rss, heapUsed, subscribers}" (bytes; live subscribers in this
 * process), and "memory" the same after a full garbage collection when node runs with --expose-gc.
 */
import { createInterface } from 'node:readline';
import { createApp } from '../../src/app.ts';
import { createLogger } from '../../src/logger.ts';
import { ProjectorThread } from '../../src/projector/thread.ts';
import { BENCH_TOKEN_SECRET, benchDbName, dbUrl, numberArg, parseArgs } from './common.ts';

const args = parseArgs();
const app = await createApp({
  databaseUrl: dbUrl(benchDbName(args)),
  tokenSecret: BENCH_TOKEN_SECRET,
  log: createLogger(args.get('log-level') ?? 'warn'),
  logLevel: args.get('log-level') ?? 'warn',
  limits: { maxFriends: 5000 },
  // As ROLE=all runs it on PostgreSQL (a thread of its own), unless --projector main (this thread) or false.
  projector: args.get('projector') === 'false' ? false : args.get('projector') === 'main' ? true : 'thread',
  poolSize: args.has('pool') ? numberArg(args, 'pool', 0) : undefined,
});
const address = await app.listen(numberArg(args, 'port', 4100), '127.0.0.1');
// Measured from here on: a projector thread has loaded and opened its connections.
if (app.projector instanceof ProjectorThread) await app.projector.started;
process.stdout.write(`listening ${address.address}:${address.port} pid ${process.pid}\n`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await app.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());

const gc = (globalThis as { gc?: () => void }).gc;
const stats = () => {
  const { rss, heapUsed } = process.memoryUsage();
  process.stdout.write(`stats ${JSON.stringify({ rss, heapUsed, subscribers: app.live.size })}\n`);
};
// Never outlive the benchmark: stop if the parent goes away (stdin closes) or after a bound.
createInterface({ input: process.stdin })
  .on('line', (line) => {
    if (line === 'stats') stats();
    else if (line === 'memory') {
      // Twice: the first collection's finalizers free more for the second.
      gc?.();
      gc?.();
      stats();
    }
  })
  .on('close', () => void stop());
setTimeout(() => void stop(), numberArg(args, 'max-seconds', 1800) * 1000).unref();
