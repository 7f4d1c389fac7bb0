import { RateLimiterMemory } from 'rate-limiter-flexible';
import { DomainError } from '../../errors.ts';

export interface SignInLimitOptions {
  /** Wrong passwords for one handle from one client address within the window; then that pair waits. */
  perAddress?: number;
  /** Wrong passwords for one handle from all addresses within the window (a spread-out guess); then the handle waits. */
  perHandle?: number;
  /** The window, in seconds: a failure counts until this long after the first one of its window. */
  windowSeconds?: number;
}

export const DEFAULT_SIGN_IN_LIMITS = { perAddress: 10, perHandle: 100, windowSeconds: 15 * 60 } as const;

/**
 * Guessing passwords is slowed down by counting wrong ones: per handle and client address (one
 * source trying one account), and per handle alone (many sources). A success clears its pair.
 * Counting per pair first means that someone failing on purpose from elsewhere does not lock the
 * owner out until the much larger per-handle count is spent. The counts live in this process's
 * memory (several API processes count apart), and only failures count, so the scrypt cost of a
 * sign-in stays the caller's until its handle is refused.
 */
export class SignInLimits {
  private readonly pairs: RateLimiterMemory;
  private readonly handles: RateLimiterMemory;

  constructor(options: SignInLimitOptions = {}) {
    const { perAddress, perHandle, windowSeconds } = { ...DEFAULT_SIGN_IN_LIMITS, ...options };
    this.pairs = new RateLimiterMemory({ keyPrefix: 'pair', points: perAddress, duration: windowSeconds });
    this.handles = new RateLimiterMemory({ keyPrefix: 'handle', points: perHandle, duration: windowSeconds });
  }

  /**
   * Counts an attempt as a failure before the password is checked (so attempts made at the same
   * time cannot pass the bound together), or refuses it with RATE_LIMITED and the seconds to wait.
   * Call `succeeded` when the password was right: that takes the count back.
   */
  async attempt(handle: string, address: string): Promise<{ succeeded(): Promise<void> }> {
    const keys = keysOf(handle, address);
    const counted = [
      { limiter: this.pairs, key: keys.pair, result: await this.pairs.penalty(keys.pair) },
      { limiter: this.handles, key: keys.handle, result: await this.handles.penalty(keys.handle) },
    ];
    const over = counted.find((c) => c.result.consumedPoints > c.limiter.points);
    if (over) {
      // A refused attempt checks no password: it is not a failure.
      await Promise.all(counted.map((c) => c.limiter.reward(c.key)));
      const seconds = Math.max(1, Math.ceil(over.result.msBeforeNext / 1000));
      throw new DomainError('RATE_LIMITED', `Too many wrong passwords for this handle; try again in ${seconds} s.`, { retryAfterSeconds: seconds });
    }
    return {
      succeeded: async () => {
        await Promise.all([this.pairs.delete(keys.pair), this.handles.reward(keys.handle)]);
      },
    };
  }
}

const keysOf = (handle: string, address: string) => {
  const h = handle.toLowerCase();
  return { pair: `${h} ${address}`, handle: h };
};
