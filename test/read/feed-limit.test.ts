import { describe, expect, it } from 'vitest';
import { queryRows, sql } from '../../src/db/connect.ts';
import { useTestApp } from '../support/app.ts';

const t = useTestApp({ feedLimit: 3 });

const entries = async (readerId: string) =>
  (await queryRows<{ n: number }>(t.app.database.db, sql`select count(*)::int as n from read.feed_entries where reader_id = ${readerId}`))[0]!.n;

describe('the feed bound', () => {
  it('lets a feed grow to the bound and its slack (a tenth), then trims it back to the bound', async () => {
    const cat = await t.register();
    for (let i = 1; i <= 4; i++) await t.command('publishPost', { body: `cat ${i}` }, cat.token);
    await t.settle();
    expect(await entries(cat.userId), '3 and a slack of 1').toBe(4);
    await t.command('publishPost', { body: 'cat 5' }, cat.token);
    await t.settle();
    expect(await entries(cat.userId), 'past the slack: back to the bound').toBe(3);
  });

  it('keeps the newest entries per reader, on publish and on a recompute', async () => {
    const [ann, bob] = [await t.register(), await t.register()];
    for (let i = 1; i <= 5; i++) await t.command('publishPost', { body: `ann ${i}` }, ann.token);
    for (let i = 1; i <= 2; i++) await t.command('publishPost', { body: `bob ${i}` }, bob.token);
    await t.settle();
    expect(await entries(ann.userId)).toBe(3);
    const feed = async (token: string) =>
      ((await t.gql(`{ feed(first: 10) { nodes { body } } }`, {}, { token })).data!['feed'].nodes as { body: string }[]).map((n) => n.body);
    expect(await feed(ann.token)).toEqual(['ann 5', 'ann 4', 'ann 3']);

    await t.befriend(ann, bob);
    await t.settle();
    expect(await feed(bob.token)).toEqual(['bob 2', 'bob 1', 'ann 5']);
    expect(await entries(bob.userId)).toBe(3);
  });
});

describe('feed sizes', () => {
  it('count each reader’s entries through publishes, deletes and recomputes', async () => {
    const [cid, dee] = [await t.register(), await t.register()];
    const first = await t.command('publishPost', { body: 'c1' }, cid.token);
    await t.command('publishPost', { body: 'c2' }, cid.token);
    await t.command('deletePost', { postId: first.aggregateId }, cid.token);
    await t.befriend(cid, dee);
    await t.command('publishPost', { body: 'd1' }, dee.token);
    await t.settle();
    const sizes = await queryRows<{ reader_id: string; entries: number; actual: number }>(
      t.app.database.db,
      sql`select s.reader_id, s.entries, (select count(*)::int from read.feed_entries e where e.reader_id = s.reader_id) as actual
          from read.feed_sizes s where s.reader_id in (${cid.userId}, ${dee.userId})`,
    );
    expect(sizes).toHaveLength(2);
    for (const size of sizes) expect(size.entries).toBe(size.actual);
    expect(Object.fromEntries(sizes.map((s) => [s.reader_id, s.entries]))).toEqual({ [cid.userId]: 2, [dee.userId]: 2 });
  });
});
