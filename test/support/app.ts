import { setImmediate } from 'node:timers/promises';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { afterAll, beforeAll, expect } from 'vitest';
import { createApp, type App, type AppOptions } from '../../src/app.ts';
import { queryRows, sql } from '../../src/db/connect.ts';
import { createLogger } from '../../src/logger.ts';
import type { ProjectorHandle } from '../../src/projector/projector.ts';
import { createTestDatabase } from './database.ts';

export interface GraphQLResponse<T = Record<string, any>> {
  data?: T | null;
  errors?: { message: string; path?: string[]; extensions?: Record<string, any> }[];
  extensions?: Record<string, any>;
}

export interface GqlOptions {
  token?: string;
  headers?: Record<string, string>;
}

/** The rest of a typed `gql` call: variables are required only when the operation has a required one. */
export type GqlArgs<TVariables> = {} extends TVariables
  ? [variables?: TVariables, options?: GqlOptions]
  : [variables: TVariables, options?: GqlOptions];

export interface Person {
  userId: string;
  handle: string;
  token: string;
}

export interface TestApp {
  app: App;
  /** The PostgreSQL database of this file (undefined on PGlite). */
  databaseUrl: string | undefined;
  /** POSTs one operation to /graphql through Yoga's fetch (no network). */
  gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, options?: GqlOptions): Promise<GraphQLResponse<T>>;
  /** The same with a generated typed document (test/generated/): data and variables are typed from the operation. */
  gql<TResult, TVariables extends Record<string, unknown>>(document: TypedDocumentNode<TResult, TVariables>, ...args: GqlArgs<NoInfer<TVariables>>): Promise<GraphQLResponse<TResult>>;
  /** Runs a command mutation and returns its receipt, failing the test on any error. */
  command(field: string, input: Record<string, unknown>, token?: string, idempotencyKey?: string): Promise<Receipt>;
  /** Registers a person through GraphQL and hands back a token for them. */
  register(handle?: string, displayName?: string): Promise<Person>;
  /** Makes two people friends through the friend-request commands. */
  befriend(a: Person, b: Person): Promise<void>;
  /** A digest of every write table and the event log: equal digests mean nothing was written. */
  writeDigest(): Promise<Record<string, string>>;
  /** Sends a command expected to be refused; asserts the error code and that nothing was written. */
  expectRefused(field: string, input: Record<string, unknown>, code: string, token?: string): Promise<{ message: string; extensions?: Record<string, any> }>;
  /** Lets the projector (the app's, or the one given) apply every command this harness has run so far. */
  settle(projector?: ProjectorHandle): Promise<void>;
}

export interface Receipt {
  commandId: string;
  aggregateId: string;
  position: string;
}

const WRITE_TABLES = ['users', 'friendships', 'posts', 'comments', 'likes', 'events', 'commands'];
let handles = 0;

