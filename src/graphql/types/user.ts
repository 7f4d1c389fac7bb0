import type { ProfileRow } from '../../read/views/profile.ts';
import { builder } from '../builder.ts';
import type { GraphQLContext } from '../context.ts';

export const UserRef = builder.objectRef<ProfileRow>('User').implement({
  description: 'A person, as their profile view shows them.',
  fields: (t) => ({
    id: t.exposeID('userId', { description: 'The stable id of the person.' }),
    handle: t.exposeString('handle', { description: 'The unique name the person signs in with (unique ignoring case).' }),
    displayName: t.exposeString('displayName', { description: 'The name shown to others.' }),
    friendCount: t.exposeInt('friendCount', { description: 'How many friends the person has.' }),
    postCount: t.exposeInt('postCount', { description: 'How many posts the person has written (on any wall).' }),
  }),
});

/** A profile by id through the request's loader; null when the view has no such person yet. */
export const loadProfile = (ctx: GraphQLContext, userId: string) => ctx.loaders.profile.load(userId);
