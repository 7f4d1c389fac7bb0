import ipaddr from 'ipaddr.js';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { DomainError } from '../../errors.ts';

export interface SignInLimitOptions {
  /** Wrong passwords for one handle from one client address within the window; then that pair waits. */
  perAddress?: number;
  /** Wrong passwords for one handle from all addresses within the window (a spread-out guess); then the handle waits. */
  perHandle?: number;
  /** Wrong passwords from one client address for all handles within the window (one password tried on many handles). */
  perAddressAllHandles?: number;
  /** The window, in seconds: a failure counts until this long after the first one of its window. */
  windowSeconds?: number;
}

export const DEFAULT_SIGN_IN_LIMITS = { perAddress: 10, perHandle: 100, perAddressAllHandles: 100, windowSeconds: 15 * 60 } as const;

/** What a counted attempt turned out to be, once the password was checked (or could not be). */
export interface SignInAttempt {
  /** The password was right: the pair's count starts over, and the handle's and the address's get the attempt back. */
  succeeded(): Promise<void>;
  /** The password could not be checked (the database failed): the attempt is given back. */
  cancelled(): Promise<void>;
}

/**
 * Guessing passwords is slowed down by counting wrong ones: per handle and client address (one
 * source trying one account), per handle (many sources), and per address (one source trying many
 * handles). A success clears its pair. Counting per pair first means that someone failing on
 * purpose from elsewhere does not lock the owner out until the much larger per-handle count is
 * spent. An IPv6 client counts by its /64 (one host holds a whole /64), an IPv4-mapped one as IPv4.
 * The counts live in this process's memory (several API processes count apart).
 */
export class SignInLimits {
  private readonly pairs: RateLimiterMemory;
  private readonly handles: RateLimiterMemory;
  private readonly addresses: RateLimiterMemory;

  constructor(options: SignInLimitOptions = {}) {
    const { perAddress, perHandle, perAddressAllHandles, windowSeconds } = { ...DEFAULT_SIGN_IN_LIMITS, ...options };
    this.pairs = new RateLimiterMemory({ keyPrefix: 'pair', points: perAddress, duration: windowSeconds });
    this.handles = new RateLimiterMemory({ keyPrefix: 'handle', points: perHandle, duration: windowSeconds });
    this.addresses = new RateLimiterMemory({ keyPrefix: 'address', points: perAddressAllHandles, duration: windowSeconds });
  }

  /**
   * Counts an attempt as a failure before the password is checked (so attempts made at the same
   * time cannot pass the bound together), or refuses it with RATE_LIMITED and the seconds to wait.
   * The address is counted first, and an address over its count touches nothing else, so one
   * source adds at most its count of handle entries per window. `handle` must be well formed: the
   * caller refuses others without counting them.
   */
  async attempt(handle: string, address: string): Promise<SignInAttempt> {
    const byAddress = { limiter: this.addresses, key: addressKey(address) };
    const byPair = { limiter: this.pairs, key: `${handle.toLowerCase()} ${byAddress.key}` };
    const byHandle = { limiter: this.handles, key: handle.toLowerCase() };
    const refuse = async (counted: Counted[], msBeforeNext: number, whose: string) => {
      await this.giveBack(counted);
      const seconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
      throw new DomainError('RATE_LIMITED', `Too many wrong passwords ${whose}; try again in ${seconds} s.`, { retryAfterSeconds: seconds });
    };
    const addressCount = await this.addresses.penalty(byAddress.key);
    if (addressCount.consumedPoints > this.addresses.points) await refuse([byAddress], addressCount.msBeforeNext, 'from this address');
    const [pairCount, handleCount] = await Promise.all([this.pairs.penalty(byPair.key), this.handles.penalty(byHandle.key)]);
    const over = [pairCount, handleCount].filter((count, i) => count.consumedPoints > [this.pairs, this.handles][i]!.points);
    // The longest wait: retrying after a shorter one would only be refused again.
    if (over.length > 0) await refuse([byAddress, byPair, byHandle], Math.max(...over.map((c) => c.msBeforeNext)), 'for this handle');
    return {
      succeeded: async () => {
        await this.pairs.delete(byPair.key);
        await this.giveBack([byAddress, byHandle]);
      },
      cancelled: () => this.giveBack([byAddress, byPair, byHandle]),
    };
  }

  /** Takes one point back from each key still counted (a key deleted or expired since stays at zero). */
  private async giveBack(counted: Counted[]): Promise<void> {
    for (const { limiter, key } of counted) {
      const now = await limiter.get(key);
      if (now && now.consumedPoints > 0) await limiter.reward(key);
    }
  }
}

interface Counted {
  limiter: RateLimiterMemory;
  key: string;
}

/** The key an address counts under: IPv4 as is (IPv4-mapped IPv6 too), IPv6 by its /64, anything else as given. */
export function addressKey(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  const parsed = ipaddr.process(address);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  return `${(parsed as ipaddr.IPv6).parts.slice(0, 4).map((p) => p.toString(16)).join(':')}::/64`;
}
