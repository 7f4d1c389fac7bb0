/*
 * `npm run seed [-- --people N --seed N --concurrency N]`: creates a demo world through the command
 * bus, on the database the server uses (DATABASE_URL, or the embedded one in DATA_DIR), waits until
 * the views show all of it, and prints the demo account with a token for it.
 *
 * On the embedded database, stop the server first: a data folder belongs to one process.
 */
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { appOptionsFrom, createApp, type App } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { DatabaseUnreachableError } from '../src/db/connect.ts';
import { createLogger } from '../src/logger.ts';
import { DEFAULT_CONCURRENCY, DEFAULT_PEOPLE, DEFAULT_SEED, SeedAbortedError, seedWorld, WorldAlreadySeededError, type SeedPhase } from '../src/seed/world.ts';
import { countEventsAfter, EventLogFromAnotherClusterError } from '../src/write/event-log.ts';
import { resolveTokenSecret } from '../src/write/identity/tokens.ts';

const USAGE = `usage: npm run seed -- [--people N] [--seed N] [--concurrency N]
  --people N       people in the world, the demo account included (default ${DEFAULT_PEOPLE}, at least 2)
  --seed N         the random seed: the same seed gives the same world (default ${DEFAULT_SEED})
  --concurrency N  commands in flight at once (default ${DEFAULT_CONCURRENCY})
The database is the server's: DATABASE_URL, or the embedded one in DATA_DIR (default .data).`;

/** A mistake in the command line: reported in one line with the usage. */
class UsageError extends Error {}

/** The views stopped moving for this long while behind: something is wrong with the projector. */
const VIEWS_STALL_MS = 60_000;

function readArgs() {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        people: { type: 'string' },
        seed: { type: 'string' },
        concurrency: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const whole = (name: string, fallback: number, min: number) => {
    const raw = values[name];
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (typeof raw !== 'string' || !/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min) {
      throw new UsageError(`--${name} must be a whole number of at least ${min}, not "${String(raw)}"`);
    }
    return n;
  };
  return {
    help: values['help'] === true,
    people: whole('people', DEFAULT_PEOPLE, 2),
    seed: whole('seed', DEFAULT_SEED, 0),
    concurrency: whole('concurrency', DEFAULT_CONCURRENCY, 1),
  };
}

/** A bar on a terminal; elsewhere (CI, pipes) a plain line every few seconds and at each phase. */
function progressReporter() {
  if (process.stdout.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: 'seed |{bar}| {percentage}% {value}/{total} {unit} | {phase} | {duration}s', hideCursor: true, clearOnComplete: true },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    let unit = '';
    return {
      update(done: number, total: number, phase: string, what: string) {
        if (!started || what !== unit) {
          if (started) bar.stop();
          bar.start(total, done, { phase, unit: what });
          started = true;
          unit = what;
        }
        bar.setTotal(total);
        bar.update(done, { phase, unit: what });
      },
      stop() {
        if (started) bar.stop();
        started = false;
      },
    };
  }
  let lastLine = 0;
  let lastPhase = '';
  return {
    update(done: number, total: number, phase: string, what: string) {
      const now = Date.now();
      if (phase === lastPhase && now - lastLine < 2000 && done < total) return;
      lastLine = now;
      lastPhase = phase;
      const percent = total > 0 ? Math.floor((done / total) * 100) : 100;
      process.stdout.write(`seed: ${phase}, ${fmt(done)}/${fmt(total)} ${what} (${percent}%)\n`);
    },
    stop() {},
  };
}

/** Waits until the views have applied `position`, showing how many events are left. */
async function waitForViews(app: App, position: bigint, progress: ReturnType<typeof progressReporter>) {
  let applied = await app.projection.applied();
  const first = applied >= position ? 0 : await countEventsAfter(app.database.db, applied);
  let lastMove = Date.now();
  while (applied < position) {
    const pending = await countEventsAfter(app.database.db, applied);
    progress.update(Math.max(0, first - pending), first, 'views', 'events');
    await app.projection.waitFor(position, 500);
    const now = await app.projection.applied();
    if (now > applied) lastMove = Date.now();
    else if (Date.now() - lastMove > VIEWS_STALL_MS) {
      throw new Error(`the views have not moved from position ${now} for ${VIEWS_STALL_MS / 1000} s (the world is written; start the server or \`npm run projector\` to apply it)`);
    }
    applied = now;
  }
  if (first > 0) progress.update(first, first, 'views', 'events');
  progress.stop();
}

