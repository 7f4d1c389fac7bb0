import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestDatabase } from '../support/database.ts';

const run = promisify(execFile);
const tsx = new URL('../../node_modules/.bin/tsx', import.meta.url).pathname;
const cli = new URL('../../src/projector/main.ts', import.meta.url).pathname;
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

describe('npm run projector -- --rebuild', () => {
  it('rebuilds the views of a database from the command line, saying how far it got', async () => {
    // A real data folder (embedded) or a fresh PostgreSQL database, as a person would have.
    const database = await createTestDatabase();
    cleanups.push(database.drop);
    const dataDir = database.url ? null : await mkdtemp(join(tmpdir(), 'wall-cli-'));
    if (dataDir) cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const app = await createApp({
      databaseUrl: database.url,
      dataDir,
      tokenSecret: 'test-secret-test-secret-test-secret',
      log: createLogger('silent'),
      limits: { maxFriends: 5000 },
      projector: false,
    });
    for (const handle of ['cli_ann', 'cli_bob', 'cli_cid']) {
      await app.bus.execute({ name: 'RegisterUser', input: { handle, displayName: handle, password: 'long enough pw' } }, { actorId: null });
    }
    await app.stop();

    const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'silent', ...(database.url ? { DATABASE_URL: database.url } : { DATA_DIR: dataDir! }) };
    if (!database.url) delete env['DATABASE_URL'];
    const { stdout } = await run(tsx, [cli, '--rebuild'], { env, timeout: 60_000 });
    expect(stdout).toMatch(/^rebuild: done, 3 events in [\d.]+ s; the views are at position \d+ and live$/m);

    const reopened = await createApp({
      databaseUrl: database.url,
      dataDir,
      tokenSecret: 'test-secret-test-secret-test-secret',
      log: createLogger('silent'),
      limits: { maxFriends: 5000 },
      projector: false,
    });
    try {
      const token = await reopened.identity.tokens.issue('00000000-0000-7000-8000-000000000000');
      const response = await reopened.yoga.fetch('http://wall.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ user(handle: "cli_bob") { handle } }' }),
      });
      expect(await response.json()).toMatchObject({ data: { user: { handle: 'cli_bob' } } });
    } finally {
      await reopened.stop();
    }
  });
});
