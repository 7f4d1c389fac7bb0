import { eq, sql } from 'drizzle-orm';
import { queryRows, type Queryable } from '../db/connect.ts';
import { events } from '../db/schema/write.ts';
import { conflict, isUniqueViolation } from '../errors.ts';
import type { AggregateType, DomainEvent, EventMetadata, RecordedEvent } from './events.ts';

/*
 * Ordering. Every event row carries the id of the transaction that wrote it (`tx_id`, xid8) and a
 * sequence number (`seq`). Sequence numbers are taken when rows are inserted, not when their
 * transaction commits, so a reader that follows `seq > checkpoint` can pass over an event whose
 * transaction commits late, and never see it. Readers here follow (tx_id, seq) instead, and only
 * read transactions below a horizon under which every transaction of this database has finished
 * (see `readHorizon`): nothing can appear behind a reader later.
 *
 * The position of an event, and of a receipt, is its transaction id. A projector that has applied
 * position P has applied every transaction at or below P that wrote events.
 *
 * Transaction ids are handed out at a transaction's first write. For the log's order to agree with
 * each aggregate's versions, a command takes the advisory locks of every aggregate it will change
 * before it writes anything (`lockAggregates` checks this): a later writer of the same aggregate
 * waits for the lock, so it gets its transaction id after the earlier writer got its own.
 */

/** Takes transaction-scoped advisory locks on `keys`, in one sorted order (no deadlocks between commands). */
export async function lockAggregates(db: Queryable, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  const array = sql`array[${sql.join(
    keys.map((k) => sql`${k}`),
    sql`, `,
  )}]::text[]`;
  const [row] = await queryRows<{ assigned: string | null }>(
    db,
    sql`select pg_current_xact_id_if_assigned()::text as assigned,
          (select count(*) from (select pg_advisory_xact_lock(h)
             from (select distinct hashtextextended(k, 0) as h from unnest(${array}) as k order by h) as sorted) as l) as locked`,
  );
  if (row?.assigned != null) {
    throw new Error('Aggregate locks must be taken before the first write of a command (see event-log.ts).');
  }
}

export interface AppendResult {
  version: number;
  position: bigint;
}

/**
 * Appends `newEvents` to one aggregate's stream. `expectedVersion` is the version the caller's
 * decision was based on; if the stream has moved on, nothing is written and CONFLICT is raised.
 */
export async function appendEvents(
  db: Queryable,
  aggregate: { type: AggregateType; id: string },
  expectedVersion: number,
  newEvents: readonly DomainEvent[],
  metadata: EventMetadata,
  occurredAt: Date,
): Promise<AppendResult> {
  if (newEvents.length === 0) throw new Error('appendEvents needs at least one event');
  const [current] = await db
    .select({ version: sql<number>`coalesce(max(${events.version}), 0)::int` })
    .from(events)
    .where(eq(events.aggregateId, aggregate.id));
  if ((current?.version ?? 0) !== expectedVersion) throw staleVersion(aggregate, expectedVersion, current?.version ?? 0);
  try {
    const inserted = await db
      .insert(events)
      .values(
        newEvents.map((event, i) => ({
          aggregateType: aggregate.type,
          aggregateId: aggregate.id,
          version: expectedVersion + i + 1,
          type: event.type,
          data: event.data,
          metadata,
          occurredAt,
        })),
      )
      .returning({ txId: events.txId });
    return { version: expectedVersion + newEvents.length, position: BigInt(inserted[0]!.txId) };
  } catch (error) {
    if (isUniqueViolation(error)) throw staleVersion(aggregate, expectedVersion, expectedVersion + 1);
    throw error;
  }
}

function staleVersion(aggregate: { type: string; id: string }, expected: number, actual: number) {
  return conflict(`The ${aggregate.type} was changed by someone else meanwhile; reload it and try again.`, {
    aggregateId: aggregate.id,
    expectedVersion: expected,
    actualVersion: actual,
  });
}

/**
 * A transaction id below which every transaction that could write to this database has finished.
 *
 * PostgreSQL's own answer, `pg_snapshot_xmin`, is the oldest transaction running anywhere on the
 * server, in any database: one long write elsewhere would hold every reader here back. So the
 * horizon is the snapshot's xmax (no transaction starting later can get a lower id) lowered to the
 * ids of the transactions running in this database now (pg_stat_activity.backend_xid, which every
 * role may read). The caller reads events in a later statement, whose snapshot then sees every
 * transaction below the horizon as finished. Prepared (two-phase) transactions are not counted;
 * the command side does not use them.
 */
