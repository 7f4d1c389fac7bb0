import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { queryRows, sql } from '../../src/db/connect.ts';
import { createLogger } from '../../src/logger.ts';
import { commandCount, DEMO_HANDLE, planWorld, SEED_PASSWORD, seedWorld, WorldAlreadySeededError, type SeedResult, type WorldPlan } from '../../src/seed/world.ts';
import { resolveTokenSecret } from '../../src/write/identity/tokens.ts';
import { useTestApp } from '../support/app.ts';
import { createTestDatabase } from '../support/database.ts';

// Small enough to seed in seconds on PGlite; the default size is checked on the plan alone.
const PEOPLE = 16;
const FRIENDS = 6;
const SEED = 7;

const t = useTestApp();
let plan: WorldPlan;
let result: SeedResult;

beforeAll(async () => {
  plan = planWorld({ people: PEOPLE, seed: SEED, averageFriends: FRIENDS });
  let last = 0;
  result = await seedWorld(t.app, {
    people: PEOPLE,
    seed: SEED,
    averageFriends: FRIENDS,
    onProgress: (done, total) => {
      expect(done).toBeGreaterThan(last);
      expect(total).toBe(commandCount(plan));
      last = done;
    },
  });
  expect(last).toBe(commandCount(plan));
}, 120_000);

const rows = <T extends Record<string, unknown>>(query: string) => queryRows<T>(t.app.database.db, sql.raw(query));
const sorted = (values: unknown[]) => values.map((v) => JSON.stringify(v)).sort();

