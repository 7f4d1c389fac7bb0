import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { queryRows, sql } from '../../src/db/connect.ts';
import { useTestApp } from '../support/app.ts';

const t = useTestApp();

const userRow = async (userId: string) => {
  const rows = await queryRows<{ handle: string; display_name: string; version: number; friend_count: number; changed: boolean }>(
    t.app.database.db,
    sql`select handle, display_name, version, friend_count, updated_at > created_at as changed from write.users where id = ${userId}`,
  );
  expect(rows).toHaveLength(1);
  return rows[0]!;
};

const eventsOf = (aggregateId: string) =>
  queryRows<{ type: string; version: number; data: unknown; metadata: unknown; tx_id: string }>(
    t.app.database.db,
    sql`select type, version, data, metadata, tx_id::text from write.events where aggregate_id = ${aggregateId} order by version`,
  );

describe('updateProfile', () => {
  it('changes the display name, appends ProfileUpdated to the person, and records the command', async () => {
    const ada = await t.register();
    const receipt = await t.command('updateProfile', { displayName: '  Ada Lovelace  ' }, ada.token);
    expect(receipt.aggregateId).toBe(ada.userId);
    expect(receipt.commandId).toMatch(/^[0-9a-f-]{36}$/);
    expect(BigInt(receipt.position)).toBeGreaterThan(0n);

    expect(await userRow(ada.userId)).toEqual({ handle: ada.handle, display_name: 'Ada Lovelace', version: 2, friend_count: 0, changed: true });

    const events = await eventsOf(ada.userId);
    expect(events.map((e) => [e.type, e.version])).toEqual([
      ['UserRegistered', 1],
      ['ProfileUpdated', 2],
    ]);
    expect(events[1]).toEqual({
      type: 'ProfileUpdated',
      version: 2,
      data: { userId: ada.userId, displayName: 'Ada Lovelace' },
      metadata: { commandId: receipt.commandId, command: 'UpdateProfile', actorId: ada.userId },
      tx_id: receipt.position,
    });

    const commands = await queryRows<{ name: string; actor_id: string; receipt: unknown }>(
      t.app.database.db,
      sql`select name, actor_id, receipt from write.commands where id = ${receipt.commandId}`,
    );
    expect(commands).toEqual([{ name: 'UpdateProfile', actor_id: ada.userId, receipt }]);
  });

  it('shows the new name in the views: me and user(handle:)', async () => {
    const ada = await t.register();
    const viewer = await t.register();
    await t.command('updateProfile', { displayName: 'Countess of Lovelace' }, ada.token);
    await t.settle();

    const me = await t.gql(`{ me { id handle displayName } }`, {}, { token: ada.token });
    expect(me.errors).toBeUndefined();
    expect(me.data).toEqual({ me: { id: ada.userId, handle: ada.handle, displayName: 'Countess of Lovelace' } });

    const seen = await t.gql(`query ($handle: String!) { user(handle: $handle) { id displayName } }`, { handle: ada.handle }, { token: viewer.token });
    expect(seen.errors).toBeUndefined();
    expect(seen.data).toEqual({ user: { id: ada.userId, displayName: 'Countess of Lovelace' } });

    // Only the caller's profile changed.
    const other = await t.gql(`{ me { displayName } }`, {}, { token: viewer.token });
    expect(other.data).toEqual({ me: { displayName: viewer.handle.replace(/_/g, ' ') } });
  });

  it('bumps the person\'s version on every update, and the views follow the latest one', async () => {
    const ada = await t.register();
    const first = await t.command('updateProfile', { displayName: 'First' }, ada.token);
    const second = await t.command('updateProfile', { displayName: 'Second' }, ada.token);
    expect(second.aggregateId).toBe(ada.userId);
    expect(BigInt(second.position)).toBeGreaterThan(BigInt(first.position));

    expect((await userRow(ada.userId)).version).toBe(3);
    const events = await eventsOf(ada.userId);
    expect(events.map((e) => [e.type, e.version, e.data, e.tx_id])).toEqual([
      ['UserRegistered', 1, expect.anything(), expect.any(String)],
      ['ProfileUpdated', 2, { userId: ada.userId, displayName: 'First' }, first.position],
      ['ProfileUpdated', 3, { userId: ada.userId, displayName: 'Second' }, second.position],
    ]);

    await t.settle();
    const me = await t.gql(`{ me { displayName } }`, {}, { token: ada.token });
    expect(me.data).toEqual({ me: { displayName: 'Second' } });
  });

  it('accepts a name of exactly 80 characters once trimmed', async () => {
    const ada = await t.register();
    const name = 'x'.repeat(80);
    await t.command('updateProfile', { displayName: ` ${name} ` }, ada.token);
    expect((await userRow(ada.userId)).display_name).toBe(name);
  });

  it('refuses an anonymous caller', async () => {
    await t.register();
    const error = await t.expectRefused('updateProfile', { displayName: 'Nobody' }, 'UNAUTHENTICATED');
    expect(error.message).toContain('Sign in');
  });

  it('refuses a token that is not valid', async () => {
    const ada = await t.register();
    await t.expectRefused('updateProfile', { displayName: 'Nobody' }, 'UNAUTHENTICATED', `${ada.token}x`);
    expect((await userRow(ada.userId)).version).toBe(1);
  });

  it('refuses a valid token for a person who does not exist with UNAUTHENTICATED', async () => {
    const ghost = randomUUID();
    const error = await t.expectRefused('updateProfile', { displayName: 'Ghost' }, 'UNAUTHENTICATED', await t.app.identity.tokens.issue(ghost));
    expect(error.message).toMatch(/sign in again/);
  });

  it.each([
    ['an empty display name', ''],
    ['a blank display name', '   '],
    ['a display name over 80 characters', 'x'.repeat(81)],
  ])('refuses %s with BAD_USER_INPUT naming the field', async (_what, displayName) => {
    const ada = await t.register();
    const error = await t.expectRefused('updateProfile', { displayName }, 'BAD_USER_INPUT', ada.token);
    expect(error.extensions?.['fields']).toEqual([expect.objectContaining({ field: 'displayName' })]);
    expect(error.message).toContain('displayName');
  });
});
