import { once } from 'node:events';
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { MAX_REQUEST_BYTES } from '../../src/graphql/body-limit.ts';
import { useTestApp } from '../support/app.ts';

const t = useTestApp();

/** The app listening on a free port (once for the file: a second listen would leave the first server open). */
let listening: Promise<{ port: number }> | null = null;
const port = async () => (await (listening ??= t.app.listen(0, '127.0.0.1'))).port;

const get = (path: string, headers: Record<string, string> = {}) => t.app.yoga.fetch(`http://wall.test${path}`, { headers });

describe('HTTP endpoints', () => {
  it('serves GraphiQL to browsers on GET /graphql', async () => {
    const response = await get('/graphql', { accept: 'text/html' });
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/graphiql/i);
  });

  it('reports readiness with the views’ position and lag', async () => {
    const ann = await t.register();
    await t.command('publishPost', { body: 'counted' }, ann.token);
    await t.settle();
    const response = await get('/ready');
    expect(response.status).toBe(200);
    const body = (await response.json()) as { ready: boolean; position: string; head: string; lagEvents: number };
    expect(body).toMatchObject({ ready: true, lagEvents: 0 });
    expect(BigInt(body.position)).toBeGreaterThanOrEqual(BigInt(body.head));
  });

  it('exposes Prometheus metrics: commands by outcome, events applied, projection lag', async () => {
    const ann = await t.register();
    await t.command('publishPost', { body: 'measured' }, ann.token);
    await t.gql(`mutation { publishPost(input: { body: "" }) { position } }`, {}, { token: ann.token });
    await t.settle();
    const text = await (await get('/metrics')).text();
    expect(text).toMatch(/wall_commands_total\{command="PublishPost",outcome="ok"\} [1-9]/);
    expect(text).toMatch(/wall_commands_total\{command="PublishPost",outcome="BAD_USER_INPUT"\} 1/);
    expect(text).toMatch(/wall_command_duration_seconds_count\{command="RegisterUser"\} [1-9]/);
    expect(text).toMatch(/wall_projector_events_applied_total [1-9]/);
    expect(text).toMatch(/wall_projection_lag_events 0/);
  });

  it('answers /health', async () => {
    expect((await get('/health')).status).toBe(200);
  });
});

describe('request bodies', () => {
  /** POSTs `body` to /graphql over real HTTP: with its Content-Length, or chunked (none). */
  const post = (port: number, body: string, chunked: boolean) =>
    new Promise<{ status: number; answer: any }>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path: '/graphql', method: 'POST', headers: { 'content-type': 'application/json', ...(chunked ? {} : { 'content-length': Buffer.byteLength(body) }) } },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, answer: JSON.parse(text) }));
        },
      );
      req.on('error', reject);
      if (chunked) {
        // Several writes and no Content-Length: Node sends Transfer-Encoding: chunked.
        for (let at = 0; at < body.length; at += 64 * 1024) req.write(body.slice(at, at + 64 * 1024));
        req.end();
      } else req.end(body);
    });
  /** A request of exactly `bytes` bytes: `{ __typename }` and a comment to fill it. */
  const padded = (bytes: number) => {
    const head = JSON.stringify({ query: '{ __typename } #' });
    return head.replace('#"', `#${'x'.repeat(bytes - head.length)}"`);
  };

  it(`takes a body up to ${MAX_REQUEST_BYTES} bytes and refuses a longer one with 413 and BAD_USER_INPUT, with a Content-Length or chunked`, async () => {
    const at = await port();
    for (const chunked of [false, true]) {
      const fits = padded(MAX_REQUEST_BYTES);
      expect(Buffer.byteLength(fits)).toBe(MAX_REQUEST_BYTES);
      expect(await post(at, fits, chunked)).toEqual({ status: 200, answer: expect.objectContaining({ data: { __typename: 'Query' } }) });
      const over = await post(at, padded(MAX_REQUEST_BYTES + 1), chunked);
      expect({ chunked, status: over.status, code: over.answer.errors?.[0]?.extensions?.code, data: over.answer.data }).toEqual({
        chunked,
        status: 413,
        code: 'BAD_USER_INPUT',
        data: undefined,
      });
    }
  });

  it('refuses a Content-Length that is not a number of bytes', async () => {
    const response = await t.app.yoga.fetch('http://wall.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': '12, 12' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(response.status).toBe(400);
    expect((await response.json()).errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });
});

describe('graphql-ws messages', () => {
  it(`are bounded like request bodies: a message over ${MAX_REQUEST_BYTES} bytes closes the socket with 1009`, async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${await port()}/graphql`, 'graphql-transport-ws');
    await once(socket, 'open');
    socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    await once(socket, 'message');
    const closed = once(socket, 'close');
    const query = `subscription { feedChanged { kind } } #${'x'.repeat(MAX_REQUEST_BYTES)}`;
    socket.send(JSON.stringify({ type: 'subscribe', id: '1', payload: { query } }));
    const [code] = await Promise.race([closed, new Promise<['still open']>((r) => setTimeout(() => r(['still open']), 5000))]);
    socket.terminate();
    expect(code).toBe(1009);
  });
});
