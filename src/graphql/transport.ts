import { createServer, type Server, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import type { ConnectionInitMessage } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Logger } from '../logger.ts';
import { MAX_REQUEST_BYTES } from './body-limit.ts';
import { GRAPHQL_PATH, type WallYoga } from './yoga.ts';

/** The close code and reason WebSocket clients get when the server shuts down. */
export const SHUTDOWN_CLOSE = { code: 1001, reason: 'Server is shutting down' } as const;

export interface GraphQLServer {
  server: Server;
  /**
   * Graceful stop: no new connections; `endSubscriptions` completes every live subscription
   * (graphql-ws sends `complete`, SSE streams end), WebSockets then close with 1001; requests in
   * flight (commands included) finish, for at most `graceMs`, before the rest is cut.
   */
  close(endSubscriptions: () => Promise<void>, graceMs?: number): Promise<void>;
}

type Enveloped = ReturnType<WallYoga['getEnveloped']>;

/** Answers `Connection: close` and closes the connection after this response (Node writes the header). */
function closeAfter(response: ServerResponse) {
  response.shouldKeepAlive = false;
}

/**
 * The `authorization` entry of connection_init's payload, or of a subscribe message's
 * `extensions.headers` (what GraphiQL sends from its Headers tab), in any letter case.
 */
function tokenOf(bag: unknown): string | undefined {
  if (!bag || typeof bag !== 'object') return undefined;
  const entry = Object.entries(bag).find(([key]) => key.toLowerCase() === 'authorization');
  return typeof entry?.[1] === 'string' ? entry[1] : undefined;
}

/**
 * HTTP (queries, mutations, SSE subscriptions: Yoga) and graphql-ws on the same path, the Yoga
 * recipe: each graphql-ws operation runs through Yoga's envelop, so it gets the same context,
 * auth, error masking and plugins as HTTP. The token comes in `connection_init`'s payload as
 * `{ "authorization": "Bearer <token>" }` (or per operation in `extensions.headers`, as GraphiQL sends it).
 */
export function createGraphQLServer(yoga: WallYoga, log: Logger, { keepAliveMs = 12_000 } = {}): GraphQLServer {
  const server = createServer(yoga);
  // Responses in flight, so that a shutdown can tell their clients not to send more on the connection.
  const inFlight = new Set<ServerResponse>();
  let stopping = false;
  server.on('request', (_request, response: ServerResponse) => {
    if (stopping) closeAfter(response);
    inFlight.add(response);
    response.once('close', () => inFlight.delete(response));
  });
  // A graphql-ws message is bounded like an HTTP request body (ws closes the socket with 1009 beyond).
  const sockets = new WebSocketServer({ server, path: GRAPHQL_PATH, maxPayload: MAX_REQUEST_BYTES });
  // graphql-ws operations between subscribe and complete, so shutdown can wait for the completes.
  let operations = 0;
  useServer<ConnectionInitMessage['payload']>(
    {
      execute: (args) => (args.rootValue as Enveloped).execute(args as ExecutionArgs),
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args as ExecutionArgs),
      onSubscribe: async (ctx, _id, params) => {
        try {
          const authorization = tokenOf(ctx.connectionParams) ?? tokenOf(params.extensions?.['headers']);
          const request = new yoga.fetchAPI.Request(`http://${ctx.extra.request.headers.host ?? 'localhost'}${GRAPHQL_PATH}`, {
            headers: typeof authorization === 'string' ? { authorization } : {},
          });
          const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
            req: ctx.extra.request,
            socket: ctx.extra.socket,
            request,
            params,
          });
          const document = parse(params.query);
          const errors = validate(schema, document);
          if (errors.length > 0) return [...errors];
          const args = {
            schema,
            operationName: params.operationName,
            document,
            variableValues: params.variables,
            contextValue: await contextFactory(),
            rootValue: { execute, subscribe },
          };
          operations++;
          return args;
        } catch (error) {
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
      },
      onComplete: () => {
        operations--;
      },
    },
    sockets,
    keepAliveMs,
  );

  return {
    server,
    async close(endSubscriptions, graceMs = 10_000) {
      stopping = true;
      for (const response of inFlight) if (!response.headersSent) closeAfter(response);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections become idle as their answers go out: close each as soon as it does.
      const sweep = setInterval(() => server.closeIdleConnections(), 25);
      await endSubscriptions();
      // `complete` is sent right after graphql-ws's onComplete; let those sends go out first.
      for (let waited = 0; operations > 0 && waited < 2000; waited += 10) await sleep(10);
      await new Promise((resolve) => setImmediate(resolve));
      for (const socket of sockets.clients) socket.close(SHUTDOWN_CLOSE.code, SHUTDOWN_CLOSE.reason);
      sockets.close();
      server.closeIdleConnections();
      const timer = setTimeout(() => {
        log.warn({ graceMs }, 'requests still running at the end of the grace period were cut');
        server.closeAllConnections();
      }, graceMs);
      await closed;
      clearTimeout(timer);
      clearInterval(sweep);
    },
  };
}
