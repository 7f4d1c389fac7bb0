import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  customType,
  index,
  integer,
  jsonb,
  pgSchema,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

/** The command side: normalized tables, the event log and the command log. */
export const writeSchema = pgSchema('write');

/** PostgreSQL's 64-bit transaction id; read as text so no driver loses precision. */
const xid8 = customType<{ data: string; driverData: string }>({ dataType: () => 'xid8' });

const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const users = writeSchema.table(
  'users',
  {
    id: uuid('id').primaryKey(),
    handle: text('handle').notNull(),
    displayName: text('display_name').notNull(),
    passwordHash: text('password_hash').notNull(),
    /** Kept here so the friend cap is checked without counting rows. */
    friendCount: integer('friend_count').notNull().default(0),
    version: integer('version').notNull(),
    createdAt: timestamptz('created_at').notNull(),
    updatedAt: timestamptz('updated_at').notNull(),
  },
  (t) => [uniqueIndex('users_handle_lower_key').on(sql`lower(${t.handle})`)],
);

export const friendshipStatus = writeSchema.enum('friendship_status', ['none', 'pending', 'accepted']);

/**
 * One row per pair of people, ordered (userLow < userHigh), whatever happened between them:
 * the friendship aggregate. `requestedBy` says who sent the pending request.
 */
export const friendships = writeSchema.table(
  'friendships',
  {
    id: uuid('id').primaryKey(),
    userLow: uuid('user_low')
      .notNull()
      .references(() => users.id),
    userHigh: uuid('user_high')
      .notNull()
      .references(() => users.id),
    status: friendshipStatus('status').notNull(),
    requestedBy: uuid('requested_by').references(() => users.id),
    requestedAt: timestamptz('requested_at'),
    acceptedAt: timestamptz('accepted_at'),
    version: integer('version').notNull(),
  },
  (t) => [
    uniqueIndex('friendships_pair_key').on(t.userLow, t.userHigh),
    index('friendships_user_high_idx').on(t.userHigh),
    check('friendships_ordered_pair', sql`${t.userLow} < ${t.userHigh}`),
  ],
);

export const posts = writeSchema.table(
  'posts',
  {
    id: uuid('id').primaryKey(),
    authorId: uuid('author_id')
      .notNull()
      .references(() => users.id),
    wallOwnerId: uuid('wall_owner_id')
      .notNull()
      .references(() => users.id),
    body: text('body').notNull(),
    createdAt: timestamptz('created_at').notNull(),
    editedAt: timestamptz('edited_at'),
    version: integer('version').notNull(),
  },
  (t) => [index('posts_wall_owner_idx').on(t.wallOwnerId, t.createdAt), index('posts_author_idx').on(t.authorId)],
);

export const comments = writeSchema.table(
  'comments',
  {
    id: uuid('id').primaryKey(),
    postId: uuid('post_id')
      .notNull()
      .references(() => posts.id, { onDelete: 'cascade' }),
    authorId: uuid('author_id')
      .notNull()
      .references(() => users.id),
    body: text('body').notNull(),
    createdAt: timestamptz('created_at').notNull(),
    version: integer('version').notNull(),
  },
  (t) => [index('comments_post_idx').on(t.postId, t.createdAt)],
);

export const likes = writeSchema.table(
  'likes',
  {
    postId: uuid('post_id')
      .notNull()
      .references(() => posts.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id),
    createdAt: timestamptz('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.postId, t.userId] })],
);

/**
 * The event log. `seq` orders events inside one transaction; `txId` orders transactions.
 * Readers follow (txId, seq) and only below the oldest running transaction (see event-log.ts).
 */
export const events = writeSchema.table(
  'events',
  {
    seq: bigint('seq', { mode: 'bigint' }).primaryKey().generatedAlwaysAsIdentity(),
    txId: xid8('tx_id')
      .notNull()
      .default(sql`pg_current_xact_id()`),
    aggregateType: text('aggregate_type').notNull(),
    aggregateId: uuid('aggregate_id').notNull(),
    version: integer('version').notNull(),
    type: text('type').notNull(),
    data: jsonb('data').notNull(),
    metadata: jsonb('metadata').notNull(),
    occurredAt: timestamptz('occurred_at').notNull(),
  },
  (t) => [
    uniqueIndex('events_aggregate_version_key').on(t.aggregateId, t.version),
    index('events_tx_seq_idx').on(t.txId, t.seq),
  ],
);

/** Every command that succeeded, with its receipt; the idempotency keys live here. */
export const commands = writeSchema.table(
  'commands',
  {
    id: uuid('id').primaryKey(),
    name: text('name').notNull(),
    actorId: uuid('actor_id'),
    /** Who the idempotency key belongs to: the caller, or for anonymous callers the input. */
    scope: text('scope').notNull(),
    idempotencyKey: text('idempotency_key'),
    /** Hash of the command name and its non-secret input: a reused key with other input is refused. */
    fingerprint: text('fingerprint').notNull(),
    receipt: jsonb('receipt').notNull(),
    createdAt: timestamptz('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('commands_idempotency_key')
      .on(t.scope, t.idempotencyKey)
      .where(sql`${t.idempotencyKey} is not null`),
  ],
);
