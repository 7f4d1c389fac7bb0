import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { openDatabase, queryRows, sql } from '../../src/db/connect.ts';
import { SHUTDOWN_CLOSE } from '../../src/graphql/transport.ts';
import { mutationFor } from '../support/app.ts';
import { createTestDatabase } from '../support/database.ts';
import { POST_CHANGE_FIELDS, sseSubscribe, type Stream } from '../support/live.ts';
import { command, PASSWORD, registerAndSignIn, killAll, startServer, type WallServer } from '../support/processes.ts';

/**
 * src/main.ts as a real child process (node --import tsx, as npm start runs it), stopped with
 * SIGTERM while a WebSocket subscription, an SSE subscription and several commands are open.
 * PGlite in a temporary DATA_DIR, or the file's own PostgreSQL database when DATABASE_URL is set.
 */

const suffix = randomBytes(3).toString('hex');
let server: WallServer;
let databaseUrl: string | undefined;
let dataDir: string | null = null;
let dropDatabase: () => Promise<void> = async () => {};
const streams: Stream[] = [];
const sockets: WebSocket[] = [];
const agents: Agent[] = [];

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDatabase = database.drop;
  databaseUrl = database.url;
  if (!databaseUrl) dataDir = await mkdtemp(join(tmpdir(), 'wall-shutdown-'));
  // UV_THREADPOOL_SIZE=1: password hashes (scrypt, on libuv's threads) run one after another, so
  // registrations sent together finish one by one, and most are still running when the first
  // one is answered (see the commands in flight below).
  server = await startServer('wall', { ...(databaseUrl ? { DATABASE_URL: databaseUrl } : { DATA_DIR: dataDir! }), UV_THREADPOOL_SIZE: '1' });
});

afterAll(async () => {
  for (const s of streams) s.close();
  for (const s of sockets) s.terminate();
  for (const a of agents) a.destroy();
  await killAll();
  await dropDatabase();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

interface Frame {
  type: string;
  id?: string;
  payload?: any;
}

/** A raw graphql-transport-ws connection that records every frame and the close, in order. */
function rawSocket(url: string) {
  const socket = new WebSocket(url, 'graphql-transport-ws');
  sockets.push(socket);
  const frames: Frame[] = [];
  const events: string[] = [];
  let waiters: (() => void)[] = [];
  const notify = () => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  socket.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as Frame;
    frames.push(frame);
    events.push(`frame:${frame.type}${frame.id ? `:${frame.id}` : ''}`);
    notify();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.on('error', (error: NodeJS.ErrnoException) => events.push(`error:${error.code ?? error.message}`));
    socket.on('close', (code, reason) => {
      events.push(`close:${code}`);
      notify();
      resolve({ code, reason: reason.toString() });
    });
  });
  const opened = new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return {
    socket,
    frames,
    /** Frames and the close, in the order they arrived. */
    events,
    opened,
    closed,
    send: (frame: Frame) => socket.send(JSON.stringify(frame)),
    async waitFor(test: (f: Frame) => boolean, what: string, timeoutMs = 10_000): Promise<Frame> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = frames.find(test);
        if (found) return found;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no ${what} frame within ${timeoutMs} ms; got ${JSON.stringify(frames)}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
  };
}

/** Connects a plain TCP socket: resolves 'connected', or the error code (ECONNREFUSED when nothing listens). */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

interface HttpAnswer {
  status: number;
  /** The response's Connection header: keep-alive, or close. */
  connection: string | undefined;
  body: { data?: any; errors?: unknown[] } | null;
  /** The error code when the request failed (ECONNREFUSED, ECONNRESET...). */
  error?: string;
  /** performance.now() when the answer (or the error) came. */
  at: number;
}

/** POSTs JSON with node:http through `agent`, so the test sees the Connection header and socket errors. */
function httpPost(agent: Agent, url: string, body: unknown): Promise<HttpAnswer> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        let parsed: HttpAnswer['body'] = null;
        try {
          parsed = JSON.parse(text) as HttpAnswer['body'];
        } catch {
          parsed = { errors: [text] };
        }
        resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body: parsed, at: performance.now() });
      });
      res.on('error', (error: NodeJS.ErrnoException) => resolve({ status: res.statusCode ?? 0, connection: undefined, body: null, error: error.code ?? error.message, at: performance.now() }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ status: 0, connection: undefined, body: null, error: error.code ?? error.message, at: performance.now() }));
    req.end(JSON.stringify(body));
  });
}

