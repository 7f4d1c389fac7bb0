import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { queryRows, sql } from '../../src/db/connect.ts';
import type { RecordedEvent } from '../../src/write/events.ts';
import { appendEvents, assertLogBelongsToCluster, lockAggregates, readEventsAfter } from '../../src/write/event-log.ts';
import { useTestApp } from '../support/app.ts';
import { databaseKind } from '../support/database.ts';

const t = useTestApp({ projector: false });

const metadata = { commandId: uuidv7(), command: 'Test', actorId: null };

/** One writer's command: lock, read the stream's version, append, then linger before commit. */
async function write(aggregateId: string, lingerMs: number) {
  await t.app.database.db.transaction(async (tx) => {
    await lockAggregates(tx, [`post:${aggregateId}`]);
    const [row] = await queryRows<{ v: number }>(tx, sql`select coalesce(max(version), 0)::int as v from write.events where aggregate_id = ${aggregateId}`);
    await appendEvents(tx, { type: 'post', id: aggregateId }, row!.v, [{ type: 'PostEdited', data: { postId: aggregateId, body: `v${row!.v + 1}` } }], metadata, new Date());
    // Holding the transaction open after taking a sequence number is what lets commits land out of order.
    if (lingerMs > 0) await sleep(lingerMs);
  });
}

describe('the event log read order', () => {
  it('gives a follower every event exactly once, in each aggregate’s version order, under concurrent writers', async () => {
    const aggregates = Array.from({ length: 5 }, () => uuidv7());
    const writers = 8;
    const perWriter = 40;
    const seen: RecordedEvent[] = [];
    let done = false;
    let reads = 0;

    // The follower reads exactly as the projector does: whole transactions after its checkpoint.
    const follower = (async () => {
      let checkpoint = 0n;
      for (;;) {
        const finished = done;
        const batch = await readEventsAfter(t.app.database.db, checkpoint, 7);
        reads++;
        seen.push(...batch);
        if (batch.length > 0) checkpoint = batch.at(-1)!.position;
        else if (finished) return;
        else await sleep(1);
      }
    })();

    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    await Promise.all(
      Array.from({ length: writers }, async () => {
        for (let i = 0; i < perWriter; i++) await write(aggregates[Math.floor(random() * aggregates.length)]!, Math.floor(random() * 4));
      }),
    );
    done = true;
    await follower;

    const all = await queryRows<{ seq: string }>(t.app.database.db, sql`select seq::text from write.events order by seq`);
    expect(all).toHaveLength(writers * perWriter);
    expect(seen.map((e) => e.seq.toString()).sort()).toEqual(all.map((r) => r.seq).sort());
    expect(new Set(seen.map((e) => e.seq)).size).toBe(seen.length);

    for (const id of aggregates) {
      const versions = seen.filter((e) => e.aggregateId === id).map((e) => e.version);
      expect(versions).toEqual(versions.map((_, i) => i + 1));
    }
    const positions = seen.map((e) => e.position);
    expect(positions).toEqual([...positions].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(reads).toBeGreaterThan(1);
  });

  // Two transactions at once need two connections: PostgreSQL only (PGlite has one connection).
  it.runIf(databaseKind() === 'postgres')('does not pass over a transaction that commits after a later one', async () => {
    const early = uuidv7();
    const late = uuidv7();
    let releaseEarly!: () => void;
    const earlyMayCommit = new Promise<void>((resolve) => (releaseEarly = resolve));
    let earlyInserted!: () => void;
    const earlyHasInserted = new Promise<void>((resolve) => (earlyInserted = resolve));

    const { db } = t.app.database;
    const before = (await readEventsAfter(db, 0n, 1000)).at(-1)?.position ?? 0n;
    const slow = db.transaction(async (tx) => {
      await appendEvents(tx, { type: 'post', id: early }, 0, [{ type: 'PostEdited', data: { postId: early, body: 'early' } }], metadata, new Date());
      earlyInserted();
      await earlyMayCommit;
    });
    await earlyHasInserted;
    await db.transaction((tx) =>
      appendEvents(tx, { type: 'post', id: late }, 0, [{ type: 'PostEdited', data: { postId: late, body: 'late' } }], metadata, new Date()),
    );

    // The later transaction has committed, the earlier one has not: a reader by sequence number
    // would take the later event now and move past the earlier one for good.
    const [bySeq] = await queryRows<{ seq: string }>(db, sql`select max(seq)::text as seq from write.events`);
    const [lateSeq] = await queryRows<{ seq: string }>(db, sql`select seq::text from write.events where aggregate_id = ${late}`);
    expect(bySeq!.seq).toBe(lateSeq!.seq);
    const whileOpen = await readEventsAfter(db, before, 1000);
    expect(whileOpen.map((e) => e.aggregateId)).not.toContain(late);

    releaseEarly();
    await slow;
    const after = await readEventsAfter(db, before, 1000);
    expect(after.map((e) => e.aggregateId)).toEqual([early, late]);
  });

  it('refuses an aggregate lock taken after the command has written', async () => {
    await expect(
      t.app.database.db.transaction(async (tx) => {
        await appendEvents(tx, { type: 'post', id: uuidv7() }, 0, [{ type: 'PostEdited', data: { postId: 'x', body: 'x' } }], metadata, new Date());
        await lockAggregates(tx, ['post:late-lock']);
      }),
    ).rejects.toThrow(/before the first write/);
  });
});

describe('the event log and its cluster', () => {
  it('refuses a log whose transaction ids this cluster has not reached (a logical restore elsewhere)', async () => {
    const { db } = t.app.database;
    await expect(assertLogBelongsToCluster(db)).resolves.toBeUndefined();
    const refusal = await db
      .transaction(async (tx) => {
        await tx.execute(sql`insert into write.events (tx_id, aggregate_type, aggregate_id, version, type, data, metadata, occurred_at)
          values ('999999999999'::xid8, 'post', ${uuidv7()}, 1, 'PostEdited', '{}', '{}', now())`);
        await assertLogBelongsToCluster(tx);
      })
      .catch((error: Error) => error);
    expect(String(refusal)).toMatch(/restored from a logical dump/);
    await expect(assertLogBelongsToCluster(db)).resolves.toBeUndefined();
  });
});
