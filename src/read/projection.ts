import type { Tx } from '../db/connect.ts';
import type { RecordedEvent } from '../write/events.ts';

/**
 * A read view's reaction to events. `apply` runs inside the projector's batch transaction, which
 * also moves the checkpoint, so each event is applied exactly once.
 */
export interface Projection {
  name: string;
  apply(tx: Tx, event: RecordedEvent): Promise<void>;
}
