import { describe, expect, it } from 'vitest';
import { queryRows, sql, type Db } from '../../src/db/connect.ts';
import { feedPage } from '../../src/read/views/feed.ts';
import { commentPages, findPosts, likedAmong, wallPage } from '../../src/read/views/posts.ts';
import { findProfiles } from '../../src/read/views/profile.ts';
import { friendsAmong } from '../../src/read/views/friends.ts';
import { useTestApp } from '../support/app.ts';
import { databaseKind } from '../support/database.ts';

/*
 * The page reads must come out of their indexes in order: a Sort node means the ORDER BY and the
 * index disagree (as they did when the indexes were DESC NULLS LAST and the queries DESC), and a
 * page would read and sort every entry of a reader instead of the 21 it returns.
 *
 * The statements are the ones the query functions send (captured from drizzle), planned as
 * prepared statements run them once PostgreSQL switches to the generic plan, with sorting and
 * sequential scans priced out: whatever the size of this small test database, a Sort can then
 * only remain when no index gives the order.
 */
const t = useTestApp();

const READER = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
const CURSOR = { at: '2030-01-01T00:00:00.000Z', id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c' };

/** The SQL text a read sends: the statement naming `table` (the app's projector and hub may send others meanwhile). */
async function statementOf(table: string, read: (db: Db) => Promise<unknown>): Promise<string> {
  const seen: string[] = [];
  const stop = t.app.readDatabase.onQuery((query) => seen.push(query));
  try {
    await read(t.app.readDatabase.db);
  } finally {
    stop();
  }
  const mine = [...new Set(seen.filter((q) => q.includes(`from "read"."${table}"`)))];
  expect(mine).toHaveLength(1);
  return mine[0]!;
}

/** Plan nodes (type and index) of `statement` run as a prepared statement with `params`, generic plan. */
let probes = 0;
async function genericPlan(statement: string, params: string[]): Promise<{ nodes: string[]; indexes: string[] }> {
  const name = `page_plan_probe_${++probes}`;
  return t.app.readDatabase.db.transaction(async (tx) => {
    await tx.execute(sql`set local enable_sort = off`);
    await tx.execute(sql`set local enable_seqscan = off`);
    await tx.execute(sql`set local plan_cache_mode = force_generic_plan`);
    await tx.execute(sql.raw(`prepare ${name} as ${statement}`));
    {
      const [row] = await queryRows<Record<string, unknown>>(tx, sql.raw(`explain (format json) execute ${name}(${params.join(', ')})`));
      const json = (typeof row!['QUERY PLAN'] === 'string' ? JSON.parse(row!['QUERY PLAN'] as string) : row!['QUERY PLAN']) as [{ Plan: PlanNode }];
      const nodes: string[] = [];
      const indexes: string[] = [];
      const walk = (node: PlanNode) => {
        nodes.push(node['Node Type']);
        if (node['Index Name']) indexes.push(node['Index Name']);
        for (const child of node.Plans ?? []) walk(child);
      };
      walk(json[0].Plan);
      await tx.execute(sql.raw(`deallocate ${name}`));
      return { nodes, indexes };
    }
  });
}
interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

const uuid = (id: string) => `'${id}'::uuid`;
const uuids = (...ids: string[]) => `array[${ids.map(uuid).join(', ')}]::uuid[]`;
const at = `'${CURSOR.at}'::timestamptz`;

describe('page reads come out of their indexes in order (no Sort), as prepared statements', () => {
  it('feed page, first and after a cursor: a backward range scan of the primary key (reader, time, post)', async () => {
    const first = await genericPlan(await statementOf('feed_entries', (db) => feedPage(db, READER, null, 21)), [uuid(READER), uuid(READER)]);
    expect(first.nodes).not.toContain('Sort');
    expect(first.indexes).toContain('feed_entries_reader_id_created_at_post_id_pk');
    expect(first.indexes).toContain('likes_post_id_user_id_pk'); // likedByMe: a key probe per row, in the same statement
    const after = await genericPlan(await statementOf('feed_entries', (db) => feedPage(db, READER, CURSOR, 21)), [uuid(READER), uuid(READER), at, uuid(CURSOR.id)]);
    expect(after.nodes).not.toContain('Sort');
    expect(after.indexes).toContain('feed_entries_reader_id_created_at_post_id_pk');
  });

  it('(the probe itself) finds the Sort when the ORDER BY and the index disagree on NULLS', async () => {
    const statement = await statementOf('feed_entries', (db) => feedPage(db, READER, null, 21));
    const mismatched = statement.replace(/ desc(?=[, ])/g, ' desc nulls last');
    expect(mismatched).not.toBe(statement);
    expect((await genericPlan(mismatched, [uuid(READER), uuid(READER)])).nodes).toContain('Sort');
  });

  it('wall page, first and after a cursor: a range scan of posts_wall_idx', async () => {
    const first = await genericPlan(await statementOf('posts', (db) => wallPage(db, READER, READER, null, 21)), [uuid(READER), uuid(READER)]);
    expect(first.nodes).not.toContain('Sort');
    expect(first.indexes).toContain('posts_wall_idx');
    expect(first.indexes).toContain('likes_post_id_user_id_pk');
    const after = await genericPlan(await statementOf('posts', (db) => wallPage(db, READER, READER, CURSOR, 21)), [uuid(READER), uuid(READER), at, uuid(CURSOR.id)]);
    expect(after.nodes).not.toContain('Sort');
    expect(after.indexes).toContain('posts_wall_idx');
  });

  it('comment pages: per post, a range scan of comments_post_idx', async () => {
    const first = await genericPlan(await statementOf('comments', (db) => commentPages(db, [READER], null, 4)), [uuids(READER)]);
    expect(first.indexes).toContain('comments_post_idx');
    // The per-post scans are ordered by the index; only the merged rows of all posts are sorted.
    expect(first.nodes.filter((n) => n === 'Sort').length).toBeLessThanOrEqual(1);
  });

  // A LIMIT given as a parameter made PostgreSQL plan the statement afresh on every run (its generic
  // plan has to guess the limit and lost to custom plans), which cost more than the page itself.
  it.runIf(databaseKind() === 'postgres')('keep their plans: planned once per connection, not on every run', async () => {
    await t.app.readDatabase.db.transaction(async (tx) => {
      // One connection: the statements are prepared on it, and pg_prepared_statements counts its plans.
      for (let i = 0; i < 10; i++) {
        await feedPage(tx, READER, null, 21);
        await feedPage(tx, READER, CURSOR, 21);
        await wallPage(tx, READER, READER, null, 21);
        await wallPage(tx, READER, READER, CURSOR, 21);
      }
      const plans = await queryRows<{ statement: string; generic_plans: number; custom_plans: number }>(
        tx,
        sql`select statement, generic_plans::int as generic_plans, custom_plans::int as custom_plans from pg_prepared_statements
            where statement like '%from "read"."feed_entries"%' or statement like '%from "read"."posts"%'`,
      );
      expect(plans).toHaveLength(4);
      // PostgreSQL tries 5 custom plans, then keeps the generic one when it is no worse.
      for (const plan of plans) {
        const statement = plan.statement.slice(0, 100);
        expect({ statement, custom: Math.min(plan.custom_plans, 5), generic: plan.generic_plans >= 5 }).toEqual({ statement, custom: 5, generic: true });
      }
    });
  });

  it('look-ups by lists of ids use their keys', async () => {
    const plans = [
      await genericPlan(await statementOf('posts', (db) => findPosts(db, [READER])), [uuids(READER)]),
      await genericPlan(await statementOf('profiles', (db) => findProfiles(db, [READER])), [uuids(READER)]),
      await genericPlan(await statementOf('likes', (db) => likedAmong(db, READER, [READER])), [uuid(READER), uuids(READER)]),
      await genericPlan(await statementOf('friends', (db) => friendsAmong(db, READER, [READER])), [uuid(READER), uuids(READER)]),
    ];
    for (const plan of plans) {
      expect(plan.nodes).not.toContain('Seq Scan');
      expect(plan.indexes.length).toBeGreaterThan(0);
    }
  });
});