describe('seedWorld', () => {
  it('runs every planned command through the bus, and the write tables hold what it counts', async () => {
    expect(result.counts).toEqual({
      people: PEOPLE,
      friendships: plan.friendships.length,
      posts: plan.posts.length,
      comments: plan.comments.length,
      likes: plan.likes.length,
      commands: commandCount(plan),
      skipped: 0,
    });
    expect(result.skippedBy).toEqual({});

    const [tables] = await rows<Record<string, number>>(`select
      (select count(*)::int from write.users) as people,
      (select count(*)::int from write.friendships where status = 'accepted') as friendships,
      (select count(*)::int from write.friendships where status <> 'accepted') as unaccepted,
      (select count(*)::int from write.posts) as posts,
      (select count(*)::int from write.comments) as comments,
      (select count(*)::int from write.likes) as likes,
      (select count(*)::int from write.commands) as commands`);
    expect(tables).toEqual({ ...pick(result.counts, 'people', 'friendships', 'posts', 'comments', 'likes', 'commands'), unaccepted: 0 });

    // Every one of them went through the bus: it logged each command, by name.
    const byName = Object.fromEntries((await rows<{ command: string; n: number }>(`select name as command, count(*)::int as n from write.commands group by name`)).map((r) => [r.command, r.n]));
    expect(byName).toEqual({
      RegisterUser: PEOPLE,
      SendFriendRequest: plan.friendships.length,
      AcceptFriendRequest: plan.friendships.length,
      PublishPost: plan.posts.length,
      AddComment: plan.comments.length,
      LikePost: plan.likes.length,
    });
  });

  it('writes exactly the planned content, so the same seed gives the same world', async () => {
    const handle = (i: number) => plan.people[i]!.handle;
    const people = await rows(`select handle, display_name from write.users`);
    expect(sorted(people)).toEqual(sorted(plan.people.map((p) => ({ handle: p.handle, display_name: p.displayName }))));

    const friendships = await rows<{ a: string; b: string; by: string }>(`
      select lo.handle as a, hi.handle as b, r.handle as by from write.friendships f
      join write.users lo on lo.id = f.user_low join write.users hi on hi.id = f.user_high join write.users r on r.id = f.requested_by`);
    expect(sorted(friendships.map((f) => [[f.a, f.b].sort(), f.by]))).toEqual(
      sorted(plan.friendships.map((f) => [[handle(f.from), handle(f.to)].sort(), handle(f.from)])),
    );

    const posts = await rows(`select a.handle as author, w.handle as wall, p.body from write.posts p
      join write.users a on a.id = p.author_id join write.users w on w.id = p.wall_owner_id`);
    expect(sorted(posts)).toEqual(sorted(plan.posts.map((p) => ({ author: handle(p.author), wall: handle(p.wall), body: p.body }))));

    const comments = await rows(`select pa.handle as post_author, p.body as post, ca.handle as author, c.body from write.comments c
      join write.posts p on p.id = c.post_id join write.users pa on pa.id = p.author_id join write.users ca on ca.id = c.author_id`);
    expect(sorted(comments)).toEqual(
      sorted(plan.comments.map((c) => ({ post_author: handle(plan.posts[c.post]!.author), post: plan.posts[c.post]!.body, author: handle(c.author), body: c.body }))),
    );

    const likes = await rows(`select pa.handle as post_author, p.body as post, u.handle as person from write.likes l
      join write.posts p on p.id = l.post_id join write.users pa on pa.id = p.author_id join write.users u on u.id = l.user_id`);
    expect(sorted(likes)).toEqual(
      sorted(plan.likes.map((l) => ({ post_author: handle(plan.posts[l.post]!.author), post: plan.posts[l.post]!.body, person: handle(l.person) }))),
    );
  });

  it('plans the same world from the same seed, another from another, and only actions the rules allow', () => {
    expect(planWorld({ people: PEOPLE, seed: SEED, averageFriends: FRIENDS })).toEqual(plan);
    const other = planWorld({ people: PEOPLE, seed: SEED + 1, averageFriends: FRIENDS });
    expect(other.people.map((p) => p.handle)).not.toEqual(plan.people.map((p) => p.handle));

    // The default world: ~14 friends each, the demo account with at least 20.
    const big = planWorld({ people: 300 });
    const friends = big.people.map(() => new Set<number>());
    for (const { from, to } of big.friendships) {
      expect(from).not.toBe(to);
      expect(friends[from]!.has(to), 'a pair befriended twice').toBe(false);
      friends[from]!.add(to);
      friends[to]!.add(from);
    }
    const average = (big.friendships.length * 2) / big.people.length;
    expect(average).toBeGreaterThanOrEqual(10);
    expect(average).toBeLessThanOrEqual(20);
    expect(friends[0]!.size).toBeGreaterThanOrEqual(20);
    expect(new Set(big.people.map((p) => p.handle.toLowerCase())).size).toBe(300);
    for (const p of big.people) expect(p.handle).toMatch(/^[a-z0-9_]{3,30}$/);
    const sees = (person: number, wall: number) => person === wall || friends[wall]!.has(person);
    for (const post of big.posts) expect(sees(post.author, post.wall)).toBe(true);
    for (const c of big.comments) expect(sees(c.author, big.posts[c.post]!.wall)).toBe(true);
    const liked = new Set<string>();
    for (const l of big.likes) {
      expect(sees(l.person, big.posts[l.post]!.wall)).toBe(true);
      expect(liked.has(`${l.post}:${l.person}`), 'a post liked twice by one person').toBe(false);
      liked.add(`${l.post}:${l.person}`);
    }
    // Handles already in the database are avoided; the demo handle is kept for the demo account.
    const avoiding = planWorld({ people: PEOPLE, seed: SEED, averageFriends: FRIENDS, takenHandles: new Set([plan.people[1]!.handle]) });
    expect(avoiding.people[1]!.handle).toBe(`${plan.people[1]!.handle}2`);
    expect(avoiding.people[0]!.handle).toBe(DEMO_HANDLE);
  });

  it("hands back a token for the demo account whose feed, once the views catch up, has friends' posts", async () => {
    await t.app.projection.waitFor(BigInt(result.position), 30_000);
    expect(await t.app.projection.applied()).toBeGreaterThanOrEqual(BigInt(result.position));

    const answer = await t.gql(`{ me { handle friendCount } feed(first: 5) { nodes { body author { handle } likeCount commentCount } } }`, {}, { token: result.demo.token });
    expect(answer.errors).toBeUndefined();
    expect(answer.data!['me']).toEqual({ handle: 'demo', friendCount: plan.friendships.filter((f) => f.from === 0 || f.to === 0).length });
    const nodes = answer.data!['feed'].nodes as { body: string; author: { handle: string } }[];
    expect(nodes).toHaveLength(5);
    for (const node of nodes) expect(plan.posts.map((p) => p.body)).toContain(node.body);
    expect(nodes.some((n) => n.author.handle !== 'demo')).toBe(true);

    // The documented password signs in too.
    const signIn = await t.gql(`mutation($password: String!) { signIn(handle: "demo", password: $password) { user { handle } } }`, { password: SEED_PASSWORD });
    expect(signIn.data?.['signIn']).toEqual({ user: { handle: 'demo' } });
    expect(result.demo).toMatchObject({ handle: 'demo', password: SEED_PASSWORD });
  });

  it('refuses a second seed on the same database, writing nothing', async () => {
    const before = await t.writeDigest();
    await expect(seedWorld(t.app, { people: 5 })).rejects.toThrow(WorldAlreadySeededError);
    await expect(seedWorld(t.app, { people: 5 })).rejects.toThrow(/already has the demo account/);
    expect(await t.writeDigest()).toEqual(before);
  });
});

