import type { AddressInfo } from 'node:net';
import { v7 as uuidv7 } from 'uuid';
import type { Config, Limits } from './config.ts';
import { EVENTS_CHANNEL, openDatabase, queryRows, sql, type Database } from './db/connect.ts';
import { createGraphQLServer, type GraphQLServer } from './graphql/transport.ts';
import { clientAddressOf } from './graphql/client-address.ts';
import { createWallYoga, GRAPHQL_PATH, type WallYoga } from './graphql/yoga.ts';
import type { Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { Projector, type ProjectorHandle } from './projector/projector.ts';
import { ProjectorThread } from './projector/thread.ts';
import { CHANGES_CHANNEL } from './read/changes.ts';
import { ProjectionStatus } from './read/consistency.ts';
import { ChangeHub } from './read/live/hub.ts';
import { allProjections } from './read/views/index.ts';
import { CommandBus } from './write/bus.ts';
import { allCommands } from './write/commands/index.ts';
import { assertLogBelongsToCluster, countEventsAfter, headPosition } from './write/event-log.ts';
import { IdentityService } from './write/identity/identity.ts';
import { SignInLimits, type SignInLimitOptions } from './write/identity/sign-in-limits.ts';
import { TokenService } from './write/identity/tokens.ts';

/** The projector lock's name: one active projector per views database. */
export const PROJECTOR_LOCK = 'wall:projector:views';

export interface AppOptions {
  /** PostgreSQL when set; embedded PGlite otherwise. */
  databaseUrl?: string | undefined;
  /** PostgreSQL for the views, when they live apart from the write side (needs databaseUrl). */
  readDatabaseUrl?: string | undefined;
  /** Connections per PostgreSQL database (default DEFAULT_POOL_SIZE). */
  poolSize?: number | undefined;
  /** PGlite's folder; null keeps the embedded database in memory (tests). */
  dataDir?: string | null;
  tokenSecret: string;
  log: Logger;
  limits: Limits;
  /**
   * Run the projector in this process (the default: one process plays every role): in this
   * thread (true), or in a worker thread of its own ('thread', PostgreSQL only; see
   * projector/thread.ts). False: none (ROLE=api).
   */
  projector?: boolean | 'thread';
  /** The pino level of a projector thread's log (its own logger). */
  logLevel?: string;
  consistencyTimeoutMs?: number;
  /** Entries kept per reader in the feed. */
  feedLimit?: number;
  /** `/ready` answers 503 when the views are more events behind than this. */
  readyMaxLagEvents?: number;
  /** Change-log rows kept for subscribers who resume. */
  changeLogSize?: number;
  /** Live changes one subscriber may fall behind before it is ended. */
  subscriptionQueue?: number;
  /** How often subscribers' processes read the change log when no wake-up came. */
  livePollMs?: number;
  /** graphql-ws ping interval; a client that misses a pong for this long is dropped. */
  wsKeepAliveMs?: number;
  /** How long a shutdown waits for requests in flight. */
  shutdownGraceMs?: number;
  /** Wrong passwords allowed before signIn answers RATE_LIMITED (defaults: DEFAULT_SIGN_IN_LIMITS). */
  signInLimits?: SignInLimitOptions;
  /** Which proxies' X-Forwarded-For names the client (TRUST_PROXY); unset: the peer's address. */
  trustProxy?: string | undefined;
  now?: () => Date;
  newId?: () => string;
}

/**
 * Where a process's projector runs, from its ROLE: none for `api`; for `all`, in a worker thread
 * of its own on PostgreSQL (see projector/thread.ts), in this thread on the embedded database.
 */
export function projectorFor(role: 'all' | 'api', databaseUrl: string | undefined): AppOptions['projector'] {
  if (role === 'api') return false;
  return databaseUrl ? 'thread' : true;
}

/** The options a process started from the environment (server, seed) shares. */
export function appOptionsFrom(config: Config) {
  return {
    databaseUrl: config.databaseUrl,
    readDatabaseUrl: config.readDatabaseUrl,
    poolSize: config.poolSize,
    dataDir: config.dataDir,
    limits: config.limits,
    feedLimit: config.feedLimit,
    changeLogSize: config.changeLogSize,
    subscriptionQueue: config.subscriptionQueue,
    trustProxy: config.trustProxy,
  } satisfies Partial<AppOptions>;
}

export interface App {
  /** The write side's database (tables, event log, command log). */
  database: Database;
  /** The views' database: the same as `database` unless READ_DATABASE_URL puts them apart. */
  readDatabase: Database;
  bus: CommandBus;
  projector: ProjectorHandle | null;
  projection: ProjectionStatus;
  identity: IdentityService;
  metrics: Metrics;
  yoga: WallYoga;
  /** Live fan-out to this process's subscribers. */
  live: ChangeHub;
  /** Starts background work (the projector, change wake-ups) without listening on a port. */
  start(): void;
  /** Listens on HTTP; resolves with the bound address. */
  listen(port: number, host: string): Promise<AddressInfo>;
  /**
   * Graceful stop: stops accepting, completes subscriptions, lets requests in flight finish,
   * then stops the projector and closes the databases.
   */
  stop(): Promise<void>;
}

/** Wires one process: databases, command bus, projector, and the GraphQL server over them. */
export async function createApp(options: AppOptions): Promise<App> {
  const { log } = options;
  if (options.readDatabaseUrl && !options.databaseUrl) throw new Error('READ_DATABASE_URL needs DATABASE_URL as well');
  const database = await openDatabase({ url: options.databaseUrl, dataDir: options.dataDir ?? null, poolSize: options.poolSize });
  let readDatabase = database;
  try {
    await assertLogBelongsToCluster(database.db);
    if (options.readDatabaseUrl) readDatabase = await openDatabase({ url: options.readDatabaseUrl, poolSize: options.poolSize });
  } catch (error) {
    await database.close();
    throw error;
  }
  const writeDb = database.db;
  const viewsDb = readDatabase.db;

  let projector: ProjectorHandle | null = null;
  if (options.projector === 'thread') {
    if (!options.databaseUrl) throw new Error('a projector thread needs PostgreSQL (the embedded database has one connection)');
    projector = new ProjectorThread(
      {
        databaseUrl: options.databaseUrl,
        readDatabaseUrl: options.readDatabaseUrl,
        poolSize: options.poolSize,
        feedLimit: options.feedLimit,
        changeLogSize: options.changeLogSize,
        lockName: PROJECTOR_LOCK,
        logLevel: options.logLevel ?? 'info',
      },
      log.child({ role: 'projector' }),
    );
  } else if (options.projector !== false) {
    projector = new Projector({
      eventsDb: writeDb,
      viewsDb,
      projections: allProjections,
      ...(options.feedLimit ? { feedLimit: options.feedLimit } : {}),
      ...(options.changeLogSize ? { changeLogSize: options.changeLogSize } : {}),
      acquireLock: () => readDatabase.tryAdvisoryLock(PROJECTOR_LOCK),
      log: log.child({ role: 'projector' }),
    });
  }
  const projection = new ProjectionStatus(viewsDb, projector ? (listener) => projector.onApplied(listener) : undefined);

  const lag = async () => {
    const applied = await projection.applied();
    return { applied, head: await headPosition(writeDb), pendingEvents: await countEventsAfter(writeDb, applied) };
  };
  const metrics = createMetrics(lag);
  projector?.onBatch((batch) => metrics.eventsApplied.inc(batch.events));

  const bus = new CommandBus({
    db: writeDb,
    log: log.child({ role: 'commands' }),
    limits: options.limits,
    newId: options.newId ?? uuidv7,
    ...(options.now ? { now: options.now } : {}),
    notifyChannel: database.kind === 'postgres',
    onCommitted: () => projector?.wake(),
    onExecuted: (command, outcome, seconds) => {
      metrics.commands.inc({ command, outcome });
      metrics.commandSeconds.observe({ command }, seconds);
    },
  }).register(...allCommands);

  const identity = new IdentityService(writeDb, new TokenService(options.tokenSecret), new SignInLimits(options.signInLimits));
  const live = new ChangeHub({
    viewsDb,
    log: log.child({ role: 'live' }),
    ...(options.subscriptionQueue ? { maxQueued: options.subscriptionQueue } : {}),
    ...(options.livePollMs ? { pollMs: options.livePollMs } : {}),
  });
  projector?.onBatch(() => live.wake());
  const readyMaxLag = options.readyMaxLagEvents ?? 10_000;
  const yoga = createWallYoga({ bus, identity, viewsDb, projection, live, log, consistencyTimeoutMs: options.consistencyTimeoutMs ?? 5000, clientAddressOf: clientAddressOf(options.trustProxy) }, [
    {
      // `/ready`: both databases answer and the views are not far behind the log. `/metrics`: Prometheus.
      async onRequest({ url, endResponse, fetchAPI }) {
        if (url.pathname === '/metrics') {
          const body = await metrics.registry.metrics();
          endResponse(new fetchAPI.Response(body, { headers: { 'content-type': metrics.registry.contentType } }));
        } else if (url.pathname === '/ready') {
          try {
            await queryRows(viewsDb, sql`select 1`);
            const { applied, head, pendingEvents } = await lag();
            const ready = pendingEvents <= readyMaxLag;
            const body = { ready, position: applied.toString(), head: head.toString(), lagEvents: pendingEvents };
            endResponse(fetchAPI.Response.json(body, { status: ready ? 200 : 503 }));
          } catch (error) {
            log.warn({ err: error }, 'not ready');
            endResponse(fetchAPI.Response.json({ ready: false, error: 'a database does not answer' }, { status: 503 }));
          }
        }
      },
    },
  ]);

  const unlisteners: Promise<() => Promise<void>>[] = [];
  let started = false;
  let http: GraphQLServer | null = null;

  const start = () => {
    if (started) return;
    started = true;
    // Another process's projector tells this one through NOTIFY on the views database.
    unlisteners.push(readDatabase.listen(CHANGES_CHANNEL, () => live.wake()));
    if (!projector) return;
    projector.start();
    // A projector thread listens for other processes' commits on a connection of its own.
    if (!(projector instanceof ProjectorThread)) unlisteners.push(database.listen(EVENTS_CHANNEL, () => projector.wake()));
  };

  return {
    database,
    readDatabase,
    bus,
    projector,
    projection,
    identity,
    metrics,
    yoga,
    live,
    start,
    async listen(port, host) {
      start();
      http = createGraphQLServer(yoga, log, { ...(options.wsKeepAliveMs ? { keepAliveMs: options.wsKeepAliveMs } : {}) });
      const { server } = http;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, resolve);
      });
      return server.address() as AddressInfo;
    },
    async stop() {
      if (http) await http.close(() => live.close(), options.shutdownGraceMs);
      else await live.close();
      for (const unlisten of await Promise.allSettled(unlisteners)) if (unlisten.status === 'fulfilled') await unlisten.value();
      await projector?.stop();
      if (readDatabase !== database) await readDatabase.close();
      await database.close();
    },
  };
}

export { GRAPHQL_PATH };
