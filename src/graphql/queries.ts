import { notFound } from '../errors.ts';
import { findProfileByHandle } from '../read/views/profile.ts';
import { builder } from './builder.ts';
import { requireActor } from './context.ts';
import { loadProfile, UserRef } from './types/user.ts';

builder.queryType({ description: 'Reads. Every field answers from the read views, never from the write tables.' });

builder.queryField('me', (t) =>
  t.field({
    type: UserRef,
    description: 'The signed-in person. UNAUTHENTICATED without a valid token.',
    resolve: async (_root, _args, ctx) => {
      const userId = requireActor(ctx);
      const profile = await loadProfile(ctx, userId);
      if (!profile) throw notFound('Your profile is not in the views yet; retry with X-Consistent-With.');
      return profile;
    },
  }),
);

builder.queryField('user', (t) =>
  t.field({
    type: UserRef,
    nullable: true,
    description: 'A person by handle (ignoring case); null when there is no such person. Needs a signed-in caller.',
    args: { handle: t.arg.string({ required: true, description: 'The handle to look up.' }) },
    resolve: async (_root, { handle }, ctx) => {
      requireActor(ctx);
      const profile = await findProfileByHandle(ctx.services.viewsDb, handle);
      if (profile) ctx.loaders.profile.prime(profile.userId, profile);
      return profile ?? null;
    },
  }),
);
