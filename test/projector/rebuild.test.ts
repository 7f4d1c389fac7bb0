import { describe, expect, it } from 'vitest';
import { queryRows, sql, type Db } from '../../src/db/connect.ts';
import { createLogger } from '../../src/logger.ts';
import { rebuildViews } from '../../src/projector/rebuild.ts';
import { DEFAULT_FEED_LIMIT } from '../../src/read/views/feed.ts';
import { allProjections } from '../../src/read/views/index.ts';
import { useTestApp } from '../support/app.ts';

const t = useTestApp();

const VIEW_TABLES = ['profiles', 'friends', 'friend_requests', 'posts', 'comments', 'likes', 'feed_entries', 'feed_sizes'];

/** Every view's rows, in a stable order, as text. */
async function snapshot(db: Db) {
  const out: Record<string, string[]> = {};
  for (const table of VIEW_TABLES) {
    const rows = await queryRows<{ row: string }>(db, sql.raw(`select t::text as row from read.${table} t order by 1`));
    out[table] = rows.map((r) => r.row);
  }
  return out;
}

describe('rebuilding the views', () => {
  it('builds the same views from position zero beside the live ones, swaps them in, and the projector carries on', async () => {
    const [ann, bob, cid] = [await t.register(), await t.register(), await t.register()];
    await t.befriend(ann, bob);
    await t.befriend(bob, cid);
    await t.command('sendFriendRequest', { toUserId: cid.userId }, ann.token);
    const post = await t.command('publishPost', { body: 'before the rebuild', wallOwnerId: bob.userId }, ann.token);
    await t.command('addComment', { postId: post.aggregateId, body: 'hello' }, cid.token);
    await t.command('likePost', { postId: post.aggregateId }, bob.token);
    await t.command('updateProfile', { displayName: 'Ann Again' }, ann.token);
    await t.settle();
    const before = await snapshot(t.app.readDatabase.db);

    // Queries keep being answered while the rebuild runs.
    let answered = 0;
    let rebuilding = true;
    const reader = (async () => {
      while (rebuilding) {
        const result = await t.gql(`{ feed { nodes { body } } }`, {}, { token: ann.token });
        expect(result.errors).toBeUndefined();
        expect(result.data!['feed'].nodes).toEqual([{ body: 'before the rebuild' }]);
        answered++;
        // A pause between queries, as real clients leave: the embedded database's one connection
        // would otherwise go from query to query and never to the rebuild's transactions.
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    const progress: number[] = [];
    const result = await rebuildViews({
      eventsDb: t.app.database.db,
      viewsDb: t.app.readDatabase.db,
      projections: allProjections,
      feedLimit: DEFAULT_FEED_LIMIT,
      log: createLogger('silent'),
      batchSize: 2,
      onProgress: (p) => progress.push(p.applied),
    }).finally(() => (rebuilding = false));
    await reader;

    expect(answered).toBeGreaterThan(0);
    const [events] = await queryRows<{ n: number }>(t.app.database.db, sql`select count(*)::int as n from write.events`);
    expect(result.applied).toBe(events!.n);
    expect(await snapshot(t.app.readDatabase.db)).toEqual(before);
    const schemas = await queryRows<{ name: string }>(t.app.readDatabase.db, sql`select nspname as name from pg_namespace where nspname like 'read%' order by 1`);
    expect(schemas.map((s) => s.name)).toEqual(['read']);

    // The live projector goes on from the rebuilt checkpoint.
    await t.command('publishPost', { body: 'after the rebuild' }, ann.token);
    await t.settle();
    const feed = await t.gql(`{ feed { nodes { body } } }`, {}, { token: ann.token });
    expect(feed.data!['feed'].nodes).toEqual([{ body: 'after the rebuild' }, { body: 'before the rebuild' }]);
  });

  it('stops when its signal aborts: the copy is dropped and the live views stay as they were', async () => {
    const [ann, bob] = [await t.register(), await t.register()];
    await t.befriend(ann, bob);
    for (let i = 0; i < 4; i++) await t.command('publishPost', { body: `post ${i}` }, ann.token);
    await t.settle();
    const before = await snapshot(t.app.readDatabase.db);
    const checkpoint = async () =>
      (await queryRows<{ position: string }>(t.app.readDatabase.db, sql`select position::text from read.checkpoints where name = 'views'`))[0]!.position;
    const position = await checkpoint();

    const stop = new AbortController();
    const rebuild = rebuildViews({
      eventsDb: t.app.database.db,
      viewsDb: t.app.readDatabase.db,
      projections: allProjections,
      feedLimit: DEFAULT_FEED_LIMIT,
      log: createLogger('silent'),
      batchSize: 1,
      onProgress: () => stop.abort(new Error('out of time')),
      signal: stop.signal,
    });
    await expect(rebuild).rejects.toThrow('out of time');

    const schemas = await queryRows<{ name: string }>(t.app.readDatabase.db, sql`select nspname as name from pg_namespace where nspname like 'read%' order by 1`);
    expect(schemas.map((s) => s.name)).toEqual(['read']);
    expect(await snapshot(t.app.readDatabase.db)).toEqual(before);
    expect(await checkpoint()).toBe(position);
  });
});
