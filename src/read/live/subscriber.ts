import { DomainError } from '../../errors.ts';
import type { PostRow } from '../views/posts.ts';
import type { ProfileRow } from '../views/profile.ts';
import type { Topic } from '../changes.ts';

/** One change as subscribers receive it: the post as the views hold it, shared by every subscriber. */
export interface LiveChange {
  seq: number;
  kind: 'ADDED' | 'UPDATED' | 'REMOVED';
  postId: string;
  position: bigint;
  /** Null for REMOVED. */
  post: PostRow | null;
  /** The people the post shows (author, wall owner, comment authors), loaded with it. */
  profiles: ReadonlyMap<string, ProfileRow>;
}

/** What a subscription yields: changes, and at most one last message saying why it ended. */
export type LiveMessage = LiveChange | { end: Error };

/**
 * Reads one page of what the topic logged while the subscriber was away (see ChangeHub), after
 * a seq; null when there is no more. `throughSeq` is the page's last row, handed out or not.
 */
export type ResumePage = (afterSeq: number) => Promise<{ changes: LiveChange[]; throughSeq: number } | null>;

/**
 * One subscriber's stream. The hub pushes live changes; a resuming subscriber first pages through
 * the change log, and live changes wait meanwhile. Either way the queue is bounded: a subscriber
 * that is still `maxQueued` changes behind when the hub brings more is ended with RATE_LIMITED,
 * naming the point to resume from, so a slow or stalled client costs at most that much memory
 * (plus one page of the log, which the hub hands over whole) and never holds up the others.
 */
export class Subscriber implements AsyncIterableIterator<LiveMessage> {
  private readonly queue: LiveChange[] = [];
  private readonly resumed: LiveChange[] = [];
  private wakeUp: (() => void) | null = null;
  private ending: Error | null = null;
  private done = false;
  private resume: ResumePage | null;
  /** The newest seq handed out: nothing at or below it is handed out again. */
  private lastSeq = 0;
  /** How far the resume has read the log. */
  private resumedThrough = 0;
  /** The newest position handed out (or the one a resume started from), for an overflow's message. */
  private lastPosition: bigint | null = null;
  /** The hub's batch being pushed, and how many changes were queued before it began. */
  private batch = -1;
  private backlog = 0;
  /** Ends after handing out a REMOVED (a post subscription whose post is gone). */
  endsOnRemoved = false;

  constructor(
    readonly topic: Topic,
    readonly viewerId: string,
    private readonly maxQueued: number,
    resume: ResumePage | null,
    private readonly onClose: (subscriber: Subscriber) => void,
    /** Where a resume starts (after every change of a position, or after one change's seq). */
    since: { position: bigint; seq: number | null } | null = null,
    /** The wall whose visibility this subscription depends on (null: the viewer's own feed). */
    public wallId: string | null = null,
  ) {
    this.resume = resume;
    this.lastSeq = since?.seq ?? 0;
    this.resumedThrough = this.lastSeq;
    this.lastPosition = since?.position ?? null;
  }

  get closed(): boolean {
    return this.done;
  }

  /**
   * Hands a live change to this subscriber, or ends it when it was already `maxQueued` behind
   * before the hub's current `batch` began (one transaction may bring more than that at once).
   */
  push(change: LiveChange, batch: number): void {
    if (this.done || this.ending) return;
    if (batch !== this.batch) {
      this.batch = batch;
      this.backlog = this.queue.length;
    }
    if (this.backlog >= this.maxQueued) {
      const since = this.resumePoint();
      this.end(
        new DomainError('RATE_LIMITED', `This subscription fell ${this.maxQueued} changes behind and was ended; subscribe again with since: "${since}".`, {
          since,
        }),
      );
      return;
    }
    this.queue.push(change);
    this.wake();
  }

  /** Where a new subscription picks up exactly what this one has not handed out. */
  private resumePoint(): string {
    if (this.lastSeq > 0) return `${this.lastPosition}:${this.lastSeq}`;
    if (this.lastPosition !== null) return this.lastPosition.toString();
    // Nothing handed out yet: right before the oldest change still waiting.
    const oldest = this.resumed[0] ?? this.queue[0]!;
    return `${oldest.position}:${oldest.seq - 1}`;
  }

  /** Ends the stream with an error message as its last item. */
  end(error: Error): void {
    if (this.done || this.ending) return;
    this.ending = error;
    this.queue.length = 0;
    this.wake();
  }

  /** Ends the stream quietly (server shutdown). */
  complete(): void {
    this.finish();
  }

  async next(): Promise<IteratorResult<LiveMessage>> {
    for (;;) {
      if (this.done) return { done: true, value: undefined };
      if (this.ending) {
        const error = this.ending;
        this.finish();
        return { done: false, value: { end: error } };
      }
      if (this.resume && this.resumed.length === 0) {
        try {
          const page = await this.resume(this.resumedThrough);
          if (page) {
            this.resumed.push(...page.changes);
            this.resumedThrough = page.throughSeq;
          } else {
            this.resume = null;
          }
        } catch (error) {
          this.end(error instanceof Error ? error : new Error(String(error)));
        }
        continue;
      }
      // What the log held comes first; live changes it already held are skipped by seq.
      const change = this.resumed.shift() ?? this.queue.shift();
      if (change) {
        if (change.seq <= this.lastSeq) continue;
        this.lastSeq = change.seq;
        this.lastPosition = change.position;
        if (change.kind === 'REMOVED' && this.endsOnRemoved) this.finish();
        return { done: false, value: change };
      }
      await new Promise<void>((resolve) => (this.wakeUp = resolve));
    }
  }

  async return(): Promise<IteratorResult<LiveMessage>> {
    this.finish();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private finish() {
    if (this.done) return;
    this.done = true;
    this.queue.length = 0;
    this.resumed.length = 0;
    this.onClose(this);
    this.wake();
  }

  private wake() {
    const wakeUp = this.wakeUp;
    this.wakeUp = null;
    wakeUp?.();
  }
}
