import DataLoader from 'dataloader';
import type { Db } from '../db/connect.ts';
import { unauthenticated, type DomainError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { ProjectionStatus } from '../read/consistency.ts';
import { findProfiles, type ProfileRow } from '../read/views/profile.ts';
import type { CommandBus } from '../write/bus.ts';
import type { IdentityService } from '../write/identity/identity.ts';

/** What every resolver can reach: the bus for mutations, the views for everything else. */
export interface Services {
  bus: CommandBus;
  identity: IdentityService;
  viewsDb: Db;
  projection: ProjectionStatus;
  log: Logger;
  /** How long a read waits for `X-Consistent-With` before answering stale. */
  consistencyTimeoutMs: number;
}

export interface GraphQLContext {
  services: Services;
  requestId: string;
  /** The signed-in caller, when a valid token came with the request. */
  actorId: string | null;
  /** Why a token that came with the request was refused (reported only where sign-in is needed). */
  authError: DomainError | null;
  /** A receipt position the caller wants the views to have applied before reading. */
  consistentWith: bigint | null;
  loaders: ReturnType<typeof createLoaders>;
}

/** Per-request loaders, so a field asked for many times costs one query. */
export function createLoaders(viewsDb: Db) {
  return {
    profile: new DataLoader<string, ProfileRow | null>(async (ids) => {
      const rows = await findProfiles(viewsDb, ids);
      const byId = new Map(rows.map((r) => [r.userId, r]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
  };
}

export function requireActor(ctx: GraphQLContext): string {
  if (ctx.authError) throw ctx.authError;
  if (!ctx.actorId) throw unauthenticated();
  return ctx.actorId;
}
