import { readFile } from 'node:fs/promises';
import { generateDrizzleJson, generateMigration } from 'drizzle-kit/api';
import { describe, expect, it } from 'vitest';
import * as schema from '../../src/db/schema/index.ts';
import { queryRows, sql } from '../../src/db/connect.ts';
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