const WALL = `subscription ($userId: ID!) { wallChanged(userId: $userId) { ${POST_CHANGE_FIELDS} } }`;
const FEED = `subscription { feedChanged { ${POST_CHANGE_FIELDS} } }`;
const IN_FLIGHT = 8;

/** The positions of the commands the server logged done after it logged "shutting down". */
function commandsDoneAfterShutdown(output: string): string[] {
  const lines = output.split('\n').flatMap((line) => {
    try {
      return [JSON.parse(line) as { msg?: string; position?: string }];
    } catch {
      return [];
    }
  });
  const shutdown = lines.findIndex((l) => l.msg === 'shutting down');
  if (shutdown < 0) return [];
  return lines.slice(shutdown).flatMap((l) => (l.msg === 'command done' && l.position ? [l.position] : []));
}

describe('the server (src/main.ts), stopped with SIGTERM', () => {
  it('finishes commands in flight, completes subscriptions, closes WebSockets with 1001, refuses new connections and exits 0', async ({ onTestFailed }) => {
    onTestFailed(() => console.log(server.tail(60)));
    const ada = await registerAndSignIn(server.http, `ada_${suffix}`);

    // A graphql-ws subscription over a raw socket, so the test sees the exact frames.
    const ws = rawSocket(server.ws);
    await ws.opened;
    ws.send({ type: 'connection_init', payload: { authorization: `Bearer ${ada.token}` } });
    await ws.waitFor((f) => f.type === 'connection_ack', 'connection_ack');
    ws.send({ type: 'subscribe', id: 'wall-1', payload: { query: WALL, variables: { userId: ada.userId } } });
    // And an SSE subscription to the feed.
    const feed = sseSubscribe(server.http, FEED, {}, ada.token);
    streams.push(feed);

    // Both subscriptions are live once a post published now reaches them (subscribing is
    // asynchronous on the server, and nothing acknowledges it). Ada's post is on her wall and in
    // her feed. Published until it arrives: a post applied before the subscriber registered is
    // not sent to it (subscriptions without `since` start at the change log's end).
    const published: string[] = [];
    const deadline = Date.now() + 20_000;
    for (;;) {
      const receipt = await command(server.http, 'publishPost', { body: `before the shutdown ${published.length}` }, ada.token);
      published.push(receipt.position);
      await new Promise((r) => setTimeout(r, 300));
      const wallSeen = ws.frames.some((f) => f.type === 'next' && f.id === 'wall-1');
      if (wallSeen && feed.messages.length > 0) break;
      if (Date.now() > deadline) throw new Error(`the subscriptions got nothing: ${JSON.stringify(ws.frames)} / ${JSON.stringify(feed.messages)}`);
    }

    // Commands in flight: IN_FLIGHT registrations sent together, through a keep-alive agent as
    // browsers and proxies use. SIGTERM goes as soon as the first is answered: its password hash
    // took a while (scrypt, ~50-100 ms of CPU), time in which the server read every other request,
    // whose hashes are queued behind it. So none can be refused: all must get a receipt. (The
    // server's log cannot tell when it started on them: pino writes through the same busy threads.)
    const agent = new Agent({ keepAlive: true });
    agents.push(agent);
    const from = server.output.length;
    const handles = Array.from({ length: IN_FLIGHT }, (_, i) => `late_${suffix}_${i}`);
    const inFlight = handles.map((handle) =>
      httpPost(agent, server.http, { query: mutationFor('registerUser'), variables: { input: { handle, displayName: handle, password: PASSWORD } } }),
    );
    await Promise.race(inFlight);
    const sigterm = performance.now();
    server.signal('SIGTERM');

    // The subscription is completed, then the socket closed with 1001.
    const closed = await ws.closed;
    expect(closed, JSON.stringify(ws.events)).toEqual({ code: SHUTDOWN_CLOSE.code, reason: SHUTDOWN_CLOSE.reason });
    const nexts = ws.frames.filter((f) => f.type === 'next');
    expect(nexts.length).toBeGreaterThan(0);
    for (const frame of nexts) expect(frame.payload.errors).toBeUndefined();
    expect(ws.events).toEqual(['frame:connection_ack', ...nexts.map(() => 'frame:next:wall-1'), 'frame:complete:wall-1', `close:${SHUTDOWN_CLOSE.code}`]);

    // The server stopped listening first: a new connection made now is refused.
    expect(await tryConnect(server.port)).toBe('ECONNREFUSED');

    // The SSE stream ends cleanly (completed, not broken).
    await feed.done();
    expect(feed.error).toBeNull();
    expect(feed.completed).toBe(true);
    expect(feed.messages.every((m) => m.errors === undefined)).toBe(true);

    // Every command in flight got its receipt, none was cut.
    const results = await Promise.all(inFlight);
    for (const result of results) {
      expect(result.error, JSON.stringify(result)).toBeUndefined();
      expect(result.status, JSON.stringify(result)).toBe(200);
      expect(result.body, JSON.stringify(result)).toMatchObject({ data: { registerUser: { position: expect.stringMatching(/^\d+$/) } } });
      expect(result.body?.errors).toBeUndefined();
    }
    const lastAnswer = Math.max(...results.map((r) => r.at));

    // A request the same client sends now, after every answer, is not served.
    const followUp = await httpPost(agent, server.http, { query: '{ __typename }' });
    expect(followUp.error ?? `served with status ${followUp.status}`, 'a request sent after SIGTERM on a kept connection').toMatch(/ECONNREFUSED|ECONNRESET|socket hang up/);

    // The process exits 0 soon after its last answer (stopping the projector and closing the
    // database is all that is left), without cutting anything at the end of the grace period.
    const exit = await Promise.race([server.exited, new Promise((r) => setTimeout(() => r('still running'), 15_000))]);
    const exitedAt = performance.now();
    // The log is complete now (pino writes it asynchronously): some commands really were
    // running when the server began to shut down, as it logged them done after "shutting down".
    const afterShutdown = commandsDoneAfterShutdown(server.output.slice(from));
    const timings =
      `answers ${results.map((r) => Math.round(r.at - sigterm)).join(', ')} ms and exit ${Math.round(exitedAt - sigterm)} ms after SIGTERM was sent; ` +
      `${afterShutdown.length} of ${IN_FLIGHT} commands finished after the server began to shut down`;
    expect(exit, timings).toEqual({ code: 0, signal: null });
    expect(afterShutdown.length, `no command was still running when the server began to shut down (${timings})`).toBeGreaterThan(0);
    expect(server.output, 'nothing was left for the grace period to cut').not.toContain('were cut');
    expect(exitedAt - lastAnswer, `ms from the last answer to the exit (${timings})`).toBeLessThan(3000);
    expect(await tryConnect(server.port)).toBe('ECONNREFUSED');

    // Answers sent during shutdown said `Connection: close`: Node 20 would otherwise keep the
    // connection alive although its server is closing, server.close() would wait for it (the
    // process lingering for the keep-alive timeout after its last answer), and a client could go
    // on sending requests on it until the grace period cut them (fixed in 20a9f2f).
    const answeredDuringShutdown = results.filter((r) => afterShutdown.includes(r.body?.data?.registerUser?.position));
    expect(answeredDuringShutdown.length).toBe(afterShutdown.length);
    const connections = answeredDuringShutdown.map((r) => r.connection);
    expect(connections, 'answers sent during shutdown must close their connections').toEqual(connections.map(() => 'close'));

    // What the receipts promised is stored: every late registration is in the write tables.
    const database = await openDatabase({ url: databaseUrl, dataDir });
    try {
      const rows = await queryRows<{ handle: string }>(database.db, sql`select handle from write.users where handle like ${`late_${suffix}_%`} order by handle`);
      expect(rows.map((r) => r.handle)).toEqual([...handles].sort());
    } finally {
      await database.close();
    }
  });
});
