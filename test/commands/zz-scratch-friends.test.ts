import { it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { useTestApp, mutationFor } from '../support/app.ts';

const t = useTestApp({ limits: { maxFriends: 2 } });

it('explores', async () => {
  const a = await t.register();
  const b = await t.register();
  const show = async (label: string, field: string, input: any, token?: string) => {
    const r = await t.gql(mutationFor(field), { input }, { token });
    console.log(label, JSON.stringify(r));
  };
  await show('self upper', 'sendFriendRequest', { toUserId: a.userId.toUpperCase() }, a.token);
  await show('other upper', 'sendFriendRequest', { toUserId: b.userId.toUpperCase() }, a.token);
  await show('missing field', 'sendFriendRequest', {}, a.token);
  await show('int id', 'sendFriendRequest', { toUserId: 123 }, a.token);
  await show('nil uuid', 'sendFriendRequest', { toUserId: '00000000-0000-0000-0000-000000000000' }, a.token);
  await show('bad token', 'sendFriendRequest', { toUserId: b.userId }, 'garbage');
  const ghost = await t.app.identity.tokens.issue(randomUUID());
  await show('ghost', 'updateProfile', { displayName: 'x' }, ghost);
  await show('ghost send', 'sendFriendRequest', { toUserId: b.userId }, ghost);
  await show('empty name', 'updateProfile', { displayName: '' }, a.token);
  const r = await t.gql(`{ user(handle: "${a.handle}") { friendCount displayName } }`, {}, { token: a.token });
  console.log(JSON.stringify(r));
});
