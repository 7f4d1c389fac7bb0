import { describe, expect, it } from 'vitest';
import { ProjectorThread } from '../../src/projector/thread.ts';
import { useTestApp } from '../support/app.ts';

/*
 * ROLE=all on PostgreSQL runs its projector in a worker thread of its own (src/projector/thread.ts).
 * The same process then answers as with one in its main thread: a receipt read back at once, a
 * live change, the batches it reports, and a stop that ends the thread.
 */
describe.runIf(process.env['DATABASE_URL'])('a projector in a worker thread', () => {
  const t = useTestApp({ projector: 'thread' });

  it('keeps the views, announces what it applied, and stops with the app', async () => {
    expect(t.app.projector).toBeInstanceOf(ProjectorThread);
    const batches: bigint[] = [];
    const stop = t.app.projector!.onBatch(({ position }) => batches.push(position));
    const ada = await t.register();
    const post = await t.command('publishPost', { body: 'projected in a thread' }, ada.token);
    // Read your writes: the main thread learns the applied position from the worker.
    const read = await t.gql(`{ feed(first: 5) { nodes { body } } }`, {}, { token: ada.token, headers: { 'x-consistent-with': post.position } });
    expect(read.data).toEqual({ feed: { nodes: [{ body: 'projected in a thread' }] } });
    expect(read.extensions?.['projection']).toMatchObject({ stale: false });
    expect(batches.some((p) => p >= BigInt(post.position))).toBe(true);
    // The harness's settle() asks the worker to catch up.
    await t.command('publishPost', { body: 'and another' }, ada.token);
    await t.settle();
    expect(await t.app.projection.applied()).toBeGreaterThanOrEqual(BigInt(post.position));
    stop();
  });
});
