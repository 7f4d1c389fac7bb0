import type { Db } from '../../db/connect.ts';
import { badInput, forbidden } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import {
  changeLogTrimmedThrough,
  changesAfter,
  feedMembership,
  lastChangeSeq,
  topicChangesAfter,
  type ChangeRow,
  type Topic,
} from '../changes.ts';
import { friendsAmong } from '../views/friends.ts';
import { findPosts, type PostRow } from '../views/posts.ts';
import { findProfiles, type ProfileRow } from '../views/profile.ts';
import { Subscriber, type LiveChange } from './subscriber.ts';

export interface ChangeHubOptions {
  viewsDb: Db;
  log: Logger;
  /** Live changes a subscriber may fall behind before it is ended. */
  maxQueued?: number;
  /** Polling fallback while anyone subscribes: a missed wake-up delays changes by at most this long. */
  pollMs?: number;
  /** Change-log rows read per statement. */
  pageSize?: number;
}

/**
 * Where a resuming subscriber left off: after every change of `position`, or, with `seq` (a
 * change's cursor), after that one change of its transaction.
 */
export interface ResumePoint {
  position: bigint;
  seq: number | null;
}

export interface SubscribeOptions {
  viewerId: string;
  /** Resume: first the logged changes after this point, then live ones. */
  since: ResumePoint | null;
  /**
   * Checks the viewer may watch the topic (throws a refusal otherwise) and names the wall whose
   * visibility it depends on. Runs after the subscriber is registered, so no change slips between.
   */
  authorize: () => Promise<{ wallId: string | null }>;
}

const topicKey = (topic: Topic) =>
  topic.kind === 'wall' ? `wall:${topic.wallId}` : topic.kind === 'post' ? `post:${topic.postId}` : `feed:${topic.readerId}`;

/**
 * Live fan-out in one API process. After each projector batch (NOTIFY, a local signal, or the
 * poll) it reads the new change-log rows once, loads each changed post and the people it shows
 * once, and hands the same objects to every local subscriber of each key: the SQL a change costs
 * does not grow with the number of subscribers.
 */
export class ChangeHub {
  private readonly byKey = new Map<string, Set<Subscriber>>();
  private readonly byViewer = new Map<string, Set<Subscriber>>();
  private readonly feedReaders = new Map<string, number>();
  /** Subscribers in this process (counted: wake() asks on every batch, with thousands of keys). */
  private subscribers = 0;
  private lastSeq: number | null = null;
  /** Bumped when tailing stops, so a read still in flight does not move a restarted tail back. */
  private generation = 0;
  /** Dispatches so far: a subscriber's queue bound applies per dispatch (see Subscriber.push). */
  private batches = 0;
  private starting: Promise<void> | null = null;
  private pumping: Promise<void> | null = null;
  private again = false;
  private poll: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly maxQueued: number;
  private readonly pageSize: number;

  constructor(private readonly options: ChangeHubOptions) {
    this.maxQueued = options.maxQueued ?? 256;
    this.pageSize = options.pageSize ?? 500;
  }

  /** Subscribers in this process. */
  get size(): number {
    return this.subscribers;
  }

  async subscribe(topic: Topic, { viewerId, since, authorize }: SubscribeOptions): Promise<Subscriber> {
    if (this.closed) throw new Error('the server is shutting down');
    const { viewsDb } = this.options;
    if (since !== null) this.assertLogHolds(since, await changeLogTrimmedThrough(viewsDb));
    await this.startTailing();
    const resume = since === null ? null : this.resumer(topic, since);
    const subscriber = new Subscriber(topic, viewerId, this.maxQueued, resume, (s) => this.remove(s), since);
    subscriber.endsOnRemoved = topic.kind === 'post';
    this.add(subscriber);
    try {
      subscriber.wallId = (await authorize()).wallId;
    } catch (error) {
      void subscriber.return();
      throw error;
    }
    return subscriber;
  }

