import { beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { Projector } from '../../src/projector/projector.ts';
import { readCheckpoint } from '../../src/read/checkpoint.ts';
import { allProjections } from '../../src/read/views/index.ts';
import { headPosition } from '../../src/write/event-log.ts';
import { useTestApp } from '../support/app.ts';
import { databaseKind } from '../support/database.ts';

/*
 * On embedded PGlite a query resolves in promise jobs alone, never in a turn of the event loop. A
 * projector working through a long backlog, batch after batch, would then hold the event loop until
 * it was done: no request read, no timer fired, no signal handled. Between batches it gives the
 * event loop a turn (a rebuild's copy applies its batches the same way); on PostgreSQL the sockets
 * give one anyway.
 */
const log = createLogger('silent');
const BATCH = 2;

/** Counts the event-loop turns taken while `work` runs. */
async function turnsDuring<T>(work: () => Promise<T>): Promise<{ turns: number; result: T }> {
  let turns = 0;
  let running = true;
  const count = () => {
    if (!running) return;
    turns++;
    setImmediate(count);
  };
  setImmediate(count);
  try {
    return { result: await work(), turns };
  } finally {
    running = false;
  }
}

/** An app without a projector, whose log holds 31 events (one per transaction) no view has applied. */
function appWithBacklog() {
  const t = useTestApp({ projector: false });
  beforeAll(async () => {
    const ann = await t.register();
    for (let i = 0; i < 30; i++) await t.command('publishPost', { body: `backlog ${i}` }, ann.token);
  });
  return { t, events: 31 };
}

describe(`a long catch-up gives the event loop its turns (${databaseKind()})`, () => {
  const { t, events } = appWithBacklog();

  it('the projector takes a turn between batches', async () => {
    const projector = new Projector({ eventsDb: t.app.database.db, viewsDb: t.app.readDatabase.db, projections: allProjections, log, batchSize: BATCH });
    const { result: applied, turns } = await turnsDuring(() => projector.catchUp());
    expect(applied).toBe(events);
    expect(turns).toBeGreaterThanOrEqual(Math.ceil(events / BATCH) - 1);
  });
});

describe(`stopping the projector during a long catch-up (${databaseKind()})`, () => {
  const { t, events } = appWithBacklog();

  it('a stop during a catch-up ends it after the batch in hand, and the next projector goes on from there', async () => {
    const viewsDb = t.app.readDatabase.db;
    const options = { eventsDb: t.app.database.db, viewsDb, projections: allProjections, log, batchSize: BATCH };
    const first = new Projector(options);
    let stopping: Promise<void> | null = null;
    first.onBatch(() => (stopping ??= first.stop()));
    first.start();
    await new Promise<void>((resolve) => first.onBatch(() => resolve()));
    await stopping;
    // Stopped during the first batch: that batch is applied, no other.
    expect(first.appliedEvents).toBe(BATCH);
    expect(await readCheckpoint(viewsDb)).toBe(first.position);

    const second = new Projector(options);
    expect(await second.catchUp()).toBe(events - first.appliedEvents);
    expect(await readCheckpoint(viewsDb)).toBe(await headPosition(t.app.database.db));
  });
});
