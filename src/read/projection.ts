import { sql, type SQL } from 'drizzle-orm';
import type { Views } from '../db/schema/read.ts';
import type { RecordedEvent } from '../write/events.ts';

/** What a projection writes with: the view tables of this batch, and the batch's statement queue. */
export interface ProjectionContext {
  /** The live views, or the copy a rebuild fills beside them. */
  views: Views;
  /** Entries kept per reader in the feed. */
  feedLimit: number;
  /** Whether to log what changed for live subscribers (not while a rebuild fills a copy). */
  logChanges: boolean;
  /**
   * Queues a statement in the batch's transaction. Statements run in the order queued, each seeing
   * what the ones before it wrote; they are sent without waiting for one another (postgres.js
   * pipelines them), so a batch costs about one round trip whatever its size.
   */
  run(statement: SQL): void;
}

/**
 * A read view's reaction to a batch of events, set-based: it folds the batch into what changes
 * (rows to insert, to delete, counters to move, the last value of what was set more than once)
 * and queues a few statements that apply it, whatever the batch's length. The projector runs the
 * projections in the order listed, in one transaction that also moves the checkpoint, so each
 * event is applied exactly once; later projections see what earlier ones wrote (the feed reads
 * the friends and the posts).
 *
 * A batch holds whole transactions in log order; a fold must give what applying its events one
 * by one would give (the last edit wins, a like then an unlike is no like, and so on).
 */
export interface Projection {
  name: string;
  apply(ctx: ProjectionContext, batch: readonly RecordedEvent[]): void | Promise<void>;
}

/**
 * Rows as one json parameter, read back as a table by `json_to_recordset` with `columns` (for
 * example `r(user_id uuid, handle text)`; keys are the column names): a batch's values in one
 * statement, of any length, with one plan.
 */
export function recordset(rows: readonly Record<string, string | number | boolean | Date | null>[], columns: string): SQL {
  return sql`json_to_recordset(${JSON.stringify(rows)}::json) as ${sql.raw(columns)}`;
}

/** Ids as one json parameter, read back as a set of uuids (for `x in (...)`). */
export function idSet(ids: Iterable<string>): SQL {
  return sql`(select value::uuid from json_array_elements_text(${JSON.stringify([...ids])}::json))`;
}

/** Positions travel as text in json (a bigint has no JSON form). */
export const at = (event: RecordedEvent) => event.position.toString();

/** The end of a switch over every event type: a type the switch forgot does not compile. */
export function assertNever(value: never): never {
  throw new Error(`Unhandled case: ${(value as { type?: string } | null)?.type ?? String(value)}`);
}
