/*
 * What the load sends, planned from the world's data just before each run, so that every request
 * is one the server should accept: each signed in as its own person (a token from TokenService
 * with the server's secret), a like only of a post the liker may see (the wall's owner or the
 * owner's friend) and has not liked yet (write.likes: the command's own truth, whatever the views'
 * lag), a comment only where the commenter may see the wall. Random but seeded: a plan is the same
 * for the same world and seed.
 *
 * Friendships do not change during a run (no scenario sends friend commands), so the read side's
 * friend graph (read.friends) is read once.
 */
import type postgres from 'postgres';
import { TokenService } from '../../src/write/identity/tokens.ts';
import { BENCH_TOKEN_SECRET, FEED_QUERY, MUTATIONS, prng, WALL_PAGE_QUERY, type CommandName } from './common.ts';
import type { PlannedRequest } from './wrk.ts';

const WORDS = 'the a wall feed friend photo today morning coffee walk city park rain sun weekend dinner cat dog book movie music train work home garden'.split(' ');

/** The mix of commands a running wall sees: posts 20%, likes 40%, comments 40%. */
export const MIX: readonly [CommandName, number][] = [
  ['publishPost', 0.2],
  ['likePost', 0.4],
  ['addComment', 0.4],
];

export class Planner {
  private readonly rand: () => number;
  private readonly tokens = new Map<string, string>();
  /** Every person but the celebrity, whose posts go to thousands of feeds (the fan-out phase's). */
  people: string[] = [];
  private friends = new Map<string, string[]>();
  private plans = 0;

  constructor(
    private readonly sql: postgres.Sql,
    seed: number,
    private readonly celebrityId: string | null,
  ) {
    this.rand = prng(seed);
  }

  /** Reads the people and the friend graph, and signs a token for everyone. */
  async load(): Promise<void> {
    const ids = (await this.sql<{ id: string }[]>`select id from write.users order by id`).map((r) => r.id);
    const issuer = new TokenService(BENCH_TOKEN_SECRET);
    for (const id of ids) this.tokens.set(id, await issuer.issue(id));
    this.people = ids.filter((id) => id !== this.celebrityId);
    this.friends = new Map();
    for (const { user_id, friend_id } of await this.sql<{ user_id: string; friend_id: string }[]>`select user_id, friend_id from read.friends`) {
      const list = this.friends.get(user_id);
      if (list) list.push(friend_id);
      else this.friends.set(user_id, [friend_id]);
    }
  }

  token(userId: string): string {
    const token = this.tokens.get(userId);
    if (!token) throw new Error(`no token for ${userId}`);
    return token;
  }

  friendsOf(userId: string): readonly string[] {
    return this.friends.get(userId) ?? [];
  }

  pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.rand() * list.length)]!;
  }

  text(minWords: number, maxWords: number): string {
    const n = minWords + Math.floor(this.rand() * (maxWords - minWords + 1));
    return Array.from({ length: n }, () => this.pick(WORDS)).join(' ') + '.';
  }

  /** `n` of one command, or of the mix. */
  async commands(kind: CommandName | 'mix', n: number): Promise<PlannedRequest[]> {
    if (kind !== 'mix') return this.only(kind, n);
    const kinds = Array.from({ length: n }, () => {
      let r = this.rand();
      for (const [name, share] of MIX) if ((r -= share) < 0) return name;
      return MIX.at(-1)![0];
    });
    const count = (name: CommandName) => kinds.filter((k) => k === name).length;
    const lists = Object.fromEntries(await Promise.all(MIX.map(async ([name]) => [name, await this.only(name, count(name))] as const))) as Record<CommandName, PlannedRequest[]>;
    const next = { publishPost: 0, likePost: 0, addComment: 0 };
    return kinds.map((k) => lists[k][next[k]++]!);
  }

  /** Feed pages of random readers, or wall pages of a random friend of each (their own wall if friendless). */
  pages(kind: 'feed' | 'wall', n: number): PlannedRequest[] {
    return Array.from({ length: n }, () => {
      const reader = this.pick(this.people);
      const friends = this.friendsOf(reader);
      const body = kind === 'feed' ? { query: FEED_QUERY } : { query: WALL_PAGE_QUERY, variables: { userId: friends.length ? this.pick(friends) : reader } };
      return { token: this.token(reader), body: JSON.stringify(body) };
    });
  }

  private async only(kind: CommandName, n: number): Promise<PlannedRequest[]> {
    if (n === 0) return [];
    const request = (actor: string, input: Record<string, string>) => ({ token: this.token(actor), body: JSON.stringify({ query: MUTATIONS[kind], variables: { input } }) });
    if (kind === 'publishPost') return Array.from({ length: n }, () => request(this.pick(this.people), { body: this.text(4, 40) }));
    const pairs = await this.postsAndViewers(n, kind === 'likePost');
    if (pairs.length < n) throw new Error(`only ${pairs.length} ${kind} commands could be planned of ${n}`);
    return pairs.map(({ post, viewer }) => (kind === 'likePost' ? request(viewer, { postId: post }) : request(viewer, { postId: post, body: this.text(2, 15) })));
  }

  /**
   * `n` distinct random posts, each with a random person who may see its wall (the owner or a
   * friend of the owner), and for likes one who does not like it yet.
   */
  private async postsAndViewers(n: number, unliked: boolean): Promise<{ post: string; viewer: string }[]> {
    const seed = `${this.rand()}:${++this.plans}`;
    return this.sql<{ post: string; viewer: string }[]>`
      with p as (select id, wall_owner_id from write.posts order by md5(id::text || ${seed}) limit ${n})
      select p.id as post, v.viewer
      from p cross join lateral (
        select c.viewer from (
          select p.wall_owner_id as viewer
          union all
          select f.friend_id from read.friends f where f.user_id = p.wall_owner_id
        ) c
        where not ${unliked} or not exists (select 1 from write.likes l where l.post_id = p.id and l.user_id = c.viewer)
        order by md5(c.viewer::text || ${seed})
        limit 1
      ) v`;
  }
}
