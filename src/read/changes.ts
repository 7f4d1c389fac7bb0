import { and, asc, eq, gt, isNull, sql, type SQL } from 'drizzle-orm';
import { queryRows, type Queryable } from '../db/connect.ts';
import { changes, checkpoints, feedEntries, friends, postViews, type ChangeKind, type Views } from '../db/schema/read.ts';
import { idSet, recordset, type ProjectionContext } from './projection.ts';

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

/*
 * A batch's change-log rows are staged first (a temporary table, emptied at commit) by the
 * statements that make the changes, then enter the log together, in log order: by position, and
 * within one transaction revocations first, then post rows, then feed entries added, then removed.
 * So positions never go back in seq order, which resuming relies on (see live/hub.ts).
 */
const STAGE = sql.raw('pg_temp.wall_change_stage');
export const STAGE_ORDER = { revoked: 0, post: 1, feedAdded: 2, feedRemoved: 3 } as const;

/** Makes the stage, once per connection. */
export const createChangeStage = sql`
  create temp table if not exists wall_change_stage (
    position bigint not null, ord smallint not null, seq bigint not null, kind text not null,
    post_id uuid, wall_id uuid, reader_id uuid) on commit delete rows`;

/** Stages post rows: one per event that changed a post, with its wall (read from the posts view: stage before deleting). */
export function stagePostChanges({ views, logChanges, run }: ProjectionContext, rows: { position: string; seq: string; kind: ChangeKind; post_id: string }[]) {
  if (!logChanges || rows.length === 0) return;
  run(sql`
    insert into ${STAGE} (position, ord, seq, kind, post_id, wall_id)
    select r.position, ${STAGE_ORDER.post}, r.seq, r.kind, r.post_id, p.wall_owner_id
    from ${recordset(rows, 'r(position bigint, seq bigint, kind text, post_id uuid)')} join ${views.posts} p on p.post_id = r.post_id`);
}

/** Stages that each reader may no longer see the wall (their friendship ended). */
export function stageRevoked({ logChanges, run }: ProjectionContext, rows: { position: string; reader_id: string; wall_id: string }[]) {
  if (!logChanges || rows.length === 0) return;
  run(sql`
    insert into ${STAGE} (position, ord, seq, kind, reader_id, wall_id)
    select r.position, ${STAGE_ORDER.revoked}, 0, 'REVOKED', r.reader_id, r.wall_id
    from ${recordset(rows, 'r(position bigint, reader_id uuid, wall_id uuid)')}`);
}

/**
 * A CTE body that stages feed entries a statement added or removed: `source` names a CTE with
 * columns (position, reader_id, post_id). Used inside the feed's set-based statements, so fan-out
 * logs without a round trip per reader.
 */
export function stageFeedChanges(ctx: ProjectionContext, kind: 'ADDED' | 'REMOVED', source: string) {
  const ord = kind === 'ADDED' ? STAGE_ORDER.feedAdded : STAGE_ORDER.feedRemoved;
  return sql`insert into ${STAGE} (position, ord, seq, kind, post_id, reader_id)
    select position, ${ord}, 0, ${kind}, post_id, reader_id from ${sql.raw(source)} where ${ctx.logChanges}`;
}

/** Moves the staged rows into the log, in log order (two statements: the copy, then emptying the stage). */
export function publishStagedChanges(views: Views): SQL[] {
  return [
    sql`insert into ${views.changes} (position, kind, post_id, wall_id, reader_id)
        select position, kind, post_id, wall_id, reader_id from ${STAGE} order by position, ord, seq, reader_id, post_id`,
    // Emptied at commit too; a rebuild's swap applies several batches in one transaction.
    sql`truncate ${STAGE}`,
  ];
}

/** Drops the oldest rows beyond `keep`, remembering the newest position dropped. */
export function trimChangeLog(views: Views, keep: number): SQL {
  const { changes: log, checkpoints: marks } = views;
  return sql`
    with gone as (
      delete from ${log} where seq <= (select max(seq) from ${log}) - ${keep} returning position)
    insert into ${marks} (name, position, updated_at)
    select ${CHANGE_LOG_CHECKPOINT}, max(position), now() from gone having count(*) > 0
    on conflict (name) do update set position = greatest(${marks}.position, excluded.position), updated_at = excluded.updated_at`;
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

/**
 * Which (reader, post) pairs among these are feed entries now: one query for any number of each.
 * A post's holders may see its wall (see views/feed.ts), so only its author, its wall's owner and
 * the owner's friends are looked up, each with one probe of the feed's key.
 */
export async function feedMembership(db: Queryable, readerIds: readonly string[], postIds: readonly string[]): Promise<Set<string>> {
  if (readerIds.length === 0 || postIds.length === 0) return new Set();
  const rows = await queryRows<{ reader_id: string; post_id: string }>(
    db,
    sql`select c.reader_id, p.post_id from ${postViews} p
        cross join lateral (
          select p.author_id as reader_id
          union select p.wall_owner_id
          union select f.friend_id from ${friends} f where f.user_id = p.wall_owner_id) c
        where p.post_id in ${idSet(postIds)} and c.reader_id in ${idSet(readerIds)}
          and exists (select 1 from ${feedEntries} e where e.reader_id = c.reader_id and e.created_at = p.created_at and e.post_id = p.post_id)`,
  );
  return new Set(rows.map((r) => `${r.reader_id}|${r.post_id}`));
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
