import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { queryRows, sql } from '../../src/db/connect.ts';
import { users } from '../../src/db/schema/write.ts';
import { defineCommand } from '../../src/write/command.ts';
import { appendEvents } from '../../src/write/event-log.ts';
import { mutationFor, useTestApp } from '../support/app.ts';

const t = useTestApp();

const countEvents = async (aggregateId: string) =>
  (await queryRows<{ n: number }>(t.app.database.db, sql`select count(*)::int as n from write.events where aggregate_id = ${aggregateId}`))[0]!.n;

describe('idempotency', () => {
  it('returns the first receipt for a repeated key and writes nothing more', async () => {
    const ada = await t.register();
    const first = await t.command('publishPost', { body: 'once' }, ada.token, 'key-1');
    const digest = await t.writeDigest();
    const again = await t.command('publishPost', { body: 'once' }, ada.token, 'key-1');
    expect(again).toEqual(first);
    expect(await t.writeDigest()).toEqual(digest);
    expect(await countEvents(first.aggregateId)).toBe(1);
  });

  it('refuses a key reused with a different input, with CONFLICT', async () => {
    const ada = await t.register();
    await t.command('publishPost', { body: 'first' }, ada.token, 'key-2');
    const digest = await t.writeDigest();
    const result = await t.gql(mutationFor('publishPost'), { input: { body: 'second' }, idempotencyKey: 'key-2' }, { token: ada.token });
    expect(result.errors?.[0]?.extensions?.['code']).toBe('CONFLICT');
    expect(result.errors?.[0]?.message).toContain('key-2');
    expect(await t.writeDigest()).toEqual(digest);
  });

  it('scopes keys to their caller: the same key from two people is two commands', async () => {
    const [ada, bob] = [await t.register(), await t.register()];
    const a = await t.command('publishPost', { body: 'same' }, ada.token, 'shared-key');
    const b = await t.command('publishPost', { body: 'same' }, bob.token, 'shared-key');
    expect(a.aggregateId).not.toBe(b.aggregateId);
  });

  it('scopes anonymous keys to the input (passwords aside)', async () => {
    const input = { handle: 'anon_key_user', displayName: 'Anon', password: 'first password' };
    const first = await t.command('registerUser', input, undefined, 'signup');
    expect(await t.command('registerUser', input, undefined, 'signup')).toEqual(first);
    const other = await t.command('registerUser', { ...input, handle: 'anon_key_user2' }, undefined, 'signup');
    expect(other.aggregateId).not.toBe(first.aggregateId);
    const [row] = await queryRows<{ fingerprint: string; receipt: unknown }>(
      t.app.database.db,
      sql`select fingerprint, receipt::text from write.commands where id = ${first.commandId}`,
    );
    expect(JSON.stringify(row)).not.toContain('first password');
  });

  it('gives two concurrent commands with the same key one effect', async () => {
    const ada = await t.register();
    const receipts = await Promise.all(
      Array.from({ length: 6 }, () => t.command('publishPost', { body: 'raced' }, ada.token, 'race-key')),
    );
    expect(new Set(receipts.map((r) => r.commandId)).size).toBe(1);
    const [row] = await queryRows<{ n: number }>(
      t.app.database.db,
      sql`select count(*)::int as n from write.posts where author_id = ${ada.userId}`,
    );
    expect(row!.n).toBe(1);
  });

  it('refuses an empty or oversized key with BAD_USER_INPUT', async () => {
    const ada = await t.register();
    for (const key of ['', 'k'.repeat(201)]) {
      const result = await t.gql(mutationFor('publishPost'), { input: { body: 'x' }, idempotencyKey: key }, { token: ada.token });
      expect(result.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    }
  });
});

describe('the transaction', () => {
  it('rolls back every write of a command that fails after writing', async () => {
    const ada = await t.register();
    t.app.bus.register(
      defineCommand({
        name: 'RenameThenFail',
        access: 'user',
        input: z.object({}),
        async handle({ actorId, uow }) {
          await uow.lock(`user:${actorId}`);
          await uow.db.update(users).set({ displayName: 'changed' }).where(eq(users.id, actorId));
          await uow.append({ type: 'user', id: actorId }, 1, [{ type: 'ProfileUpdated', data: { userId: actorId, displayName: 'changed' } }]);
          throw new Error('boom after writing');
        },
      }),
    );
    const digest = await t.writeDigest();
    await expect(t.app.bus.execute({ name: 'RenameThenFail', input: {} }, { actorId: ada.userId })).rejects.toThrow('boom');
    expect(await t.writeDigest()).toEqual(digest);
  });

  it('retries a serialization failure, a bounded number of times', async () => {
    const ada = await t.register();
    let calls = 0;
    const serializationFailure = Object.assign(new Error('could not serialize access'), { code: '40001' });
    t.app.bus.register(
      defineCommand({
        name: 'FlakyRename',
        access: 'user',
        input: z.object({ failures: z.number() }),
        async handle({ input, actorId, uow }) {
          calls++;
          await uow.lock(`user:${actorId}`);
          const [user] = await queryRows<{ version: number }>(uow.db, sql`select version from write.users where id = ${actorId}`);
          await uow.append({ type: 'user', id: actorId }, user!.version, [{ type: 'ProfileUpdated', data: { userId: actorId, displayName: 'flaky' } }]);
          await uow.db.update(users).set({ version: user!.version + 1 }).where(eq(users.id, actorId));
          if (calls <= input.failures) throw serializationFailure;
          return { aggregateId: actorId };
        },
      }),
    );
    const receipt = await t.app.bus.execute({ name: 'FlakyRename', input: { failures: 2 } }, { actorId: ada.userId });
    expect(calls).toBe(3);
    expect(await countEvents(ada.userId)).toBe(2);
    expect(receipt.aggregateId).toBe(ada.userId);

    calls = 0;
    await expect(t.app.bus.execute({ name: 'FlakyRename', input: { failures: 99 } }, { actorId: ada.userId })).rejects.toThrow('serialize');
    expect(calls).toBe(4);
    expect(await countEvents(ada.userId)).toBe(2);
  });
});

describe('optimistic concurrency', () => {
  it('refuses an append whose expected version is stale, with CONFLICT, and writes nothing', async () => {
    const ada = await t.register();
    const digest = await t.writeDigest();
    const append = (expected: number) =>
      t.app.database.db.transaction((tx) =>
        appendEvents(tx, { type: 'user', id: ada.userId }, expected, [{ type: 'ProfileUpdated', data: { userId: ada.userId, displayName: 'x' } }], { commandId: ada.userId, command: 'Test', actorId: null }, new Date()),
      );
    await expect(append(0)).rejects.toMatchObject({ code: 'CONFLICT', details: { expectedVersion: 0, actualVersion: 1 } });
    await expect(append(5)).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await t.writeDigest()).toEqual(digest);
    await append(1);
    expect(await countEvents(ada.userId)).toBe(2);
  });

  it('keeps every version of a hot aggregate when many commands race on it', async () => {
    const owner = await t.register();
    const fans = await Promise.all(Array.from({ length: 8 }, () => t.register()));
    for (const fan of fans) await t.befriend(fan, owner);
    const post = await t.command('publishPost', { body: 'hot' }, owner.token);
    await Promise.all(fans.map((fan) => t.command('likePost', { postId: post.aggregateId }, fan.token)));
    const versions = await queryRows<{ version: number; type: string }>(
      t.app.database.db,
      sql`select version, type from write.events where aggregate_id = ${post.aggregateId} order by version`,
    );
    expect(versions.map((v) => v.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const [likes] = await queryRows<{ n: number }>(t.app.database.db, sql`select count(*)::int as n from write.likes where post_id = ${post.aggregateId}`);
    expect(likes!.n).toBe(8);
  });
});

describe('the pipeline', () => {
  it('refuses anonymous callers before touching the database', async () => {
    const error = await t.expectRefused('updateProfile', { displayName: 'Nobody' }, 'UNAUTHENTICATED');
    expect(error.message).toMatch(/Sign in/);
  });

  it('refuses an unknown command', async () => {
    await expect(t.app.bus.execute({ name: 'LaunchRocket', input: {} }, { actorId: null })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('records each command with its receipt in the command log', async () => {
    const ada = await t.register();
    const receipt = await t.command('updateProfile', { displayName: 'Logged' }, ada.token);
    const [row] = await queryRows<{ name: string; actor_id: string; receipt: unknown }>(
      t.app.database.db,
      sql`select name, actor_id, receipt from write.commands where id = ${receipt.commandId}`,
    );
    expect(row).toMatchObject({ name: 'UpdateProfile', actor_id: ada.userId });
    expect(typeof row!.receipt === 'string' ? JSON.parse(row!.receipt) : row!.receipt).toEqual(receipt);
  });
});
