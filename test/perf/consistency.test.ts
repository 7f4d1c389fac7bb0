import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { Projector } from '../../src/projector/projector.ts';
import { readCheckpoint } from '../../src/read/checkpoint.ts';
import { ProjectionStatus } from '../../src/read/consistency.ts';
import { allProjections } from '../../src/read/views/index.ts';
import { useTestApp } from '../support/app.ts';

/*
 * extensions.projection.position is taken from what the process knows (the local projector's
 * announcements, or a checkpoint read of the last 100 ms) when a query asks for no position. It
 * must never claim a position whose effects the answer lacks.
 */
const t = useTestApp();

const FEED = `{ feed(first: 100) { nodes { body } } }`;

describe('the position a query reports', () => {
  it('is never ahead of what the answer shows, while the projector applies writes', async () => {
    const ann = await t.register();
    await t.settle();
    const published: { body: string; position: bigint }[] = [];
    let writing = true;
    const writer = (async () => {
      try {
        for (let i = 0; i < 25 && writing; i++) {
          const receipt = await t.command('publishPost', { body: `post ${i}` }, ann.token);
          published.push({ body: `post ${i}`, position: BigInt(receipt.position) });
        }
      } finally {
        writing = false;
      }
    })();
    let answers = 0;
    const reader = async () => {
      // A failed reader stops the others and the writer: nothing goes on looping after the test.
      try {
        await readWhileWriting();
      } catch (error) {
        writing = false;
        throw error;
      }
    };
    const readWhileWriting = async () => {
      while (writing) {
        const result = await t.gql(FEED, {}, { token: ann.token });
        expect(result.errors).toBeUndefined();
        const position = BigInt(result.extensions!['projection'].position);
        expect(result.extensions!['projection'].stale).toBe(false);
        const shown = new Set((result.data!['feed'].nodes as { body: string }[]).map((n) => n.body));
        // Every post committed at or before the reported position is in the answer.
        for (const p of [...published]) if (p.position <= position) expect(shown.has(p.body), `${p.body} at ${p.position} <= ${position}`).toBe(true);
        // And the position is one the views have applied.
        expect(position).toBeLessThanOrEqual(await readCheckpoint(t.app.readDatabase.db));
        answers++;
      }
    };
    await Promise.all([writer, reader(), reader(), reader()]);
    expect(answers).toBeGreaterThan(0);
  });

  it('catches up with the local projector at once, and reads the checkpoint when a requested position is ahead', async () => {
    const bob = await t.register();
    const receipt = await t.command('publishPost', { body: 'hello' }, bob.token);
    await t.settle();
    const plain = await t.gql(FEED, {}, { token: bob.token });
    // The app's own projector announced the batch: no need to wait for the 100 ms.
    expect(BigInt(plain.extensions!['projection'].position)).toBeGreaterThanOrEqual(BigInt(receipt.position));
    const asked = await t.gql(FEED, {}, { token: bob.token, headers: { 'x-consistent-with': receipt.position } });
    expect(asked.extensions!['projection'].stale).toBe(false);
    expect(BigInt(asked.extensions!['projection'].position)).toBeGreaterThanOrEqual(BigInt(receipt.position));
  });
});

describe('ProjectionStatus with a projector in another process', () => {
  it('reports a known position for up to maxAgeMs, never one not applied, and reads when asked for more', async () => {
    // No subscription: like ROLE=api, where another process applies the events.
    const status = new ProjectionStatus(t.app.readDatabase.db, undefined, 5, 50);
    const other = new Projector({ eventsDb: t.app.database.db, viewsDb: t.app.readDatabase.db, projections: allProjections, log: createLogger('silent') });
    await t.settle();
    const start = await status.current();
    expect(start).toBe(await readCheckpoint(t.app.readDatabase.db));
    const cat = await t.register();
    const receipt = await t.command('publishPost', { body: 'meanwhile' }, cat.token);
    await t.settle(other);
    const applied = await readCheckpoint(t.app.readDatabase.db);
    expect(applied).toBeGreaterThanOrEqual(BigInt(receipt.position));
    // Within maxAgeMs the known (older) position may be reported: it is applied, only not the newest.
    const known = status.recent();
    if (known !== null) expect(known).toBeLessThanOrEqual(applied);
    // Asked for the receipt's position, it reads the checkpoint rather than answer stale.
    expect(await status.waitFor(BigInt(receipt.position), 1000)).toEqual({ position: applied, stale: false });
    // After maxAgeMs a plain query reads again.
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(status.recent()).toBeNull();
    expect(await status.waitFor(null, 1000)).toEqual({ position: applied, stale: false });
    // Concurrent callers share one read.
    await new Promise((resolve) => setTimeout(resolve, 60));
    const [a, b] = [status.current(), status.current()];
    expect(a).toBe(b);
    expect(await a).toBe(applied);
  });
});