async function main(): Promise<number> {
  const args = readArgs();
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const config = loadConfig();
  // Every command logs a line at info: keep the terminal for the progress unless LOG_LEVEL asks.
  const log = createLogger(process.env['LOG_LEVEL'] ? config.logLevel : 'warn');
  const embedded = !config.databaseUrl;
  // The server's own secret (TOKEN_SECRET, or the one kept in DATA_DIR), so the token works with `npm start`.
  const { secret } = await resolveTokenSecret(config.tokenSecret, embedded ? config.dataDir : null);
  const app = await createApp({ ...appOptionsFrom(config), tokenSecret: secret, log, projector: true });
  const aborter = new AbortController();
  let interrupted = 0;
  const interrupt = () => {
    // tsx relays a signal to this process again when it did not see it arrive quickly: a repeat
    // within a second is that echo, not a second Ctrl-C.
    if (aborter.signal.aborted) {
      if (Date.now() - interrupted > 1000) process.exit(130);
      return;
    }
    interrupted = Date.now();
    process.stderr.write('\nseed: stopping after the commands in flight (Ctrl-C again to quit at once)\n');
    aborter.abort();
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);

  const progress = progressReporter();
  try {
    app.start();
    const started = performance.now();
    const result = await seedWorld(app, {
      people: args.people,
      seed: args.seed,
      concurrency: args.concurrency,
      signal: aborter.signal,
      onProgress: (done, total, phase: SeedPhase) => progress.update(done, total, phase, 'commands'),
    });
    progress.stop();
    await waitForViews(app, BigInt(result.position), progress);
    const seconds = (performance.now() - started) / 1000;

    const { counts, demo } = result;
    const skipped = Object.entries(result.skippedBy).map(([why, n]) => `${n} ${why}`);
    process.stdout.write(
      `seed: done: ${fmt(counts.people)} people, ${fmt(counts.friendships)} friendships, ${fmt(counts.posts)} posts, ` +
        `${fmt(counts.comments)} comments, ${fmt(counts.likes)} likes in ${seconds.toFixed(1)} s ` +
        `(seed ${result.seed}, ${fmt(counts.commands)} commands, ${skipped.length ? `skipped: ${skipped.join(', ')}` : 'none skipped'})\n`,
    );
    process.stdout.write(`demo: handle ${demo.handle}, password "${demo.password}", token ${demo.token}\n`);
    process.stdout.write(`      (every seeded person's password is "${demo.password}"; send the token as Authorization: Bearer <token>)\n`);
    if (!embedded && !config.tokenSecret) {
      process.stdout.write(
        'seed: TOKEN_SECRET is not set, so this token is signed with a key made for this run and a server will not accept it: ' +
          'sign in with the handle and password instead, or set the same TOKEN_SECRET for the server and the seed.\n',
      );
    }
    return 0;
  } finally {
    progress.stop();
    await app.stop();
  }
}

const fmt = (n: number) => n.toLocaleString('en-US');

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`seed: ${error.message}\n${USAGE}\n`);
      process.exit(2);
    }
    if (
      error instanceof WorldAlreadySeededError ||
      error instanceof SeedAbortedError ||
      error instanceof DatabaseUnreachableError ||
      error instanceof EventLogFromAnotherClusterError ||
      (error instanceof Error && (error.message.startsWith('Invalid configuration') || error.message.startsWith('the views have not moved')))
    ) {
      process.stderr.write(`seed: ${error.message}\n`);
    } else {
      process.stderr.write(`seed: failed: ${(error as Error)?.stack ?? String(error)}\n`);
    }
    process.exit(1);
  },
);
