import { and, asc, eq, gt, inArray, isNull, sql } from 'drizzle-orm';
import type { Queryable, Tx } from '../db/connect.ts';
import { changes, checkpoints, feedEntries, type ChangeKind, type Views } from '../db/schema/read.ts';
import type { RecordedEvent } from '../write/events.ts';
import type { ProjectionContext } from './projection.ts';

/*
 * The change log (read.changes) is how live subscriptions learn what the projector changed. Rows
 * are written by the projections in the batch transaction that changes the views, so the log is
 * exactly as right as the views; after the batch commits the projector NOTIFYs CHANGES_CHANNEL
 * (and wakes this process), and every API process reads the new rows once, in `seq` order.
 * The log keeps the newest `keep` rows; CHANGE_LOG_CHECKPOINT records the newest position trimmed,
 * so a resume from an older position is refused rather than answered with a gap.
 */

/** Channel the projector NOTIFYs on the views database after each batch that logged changes. */
export const CHANGES_CHANNEL = 'wall_changes';
/** Checkpoint row holding the newest position removed from the change log. */
export const CHANGE_LOG_CHECKPOINT = 'change-log-trimmed';
/** Change-log rows kept unless CHANGE_LOG_SIZE says otherwise. */
export const DEFAULT_CHANGE_LOG_SIZE = 100_000;

export type ChangeRow = typeof changes.$inferSelect;

const at = (event: RecordedEvent) => sql`${event.position.toString()}::bigint`;

/** Logs that a post changed, with the wall it is on (read from the posts view: log before deleting). */
export async function logPostChange({ tx, views, logChanges }: ProjectionContext, event: RecordedEvent, kind: ChangeKind, postId: string) {
  if (!logChanges) return;
  const { posts, changes: log } = views;
  await tx.execute(sql`
    insert into ${log} (position, kind, post_id, wall_id)
    select ${at(event)}, ${kind}, post_id, wall_owner_id from ${posts} where post_id = ${postId}`);
}

/** Logs that `readerId` may no longer see `wallId`'s wall (their friendship ended). */
export async function logRevoked({ tx, views, logChanges }: ProjectionContext, event: RecordedEvent, readerId: string, wallId: string) {
  if (!logChanges) return;
  await tx.insert(views.changes).values({ position: event.position, kind: 'REVOKED', readerId, wallId });
}

/**
 * A CTE that logs feed entries a statement added or removed: `source` is a CTE name with columns
 * (reader_id, post_id). Used inside the feed's set-based statements, so fan-out logs without a
 * round trip per reader.
 */
export function feedChangesCte(ctx: ProjectionContext, event: RecordedEvent, kind: 'ADDED' | 'REMOVED', source: string) {
  return sql`insert into ${ctx.views.changes} (position, kind, post_id, reader_id)
    select ${at(event)}, ${kind}, post_id, reader_id from ${sql.raw(source)} where ${ctx.logChanges}`;
}

/** Drops the oldest rows beyond `keep`, remembering the newest position dropped. */
export async function trimChangeLog(tx: Tx, views: Views, keep: number): Promise<void> {
  const { changes: log, checkpoints: marks } = views;
  await tx.execute(sql`
    with gone as (
      delete from ${log} where seq <= (select max(seq) from ${log}) - ${keep} returning position)
    insert into ${marks} (name, position, updated_at)
    select ${CHANGE_LOG_CHECKPOINT}, max(position), now() from gone having count(*) > 0
    on conflict (name) do update set position = greatest(${marks}.position, excluded.position), updated_at = excluded.updated_at`);
}

/** The newest position the change log no longer holds (0 when it was never trimmed). */
export async function changeLogTrimmedThrough(db: Queryable): Promise<bigint> {
  const [row] = await db.select({ position: checkpoints.position }).from(checkpoints).where(eq(checkpoints.name, CHANGE_LOG_CHECKPOINT));
  return row?.position ?? 0n;
}

/** The newest row's seq (0 for an empty log): where a process starts tailing. */
export async function lastChangeSeq(db: Queryable): Promise<number> {
  const [row] = await db.select({ seq: sql<string | number | null>`max(${changes.seq})` }).from(changes);
  return Number(row?.seq ?? 0);
}

/** Rows after `afterSeq`, oldest first. */
export function changesAfter(db: Queryable, afterSeq: number, limit: number): Promise<ChangeRow[]> {
  return db.select().from(changes).where(gt(changes.seq, afterSeq)).orderBy(asc(changes.seq)).limit(limit);
}

/** Which (reader, post) pairs among these are feed entries now: one query for any number of each. */
export async function feedMembership(db: Queryable, readerIds: readonly string[], postIds: readonly string[]): Promise<Set<string>> {
  if (readerIds.length === 0 || postIds.length === 0) return new Set();
  const rows = await db
    .select({ readerId: feedEntries.readerId, postId: feedEntries.postId })
    .from(feedEntries)
    .where(and(inArray(feedEntries.readerId, [...readerIds]), inArray(feedEntries.postId, [...postIds])));
  return new Set(rows.map((r) => `${r.readerId}|${r.postId}`));
}

/** What a resuming subscriber asks for: the changes of one topic after a position. */
export type Topic = { kind: 'wall'; wallId: string } | { kind: 'post'; postId: string } | { kind: 'feed'; readerId: string };

/**
 * One page of a topic's logged changes with position > `since` and seq > `afterSeq`, oldest first.
 * A feed's page is its own entries' comings and goings, plus updates of the posts it holds now
 * (those made after each entered it).
 */
export function topicChangesAfter(db: Queryable, topic: Topic, since: bigint, afterSeq: number, limit: number): Promise<ChangeRow[]> {
  const after = and(gt(changes.position, since), gt(changes.seq, afterSeq));
  const postRow = and(isNull(changes.readerId), after);
  const select = db.select().from(changes);
  switch (topic.kind) {
    case 'wall':
      return select.where(and(postRow, eq(changes.wallId, topic.wallId))).orderBy(asc(changes.seq)).limit(limit);
    case 'post':
      return select.where(and(postRow, eq(changes.postId, topic.postId))).orderBy(asc(changes.seq)).limit(limit);
    case 'feed':
      return select
        .where(
          and(
            after,
            sql`(
              (${changes.readerId} = ${topic.readerId} and ${changes.kind} in ('ADDED', 'REMOVED'))
              or (${changes.readerId} is null and ${changes.kind} = 'UPDATED'
                  and ${changes.postId} in (select post_id from ${feedEntries} where reader_id = ${topic.readerId})
                  -- as live: no update of a post before it entered this feed
                  and not exists (select 1 from ${changes} entered
                                  where entered.reader_id = ${topic.readerId} and entered.post_id = ${changes.postId}
                                    and entered.kind = 'ADDED' and entered.seq > ${changes.seq})))`,
          ),
        )
        .orderBy(asc(changes.seq))
        .limit(limit);
  }
}
