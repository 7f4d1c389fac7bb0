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
 * that falls `maxQueued` changes behind is ended (see `overflow`), so a slow or stalled client
 * costs at most that much memory and never holds up the others.
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
  /** The newest position handed out, for the message of an overflow. */
  private lastPosition: bigint | null = null;
  /** Ends after handing out a REMOVED (a post subscription whose post is gone). */
  endsOnRemoved = false;

  constructor(
    readonly topic: Topic,
    readonly viewerId: string,
    private readonly maxQueued: number,
    resume: ResumePage | null,
    private readonly onClose: (subscriber: Subscriber) => void,
    /** The change a resume starts after (a cursor's seq), or 0. */
    afterSeq = 0,
    /** The wall whose visibility this subscription depends on (null: the viewer's own feed). */
    public wallId: string | null = null,
  ) {
    this.resume = resume;
    this.lastSeq = afterSeq;
    this.resumedThrough = afterSeq;
  }

  get closed(): boolean {
    return this.done;
  }

  /** Hands a live change to this subscriber, or ends it when it is too far behind. */
  push(change: LiveChange): void {
    if (this.done || this.ending) return;
    if (this.queue.length >= this.maxQueued) {
      const since = this.lastPosition === null ? '' : ` with since: "${this.lastPosition}"`;
      this.end(
        new DomainError('RATE_LIMITED', `This subscription fell ${this.maxQueued} changes behind and was ended; subscribe again${since}.`, {
          position: this.lastPosition?.toString() ?? null,
        }),
      );
      return;
    }
    this.queue.push(change);
    this.wake();
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
