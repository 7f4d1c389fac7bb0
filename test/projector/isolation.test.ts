import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { queryRows, sql } from '../../src/db/connect.ts';
import { useTestApp } from '../support/app.ts';
import { createTestDatabase } from '../support/database.ts';

const src = resolve(new URL('../../src', import.meta.url).pathname);

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(entries.map((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : [join(dir, e.name)])));
  return nested.flat().filter((f) => f.endsWith('.ts'));
}

/** The modules a file imports for their values (type-only imports vanish at run time). */
async function valueImports(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  return [...text.matchAll(/^import\s+(?!type\b)[^;]*?from\s+'(\.[^']+)'/gms)].map((m) => relative(src, resolve(dirname(file), m[1]!)));
}

/** Everything `file` reaches through value imports, within src/. */
async function reachable(file: string, seen = new Set<string>()): Promise<Set<string>> {
  for (const target of await valueImports(file)) {
    if (seen.has(target)) continue;
    seen.add(target);
    await reachable(join(src, target), seen);
  }
  return seen;
}

describe('the read side stays apart from the write side', () => {
  it('answers queries with modules that never reach the write tables', async () => {
    const queryModules = [
      ...(await sourceFiles(join(src, 'read'))),
      join(src, 'graphql/queries.ts'),
      ...(await sourceFiles(join(src, 'graphql/types'))),
    ];
    for (const file of queryModules) {
      const reached = await reachable(file);
      expect([...reached].filter((m) => m.startsWith('write/') || m === 'db/schema/write.ts'), relative(src, file)).toEqual([]);
    }
  });

  it('lets the projector read the event log and nothing else of the write side', async () => {
    for (const file of await sourceFiles(join(src, 'projector'))) {
      if (file.endsWith('main.ts')) continue; // the process entry point also opens the databases
      const reached = [...(await reachable(file))].filter((m) => m.startsWith('write/') || m.startsWith('db/schema/write'));
      expect(reached.sort(), relative(src, file)).toEqual(['db/schema/write.ts', 'write/event-log.ts'].filter((m) => reached.includes(m)));
      expect(reached.every((m) => ['db/schema/write.ts', 'write/event-log.ts', 'errors.ts'].includes(m))).toBe(true);
    }
  });
});

// On PostgreSQL: views in a database of their own whose write schema is gone. Any read of a write
// table by the projector or by a query would fail there.
const t = useTestApp({ projector: false });

describe.runIf(process.env['DATABASE_URL'])('views in a database of their own', () => {
  it('are kept and served from events alone', async () => {
    const views = await createTestDatabase();
    const { createApp } = await import('../../src/app.ts');
    const { createLogger } = await import('../../src/logger.ts');
    const app = await createApp({
      databaseUrl: t.databaseUrl,
      readDatabaseUrl: views.url,
      tokenSecret: 'test-secret-test-secret-test-secret',
      log: createLogger('silent'),
      limits: { maxFriends: 5000 },
    });
    try {
      await app.readDatabase.db.execute(sql`drop schema write cascade`);
      app.start();
      const gql = async (query: string, variables: Record<string, unknown> = {}, token?: string, position?: string) => {
        const response = await app.yoga.fetch('http://wall.test/graphql', {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(position ? { 'x-consistent-with': position } : {}),
          },
          body: JSON.stringify({ query, variables }),
        });
        return (await response.json()) as { data?: any; errors?: unknown[]; extensions?: any };
      };
      const register = async (handle: string) => {
        const r = await gql(`mutation($i: RegisterUserInput!) { registerUser(input: $i) { aggregateId } }`, {
          i: { handle, displayName: handle, password: 'long enough pw' },
        });
        return { id: r.data.registerUser.aggregateId as string, token: await app.identity.tokens.issue(r.data.registerUser.aggregateId) };
      };
      const ann = await register('apart_ann');
      const bob = await register('apart_bob');
      await gql(`mutation($i: SendFriendRequestInput!) { sendFriendRequest(input: $i) { position } }`, { i: { toUserId: bob.id } }, ann.token);
      await gql(`mutation($i: AcceptFriendRequestInput!) { acceptFriendRequest(input: $i) { position } }`, { i: { fromUserId: ann.id } }, bob.token);
      const post = await gql(`mutation($i: PublishPostInput!) { publishPost(input: $i) { position } }`, { i: { body: 'apart' } }, bob.token);
      const feed = await gql(`{ feed { nodes { body author { handle } } } me { friendCount } }`, {}, ann.token, post.data.publishPost.position);
      expect(feed.errors).toBeUndefined();
      expect(feed.extensions.projection.stale).toBe(false);
      expect(feed.data).toEqual({ feed: { nodes: [{ body: 'apart', author: { handle: 'apart_bob' } }] }, me: { friendCount: 1 } });
      const writeTablesThere = await queryRows(app.readDatabase.db, sql`select 1 from pg_namespace where nspname = 'write'`);
      expect(writeTablesThere).toEqual([]);
    } finally {
      await app.stop();
      await views.drop();
    }
  });
});