export async function readHorizon(db: Queryable): Promise<bigint> {
  // PostgreSQL keeps one pg_stat_activity snapshot per transaction; a reader inside a transaction
  // (the rebuild's swap) would see stale running transactions without this.
  await queryRows(db, sql`select pg_stat_clear_snapshot()`);
  const rows = await queryRows<{ next: string; xid: string | null }>(
    db,
    sql`select pg_snapshot_xmax(pg_current_snapshot())::text as next, a.backend_xid::text as xid
        from (select 1) as one
        left join pg_stat_activity a
          on a.datname = current_database() and a.pid <> pg_backend_pid() and a.backend_xid is not null`,
  );
  const next = BigInt(rows[0]!.next);
  let horizon = next;
  for (const { xid } of rows) {
    if (xid === null) continue;
    // backend_xid is the 32-bit id: widen it to the 64-bit id nearest below or just above `next`.
    const low = BigInt(xid);
    let full = ((next >> 32n) << 32n) | low;
    if (full - next >= 1n << 31n) full -= 1n << 32n;
    if (full < horizon) horizon = full;
  }
  return horizon;
}

/**
 * The next whole transactions after `after`, in log order, at most `maxTransactions` of them; only
 * transactions that can no longer be joined by an earlier one (see the top of this file).
 */
export async function readEventsAfter(db: Queryable, after: bigint, maxTransactions: number): Promise<RecordedEvent[]> {
  const horizon = await readHorizon(db);
  const rows = await queryRows<{
    seq: string;
    tx_id: string;
    aggregate_type: string;
    aggregate_id: string;
    version: number;
    type: string;
    data: unknown;
    metadata: unknown;
    occurred_at: string | Date;
  }>(
    db,
    sql`with txs as (
          select distinct tx_id from write.events
          where tx_id > ${after.toString()}::xid8
            and tx_id < ${horizon.toString()}::xid8
          order by tx_id
          limit ${maxTransactions})
        select e.seq::text as seq, e.tx_id::text as tx_id, e.aggregate_type, e.aggregate_id, e.version,
               e.type, e.data, e.metadata, e.occurred_at
        from write.events e join txs using (tx_id)
        order by e.tx_id, e.seq`,
  );
  return rows.map((r) =>
    toRecorded({
      seq: BigInt(r.seq),
      txId: r.tx_id,
      aggregateType: r.aggregate_type,
      aggregateId: r.aggregate_id,
      version: r.version,
      type: r.type,
      data: typeof r.data === 'string' ? JSON.parse(r.data) : r.data,
      metadata: typeof r.metadata === 'string' ? JSON.parse(r.metadata) : r.metadata,
      occurredAt: new Date(r.occurred_at),
    }),
  );
}

/** The position of the newest committed transaction that wrote events (for lag). */
export async function headPosition(db: Queryable): Promise<bigint> {
  const [row] = await queryRows<{ head: string | null }>(db, sql`select max(tx_id)::text as head from write.events`);
  return BigInt(row?.head ?? 0);
}

function toRecorded(row: typeof events.$inferSelect): RecordedEvent {
  return {
    type: row.type,
    data: row.data,
    seq: row.seq,
    position: BigInt(row.txId),
    aggregateType: row.aggregateType as AggregateType,
    aggregateId: row.aggregateId,
    version: row.version,
    occurredAt: row.occurredAt,
    metadata: row.metadata as EventMetadata,
  } as RecordedEvent;
}

/**
 * Transaction ids belong to one PostgreSQL cluster. A logical dump restored into another cluster
 * brings ids from the future: new events would sort before old ones and readers would stall.
 */
export async function assertLogBelongsToCluster(db: Queryable): Promise<void> {
  const [row] = await queryRows<{ head: string | null; next: string }>(
    db,
    sql`select (select max(tx_id) from write.events)::text as head, pg_snapshot_xmax(pg_current_snapshot())::text as next`,
  );
  if (row?.head != null && BigInt(row.head) >= BigInt(row.next)) {
    throw new EventLogFromAnotherClusterError(
      `The event log holds transaction ids (up to ${row.head}) that this PostgreSQL cluster has not reached (next: ${row.next}). ` +
        'It was probably restored from a logical dump into another cluster; see "The event log and its order" in the README.',
    );
  }
}

export class EventLogFromAnotherClusterError extends Error {
  override name = 'EventLogFromAnotherClusterError';
}

/** How many events lie after `position` (the views' lag, in events). */
export async function countEventsAfter(db: Queryable, position: bigint): Promise<number> {
  const [row] = await queryRows<{ n: number }>(db, sql`select count(*)::int as n from write.events where tx_id > ${position.toString()}::xid8`);
  return row?.n ?? 0;
}
