/**
 * Every event the command side emits: past-tense names, literal-typed so a projection that forgets
 * one fails to compile (each ends its switch with `assertNever`, src/read/projection.ts). Events
 * carry what projections need, because the projector never reads the write tables.
 */
export type DomainEvent =
  | { type: 'UserRegistered'; data: { userId: string; handle: string; displayName: string } }
  | { type: 'ProfileUpdated'; data: { userId: string; displayName: string } }
  | { type: 'FriendRequestSent'; data: { friendshipId: string; fromUserId: string; toUserId: string } }
  | { type: 'FriendRequestAccepted'; data: { friendshipId: string; fromUserId: string; toUserId: string } }
  | { type: 'FriendRequestDeclined'; data: { friendshipId: string; fromUserId: string; toUserId: string } }
  | { type: 'FriendRemoved'; data: { friendshipId: string; userId: string; friendId: string } }
  | { type: 'PostPublished'; data: { postId: string; authorId: string; wallOwnerId: string; body: string } }
  | { type: 'PostEdited'; data: { postId: string; body: string } }
  | { type: 'PostDeleted'; data: { postId: string; authorId: string; wallOwnerId: string; deletedBy: string } }
  | { type: 'CommentAdded'; data: { commentId: string; postId: string; authorId: string; body: string } }
  | { type: 'CommentDeleted'; data: { commentId: string; postId: string; deletedBy: string } }
  | { type: 'PostLiked'; data: { postId: string; userId: string } }
  | { type: 'PostUnliked'; data: { postId: string; userId: string } };

export type EventType = DomainEvent['type'];

export type AggregateType = 'user' | 'friendship' | 'post' | 'comment';

export interface EventMetadata {
  commandId: string;
  command: string;
  actorId: string | null;
}

/** An event as read back from the log. */
export type RecordedEvent = DomainEvent & {
  seq: bigint;
  /** The transaction position: every event of one command shares it (see event-log.ts). */
  position: bigint;
  aggregateType: AggregateType;
  aggregateId: string;
  version: number;
  occurredAt: Date;
  metadata: EventMetadata;
};
