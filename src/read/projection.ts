import type { Tx } from '../db/connect.ts';
import type { Views } from '../db/schema/read.ts';
import type { RecordedEvent } from '../write/events.ts';

/** What a projection writes with: the batch's transaction and the view tables it fills. */
export interface ProjectionContext {
  tx: Tx;
  /** The live views, or the copy a rebuild fills beside them. */
  views: Views;
  /** Entries kept per reader in the feed. */
  feedLimit: number;
  /** Whether to log what changed for live subscribers (not while a rebuild fills a copy). */
  logChanges: boolean;
}

/**
 * A read view's reaction to events. `apply` runs inside the projector's batch transaction, which
 * also moves the checkpoint, so each event is applied exactly once. Projections run in the order
 * listed, event by event: later ones may read what earlier ones wrote (the feed reads the friends).
 */
export interface Projection {
  name: string;
  apply(ctx: ProjectionContext, event: RecordedEvent): Promise<void>;
}