const run = promisify(execFile);
const tsx = new URL('../../node_modules/.bin/tsx', import.meta.url).pathname;
const cli = new URL('../../scripts/seed.ts', import.meta.url).pathname;

describe('npm run seed', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  it('seeds the configured database, prints the demo account and a summary, and refuses a second run', async () => {
    const database = await createTestDatabase();
    cleanups.push(database.drop);
    const dataDir = database.url ? null : await mkdtemp(join(tmpdir(), 'wall-seed-'));
    if (dataDir) cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const tokenSecret = 'seed-test-secret-seed-test-secret-0123';
    const env: NodeJS.ProcessEnv = { ...process.env, ...(database.url ? { DATABASE_URL: database.url, TOKEN_SECRET: tokenSecret } : { DATA_DIR: dataDir! }) };
    delete env['LOG_LEVEL'];
    if (!database.url) {
      delete env['DATABASE_URL'];
      delete env['TOKEN_SECRET'];
    }

    const { stdout } = await run(tsx, [cli, '--people', '5', '--seed', '3'], { env, timeout: 60_000 });
    const expected = planWorld({ people: 5, seed: 3 });
    expect(stdout).toMatch(
      new RegExp(
        `^seed: done: 5 people, ${expected.friendships.length} friendships, ${expected.posts.length} posts, ` +
          `${expected.comments.length} comments, ${expected.likes.length} likes in [\\d.]+ s \\(seed 3, ${commandCount(expected)} commands, none skipped\\)$`,
        'm',
      ),
    );
    // Not a TTY here: plain progress lines, not a bar.
    expect(stdout).toMatch(/^seed: people, \d+\/\d+ commands \(\d+%\)$/m);
    const demo = /^demo: handle demo, password "demo password", token (\S+)$/m.exec(stdout);
    expect(demo, stdout).not.toBeNull();

    // The token works against a server on the same data (the secret the server would use), and the views are there.
    const secret = database.url ? tokenSecret : (await resolveTokenSecret(undefined, dataDir)).secret;
    const app = await createApp({ databaseUrl: database.url, dataDir, tokenSecret: secret, log: createLogger('silent'), limits: { maxFriends: 5000 }, projector: false });
    try {
      const response = await app.yoga.fetch('http://wall.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${demo![1]}` },
        body: JSON.stringify({ query: '{ me { handle } feed(first: 5) { nodes { body } } }' }),
      });
      const body = (await response.json()) as { data: { me: { handle: string }; feed: { nodes: unknown[] } } };
      expect(body.data.me.handle).toBe('demo');
      expect(body.data.feed.nodes.length).toBeGreaterThan(0);
    } finally {
      await app.stop();
    }

    // A second run is refused in one line, without a stack trace.
    const second = await run(tsx, [cli, '--people', '5'], { env, timeout: 60_000 }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/^seed: This database already has the demo account \(handle "demo"\)/);
    expect(second.stderr).not.toMatch(/\n\s+at /);
  }, 120_000);
});

function pick<T extends object, K extends keyof T>(object: T, ...keys: K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((k) => [k, object[k]])) as Pick<T, K>;
}
