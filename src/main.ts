import { appOptionsFrom, createApp, projectorFor } from './app.ts';
import { loadConfig } from './config.ts';
import { DatabaseUnreachableError, redactUrl } from './db/connect.ts';
import { GRAPHQL_PATH } from './graphql/yoga.ts';
import { createLogger } from './logger.ts';
import { seedWorld, WorldAlreadySeededError } from './seed/world.ts';
import { EventLogFromAnotherClusterError } from './write/event-log.ts';
import { resolveTokenSecret } from './write/identity/tokens.ts';
import { runtimeProblem } from './runtime.ts';

async function main() {
  const unsupported = runtimeProblem();
  if (unsupported) {
    process.stderr.write(`wall: ${unsupported}\n`);
    process.exit(1);
  }
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const embedded = !config.databaseUrl;
  const { secret, source } = await resolveTokenSecret(config.tokenSecret, embedded ? config.dataDir : null);
  if (!config.tokenSecret && !embedded) {
    log.warn('TOKEN_SECRET is not set: tokens are signed with a key made for this process and stop working when it exits.');
  }
  const app = await createApp({
    ...appOptionsFrom(config),
    tokenSecret: secret,
    log,
    logLevel: config.logLevel,
    projector: projectorFor(config.role, config.databaseUrl),
  });
  const address = await app.listen(config.port, config.host);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}${GRAPHQL_PATH}`;
  log.info(
    { url, database: embedded ? `embedded PGlite in ${config.dataDir}` : redactUrl(config.databaseUrl!), tokenSecret: source },
    'Wall is listening',
  );
  process.stdout.write(`\nWall is running. GraphiQL: ${url}\n\n`);

  if (config.seedDemo) {
    // First start with SEED_DEMO=N: a demo world through the command bus, while the server serves.
    try {
      process.stdout.write(`Seeding a demo world of ${config.seedDemo} people (SEED_DEMO)...\n`);
      const seeded = await seedWorld(app, { people: config.seedDemo });
      await app.projection.waitFor(BigInt(seeded.position), 600_000);
      const { demo } = seeded;
      process.stdout.write(`Demo world ready. Sign in as ${demo.handle} / ${demo.password}; token: ${demo.token}\n`);
    } catch (error) {
      if (!(error instanceof WorldAlreadySeededError)) throw error;
      log.info('the demo world is already there (SEED_DEMO)');
    }
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    await app.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  if (error instanceof DatabaseUnreachableError || error instanceof EventLogFromAnotherClusterError || (error instanceof Error && error.message.startsWith('Invalid configuration'))) {
    process.stderr.write(`wall: ${error.message}\n`);
  } else if ((error as NodeJS.ErrnoException)?.code === 'EADDRINUSE') {
    process.stderr.write(`wall: the port is in use (${(error as Error).message}); set PORT to another one.\n`);
  } else {
    process.stderr.write(`wall: failed to start: ${(error as Error)?.stack ?? String(error)}\n`);
  }
  process.exit(1);
});
