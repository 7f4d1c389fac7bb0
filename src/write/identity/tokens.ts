import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errors, jwtVerify, SignJWT } from 'jose';
import { unauthenticated } from '../../errors.ts';

const ISSUER = 'wall';
const ALGORITHM = 'HS256';

/** Verified tokens remembered unless told otherwise (a few MB at most). */
export const DEFAULT_VERIFIED_CACHE_SIZE = 10_000;

export interface TokenServiceOptions {
  /** Lifetime of issued tokens. */
  ttlSeconds?: number;
  /** How many verified tokens to remember (least recently used go first); 0 turns the cache off. */
  cacheSize?: number;
  /** The clock, in milliseconds since the epoch (tests move it). */
  now?: () => number;
}

/**
 * Signs and checks session tokens (HS256 JWTs whose subject is the user's id).
 *
 * Every request carries its token, and checking the signature (jose, through WebCrypto) was a
 * visible share of a feed page's CPU. A token that verified once is remembered, keyed by its
 * whole text, with its subject and expiry: a hit only compares the expiry with the clock, as jose
 * does (valid while exp > now, in whole seconds, no tolerance). Only tokens that verified are
 * kept, so a forged or altered token always meets the signature check; the map is bounded and
 * drops the least recently used token first.
 */
export class TokenService {
  /** The secret as a WebCrypto key, imported once: jose given raw bytes imports them on every call (twice the CPU of a verify). */
  private readonly key: Promise<CryptoKey>;
  private readonly ttlSeconds: number;
  private readonly cacheSize: number;
  private readonly now: () => number;
  /** Token text -> its subject and expiry (seconds; Infinity when it has none), oldest use first. */
  private readonly verified = new Map<string, { sub: string; exp: number }>();

  constructor(secret: string, options: TokenServiceOptions | number = {}) {
    const { ttlSeconds = 30 * 24 * 3600, cacheSize = DEFAULT_VERIFIED_CACHE_SIZE, now = Date.now } =
      typeof options === 'number' ? { ttlSeconds: options } : options;
    this.key = crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    this.ttlSeconds = ttlSeconds;
    this.cacheSize = cacheSize;
    this.now = now;
  }

  async issue(userId: string): Promise<string> {
    const seconds = Math.floor(this.now() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg: ALGORITHM })
      .setSubject(userId)
      .setIssuer(ISSUER)
      .setIssuedAt(seconds)
      .setExpirationTime(seconds + this.ttlSeconds)
      .sign(await this.key);
  }

  /** The user id a token names; UNAUTHENTICATED with the reason when it is not valid. */
  async verify(token: string): Promise<string> {
    const known = this.verified.get(token);
    if (known) {
      this.verified.delete(token);
      if (known.exp > Math.floor(this.now() / 1000)) {
        this.verified.set(token, known); // now the most recently used
        return known.sub;
      }
      // Expired since it was remembered: jose says so below.
    }
    try {
      const { payload } = await jwtVerify(token, await this.key, { issuer: ISSUER, algorithms: [ALGORITHM], currentDate: new Date(this.now()) });
      if (!payload.sub) throw unauthenticated('The token names no user.');
      this.remember(token, payload.sub, payload.exp ?? Infinity);
      return payload.sub;
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw unauthenticated('The token has expired; sign in again.');
      if (error instanceof errors.JOSEError) throw unauthenticated('The token is not valid; sign in again.');
      throw error;
    }
  }

  /** How many verified tokens are remembered now. */
  get cachedTokens(): number {
    return this.verified.size;
  }

  private remember(token: string, sub: string, exp: number) {
    if (this.cacheSize <= 0) return;
    this.verified.delete(token);
    while (this.verified.size >= this.cacheSize) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, { sub, exp });
  }
}

/**
 * The configured secret, or for the embedded database one generated once and kept in the data
 * folder, so tokens survive restarts without any set-up.
 */
export async function resolveTokenSecret(configured: string | undefined, dataDir: string | null): Promise<{ secret: string; source: string }> {
  if (configured) return { secret: configured, source: 'TOKEN_SECRET' };
  if (!dataDir) return { secret: randomBytes(32).toString('base64url'), source: 'generated for this process' };
  const file = join(dataDir, 'token-secret');
  try {
    return { secret: (await readFile(file, 'utf8')).trim(), source: file };
  } catch {
    await mkdir(dataDir, { recursive: true });
    const secret = randomBytes(32).toString('base64url');
    await writeFile(file, secret, { mode: 0o600, flag: 'wx' }).catch(async () => {});
    return { secret: (await readFile(file, 'utf8')).trim(), source: file };
  }
}
