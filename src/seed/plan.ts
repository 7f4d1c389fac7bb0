import { randomStream } from './random.ts';
import { comment, FIRST_NAMES, LAST_NAMES, postOnFriendsWall, postOnOwnWall } from './text.ts';

/** The demo account every seeded world has: person 0 of the plan. */
export const DEMO_HANDLE = 'demo';
export const DEMO_DISPLAY_NAME = 'Demo Person';
/** Every seeded person's password (the demo account's included), so any of them can sign in. */
export const SEED_PASSWORD = 'demo password';

export interface PlanOptions {
  /** How many people, the demo account included (at least 2). */
  people: number;
  /** The PRNG seed: the same seed and size give the same world. Default 1. */
  seed?: number;
  /** Average friends per person (capped by the world's size). Default 14. */
  averageFriends?: number;
  /** Handles already in the database, lower-cased: generated handles avoid them. */
  takenHandles?: ReadonlySet<string>;
}

export interface PlannedPerson {
  handle: string;
  displayName: string;
  firstName: string;
}

/** People are referred to by their index in `people`, posts by their index in `posts`. */
export interface WorldPlan {
  seed: number;
  people: PlannedPerson[];
  /** `from` sends the request, `to` accepts it. No pair appears twice, in either direction. */
  friendships: { from: number; to: number }[];
  posts: { author: number; wall: number; body: string }[];
  comments: { post: number; author: number; body: string }[];
  /** At most one like per (post, person). */
  likes: { post: number; person: number }[];
}

export const DEFAULT_SEED = 1;
const DEMO_MIN_FRIENDS = 20;
/** A person's "neighbourhood" on the ring of people: most friendships are local, so friends share friends. */
const NEIGHBOURHOOD = 10;

/**
 * The whole demo world as data, from the seed alone (no database): who exists, who befriends
 * whom, who writes what where, who comments and likes. Every planned action is allowed by the
 * command rules when run phase by phase (people, friendships, posts, comments, likes): posts on
 * a wall only by its owner or a friend of theirs, comments and likes only by the wall owner or
 * their friends, no friendship or like twice.
 */
export function planWorld(options: PlanOptions): WorldPlan {
  const n = options.people;
  if (!Number.isInteger(n) || n < 2) throw new Error(`people must be a whole number of at least 2, not ${n}`);
  const seed = options.seed ?? DEFAULT_SEED;
  const taken = options.takenHandles ?? new Set<string>();
  const averageFriends = Math.min(n - 1, options.averageFriends ?? 14);

  // People: the demo account first, then names from the lists, numbered when a handle repeats.
  const names = randomStream(seed, 'names');
  const people: PlannedPerson[] = [{ handle: DEMO_HANDLE, displayName: DEMO_DISPLAY_NAME, firstName: 'Demo' }];
  const used = new Set<string>([DEMO_HANDLE, ...taken]);
  while (people.length < n) {
    const first = names.pick(FIRST_NAMES);
    const last = names.pick(LAST_NAMES);
    const base = `${first}_${last}`.toLowerCase();
    let handle = base;
    for (let k = 2; used.has(handle); k++) handle = `${base}${k}`;
    used.add(handle);
    people.push({ handle, displayName: `${first} ${last}`, firstName: first });
  }

  // Friendships: each person starts about half their share, mostly with neighbours on a ring.
  const graph = randomStream(seed, 'friendships');
  const friends: Set<number>[] = people.map(() => new Set<number>());
  const pairs: [number, number][] = [];
  const befriend = (a: number, b: number): boolean => {
    if (a === b || friends[a]!.has(b)) return false;
    friends[a]!.add(b);
    friends[b]!.add(a);
    pairs.push([a, b]);
    return true;
  };
  for (let i = 0; i < n; i++) {
    const sociability = 0.4 + 1.2 * graph.next();
    const starts = Math.round((averageFriends / 2) * sociability);
    for (let t = 0; t < starts; t++) {
      // A pick that is oneself or already a friend gets two more tries.
      for (let attempt = 0; attempt < 3; attempt++) {
        const j = graph.chance(0.6)
          ? (i + (graph.chance(0.5) ? 1 : -1) * graph.int(1, NEIGHBOURHOOD) + n * NEIGHBOURHOOD) % n
          : graph.int(0, n - 1);
        if (befriend(i, j)) break;
      }
    }
  }
  // The demo account is well connected, so its feed is full from the first look.
  const demoFriends = Math.min(n - 1, Math.max(DEMO_MIN_FRIENDS, averageFriends));
  while (friends[0]!.size < demoFriends) befriend(0, graph.int(1, n - 1));
  const friendships = graph
    .sample(pairs, pairs.length)
    .map(([a, b]) => (graph.chance(0.5) ? { from: a, to: b } : { from: b, to: a }));

  // Posts: one to five each (three for the demo account), a quarter of them on a friend's wall.
  const writing = randomStream(seed, 'posts');
  const drafts: WorldPlan['posts'] = [];
  for (let i = 0; i < n; i++) {
    const count = i === 0 ? 3 : writing.int(1, 5);
    const mine = [...friends[i]!].sort((a, b) => a - b);
    for (let k = 0; k < count; k++) {
      if (mine.length > 0 && writing.chance(0.25)) {
        const wall = writing.pick(mine);
        drafts.push({ author: i, wall, body: postOnFriendsWall(writing, people[wall]!.firstName) });
      } else {
        drafts.push({ author: i, wall: i, body: postOnOwnWall(writing) });
      }
    }
  }
  const posts = writing.sample(drafts, drafts.length);

  // Comments and likes, by people who may see the post's wall: its owner and the owner's friends.
  const reactions = randomStream(seed, 'reactions');
  const comments: WorldPlan['comments'] = [];
  const likes: WorldPlan['likes'] = [];
  posts.forEach((post, index) => {
    const viewers = [post.wall, ...[...friends[post.wall]!].sort((a, b) => a - b)];
    const commentCount = Math.floor(reactions.next() ** 2 * 5);
    for (let k = 0; k < commentCount; k++) comments.push({ post: index, author: reactions.pick(viewers), body: comment(reactions) });
    const others = viewers.filter((v) => v !== post.author);
    const likeCount = reactions.int(0, Math.min(5, others.length));
    for (const person of reactions.sample(others, likeCount)) likes.push({ post: index, person });
  });

  return {
    seed,
    people,
    friendships,
    posts,
    comments: reactions.sample(comments, comments.length),
    likes: reactions.sample(likes, likes.length),
  };
}

/** How many commands seeding the plan runs (a friendship is a request and an acceptance). */
export function commandCount(plan: WorldPlan): number {
  return plan.people.length + 2 * plan.friendships.length + plan.posts.length + plan.comments.length + plan.likes.length;
}
