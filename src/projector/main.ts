import { parseArgs } from 'node:util';
import { PROJECTOR_LOCK } from '../app.ts';
import { loadConfig } from '../config.ts';
import { DatabaseUnreachableError, EVENTS_CHANNEL, openDatabase } from '../db/connect.ts';
import { createLogger } from '../logger.ts';
import { allProjections } from '../read/views/index.ts';
import { Projector } from './projector.ts';
import { rebuildViews } from './rebuild.ts';
import { assertLogBelongsToCluster, EventLogFromAnotherClusterError } from '../write/event-log.ts';
import { runtimeProblem } from '../runtime.ts';

/**
 * `npm run projector`: a process that only keeps the views (beside API processes started with
 * ROLE=api). `npm run projector -- --rebuild`: rebuilds every view from position zero, beside the
 * live ones, showing progress, then swaps them in and exits.
 */
async function main() {
  const unsupported = runtimeProblem();
  if (unsupported) {
    process.stderr.write(`wall projector: ${unsupported}\n`);
    process.exit(1);
  }
  const { values } = parseArgs({ options: { rebuild: { type: 'boolean', default: false } } });
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const writeDatabase = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  await assertLogBelongsToCluster(writeDatabase.db);
  const readDatabase = config.readDatabaseUrl ? await openDatabase({ url: config.readDatabaseUrl }) : writeDatabase;
  const close = async () => {
    if (readDatabase !== writeDatabase) await readDatabase.close();
    await writeDatabase.close();
  };

  if (values.rebuild) {
    const started = Date.now();
    const result = await rebuildViews({
      eventsDb: writeDatabase.db,
      viewsDb: readDatabase.db,
      projections: allProjections,
      feedLimit: config.feedLimit,
      changeLogSize: config.changeLogSize,
      log,
      onProgress: ({ applied, remaining, eventsPerSecond }) => {
        const seconds = eventsPerSecond > 0 ? Math.ceil(remaining / eventsPerSecond) : 0;
        process.stdout.write(
          `rebuild: ${applied.toLocaleString('en')} events applied, ${Math.round(eventsPerSecond).toLocaleString('en')}/s, ` +
            `${remaining.toLocaleString('en')} remaining (about ${seconds} s)\n`,
        );
      },
    });
    process.stdout.write(
      `rebuild: done, ${result.applied.toLocaleString('en')} events in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
        `the views are at position ${result.position} and live\n`,
    );
    await close();
    return;
  }

  const projector = new Projector({
    eventsDb: writeDatabase.db,
    viewsDb: readDatabase.db,
    projections: allProjections,
    feedLimit: config.feedLimit,
    changeLogSize: config.changeLogSize,
    acquireLock: () => readDatabase.tryAdvisoryLock(PROJECTOR_LOCK),
    log,
  });
  const unlisten = await writeDatabase.listen(EVENTS_CHANNEL, () => projector.wake());
  projector.start();
  log.info('projector started; waiting for the projector lock if another instance holds it');
  const stop = async () => {
    await unlisten();
    await projector.stop();
    await close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((error: unknown) => {
  if (error instanceof DatabaseUnreachableError || error instanceof EventLogFromAnotherClusterError) process.stderr.write(`wall projector: ${error.message}\n`);
  else process.stderr.write(`wall projector: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
