import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll } from 'vitest';
import type { GraphQLResponse, Person, TestApp } from './app.ts';

/**
 * A subscription as a test sees it: every message received so far, a way to wait for the next
 * ones, and whether the server completed it.
 */
export class Stream<T = Record<string, any>> {
  readonly messages: GraphQLResponse<T>[] = [];
  completed = false;
  error: unknown = null;
  private waiters: (() => void)[] = [];

  constructor(iterator: AsyncIterableIterator<GraphQLResponse<T>>, private readonly stop: () => void) {
    void (async () => {
      try {
        for await (const message of iterator) {
          this.messages.push(message);
          this.notify();
        }
        this.completed = true;
      } catch (error) {
        this.error = error;
      }
      this.notify();
    })();
  }

  /** Waits until `count` messages have arrived (or the stream ended); fails after `timeoutMs`. */
  async take(count: number, timeoutMs = 10_000): Promise<GraphQLResponse<T>[]> {
    await this.until(() => this.messages.length >= count || this.completed || this.error !== null, timeoutMs, `${count} messages`);
    return this.messages.slice(0, count);
  }

  /** Waits until the server completes the stream. */
  async done(timeoutMs = 10_000): Promise<void> {
    await this.until(() => this.completed || this.error !== null, timeoutMs, 'the end of the stream');
  }

  close(): void {
    this.stop();
  }

  private async until(condition: () => boolean, timeoutMs: number, what: string) {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.messages)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private notify() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** An operation as text, or a typed document generated from test/operations (see codegen.ts). */
export type Operation<T = Record<string, any>, V = Record<string, unknown>> = string | TypedDocumentNode<T, V>;
const textOf = (operation: Operation<any, any>) => (typeof operation === 'string' ? operation : print(operation));

/** A graphql-ws client for `url` (ws://host:port/graphql), signed in with `token` when given. */
export function wsClient(
  url: string,
  token?: string,
): WsClient & { subscribe$<T = Record<string, any>, V = Record<string, unknown>>(operation: Operation<T, V>, variables?: V): Stream<T> } {
  const client = createWsClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: true,
  });
  return Object.assign(client, {
    subscribe$<T, V>(operation: Operation<T, V>, variables?: V) {
      const iterator = client.iterate<T>({ query: textOf(operation), variables: (variables ?? {}) as Record<string, unknown> });
      return new Stream<T>(iterator as AsyncIterableIterator<GraphQLResponse<T>>, () => void iterator.return?.());
    },
  });
}

/** A GraphQL-over-SSE client for `url` (http://host:port/graphql), as Yoga serves it. */
export function sseSubscribe<T = Record<string, any>, V = Record<string, unknown>>(url: string, operation: Operation<T, V>, variables?: V, token?: string): Stream<T> {
  const client = createSseClient({
    url,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
  });
  const iterator = client.iterate<T>({ query: textOf(operation), variables: (variables ?? {}) as Record<string, unknown> });
  return new Stream<T>(iterator as AsyncIterableIterator<GraphQLResponse<T>>, () => {
    void iterator.return?.();
    client.dispose();
  });
}

export const POST_CHANGE_FIELDS = `kind postId position post { id body likeCount commentCount editedAt author { handle displayName } wallOwner { id } latestComments { body author { handle } } }`;

/**
 * The app of `t` listening on a free port for the tests of a file, with the live clients they
 * open: `overWs` subscribes through a graphql-ws client of its own, `overSse` over SSE, `client`
 * opens a client to drive by hand. Everything opened is closed after the file, or, with
 * `autoClose: false`, when the file calls `closeAll` (say, in an afterEach that also waits for
 * the hub to empty).
 */
export function useLiveServer(t: TestApp, { autoClose = true } = {}) {
  const clients: { dispose(): unknown }[] = [];
  const streams: Stream<any>[] = [];
  const urls = { ws: '', http: '' };
  beforeAll(async () => {
    const { port } = await t.app.listen(0, '127.0.0.1');
    urls.ws = `ws://127.0.0.1:${port}/graphql`;
    urls.http = `http://127.0.0.1:${port}/graphql`;
  });
  const closeAll = async () => {
    for (const s of streams.splice(0)) s.close();
    await Promise.allSettled(clients.splice(0).map((c) => c.dispose()));
  };
  if (autoClose) afterAll(closeAll);
  const client = (person: Person | null) => {
    const opened = wsClient(urls.ws, person?.token);
    clients.push(opened);
    return opened;
  };
  return {
    get ws() {
      return urls.ws;
    },
    get http() {
      return urls.http;
    },
    client,
    overWs<T = Record<string, any>, V = Record<string, unknown>>(person: Person | null, operation: Operation<T, V>, variables?: V): Stream<T> {
      const stream = client(person).subscribe$(operation, variables);
      streams.push(stream);
      return stream;
    },
    overSse<T = Record<string, any>, V = Record<string, unknown>>(person: Person, operation: Operation<T, V>, variables?: V): Stream<T> {
      const stream = sseSubscribe(urls.http, operation, variables, person.token);
      streams.push(stream);
      return stream;
    },
    /** Closes `stream` with the rest (for streams opened by hand on a `client`). */
    track<T>(stream: Stream<T>): Stream<T> {
      streams.push(stream);
      return stream;
    },
    closeAll,
  };
}