/** Registers hooks that start a fresh app (own database) for the file, and stop it after. */
export function useTestApp(options: Partial<AppOptions> = {}): TestApp {
  let app: App | undefined;
  let drop: (() => Promise<void>) | undefined;
  let databaseUrl: string | undefined;
  // The newest receipt position of this app's commands, for settle().
  let lastPosition = 0n;

  beforeAll(async () => {
    const database = await createTestDatabase();
    drop = database.drop;
    databaseUrl = database.url;
    app = await createApp({
      databaseUrl: database.url,
      dataDir: null,
      tokenSecret: 'test-secret-test-secret-test-secret',
      log: createLogger(process.env['LOG_LEVEL'] ?? 'silent'),
      limits: { maxFriends: 5000 },
      consistencyTimeoutMs: 5000,
      ...options,
    });
    app.start();
  });

  afterAll(async () => {
    await app?.stop();
    await drop?.();
  });

  const t: TestApp = {
    get app() {
      if (!app) throw new Error('the test app is not started yet');
      return app;
    },
    get databaseUrl() {
      return databaseUrl;
    },
    async gql(document: string | TypedDocumentNode<unknown, Record<string, unknown>>, variables: Record<string, unknown> = {}, { token, headers = {} }: GqlOptions = {}) {
      const query = typeof document === 'string' ? document : print(document);
      // A request over the network arrives in an event-loop turn of its own; so does this one. On
      // PGlite every query resolves in microtasks alone, and without this a test that loops over
      // queries starves everything waiting on a timer or I/O (a writer, a projector) for good:
      // no timeout can fire either.
      await setImmediate();
      const response = await t.app.yoga.fetch('http://wall.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as GraphQLResponse<any>;
    },
    async command(field, input, token, idempotencyKey) {
      const result = await t.gql(mutationFor(field), { input, idempotencyKey }, { token });
      expect(result.errors, `${field} failed`).toBeUndefined();
      const receipt = result.data![field] as Receipt;
      if (BigInt(receipt.position) > lastPosition) lastPosition = BigInt(receipt.position);
      return receipt;
    },
    async register(handle = `person_${process.pid}_${++handles}`, displayName = handle.replace(/_/g, ' ')) {
      const receipt = await t.command('registerUser', { handle, displayName, password: 'correct horse battery' });
      return { userId: receipt.aggregateId, handle, token: await t.app.identity.tokens.issue(receipt.aggregateId) };
    },
    async befriend(a, b) {
      await t.command('sendFriendRequest', { toUserId: b.userId }, a.token);
      await t.command('acceptFriendRequest', { fromUserId: a.userId }, b.token);
    },
    async writeDigest() {
      const entries = await Promise.all(
        WRITE_TABLES.map(async (table) => {
          const [row] = await queryRows<{ digest: string | null; n: number }>(
            t.app.database.db,
            sql.raw(`select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as digest, count(*)::int as n from write.${table} t`),
          );
          return [table, `${row!.n}:${row!.digest}`] as const;
        }),
      );
      return Object.fromEntries(entries);
    },
    async expectRefused(field, input, code, token) {
      const before = await t.writeDigest();
      const result = await t.gql(mutationFor(field), { input }, { token });
      expect(result.data?.[field] ?? null, `${field} should have been refused`).toBeNull();
      expect(result.errors?.[0]?.extensions?.['code'], JSON.stringify(result.errors)).toBe(code);
      expect(await t.writeDigest(), 'a refused command must write nothing').toEqual(before);
      return result.errors![0]!;
    },
    async settle(projector = t.app.projector ?? undefined) {
      if (!projector) throw new Error('settle() needs a projector: this app runs without one');
      // A reader sees a transaction only once every older one has finished (see event-log.ts),
      // so "nothing to apply" can come before the last command is visible: wait for its position.
      const deadline = Date.now() + 10_000;
      while ((await t.app.projection.applied()) < lastPosition) {
        if (Date.now() > deadline) throw new Error(`the views did not reach position ${lastPosition}`);
        if ((await projector.catchUp()) === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
  };
  return t;
}

const INPUT_TYPES: Record<string, string> = {
  registerUser: 'RegisterUserInput',
  updateProfile: 'UpdateProfileInput',
  sendFriendRequest: 'SendFriendRequestInput',
  acceptFriendRequest: 'AcceptFriendRequestInput',
  declineFriendRequest: 'DeclineFriendRequestInput',
  removeFriend: 'RemoveFriendInput',
  publishPost: 'PublishPostInput',
  editPost: 'EditPostInput',
  deletePost: 'DeletePostInput',
  addComment: 'AddCommentInput',
  deleteComment: 'DeleteCommentInput',
  likePost: 'LikePostInput',
  unlikePost: 'UnlikePostInput',
};

export function mutationFor(field: string): string {
  const inputType = INPUT_TYPES[field];
  if (!inputType) throw new Error(`no mutation ${field}`);
  return `mutation Run($input: ${inputType}!, $idempotencyKey: String) {
    ${field}(input: $input, idempotencyKey: $idempotencyKey) { commandId aggregateId position }
  }`;
}
