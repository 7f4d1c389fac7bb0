import { readFile } from 'node:fs/promises';
import { generateDrizzleJson, generateMigration } from 'drizzle-kit/api';
import { describe, expect, it } from 'vitest';
import * as schema from '../../src/db/schema/index.ts';
import { openDatabase, queryRows, sql } from '../../src/db/connect.ts';
import { createTestDatabase } from '../support/database.ts';
import { useTestApp } from '../support/app.ts';

const t = useTestApp({ projector: false });

describe('migrations', () => {
  it('agree with the Drizzle table definitions (run `npm run db:generate` after changing them)', async () => {
    const journal = JSON.parse(await readFile(new URL('../../drizzle/meta/_journal.json', import.meta.url), 'utf8'));
    const last = journal.entries.at(-1);
    const snapshot = JSON.parse(
      await readFile(new URL(`../../drizzle/meta/${String(last.idx).padStart(4, '0')}_snapshot.json`, import.meta.url), 'utf8'),
    );
    const current = generateDrizzleJson(schema, snapshot.id, ['write', 'read']);
    expect(await generateMigration(snapshot, current)).toEqual([]);
  });

  it('create the write and read schemas with their tables', async () => {
    const rows = await queryRows<{ name: string }>(
      t.app.database.db,
      sql`select table_schema || '.' || table_name as name from information_schema.tables
          where table_schema in ('write', 'read') order by 1`,
    );
    expect(rows.map((r) => r.name)).toEqual([
      'read.changes',
      'read.checkpoints',
      'read.comments',
      'read.feed_entries',
      'read.feed_sizes',
      'read.friend_requests',
      'read.friends',
      'read.likes',
      'read.posts',
      'read.profiles',
      'write.commands',
      'write.comments',
      'write.events',
      'write.friendships',
      'write.likes',
      'write.posts',
      'write.users',
    ]);
  });
});

describe.runIf(process.env['DATABASE_URL'])('migrations on a new PostgreSQL database', () => {
  it('are applied once when several processes start on it together', async () => {
    const fresh = await createTestDatabase();
    try {
      // Each open is what one process does at start: its own pool, then the migrations.
      const opened = await Promise.allSettled(Array.from({ length: 4 }, () => openDatabase({ url: fresh.url!, poolSize: 2 })));
      const failures = opened.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error).message)] : []));
      for (const r of opened) if (r.status === 'fulfilled') await r.value.close();
      expect(failures).toEqual([]);
    } finally {
      await fresh.drop();
    }
  });
});
