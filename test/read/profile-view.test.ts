import { describe, expect, it } from 'vitest';
import { queryRows, sql } from '../../src/db/connect.ts';
import { profiles } from '../../src/db/schema/read.ts';
import { Projector } from '../../src/projector/projector.ts';
import { profileProjection } from '../../src/read/views/profile.ts';
import { createLogger } from '../../src/logger.ts';
import { readEventsAfter } from '../../src/write/event-log.ts';
import { useTestApp } from '../support/app.ts';

// The projector is driven by hand here, so each test decides when the views move.
const t = useTestApp({ projector: false, consistencyTimeoutMs: 300 });

const projector = () =>
  new Projector({ eventsDb: t.app.database.db, viewsDb: t.app.database.db, projections: [profileProjection], log: createLogger('silent'), batchSize: 3 });

const profileRows = () => t.app.database.db.select().from(profiles).orderBy(profiles.handle);

describe('the profile view', () => {
  it('follows registrations, renames, friendships and posts', async () => {
    const ada = await t.register('view_ada', 'Ada');
    const bob = await t.register('view_bob', 'Bob');
    await t.befriend(ada, bob);
    await t.command('publishPost', { body: 'one' }, ada.token);
    const doomed = await t.command('publishPost', { body: 'two' }, ada.token);
    await t.command('publishPost', { body: 'on your wall', wallOwnerId: ada.userId }, bob.token);
    await t.command('deletePost', { postId: doomed.aggregateId }, ada.token);
    await t.command('updateProfile', { displayName: 'Countess' }, ada.token);
    await t.settle(projector());

    const rows = await profileRows();
    expect(rows.map(({ handle, displayName, friendCount, postCount }) => ({ handle, displayName, friendCount, postCount }))).toEqual([
      { handle: 'view_ada', displayName: 'Countess', friendCount: 1, postCount: 1 },
      { handle: 'view_bob', displayName: 'Bob', friendCount: 1, postCount: 1 },
    ]);
    const user = await t.gql(`{ user(handle: "VIEW_ADA") { handle displayName friendCount postCount } }`, {}, { token: bob.token });
    expect(user.data).toEqual({ user: { handle: 'view_ada', displayName: 'Countess', friendCount: 1, postCount: 1 } });
    expect((await t.gql(`{ user(handle: "nobody_at_all") { id } }`, {}, { token: bob.token })).data).toEqual({ user: null });
  });

  it('applies each event exactly once: a second projector from the same checkpoint finds nothing to do', async () => {
    await t.register('view_carol', 'Carol');
    await t.settle(projector());
    const before = await profileRows();
    expect(await projector().catchUp()).toBe(0);
    expect(await profileRows()).toEqual(before);
  });

  it('moves the checkpoint with each batch, to the last applied position', async () => {
    for (let i = 0; i < 5; i++) await t.register();
    const p = projector();
    await t.settle(p);
    const [row] = await queryRows<{ position: string }>(t.app.database.db, sql`select position::text from read.checkpoints where name = 'views'`);
    const last = (await readEventsAfter(t.app.database.db, 0n, 1_000_000)).at(-1)!;
    expect(row!.position).toBe(last.position.toString());
    expect(p.position).toBe(last.position);
  });
});

describe('read-your-writes', () => {
  it('reports the applied position and staleness in extensions.projection', async () => {
    const dan = await t.register('view_dan', 'Dan');
    await t.settle(projector());
    const receipt = await t.command('updateProfile', { displayName: 'Daniel' }, dan.token);

    // The projector is not running: asked to wait for the receipt, the read gives up and says so.
    const stale = await t.gql(`{ me { displayName } }`, {}, { token: dan.token, headers: { 'x-consistent-with': receipt.position } });
    expect(stale.data).toEqual({ me: { displayName: 'Dan' } });
    expect(stale.extensions?.['projection'].stale).toBe(true);
    expect(BigInt(stale.extensions?.['projection'].position)).toBeLessThan(BigInt(receipt.position));

    // With a projector catching up meanwhile, the same read waits for it and sees the change.
    const waiting = t.gql(`{ me { displayName } }`, {}, { token: dan.token, headers: { 'x-consistent-with': receipt.position } });
    await t.settle(projector());
    const fresh = await waiting;
    expect(fresh.data).toEqual({ me: { displayName: 'Daniel' } });
    expect(fresh.extensions?.['projection']).toEqual({ position: expect.any(String), stale: false });
    expect(BigInt(fresh.extensions?.['projection'].position)).toBeGreaterThanOrEqual(BigInt(receipt.position));
  });

  it('takes the position from the request extension too, and refuses a malformed one', async () => {
    const eve = await t.register('view_eve', 'Eve');
    await t.settle(projector());
    const response = await t.app.yoga.fetch('http://wall.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${eve.token}` },
      body: JSON.stringify({ query: '{ me { handle } }', extensions: { consistentWith: '1' } }),
    });
    const body = (await response.json()) as { data: unknown; extensions: { projection: { stale: boolean } } };
    expect(body.data).toEqual({ me: { handle: 'view_eve' } });
    expect(body.extensions.projection.stale).toBe(false);

    const bad = await t.gql(`{ me { handle } }`, {}, { token: eve.token, headers: { 'x-consistent-with': 'yesterday' } });
    expect(bad.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
  });
});