  /** Something may have been logged: read it (now, or right after the read in progress). */
  wake(): void {
    if (this.closed || this.size === 0 || this.lastSeq === null) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = this.pump().finally(() => {
      this.pumping = null;
      // A wake-up that came while a stale read was bailing out.
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  /** Ends every subscription (each gets its transport's completion) and stops tailing. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopPolling();
    for (const set of [...this.byKey.values()]) for (const subscriber of [...set]) subscriber.complete();
    await this.pumping;
  }

  private async startTailing() {
    if (this.lastSeq !== null) return;
    this.starting ??= lastChangeSeq(this.options.viewsDb)
      .then((seq) => {
        this.lastSeq = seq;
      })
      .finally(() => (this.starting = null));
    await this.starting;
    const { pollMs = 1000 } = this.options;
    if (!this.poll) {
      this.poll = setInterval(() => this.wake(), pollMs);
      this.poll.unref();
    }
  }

  private stopPolling() {
    if (this.poll) clearInterval(this.poll);
    this.poll = null;
  }

  private add(subscriber: Subscriber) {
    const key = topicKey(subscriber.topic);
    const set = this.byKey.get(key) ?? this.byKey.set(key, new Set()).get(key)!;
    if (!set.has(subscriber)) this.subscribers++;
    set.add(subscriber);
    (this.byViewer.get(subscriber.viewerId) ?? this.byViewer.set(subscriber.viewerId, new Set()).get(subscriber.viewerId)!).add(subscriber);
    if (subscriber.topic.kind === 'feed') this.feedReaders.set(subscriber.viewerId, (this.feedReaders.get(subscriber.viewerId) ?? 0) + 1);
  }

  private remove(subscriber: Subscriber) {
    const key = topicKey(subscriber.topic);
    const set = this.byKey.get(key);
    if (!set?.delete(subscriber)) return;
    this.subscribers--;
    if (set.size === 0) this.byKey.delete(key);
    const mine = this.byViewer.get(subscriber.viewerId);
    mine?.delete(subscriber);
    if (mine?.size === 0) this.byViewer.delete(subscriber.viewerId);
    if (subscriber.topic.kind === 'feed') {
      const n = (this.feedReaders.get(subscriber.viewerId) ?? 1) - 1;
      if (n === 0) this.feedReaders.delete(subscriber.viewerId);
      else this.feedReaders.set(subscriber.viewerId, n);
    }
    if (this.byKey.size === 0) {
      // Nobody listens: stop reading the log; the next subscriber starts from its end.
      this.stopPolling();
      this.lastSeq = null;
      this.generation++;
    }
  }

  private async pump() {
    const { viewsDb, log } = this.options;
    const generation = this.generation;
    const current = () => this.lastSeq !== null && this.generation === generation;
    try {
      do {
        this.again = false;
        for (;;) {
          if (!current()) return;
          const rows = await changesAfter(viewsDb, this.lastSeq!, this.pageSize);
          if (rows.length === 0 || !current()) break;
          await this.dispatch(rows);
          if (!current()) return;
          this.lastSeq = rows.at(-1)!.seq;
          if (rows.length < this.pageSize) break;
        }
      } while (this.again);
    } catch (error) {
      // The next wake-up or poll reads the same rows again.
      log.error({ err: error }, 'live changes could not be read');
    }
  }

  /** Hands each row to the local subscribers it concerns, loading what they show once. */
  private async dispatch(rows: ChangeRow[]) {
    this.batches++;
    const deliveries: [Subscriber, ChangeRow][] = [];
    const revoked: ChangeRow[] = [];
    const updatedForFeeds: ChangeRow[] = [];
    for (const row of rows) {
      if (row.kind === 'REVOKED') {
        revoked.push(row);
      } else if (row.readerId === null) {
        for (const s of this.byKey.get(`post:${row.postId}`) ?? []) deliveries.push([s, row]);
        for (const s of this.byKey.get(`wall:${row.wallId}`) ?? []) deliveries.push([s, row]);
        if (row.kind === 'UPDATED' && this.feedReaders.size > 0) updatedForFeeds.push(row);
      } else {
        for (const s of this.byKey.get(`feed:${row.readerId}`) ?? []) deliveries.push([s, row]);
      }
    }
    if (updatedForFeeds.length > 0) {
      const readers = [...this.feedReaders.keys()];
      const inFeed = await feedMembership(this.options.viewsDb, readers, [...new Set(updatedForFeeds.map((r) => r.postId!))]);
      for (const row of updatedForFeeds) {
        for (const reader of readers) {
          if (!inFeed.has(`${reader}|${row.postId}`)) continue;
          for (const s of this.byKey.get(`feed:${reader}`) ?? []) deliveries.push([s, row]);
        }
      }
    }
    if (deliveries.length > 0) {
      const changes = await this.load(deliveries.map(([, row]) => row));
      // Every subscriber gets changes in seq order (post, wall and feed rows interleave above).
      deliveries.sort(([, a], [, b]) => a.seq - b.seq);
      for (const [subscriber, row] of deliveries) {
        const change = changes.get(row.seq);
        if (change) subscriber.push(change, this.batches);
      }
    }
    for (const row of revoked) await this.recheck(row);
  }

  /** A friendship ended: subscribers who may no longer see the wall are ended with FORBIDDEN. */
  private async recheck(row: ChangeRow) {
    const viewerId = row.readerId!;
    const affected = [...(this.byViewer.get(viewerId) ?? [])].filter((s) => s.wallId === row.wallId);
    if (affected.length === 0) return;
    // The log may be behind the views: they may be friends again by now.
    if ((await friendsAmong(this.options.viewsDb, viewerId, [row.wallId!])).size > 0) return;
    for (const s of affected) s.end(forbidden("You are no longer friends with this wall's owner, so this subscription has ended."));
  }

  /** The changes these rows describe, keyed by seq: one query for the posts and one for the people. */
  private async load(rows: ChangeRow[]): Promise<Map<number, LiveChange>> {
    const { viewsDb } = this.options;
    const wanted = [...new Set(rows.filter((r) => r.kind !== 'REMOVED').map((r) => r.postId!))];
    const posts = new Map<string, PostRow>();
    for (const post of wanted.length > 0 ? await findPosts(viewsDb, wanted) : []) posts.set(post.postId, post);
    const people = new Set<string>();
    for (const post of posts.values()) {
      people.add(post.authorId).add(post.wallOwnerId);
      for (const comment of post.latestComments) people.add(comment.authorId);
    }
    const profiles = new Map<string, ProfileRow>();
    for (const profile of people.size > 0 ? await findProfiles(viewsDb, [...people]) : []) profiles.set(profile.userId, profile);
    const changes = new Map<number, LiveChange>();
    for (const row of rows) {
      if (changes.has(row.seq)) continue;
      const kind = row.kind as LiveChange['kind'];
      const post = kind === 'REMOVED' ? null : (posts.get(row.postId!) ?? null);
      // A post deleted since the change was logged: its REMOVED follows, so this one is dropped.
      if (kind !== 'REMOVED' && !post) continue;
      changes.set(row.seq, { seq: row.seq, kind, postId: row.postId!, position: row.position, post, profiles });
    }
    return changes;
  }

  /** Refuses a resume point whose changes the log may no longer hold in full. */
  private assertLogHolds(from: ResumePoint, trimmedThrough: bigint) {
    // Trimming goes by seq, so a trimmed position may have lost only some of its changes.
    const lost = from.seq === null ? trimmedThrough > from.position : trimmedThrough >= from.position;
    if (lost) {
      throw badInput(
        `since is older than the change log keeps (it holds changes after position ${trimmedThrough}); read again, then subscribe without since.`,
        'since',
      );
    }
  }

  /**
   * Pages through a topic's logged changes after `since`. The trim mark is read after each page:
   * if the projector trimmed rows this resume still needed, the subscription ends rather than
   * skipping them (conservatively: a trim that took only rows already read ends it too).
   */
  private resumer(topic: Topic, since: ResumePoint) {
    // Positions only grow with seq, so after a change's seq every row is at its position or later.
    const floor = since.seq === null ? since.position : since.position - 1n;
    let reached: ResumePoint = since;
    return async (afterSeq: number) => {
      const { viewsDb } = this.options;
      const rows = await topicChangesAfter(viewsDb, topic, floor, afterSeq, this.pageSize);
      this.assertLogHolds(reached, await changeLogTrimmedThrough(viewsDb));
      if (rows.length === 0) return null;
      const last = rows.at(-1)!;
      reached = { position: last.position, seq: last.seq };
      const changes = await this.load(rows);
      return { changes: rows.flatMap((row) => changes.get(row.seq) ?? []), throughSeq: last.seq };
    };
  }
}
