import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  AcceptFriendRequestDocument,
  AddCommentDocument,
  DeclineFriendRequestDocument,
  DeleteCommentDocument,
  DeletePostDocument,
  EditPostDocument,
  FeedDocument,
  FriendRequestsDocument,
  FriendsDocument,
  LikePostDocument,
  MeDocument,
  PostDocument,
  PublishPostDocument,
  RegisterUserDocument,
  RemoveFriendDocument,
  SendFriendRequestDocument,
  SignInDocument,
  UnlikePostDocument,
  UpdateProfileDocument,
  UserByHandleDocument,
  WallDocument,
  type PostFieldsFragment,
  type ReceiptFragment,
} from '../generated/graphql.ts';
import { useTestApp, type GqlArgs, type GraphQLResponse } from '../support/app.ts';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';

/**
 * A client's walk through the API using only the generated typed documents of test/operations/:
 * when the schema stops accepting one of them, codegen fails (the operations are validated against
 * schema.graphql); when a result type changes, tsc fails here; when the server answers otherwise,
 * the assertions fail.
 */
const t = useTestApp();

/** Runs a typed operation and hands back its data, failing on any error. */
async function ok<TResult, TVariables extends Record<string, unknown>>(
  document: TypedDocumentNode<TResult, TVariables>,
  ...args: GqlArgs<NoInfer<TVariables>>
): Promise<TResult> {
  const result: GraphQLResponse<TResult> = await t.gql(document, ...args);
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  expect(result.data).toBeTruthy();
  return result.data!;
}

/** Runs a typed query with read-your-writes: the views must have applied `receipt` first. */
async function read<TResult, TVariables extends Record<string, unknown>>(
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
  token: string,
  receipt: ReceiptFragment,
): Promise<TResult> {
  const result: GraphQLResponse<TResult> = await t.gql(document, ...([variables, { token, headers: { 'X-Consistent-With': receipt.position } }] as GqlArgs<TVariables>));
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  const projection = result.extensions?.['projection'] as { position: string; stale: boolean };
  expect(projection.stale).toBe(false);
  expect(BigInt(projection.position)).toBeGreaterThanOrEqual(BigInt(receipt.position));
  return result.data!;
}

const isoTime = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
const password = 'correct horse battery';

