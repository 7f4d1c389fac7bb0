/*
 * A projector in a worker thread of its own (see thread.ts): it opens its own connections, keeps
 * the views exactly as a projector in the main thread would, and tells the main thread what it
 * applied. The main thread wakes it after local commits and asks it to stop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EVENTS_CHANNEL, openDatabase } from '../db/connect.ts';
import { createLogger } from '../logger.ts';
import { allProjections } from '../read/views/index.ts';
import { Projector } from './projector.ts';
import type { FromProjector, ProjectorThreadSettings, ToProjector } from './thread.ts';

const settings = workerData as ProjectorThreadSettings;
const port = parentPort!;
const send = (message: FromProjector) => port.postMessage(message);
const log = createLogger(settings.logLevel).child({ role: 'projector', thread: 'worker' });

const writeDatabase = await openDatabase({ url: settings.databaseUrl, poolSize: settings.poolSize });
const readDatabase = settings.readDatabaseUrl ? await openDatabase({ url: settings.readDatabaseUrl, poolSize: settings.poolSize }) : writeDatabase;
const projector = new Projector({
  eventsDb: writeDatabase.db,
  viewsDb: readDatabase.db,
  projections: allProjections,
  ...(settings.feedLimit ? { feedLimit: settings.feedLimit } : {}),
  ...(settings.changeLogSize ? { changeLogSize: settings.changeLogSize } : {}),
  acquireLock: () => readDatabase.tryAdvisoryLock(settings.lockName),
  log,
});
projector.onApplied((position) => send({ type: 'applied', position: position.toString() }));
projector.onBatch(({ position, events, ms }) => send({ type: 'batch', position: position.toString(), events, ms }));
const unlisten = await writeDatabase.listen(EVENTS_CHANNEL, () => projector.wake());

port.on('message', (message: ToProjector) => {
  switch (message.type) {
    case 'wake':
      projector.wake();
      return;
    case 'catch-up':
      projector.catchUp().then(
        (applied) => send({ type: 'caught-up', id: message.id, applied }),
        (error: unknown) => send({ type: 'caught-up', id: message.id, applied: 0, error: (error as Error).message }),
      );
      return;
    case 'stop':
      void (async () => {
        await unlisten();
        await projector.stop();
        if (readDatabase !== writeDatabase) await readDatabase.close();
        await writeDatabase.close();
        send({ type: 'stopped' });
        port.close();
      })();
      return;
  }
});
projector.start();
send({ type: 'started' });
