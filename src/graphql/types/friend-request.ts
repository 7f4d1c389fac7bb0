import type { FriendRequestRow } from '../../read/views/friends.ts';
import { builder } from '../builder.ts';
import { loadProfile, UserRef } from './user.ts';

export const FriendRequestRef = builder.objectRef<FriendRequestRow>('FriendRequest').implement({
  description: 'A pending friend request sent to the signed-in person.',
  fields: (t) => ({
    from: t.field({
      type: UserRef,
      description: 'Who sent it.',
      resolve: async (r, _args, ctx) => (await loadProfile(ctx, r.fromUserId))!,
    }),
    createdAt: t.field({ type: 'DateTime', description: 'When it was sent.', resolve: (r) => r.createdAt }),
  }),
});
