import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { v7 as uuidv7 } from 'uuid';
import type { Limits } from './config.ts';
import { EVENTS_CHANNEL, openDatabase, queryRows, sql, type Database } from './db/connect.ts';
import { createWallYoga, GRAPHQL_PATH, type WallYoga } from './graphql/yoga.ts';
import type { Logger } from './logger.ts';
import { Projector } from './projector/projector.ts';
import { ProjectionStatus } from './read/consistency.ts';
import { allProjections } from './read/views/index.ts';
import { CommandBus } from './write/bus.ts';
import { assertLogBelongsToCluster } from './write/event-log.ts';
import { allCommands } from './write/commands/index.ts';
import { IdentityService } from './write/identity/identity.ts';
import { TokenService } from './write/identity/tokens.ts';

export interface AppOptions {
  /** PostgreSQL when set; embedded PGlite otherwise. */
  databaseUrl?: string | undefined;
  /** PGlite's folder; null keeps the embedded database in memory (tests). */
  dataDir?: string | null;
  tokenSecret: string;
  log: Logger;
  limits: Limits;
  /** Run the projector in this process (the default: one process plays every role). */
  projector?: boolean;
  consistencyTimeoutMs?: number;
  /** Entries kept per reader in the feed. */
  feedLimit?: number;
  now?: () => Date;
  newId?: () => string;
}

export interface App {
  database: Database;
  bus: CommandBus;
  projector: Projector | null;
  projection: ProjectionStatus;
  identity: IdentityService;
  yoga: WallYoga;
  /** Starts background work (the projector) without listening on a port. */
  start(): void;
  /** Listens on HTTP; resolves with the bound address. */
  listen(port: number, host: string): Promise<AddressInfo>;
  stop(): Promise<void>;
}

/** Wires one process: database, command bus, projector, and the GraphQL server over them. */
export async function createApp(options: AppOptions): Promise<App> {
  const { log } = options;
  const database = await openDatabase({ url: options.databaseUrl, dataDir: options.dataDir ?? null });
  const { db } = database;
  try {
    await assertLogBelongsToCluster(db);
  } catch (error) {
    await database.close();
    throw error;
  }

  const projector =
    options.projector === false
      ? null
      : new Projector({
          eventsDb: db,
          viewsDb: db,
          projections: allProjections,
          ...(options.feedLimit ? { feedLimit: options.feedLimit } : {}),
          log: log.child({ role: 'projector' }),
        });

  const bus = new CommandBus({
    db,
    log: log.child({ role: 'commands' }),
    limits: options.limits,
    newId: options.newId ?? uuidv7,
    ...(options.now ? { now: options.now } : {}),
    notifyChannel: database.kind === 'postgres',
    onCommitted: () => projector?.wake(),
  }).register(...allCommands);

  const projection = new ProjectionStatus(db, projector ? (listener) => projector.onApplied(listener) : undefined);
  const identity = new IdentityService(db, new TokenService(options.tokenSecret));
  const yoga = createWallYoga(
    { bus, identity, viewsDb: db, projection, log, consistencyTimeoutMs: options.consistencyTimeoutMs ?? 5000 },
    [
      {
        // `/ready`: the database answers and the views are not far behind the log.
        async onRequest({ url, endResponse, fetchAPI }) {
          if (url.pathname !== '/ready') return;
          try {
            await queryRows(db, sql`select 1`);
            endResponse(fetchAPI.Response.json({ ready: true, position: (await projection.applied()).toString() }));
          } catch (error) {
            endResponse(fetchAPI.Response.json({ ready: false, error: (error as Error).message }, { status: 503 }));
          }
        },
      },
    ],
  );

  let unlisten: (() => Promise<void>) | null = null;
  let server: Server | null = null;

  const start = () => {
    if (!projector) return;
    projector.start();
    void database.listen(EVENTS_CHANNEL, () => projector.wake()).then((stop) => (unlisten = stop));
  };

  return {
    database,
    bus,
    projector,
    projection,
    identity,
    yoga,
    start,
    async listen(port, host) {
      start();
      server = createServer(yoga);
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(port, host, resolve);
      });
      return server.address() as AddressInfo;
    },
    async stop() {
      if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
      await unlisten?.();
      await projector?.stop();
      await database.close();
    },
  };
}

export { GRAPHQL_PATH };
