import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { GraphQLError, Kind, type ExecutionArgs } from 'graphql';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { badInput, DomainError } from '../errors.ts';
import { useGraphQlJit } from '@envelop/graphql-jit';
import { useRequestBodyLimit } from './body-limit.ts';
import { useProjectionConsistency } from './consistency-plugin.ts';
import { useOperationLimits } from './limits.ts';
import { createLoaders, type GraphQLContext, type Services } from './context.ts';
import { maskError } from './errors.ts';
import { schema } from './schema.ts';

export const GRAPHQL_PATH = '/graphql';

const EXAMPLE_OPERATIONS = `# Welcome to Wall. Run an operation with the play button (pick one by name).
# 1. Sign in (after \`npm run seed\`, the demo account is demo / demo password; or registerUser first).
# 2. Put the token in the Headers tab below: { "Authorization": "Bearer <token>" }
# 3. Read the feed; publish; watch a wall live (subscriptions run over WebSocket here).
mutation SignIn {
  signIn(handle: "demo", password: "demo password") { token user { id handle displayName } }
}

mutation Register {
  registerUser(input: { handle: "ada", displayName: "Ada Lovelace", password: "correct horse" }) { aggregateId position }
}

query Feed {
  feed(first: 10) {
    edges { node { id body createdAt likeCount commentCount author { handle displayName } } }
    pageInfo { hasNextPage endCursor }
  }
}

mutation Publish {
  publishPost(input: { body: "Hello from GraphiQL" }) { aggregateId position }
}

# Paste a person's id (your own from SignIn, or a friend's) to watch their wall.
subscription WatchWall {
  wallChanged(userId: "<user id>") { kind postId position post { body likeCount author { handle } } }
}
`;

/** GraphiQL's Headers tab starts with the place for the token. */
const EXAMPLE_HEADERS = JSON.stringify({ Authorization: 'Bearer <token from SignIn>' }, null, 2);

export type WallYoga = YogaServerInstance<Record<string, unknown>, GraphQLContext>;

export function createWallYoga(services: Services, extraPlugins: NonNullable<Parameters<typeof createYoga>[0]['plugins']> = []): WallYoga {
  return createYoga<Record<string, unknown>, GraphQLContext>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    landingPage: false,
    // Counted by useRequestBodyLimit instead, without a stream per request.
    maxRequestBodySize: false,
    maskedErrors: { maskError },
    logging: {
      debug: (...args) => services.log.debug({ args }, 'yoga'),
      info: (...args) => services.log.info({ args }, 'yoga'),
      warn: (...args) => services.log.warn({ args }, 'yoga'),
      // Refusals (errors with a code) are the caller's business, logged by the command bus.
      error: (...args) => {
        const refusal = args.some((a) => (a as GraphQLError | undefined)?.originalError instanceof DomainError);
        if (refusal) services.log.debug({ err: args[0] }, 'refused');
        else services.log.error({ err: args.find((a) => a instanceof Error) ?? args[0] }, 'unexpected error');
      },
    },
    // GraphiQL's assets are served from this package, so it works with no internet access.
    renderGraphiQL,
    graphiql: {
      title: 'Wall',
      defaultQuery: EXAMPLE_OPERATIONS,
      headers: EXAMPLE_HEADERS,
      subscriptionsProtocol: 'WS',
    },
    // Limits before jit: an operation refused by them is not compiled.
    plugins: [useRequestBodyLimit(), useOperationLimits(), useGraphQlJit({}, { enableIf: jitCompiles }), useProjectionConsistency(), ...extraPlugins],
    context: async ({ request, params, ...server }) => {
      const requestId = request.headers.get('x-request-id') ?? randomUUID();
      let actorId: string | null = null;
      let authError: DomainError | null = null;
      const authorization = request.headers.get('authorization');
      if (authorization) {
        const match = /^Bearer\s+(\S+)$/i.exec(authorization);
        try {
          if (!match?.[1]) throw badInput('Authorization must be "Bearer <token>".');
          actorId = await services.identity.tokens.verify(match[1]);
        } catch (error) {
          if (!(error instanceof DomainError)) throw error;
          authError = error.code === 'BAD_USER_INPUT' ? new DomainError('UNAUTHENTICATED', error.message) : error;
        }
      }
      const requested = request.headers.get('x-consistent-with') ?? params.extensions?.['consistentWith'];
      // The Node server (HTTP, and graphql-ws's upgrade request) hands over its request.
      const req = (server as { req?: IncomingMessage }).req;
      return {
        services,
        requestId,
        actorId,
        authError,
        consistentWith: parsePosition(requested),
        clientAddress: req ? services.clientAddressOf(req) : null,
        loaders: createLoaders(services.viewsDb, actorId),
      };
    },
  });
}

/**
 * What graphql-jit compiles: documents of one query or mutation. Not subscriptions: its subscribe
 * hands the operation's variables to the field's subscriber in place of the field's arguments,
 * so `wallChanged(userId: "…")` would arrive without its userId. Not documents of several
 * operations: it keeps one compiled operation per document (and Yoga's parse cache hands every
 * request with the same text the same document), so after `mutation Publish` had run, asking the
 * same document for `query Feed` would publish again.
 */
export function jitCompiles(args: ExecutionArgs): boolean {
  const operations = args.document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  return operations.length === 1 && operations[0]!.operation !== 'subscription';
}

function parsePosition(value: unknown): bigint | null {
  if (value === undefined || value === null || value === '') return null;
  if ((typeof value === 'string' || typeof value === 'number') && /^\d{1,20}$/.test(String(value))) return BigInt(value);
  throw new GraphQLError('X-Consistent-With must be a position from a receipt (a decimal number).', {
    extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } },
  });
}
