/*
 * npm run bench's options: three presets (the full world, --small, --smoke) and flags that
 * override any of their figures.
 */
import { DEFAULT_FEED_LIMIT } from '../../src/read/views/feed.ts';
import { benchDbName, DEFAULT_DB, numberArg, type WorldParams } from './common.ts';

/**
 * In the order they run. The pages come before every scenario that writes: this server runs with
 * autovacuum off, and the writes' dead rows (trimmed feed entries) would slow the pages of a world
 * read.ts measures fresh.
 */
export const PHASES = ['ceiling', 'pages', 'commands', 'lag', 'catchup', 'rebuild', 'fanout', 'live'] as const;
export type PhaseName = (typeof PHASES)[number];

export interface BenchOptions {
  preset: 'full' | 'small' | 'smoke';
  /** The world's database; the run writes into a copy of it (see world-db.ts). */
  db: string;
  world: WorldParams;
  /** world.ts --tail: events left to the real projector when the world is built. */
  tail: number;
  rebuildWorld: boolean;
  keep: boolean;
  only: readonly PhaseName[];
  /** Each measurement's length and the warm-up before it (s). */
  seconds: number;
  warmup: number;
  ceilingClients: number;
  connections: number;
  pageConnections: number;
  /** Commands per second a plan is sized for (likes may run only once each). */
  planRate: number;
  /** Commands/s, or "N%" of the fastest command of the commands phase. */
  mixRate: string;
  mixConnections: number;
  lagSeconds: number;
  /** Commands of the mix written while no projector runs. */
  backlog: number;
  rebuildSeconds: number;
  fanoutSubscribers: number;
  live: number[];
  liveRate: number;
  liveSeconds: number;
  /** How long the views may take to reach the log's head between scenarios. */
  settleSeconds: number;
  pool: number | undefined;
  seed: number;
}

const PRESETS = {
  full: {
    world: { people: 10000, friends: 50, posts: 200000 },
    tail: 5000,
    seconds: 15,
    warmup: 3,
    planRate: 800,
    lagSeconds: 30,
    backlog: 5000,
    rebuildSeconds: 120,
    fanoutSubscribers: 500,
    live: [1000, 10000],
    liveRate: 50,
    liveSeconds: 10,
    settleSeconds: 300,
  },
  small: {
    world: { people: 1000, friends: 50, posts: 20000 },
    tail: 2000,
    seconds: 10,
    warmup: 2,
    planRate: 800,
    lagSeconds: 20,
    backlog: 2000,
    rebuildSeconds: 30,
    fanoutSubscribers: 500,
    live: [1000, 10000],
    liveRate: 50,
    liveSeconds: 10,
    settleSeconds: 180,
  },
  smoke: {
    world: { people: 200, friends: 10, posts: 2000 },
    tail: 500,
    seconds: 2,
    warmup: 1,
    planRate: 600,
    lagSeconds: 3,
    backlog: 200,
    rebuildSeconds: 5,
    fanoutSubscribers: 20,
    live: [5, 20],
    liveRate: 20,
    liveSeconds: 2,
    settleSeconds: 60,
  },
} as const;

export function benchOptions(args: Map<string, string>): BenchOptions {
  const preset = args.has('smoke') ? 'smoke' : args.has('small') ? 'small' : 'full';
  const p = PRESETS[preset];
  const n = (name: string, fallback: number) => numberArg(args, name, fallback);
  const int = (name: string, fallback: number) => Math.round(n(name, fallback));
  const people = int('people', p.world.people);
  const only = (args.get('only') ?? PHASES.join(',')).split(',').map((s) => s.trim());
  const unknown = only.filter((name) => !(PHASES as readonly string[]).includes(name));
  if (unknown.length) throw new Error(`--only: no phase ${unknown.join(', ')} (phases: ${PHASES.join(', ')})`);
  const mixRate = args.get('mix-rate') ?? '100%';
  if (!/^\d+(\.\d+)?%?$/.test(mixRate)) throw new Error(`--mix-rate is commands per second or a percentage of the fastest command (e.g. 50%), not ${mixRate}`);
  return {
    preset,
    db: benchDbName(args, preset === 'full' ? DEFAULT_DB : `${DEFAULT_DB}_${preset}`),
    world: {
      people,
      friends: n('friends', p.world.friends),
      posts: int('posts', p.world.posts),
      seed: int('seed', 42),
      lateFriends: 0.01,
      celebrity: Math.min(int('fanout-friends', 5000), people - 1),
      feedLimit: DEFAULT_FEED_LIMIT,
    },
    tail: int('tail', p.tail),
    rebuildWorld: args.has('rebuild-world'),
    keep: args.has('keep'),
    only: PHASES.filter((name) => only.includes(name)),
    seconds: n('duration', p.seconds),
    warmup: n('warmup', p.warmup),
    ceilingClients: int('ceiling-clients', 16),
    connections: int('connections', 16),
    pageConnections: int('page-connections', 32),
    planRate: int('plan-rate', p.planRate),
    mixRate,
    mixConnections: int('mix-connections', 64),
    lagSeconds: n('lag-seconds', p.lagSeconds),
    backlog: int('backlog', p.backlog),
    rebuildSeconds: n('rebuild-seconds', p.rebuildSeconds),
    fanoutSubscribers: int('fanout-subscribers', p.fanoutSubscribers),
    live: (args.get('live') ?? p.live.join(',')).split(',').map((s) => {
      const count = Number(s);
      if (!Number.isInteger(count) || count <= 0) throw new Error(`--live is a list of subscriber counts (e.g. 1000,10000), not ${args.get('live')}`);
      return count;
    }),
    liveRate: n('live-rate', p.liveRate),
    liveSeconds: n('live-seconds', p.liveSeconds),
    settleSeconds: n('settle-seconds', p.settleSeconds),
    pool: args.has('pool') ? int('pool', 0) : undefined,
    seed: int('bench-seed', 7),
  };
}

/** What each option means, for --help. */
export const USAGE = `npm run bench [-- options]     needs DATABASE_URL (a local PostgreSQL server; the bench makes its own databases there)

  --small | --smoke          a world of 1,000 people (a few minutes) | of 200, every phase a second or two (CI)
  --db NAME                  the world's database (wall_bench, wall_bench_small, wall_bench_smoke); the run writes into NAME_run
  --only a,b                 phases: ${PHASES.join(', ')}
  --rebuild-world            build the world again even if one with the same parameters exists
  --tail N                   events of the world left to the real projector when it is built (5,000)
  --keep                     keep NAME_run after the run
  --duration S --warmup S    each measurement and its warm-up (15 and 3; --small 10 and 2; --smoke 2 and 1)
  --ceiling-clients 16 --connections 16 --page-connections 32
  --plan-rate 800            commands per second a command's plan is sized for (a like is sent once)
  --mix-rate N|P%            the lag phase's rate: commands/s, or a share of the fastest command measured (100%)
  --mix-connections 64 --lag-seconds 30
  --backlog N                commands written while no projector runs (5,000)
  --rebuild-seconds 120      the rebuild's bound
  --fanout-friends 5000 --fanout-subscribers 500
  --live 1000,10000 --live-rate 50 --live-seconds 10
  --settle-seconds 300       how long the views may take to catch up between scenarios
  --pool N                   the server's DB_POOL
  --people N --friends N --posts N --seed N   another world`;
