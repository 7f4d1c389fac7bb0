import { sql } from 'drizzle-orm';
import { bigint, index, integer, pgSchema, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** The query side: denormalized views kept by the projector from events alone. */
export const readSchema = pgSchema('read');

export const profiles = readSchema.table(
  'profiles',
  {
    userId: uuid('user_id').primaryKey(),
    handle: text('handle').notNull(),
    displayName: text('display_name').notNull(),
    friendCount: integer('friend_count').notNull().default(0),
    postCount: integer('post_count').notNull().default(0),
  },
  (t) => [index('profiles_handle_lower_idx').on(sql`lower(${t.handle})`)],
);

/** How far each projector has applied the event log (a transaction position, see event-log.ts). */
export const checkpoints = readSchema.table('checkpoints', {
  name: text('name').primaryKey(),
  position: bigint('position', { mode: 'bigint' }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull(),
});
