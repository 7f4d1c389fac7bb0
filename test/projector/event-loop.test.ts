import { beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { Projector } from '../../src/projector/projector.ts';
import { allProjections } from '../../src/read/views/index.ts';
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

describe(`a long catch-up gives the event loop its turns (${databaseKind()})`, () => {
  const t = useTestApp({ projector: false });
  let events = 0;
  beforeAll(async () => {
    const ann = await t.register();
    for (let i = 0; i < 30; i++) await t.command('publishPost', { body: `backlog ${i}` }, ann.token);
    events = 31;
  });

  it('the projector takes a turn between batches', async () => {
    const projector = new Projector({ eventsDb: t.app.database.db, viewsDb: t.app.readDatabase.db, projections: allProjections, log, batchSize: BATCH });
    const { result: applied, turns } = await turnsDuring(() => projector.catchUp());
    expect(applied).toBe(events);
    expect(turns).toBeGreaterThanOrEqual(Math.ceil(events / BATCH) - 1);
  });
});