describe('a client using the generated documents', () => {
  // Filled in as the walk goes on; each step uses what the earlier ones made.
  const ada = { id: '', token: '', handle: 'ada', displayName: 'Ada Lovelace' };
  const grace = { id: '', token: '', handle: 'grace', displayName: 'Grace Hopper' };
  let postId = '';
  let commentId = '';
  let last: ReceiptFragment;

  it('registers two people and signs them in', async () => {
    for (const person of [ada, grace]) {
      const { registerUser } = await ok(RegisterUserDocument, {
        input: { handle: person.handle, displayName: person.displayName, password },
        idempotencyKey: `register-${person.handle}`,
      });
      expect(registerUser).toEqual({ commandId: expect.any(String), aggregateId: expect.any(String), position: expect.stringMatching(/^\d+$/) });
      person.id = registerUser.aggregateId;

      // signIn waits for the just-registered profile itself.
      const { signIn } = await ok(SignInDocument, { handle: person.handle.toUpperCase(), password });
      expectTypeOf(signIn.token).toEqualTypeOf<string>();
      expect(signIn.user).toEqual({ id: person.id, handle: person.handle, displayName: person.displayName });
      person.token = signIn.token;
    }

    const wrong = await t.gql(SignInDocument, { handle: ada.handle, password: 'not the password' });
    expect(wrong.data ?? null).toBeNull();
    expect(wrong.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');

    const { me } = await ok(MeDocument, {}, { token: ada.token });
    expect(me).toEqual({ id: ada.id, handle: 'ada', displayName: 'Ada Lovelace', friendCount: 0, postCount: 0 });
  });

  it('become friends; a third person is declined', async () => {
    const { sendFriendRequest } = await ok(SendFriendRequestDocument, { input: { toUserId: grace.id } }, { token: ada.token });
    const { friendRequests } = await read(FriendRequestsDocument, {}, grace.token, sendFriendRequest);
    expect(friendRequests).toEqual([{ createdAt: isoTime, from: { id: ada.id, handle: 'ada', displayName: 'Ada Lovelace' } }]);

    const { acceptFriendRequest } = await ok(AcceptFriendRequestDocument, { input: { fromUserId: ada.id } }, { token: grace.token });
    const friends = await read(FriendsDocument, { handle: 'ada', first: 10 }, grace.token, acceptFriendRequest);
    expect(friends.user).toMatchObject({ id: ada.id, friendCount: 1 });
    expect(friends.user!.friends.edges.map((e) => e.node)).toEqual([{ id: grace.id, handle: 'grace', displayName: 'Grace Hopper' }]);
    expect(friends.user!.friends.pageInfo).toEqual({ hasNextPage: false, endCursor: friends.user!.friends.edges[0]!.cursor });
    expect((await read(FriendRequestsDocument, {}, grace.token, acceptFriendRequest)).friendRequests).toEqual([]);

    const { registerUser } = await ok(RegisterUserDocument, { input: { handle: 'linus', displayName: 'Linus', password } });
    const linus = (await ok(SignInDocument, { handle: 'linus', password })).signIn;
    const asked = await ok(SendFriendRequestDocument, { input: { toUserId: ada.id } }, { token: linus.token });
    expect((await read(FriendRequestsDocument, {}, ada.token, asked.sendFriendRequest)).friendRequests.map((r) => r.from.handle)).toEqual(['linus']);
    const { declineFriendRequest } = await ok(DeclineFriendRequestDocument, { input: { fromUserId: registerUser.aggregateId } }, { token: ada.token });
    expect((await read(FriendRequestsDocument, {}, ada.token, declineFriendRequest)).friendRequests).toEqual([]);
    const { user } = await read(UserByHandleDocument, { handle: 'ada' }, linus.token, declineFriendRequest);
    expect(user).toEqual({ id: ada.id, handle: 'ada', displayName: 'Ada Lovelace', friendCount: 1, postCount: 0 });
  });

  it("publishes on the other's wall, comments and likes; wall, feed and post read their writes", async () => {
    const publish = { input: { body: 'Hello from Grace', wallOwnerId: ada.id }, idempotencyKey: 'first-post' };
    const { publishPost } = await ok(PublishPostDocument, publish, { token: grace.token });
    // The same idempotency key again: the first receipt, nothing published twice.
    expect((await ok(PublishPostDocument, publish, { token: grace.token })).publishPost).toEqual(publishPost);
    postId = publishPost.aggregateId;

    const { addComment } = await ok(AddCommentDocument, { input: { postId, body: 'Welcome, Grace' } }, { token: ada.token });
    commentId = addComment.aggregateId;
    const { likePost } = await ok(LikePostDocument, { input: { postId } }, { token: ada.token });
    last = likePost;

    const comment = { id: commentId, body: 'Welcome, Grace', createdAt: isoTime, author: { id: ada.id, handle: 'ada', displayName: 'Ada Lovelace' } };
    const expected: PostFieldsFragment = {
      id: postId,
      body: 'Hello from Grace',
      createdAt: isoTime,
      editedAt: null,
      likeCount: 1,
      likedByMe: true,
      commentCount: 1,
      author: { id: grace.id, handle: 'grace', displayName: 'Grace Hopper' },
      wallOwner: { id: ada.id, handle: 'ada', displayName: 'Ada Lovelace' },
      latestComments: [comment],
    };

    const { wall } = await read(WallDocument, { userId: ada.id }, ada.token, last);
    expect(wall.edges.map((e) => e.node)).toEqual([expected]);
    expect(wall.pageInfo.hasNextPage).toBe(false);

    // Grace's feed has her own post; she has not liked it.
    const { feed } = await read(FeedDocument, { first: 5 }, grace.token, last);
    expect(feed.edges.map((e) => e.node)).toEqual([{ ...expected, likedByMe: false }]);

    const { post } = await read(PostDocument, { id: postId, commentsFirst: 10 }, grace.token, last);
    expectTypeOf(post!.editedAt).toEqualTypeOf<string | null>();
    expect(post).toMatchObject({ ...expected, likedByMe: false });
    expect(post!.comments.edges.map((e) => e.node)).toEqual([comment]);
    expect(post!.comments.pageInfo).toEqual({ hasNextPage: false, endCursor: post!.comments.edges[0]!.cursor });

    const { me } = await read(MeDocument, {}, grace.token, last);
    expect(me).toMatchObject({ handle: 'grace', friendCount: 1, postCount: 1 });
  });

  it('edits, unlikes and deletes the comment', async () => {
    const { editPost } = await ok(EditPostDocument, { input: { postId, body: 'Hello from Grace (edited)' } }, { token: grace.token });
    let { post } = await read(PostDocument, { id: postId }, ada.token, editPost);
    expect(post).toMatchObject({ body: 'Hello from Grace (edited)', editedAt: isoTime, likeCount: 1, likedByMe: true });

    const { unlikePost } = await ok(UnlikePostDocument, { input: { postId } }, { token: ada.token });
    ({ post } = await read(PostDocument, { id: postId }, ada.token, unlikePost));
    expect(post).toMatchObject({ likeCount: 0, likedByMe: false, commentCount: 1 });

    const { deleteComment } = await ok(DeleteCommentDocument, { input: { commentId } }, { token: ada.token });
    ({ post } = await read(PostDocument, { id: postId }, ada.token, deleteComment));
    expect(post).toMatchObject({ commentCount: 0, latestComments: [] });
    expect(post!.comments.edges).toEqual([]);
    expect(post!.comments.pageInfo).toEqual({ hasNextPage: false, endCursor: null });
  });

  it('deletes the post, renames, and unfriends', async () => {
    // The wall owner may delete a post a friend wrote on her wall.
    const { deletePost } = await ok(DeletePostDocument, { input: { postId } }, { token: ada.token });
    expect((await read(PostDocument, { id: postId }, ada.token, deletePost)).post).toBeNull();
    expect((await read(WallDocument, { userId: ada.id }, ada.token, deletePost)).wall.edges).toEqual([]);
    expect((await read(FeedDocument, {}, grace.token, deletePost)).feed.edges).toEqual([]);
    expect((await read(MeDocument, {}, grace.token, deletePost)).me.postCount).toBe(0);

    const { updateProfile } = await ok(UpdateProfileDocument, { input: { displayName: 'Countess Lovelace' } }, { token: ada.token });
    expect((await read(MeDocument, {}, ada.token, updateProfile)).me.displayName).toBe('Countess Lovelace');
    const friends = await read(FriendsDocument, { handle: 'grace' }, grace.token, updateProfile);
    expect(friends.user!.friends.edges.map((e) => e.node)).toEqual([{ id: ada.id, handle: 'ada', displayName: 'Countess Lovelace' }]);

    const { removeFriend } = await ok(RemoveFriendDocument, { input: { userId: grace.id } }, { token: ada.token });
    expect((await read(MeDocument, {}, ada.token, removeFriend)).me.friendCount).toBe(0);
    expect((await read(FriendsDocument, { handle: 'grace' }, ada.token, removeFriend)).user!.friends.edges).toEqual([]);
    // No longer a friend: Ada's wall is closed to Grace.
    const closed = await t.gql(WallDocument, { userId: ada.id }, { token: grace.token, headers: { 'X-Consistent-With': removeFriend.position } });
    expect(closed.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
  });

  it('is type-checked against the operations', () => {
    // Compile-time only: tsc rejects a call whose variables the operation does not declare or require.
    const unused = () => {
      // @ts-expect-error userId is a required variable of Wall
      void t.gql(WallDocument, {});
      // @ts-expect-error Wall has no variable `owner`
      void t.gql(WallDocument, { userId: ada.id, owner: ada.id });
      // @ts-expect-error a post's body is a string
      void t.gql(EditPostDocument, { input: { postId, body: 1 } });
    };
    expect(typeof unused).toBe('function');
  });
});
