import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { users } from '../../db/schema/write.ts';
import { defineCommand, lockKey } from '../command.ts';
import { field, loadUser } from './rules.ts';

export const updateProfile = defineCommand({
  name: 'UpdateProfile',
  access: 'user',
  input: z.object({ displayName: field.displayName }),
  async handle({ input, actorId, uow, now }) {
    await uow.lock(lockKey.user(actorId));
    const user = await loadUser(uow.db, actorId);
    const version = await uow.append({ type: 'user', id: actorId }, user.version, [
      { type: 'ProfileUpdated', data: { userId: actorId, displayName: input.displayName } },
    ]);
    await uow.db.update(users).set({ displayName: input.displayName, updatedAt: now, version }).where(eq(users.id, actorId));
    return { aggregateId: actorId };
  },
});
