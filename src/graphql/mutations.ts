import { setTimeout as sleep } from 'node:timers/promises';
import { LIMITS } from '../write/commands/rules.ts';
import { MAX_IDEMPOTENCY_KEY_LENGTH } from '../write/bus.ts';
import { builder } from './builder.ts';
import type { GraphQLContext } from './context.ts';
import { CommandReceiptRef } from './types/receipt.ts';
import { SessionRef } from './types/session.ts';
import { loadProfile } from './types/user.ts';

builder.mutationType({
  description: 'Commands. Each runs through the command bus and returns a receipt, never domain data.',
});

type InputFieldBuilder = Parameters<Parameters<typeof builder.inputType>[1]['fields']>[0];

/**
 * One mutation per command: `input: <Name>Input!`, an optional `idempotencyKey`, and a
 * `CommandReceipt!`. Validation and rules live in the command, not here.
 */
function commandMutation(
  field: string,
  command: string,
  description: string,
  fields: (t: InputFieldBuilder) => Record<string, ReturnType<InputFieldBuilder['string']>>,
) {
  const inputName = `${command}Input`;
  const input = builder.inputType(inputName, { description: `Input of \`${field}\`.`, fields });
  builder.mutationField(field, (t) =>
    t.field({
      type: CommandReceiptRef,
      description,
      args: {
        input: t.arg({ type: input, required: true, description: `What to ${command.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()}.` }),
        idempotencyKey: t.arg.string({
          description: `A key of yours (1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters): repeating the call with it returns the first receipt and changes nothing. Reused with a different input, it is a CONFLICT.`,
        }),
      },
      resolve: (_root, args, ctx: GraphQLContext) => {
        if (ctx.authError) throw ctx.authError;
        return ctx.services.bus.execute(
          { name: command, input: stripNulls(args.input as Record<string, unknown>), idempotencyKey: args.idempotencyKey },
          { actorId: ctx.actorId, requestId: ctx.requestId },
        );
      },
    }),
  );
}

const stripNulls = (input: Record<string, unknown>) => Object.fromEntries(Object.entries(input).filter(([, v]) => v != null));
const bounds = (what: string, { min, max }: { min: number; max: number }) => `${what}, ${min} to ${max} characters.`;

commandMutation('registerUser', 'RegisterUser', 'Creates an account. No token needed. CONFLICT when the handle is taken.', (t) => ({
  handle: t.string({ required: true, description: bounds('Letters, digits and underscores, unique ignoring case', LIMITS.handle) }),
  displayName: t.string({ required: true, description: bounds('The name shown to others', LIMITS.displayName) }),
  password: t.string({ required: true, description: bounds('Stored only as a scrypt hash', LIMITS.password) }),
}));

commandMutation('updateProfile', 'UpdateProfile', "Changes the caller's display name everywhere it is shown.", (t) => ({
  displayName: t.string({ required: true, description: bounds('The new display name', LIMITS.displayName) }),
}));

commandMutation(
  'sendFriendRequest',
  'SendFriendRequest',
  'Asks someone to be friends. CONFLICT when already friends, already asked, asked by them, or at the friend cap.',
  (t) => ({ toUserId: t.id({ required: true, description: 'The person to ask.' }) }),
);

commandMutation(
  'acceptFriendRequest',
  'AcceptFriendRequest',
  'Accepts a pending request sent to the caller. NOT_FOUND without one; CONFLICT when either side is at the friend cap.',
  (t) => ({ fromUserId: t.id({ required: true, description: 'Who sent the request.' }) }),
);

commandMutation(
  'declineFriendRequest',
  'DeclineFriendRequest',
  'Declines a pending request sent to the caller. NOT_FOUND without one.',
  (t) => ({ fromUserId: t.id({ required: true, description: 'Who sent the request.' }) }),
);

commandMutation('removeFriend', 'RemoveFriend', 'Ends a friendship. NOT_FOUND when not friends.', (t) => ({
  userId: t.id({ required: true, description: 'The friend to remove.' }),
}));

commandMutation(
  'publishPost',
  'PublishPost',
  "Writes a post on the caller's wall, or on a friend's wall (FORBIDDEN on anyone else's).",
  (t) => ({
    body: t.string({ required: true, description: bounds('The text', LIMITS.postBody) }),
    wallOwnerId: t.id({ description: "Whose wall; the caller's own when left out." }),
  }),
);

commandMutation('editPost', 'EditPost', 'Replaces the text of a post. Only its author may.', (t) => ({
  postId: t.id({ required: true, description: 'The post to edit.' }),
  body: t.string({ required: true, description: bounds('The new text', LIMITS.postBody) }),
}));

commandMutation('deletePost', 'DeletePost', 'Deletes a post with its comments and likes. Its author or the wall owner may.', (t) => ({
  postId: t.id({ required: true, description: 'The post to delete.' }),
}));

commandMutation('addComment', 'AddComment', 'Comments on a post. The wall owner and their friends may.', (t) => ({
  postId: t.id({ required: true, description: 'The post to comment on.' }),
  body: t.string({ required: true, description: bounds('The text', LIMITS.commentBody) }),
}));

commandMutation(
  'deleteComment',
  'DeleteComment',
  "Deletes a comment. The comment's author, the post's author or the wall owner may.",
  (t) => ({ commentId: t.id({ required: true, description: 'The comment to delete.' }) }),
);

commandMutation('likePost', 'LikePost', 'Likes a post. The wall owner and their friends may. CONFLICT when already liked.', (t) => ({
  postId: t.id({ required: true, description: 'The post to like.' }),
}));

commandMutation('unlikePost', 'UnlikePost', 'Takes back a like. CONFLICT when the caller does not like the post.', (t) => ({
  postId: t.id({ required: true, description: 'The post to unlike.' }),
}));

/** How long signIn waits for a just-registered person's profile to reach the views. */
const SIGN_IN_PROFILE_WAIT_MS = 5000;

builder.mutationField('signIn', (t) =>
  t.field({
    type: SessionRef,
    description:
      'Exchanges a handle and password for a token. UNAUTHENTICATED when either is wrong; RATE_LIMITED (with extensions.retryAfterSeconds) after too many wrong passwords for the handle or from the client address (see the README).',
    args: {
      handle: t.arg.string({ required: true, description: 'The handle (any case).' }),
      password: t.arg.string({ required: true, description: 'The password.' }),
    },
    resolve: async (_root, { handle, password }, ctx) => {
      const { userId, token } = await ctx.services.identity.signIn(handle, password, ctx.clientAddress ?? 'local');
      const deadline = Date.now() + SIGN_IN_PROFILE_WAIT_MS;
      let user = await loadProfile(ctx, userId);
      while (!user && Date.now() < deadline) {
        await sleep(20);
        ctx.loaders.profile.clear(userId);
        user = await loadProfile(ctx, userId);
      }
      if (!user) throw new Error(`profile of ${userId} did not reach the views in ${SIGN_IN_PROFILE_WAIT_MS} ms`);
      return { token, user };
    },
  }),
);
