/*
 * The Wall server for the read benchmark: createApp() against the bench database, projector on,
 * listening on 127.0.0.1, signing tokens with the bench secret. read.ts starts it as a child
 * process (so the load generator and the server are separate processes) and stops it with SIGTERM.
 *
 *   node --import tsx scripts/bench/server.ts --db wall_bench --port 4100 [--pool N (default: the app's DEFAULT_POOL_SIZE)]
 */
import { createApp } from '../../src/app.ts';
import { createLogger } from '../../src/logger.ts';
import { BENCH_TOKEN_SECRET, benchDbName, dbUrl, numberArg, parseArgs } from './common.ts';

const args = parseArgs();
const app = await createApp({
  databaseUrl: dbUrl(benchDbName(args)),
  tokenSecret: BENCH_TOKEN_SECRET,
  log: createLogger(args.get('log-level') ?? 'warn'),
  limits: { maxFriends: 5000 },
  projector: true,
  poolSize: args.has('pool') ? numberArg(args, 'pool', 0) : undefined,
});
const address = await app.listen(numberArg(args, 'port', 4100), '127.0.0.1');
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
// Never outlive the benchmark: stop if the parent goes away (stdin closes) or after a bound.
process.stdin.on('end', () => void stop());
process.stdin.resume();
setTimeout(() => void stop(), numberArg(args, 'max-seconds', 1800) * 1000).unref();
