import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { users } from '../../db/schema/write.ts';
import { conflict } from '../../errors.ts';
import { defineCommand, lockKey } from '../command.ts';
import { hashPassword } from '../identity/password.ts';
import { field } from './rules.ts';

export const registerUser = defineCommand({
  name: 'RegisterUser',
  access: 'anonymous',
  secretFields: ['passwordHash'],
  // The password is hashed while the input is validated, before the transaction opens: scrypt's
  // ~50 ms then holds no connection, lock or snapshot (and does not serialize embedded writes).
  input: z
    .object({ handle: field.handle, displayName: field.displayName, password: field.password })
    .transform(async ({ password, ...rest }) => ({ ...rest, passwordHash: await hashPassword(password) })),
  async handle({ input, uow, now, newId }) {
    const { passwordHash } = input;
    await uow.lock(lockKey.handle(input.handle));
    const [taken] = await uow.db
      .select({ id: users.id })
      .from(users)
      .where(eq(sql`lower(${users.handle})`, input.handle.toLowerCase()));
    if (taken) throw conflict(`The handle "${input.handle}" is taken.`, { field: 'handle' });

    const userId = newId();
    await uow.db.insert(users).values({
      id: userId,
      handle: input.handle,
      displayName: input.displayName,
      passwordHash,
      version: 1,
      createdAt: now,
      updatedAt: now,
    });
    await uow.append({ type: 'user', id: userId }, 0, [
      { type: 'UserRegistered', data: { userId, handle: input.handle, displayName: input.displayName } },
    ]);
    return { aggregateId: userId };
  },
});
