import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { PROJECTOR_LOCK } from '../../src/app.ts';
import { openDatabase } from '../../src/db/connect.ts';
import { createLogger } from '../../src/logger.ts';
import { Projector } from '../../src/projector/projector.ts';
import { allProjections } from '../../src/read/views/index.ts';
import { useTestApp } from '../support/app.ts';

// The app's own projector stays off: two hand-made ones compete for the lock.
const t = useTestApp({ projector: false });

async function until(condition: () => boolean | Promise<boolean>, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}

describe('one active projector per views database', () => {
  it('lets a second instance wait, and take over when the first stops', async () => {
    const make = (db: typeof t.app.database) =>
      new Projector({
        eventsDb: t.app.database.db,
        viewsDb: t.app.readDatabase.db,
        projections: allProjections,
        acquireLock: () => db.tryAdvisoryLock(PROJECTOR_LOCK),
        pollMs: 50,
        log: createLogger(process.env['LOG_LEVEL'] ?? 'silent'),
      });
    // On PostgreSQL the second instance has its own connections, as another process would.
    const other = t.databaseUrl ? await openDatabase({ url: t.databaseUrl }) : t.app.readDatabase;
    const first = make(t.app.readDatabase);
    const second = make(other);
    try {
      first.start();
      await until(() => first.active);
      second.start();
      await sleep(300);
      expect(second.active).toBe(false);

      const ann = await t.register();
      await t.command('publishPost', { body: 'seen by the first' }, ann.token);
      await until(async () => (await t.app.projection.applied()) > 0n);
      expect(first.appliedEvents).toBeGreaterThan(0);
      expect(second.appliedEvents).toBe(0);

      await first.stop();
      await until(() => second.active);
      await t.command('publishPost', { body: 'seen by the second' }, ann.token);
      second.wake();
      await until(() => second.appliedEvents > 0);
    } finally {
      await first.stop();
      await second.stop();
      if (other !== t.app.readDatabase) await other.close();
    }
  });
});
