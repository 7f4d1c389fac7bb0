import { eq } from 'drizzle-orm';
import type { Queryable } from '../db/connect.ts';
import { views as liveViews, type Views } from '../db/schema/read.ts';

/** The projector's checkpoint name for the views. */
export const VIEWS_CHECKPOINT = 'views';

export async function readCheckpoint(db: Queryable, views: Views = liveViews): Promise<bigint> {
  const { checkpoints } = views;
  const [row] = await db.select({ position: checkpoints.position }).from(checkpoints).where(eq(checkpoints.name, VIEWS_CHECKPOINT));
  return row?.position ?? 0n;
}
