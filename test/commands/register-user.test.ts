import { describe, expect, it } from 'vitest';
import { queryRows, sql } from '../../src/db/connect.ts';
import { useTestApp } from '../support/app.ts';

const t = useTestApp();

describe('registerUser', () => {
  it('creates the person, appends UserRegistered, and returns a receipt', async () => {
    const receipt = await t.command('registerUser', { handle: 'Grace_H', displayName: ' Grace Hopper ', password: 'cobol forever' });
    expect(receipt.aggregateId).toMatch(/^[0-9a-f-]{36}$/);
    expect(BigInt(receipt.position)).toBeGreaterThan(0n);

    const users = await queryRows<{ handle: string; display_name: string; password_hash: string }>(
      t.app.database.db,
      sql`select handle, display_name, password_hash from write.users where id = ${receipt.aggregateId}`,
    );
    expect(users).toHaveLength(1);
    expect(users[0]!.handle).toBe('Grace_H');
    expect(users[0]!.display_name).toBe('Grace Hopper');
    expect(users[0]!.password_hash).toMatch(/^scrypt\$/);
    expect(users[0]!.password_hash).not.toContain('cobol');

    const events = await queryRows<{ type: string; version: number; data: unknown; tx_id: string }>(
      t.app.database.db,
      sql`select type, version, data, tx_id::text from write.events where aggregate_id = ${receipt.aggregateId}`,
    );
    expect(events).toEqual([
      { type: 'UserRegistered', version: 1, data: { userId: receipt.aggregateId, handle: 'Grace_H', displayName: 'Grace Hopper' }, tx_id: receipt.position },
    ]);
    expect(JSON.stringify(events)).not.toContain('cobol');
  });

  it('refuses a handle taken in another case', async () => {
    await t.register('Linus_T');
    const error = await t.expectRefused('registerUser', { handle: 'linus_t', displayName: 'Other', password: 'long enough' }, 'CONFLICT');
    expect(error.message).toContain('taken');
  });

  it.each([
    ['a short handle', { handle: 'ab', displayName: 'X', password: 'long enough' }, 'handle'],
    ['a long handle', { handle: 'a'.repeat(31), displayName: 'X', password: 'long enough' }, 'handle'],
    ['a handle with spaces', { handle: 'has space', displayName: 'X', password: 'long enough' }, 'handle'],
    ['a blank display name', { handle: 'blank_name', displayName: '   ', password: 'long enough' }, 'displayName'],
    ['a long display name', { handle: 'long_name', displayName: 'x'.repeat(81), password: 'long enough' }, 'displayName'],
    ['a short password', { handle: 'short_pw', displayName: 'X', password: 'short' }, 'password'],
  ])('refuses %s with BAD_USER_INPUT naming the field', async (_what, input, field) => {
    const error = await t.expectRefused('registerUser', input, 'BAD_USER_INPUT');
    expect(error.extensions?.['fields']).toEqual([expect.objectContaining({ field })]);
    expect(error.message).toContain(field);
  });

  it('needs no token, and lets the new person sign in at once', async () => {
    await t.command('registerUser', { handle: 'fresh_one', displayName: 'Fresh', password: 'open sesame' });
    const result = await t.gql(`mutation { signIn(handle: "FRESH_ONE", password: "open sesame") { token user { handle displayName } } }`);
    expect(result.errors).toBeUndefined();
    expect(result.data!['signIn'].user).toEqual({ handle: 'fresh_one', displayName: 'Fresh' });
    const me = await t.gql(`{ me { handle } }`, {}, { token: result.data!['signIn'].token });
    expect(me.data).toEqual({ me: { handle: 'fresh_one' } });
  });
});
