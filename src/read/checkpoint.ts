import { eq } from 'drizzle-orm';
import type { Queryable } from '../db/connect.ts';
import { checkpoints } from '../db/schema/read.ts';

/** The projector's checkpoint name for the views. */
export const VIEWS_CHECKPOINT = 'views';

export async function readCheckpoint(db: Queryable, name = VIEWS_CHECKPOINT): Promise<bigint> {
  const [row] = await db.select({ position: checkpoints.position }).from(checkpoints).where(eq(checkpoints.name, name));
  return row?.position ?? 0n;
}
