import { decodeCursor, pageSize, toConnection } from '../../read/pagination.ts';
import { friendsPage } from '../../read/views/friends.ts';
import type { ProfileRow } from '../../read/views/profile.ts';
import { builder } from '../builder.ts';
import type { GraphQLContext } from '../context.ts';
import { pageComplexity } from '../limits.ts';
import { afterArgDescription, connectionOf, firstArgDescription } from './connection.ts';

export const UserRef = builder.objectRef<ProfileRow>('User');

export const UserConnectionRef = connectionOf('User', UserRef, 'person');

UserRef.implement({
  description: 'A person, as their profile view shows them.',
  fields: (t) => ({
    id: t.exposeID('userId', { description: 'The stable id of the person.' }),
    handle: t.exposeString('handle', { description: 'The unique name the person signs in with (unique ignoring case).' }),
    displayName: t.exposeString('displayName', { description: 'The name shown to others.' }),
    friendCount: t.exposeInt('friendCount', { description: 'How many friends the person has.' }),
    postCount: t.exposeInt('postCount', { description: 'How many posts the person has written (on any wall).' }),
    friends: t.field({
      type: UserConnectionRef,
      description: "The person's friends, newest friendship first. Visible to any signed-in person, like the profile.",
      complexity: pageComplexity,
      args: {
        first: t.arg.int({ defaultValue: 20, description: firstArgDescription }),
        after: t.arg.string({ description: afterArgDescription }),
      },
      resolve: async (user, args, ctx) => {
        const size = pageSize(args.first);
        const rows = await friendsPage(ctx.services.viewsDb, user.userId, decodeCursor(args.after), size + 1);
        await ctx.loaders.profile.loadAll(rows.slice(0, size).map((r) => r.friendId));
        return toConnection(rows, size, (r) => ({ at: r.since, id: r.friendId }), (r) => {
          const profile = ctx.loaders.profile.peek(r.friendId);
          if (!profile) throw new Error(`profile ${r.friendId} is missing from the views`);
          return profile;
        });
      },
    }),
  }),
});

/** A profile by id through the request's loader; null when the view has no such person yet. */
export const loadProfile = (ctx: GraphQLContext, userId: string) => ctx.loaders.profile.load(userId);
