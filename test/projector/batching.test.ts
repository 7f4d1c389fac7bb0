import { pgSchema } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';
import { sql } from '../../src/db/connect.ts';
import { defineViews } from '../../src/db/schema/read.ts';
import { createLogger } from '../../src/logger.ts';
import { Projector } from '../../src/projector/projector.ts';
import { createViewsCopy } from '../../src/projector/rebuild.ts';
import { readCheckpoint } from '../../src/read/checkpoint.ts';
import { allProjections } from '../../src/read/views/index.ts';
import { useTestApp } from '../support/app.ts';
import { databaseKind } from '../support/database.ts';
import { actualViews, diffViews, Driver, expectedViews, logHead, oracleSeed, Rng, waitForReadableLog } from '../support/oracle.ts';

/*
 * A batch is applied set-based (src/read/projection.ts): folded into what it changes, whatever
 * events of one post, pair or person it holds. That must leave what applying its events one at a
 * time leaves. Random commands (the oracle's driver: friendships made, declined and ended, posts
 * edited and deleted, likes and unlikes, comments added and deleted), then the whole log applied
 * into copies of the views: one transaction per batch, seven per batch, and every transaction in
 * one batch. All equal the plain query over the write tables. (No feed is ever trimmed here: with
 * deletions, where a trim leaves a gap depends on where batches begin; see read/views/feed.ts.)
 */

const SEED = oracleSeed(20261204);
const FEED_LIMIT = 100_000;
const t = useTestApp({ projector: false, feedLimit: FEED_LIMIT });
const log = createLogger('silent');

describe(`a batch leaves what its events one by one leave (ORACLE_SEED=${SEED}, ${databaseKind()})`, () => {
  it('with batches of 1, 7 and every transaction, after random commands', { timeout: 180_000 }, async () => {
    const db = t.app.database.db;
    const driver = new Driver(t, new Rng(SEED));
    await driver.registerPeople(16, 4);
    const stats = await driver.run(300, 4);
    expect(stats.unexpected).toEqual([]);
    for (const field of ['acceptFriendRequest', 'removeFriend', 'publishPost', 'editPost', 'deletePost', 'addComment', 'deleteComment', 'likePost', 'unlikePost']) {
      expect(stats.outcomes[field]?.['ok'] ?? 0, `${field} never succeeded: ${JSON.stringify(stats.outcomes)}`).toBeGreaterThan(0);
    }
    const head = await logHead(db);
    await waitForReadableLog(db, head, 60_000);
    const expected = await expectedViews(db, FEED_LIMIT);

    for (const [batchSize, schema] of [[1, 'batches_of_one'], [7, 'batches_of_seven'], [1_000_000, 'one_batch']] as const) {
      await createViewsCopy(db, schema);
      const views = defineViews(pgSchema(schema));
      const projector = new Projector({ eventsDb: db, viewsDb: db, projections: allProjections, views, feedLimit: FEED_LIMIT, batchSize, changeLogSize: null, log });
      let batches = 0;
      projector.onBatch(() => batches++);
      const applied = await projector.catchUp();
      expect(await readCheckpoint(db, views)).toBe(head);
      expect(applied).toBeGreaterThan(200);
      if (batchSize === 1) expect(batches).toBe(applied);
      if (batchSize === 1_000_000) expect(batches, 'one batch held the whole log').toBe(1);
      expect(diffViews(expected, await actualViews(db, schema)), `batches of ${batchSize} (ORACLE_SEED=${SEED})`).toEqual([]);
      await db.execute(sql.raw(`drop schema ${schema} cascade`));
    }
  });
});
