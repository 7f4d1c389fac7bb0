import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.ts';
import { POST_CHANGE_FIELDS, sseSubscribe, wsClient, type Stream } from '../support/live.ts';
import { command, killAll, post, registerAndSignIn, startProjector, startServer, type WallProcess, type WallServer } from '../support/processes.ts';

/**
 * The deployment the README describes for PostgreSQL, as real processes on loopback ports: one
 * projector (`npm run projector`) and two API processes (`ROLE=api npm start`) sharing one
 * database and one TOKEN_SECRET. A write through one API process reaches subscribers of the
 * other: the projector process applies it and logs the change, and API 2 reads the change log
 * after its NOTIFY (or its poll).
 */
describe.runIf(process.env['DATABASE_URL'])('one projector and two API processes on PostgreSQL', () => {
  const suffix = randomBytes(3).toString('hex');
  let drop: () => Promise<void> = async () => {};
  let projector: WallProcess;
  let api1: WallServer;
  let api2: WallServer;
  const streams: Stream[] = [];
  const clients: { dispose(): unknown }[] = [];
  const processes = () => [projector, api1, api2].filter(Boolean);

  beforeAll(async () => {
    const database = await createTestDatabase();
    drop = database.drop;
    const env = { DATABASE_URL: database.url };
    try {
      // The projector first: it migrates the fresh database before the API processes open it.
      // (Started at the same moment, the three race to migrate it and one can die on
      // `CREATE SCHEMA "write"`: openPostgres in src/db/connect.ts migrates without a lock.)
      projector = await startProjector('projector', env);
      [api1, api2] = await Promise.all([startServer('api1', { ...env, ROLE: 'api' }), startServer('api2', { ...env, ROLE: 'api' })]);
    } catch (error) {
      await killAll();
      throw error;
    }
  });

  afterAll(async () => {
    for (const s of streams) s.close();
    await Promise.allSettled(clients.map((c) => c.dispose()));
    await killAll();
    await drop();
  });

  const WALL = `subscription ($userId: ID!, $since: String) { wallChanged(userId: $userId, since: $since) { ${POST_CHANGE_FIELDS} } }`;
  const FEED = `subscription ($since: String) { feedChanged(since: $since) { ${POST_CHANGE_FIELDS} } }`;
  const change = (m: { data?: any } | undefined) => m?.data?.wallChanged ?? m?.data?.feedChanged;

  it('a post published through API 1 reaches a graphql-ws subscriber and an SSE subscriber on API 2', async ({ onTestFailed }) => {
    onTestFailed(() => console.log(processes().map((p) => p.tail(40)).join('\n')));
    expect(api1.port).not.toBe(api2.port);

    // Two people, friends, all through API 1.
    const ada = await registerAndSignIn(api1.http, `ada_${suffix}`);
    const bob = await registerAndSignIn(api1.http, `bob_${suffix}`);
    await command(api1.http, 'sendFriendRequest', { toUserId: bob.userId }, ada.token);
    const accepted = await command(api1.http, 'acceptFriendRequest', { fromUserId: ada.userId }, bob.token);

    // API 2 reads its writes: it waits for the projector process to apply the friendship, and a
    // token issued by API 1 is good on API 2 (same TOKEN_SECRET).
    const read = await post<{ me: { friendCount: number } }>(api2.http, '{ me { friendCount } }', {}, { token: bob.token, headers: { 'x-consistent-with': accepted.position } });
    expect(read.errors).toBeUndefined();
    expect(read.data?.me.friendCount).toBe(1);
    expect(read.extensions?.['projection']).toMatchObject({ stale: false });
    expect(BigInt(read.extensions!['projection'].position)).toBeGreaterThanOrEqual(BigInt(accepted.position));

    // Bob watches Ada's wall over graphql-ws and his feed over SSE, both on API 2. Nothing says
    // when a subscription is registered on the server, so both resume from the friendship's
    // position: whatever comes after it reaches them, whether they registered before the post
    // was applied or after.
    const ws = wsClient(api2.ws, bob.token);
    clients.push(ws);
    const wall = ws.subscribe$(WALL, { userId: ada.userId, since: accepted.position });
    const feed = sseSubscribe(api2.http, FEED, { since: accepted.position }, bob.token);
    streams.push(wall, feed);

    const first = await command(api1.http, 'publishPost', { body: `hello from API 1 (${suffix})` }, ada.token);
    for (const stream of [wall, feed]) {
      const [message] = await stream.take(1);
      expect(message?.errors).toBeUndefined();
      expect(change(message)).toMatchObject({
        kind: 'ADDED',
        postId: first.aggregateId,
        position: first.position,
        post: { id: first.aggregateId, body: `hello from API 1 (${suffix})`, author: { handle: ada.handle }, wallOwner: { id: ada.userId } },
      });
    }

    // By now both subscriptions are past their resume and live: the next post comes only
    // through API 2's hub being woken (the projector process's NOTIFY, or the poll).
    const second = await command(api1.http, 'publishPost', { body: `and a second one (${suffix})` }, ada.token);
    for (const stream of [wall, feed]) {
      const messages = await stream.take(2);
      expect(messages[1]?.errors).toBeUndefined();
      expect(change(messages[1])).toMatchObject({ kind: 'ADDED', postId: second.aggregateId, position: second.position, post: { body: `and a second one (${suffix})` } });
      expect(stream.completed).toBe(false);
      expect(stream.error).toBeNull();
    }
    expect(wall.messages).toHaveLength(2);
    expect(feed.messages).toHaveLength(2);

    // Every process is still running.
    for (const p of processes()) expect(p.exit, p.name).toBeNull();
  });
});
