import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/errors.ts';
import { TokenService } from '../../src/write/identity/tokens.ts';

const SECRET = 'token-cache-test-secret-token-cache-test-secret';
const USER = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';

/** A clock the test moves (milliseconds since the epoch). */
function clock(start = Date.UTC(2030, 0, 1)) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms), set: (ms: number) => void (now = ms) };
}

async function refusal(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DomainError);
  expect((error as DomainError).code).toBe('UNAUTHENTICATED');
  return error as DomainError;
}

describe('the verified-token cache', () => {
  it('remembers a token that verified, and answers it again from memory', async () => {
    const tokens = new TokenService(SECRET, { now: clock().now });
    const token = await tokens.issue(USER);
    expect(tokens.cachedTokens).toBe(0);
    expect(await tokens.verify(token)).toBe(USER);
    expect(tokens.cachedTokens).toBe(1);
    expect(await tokens.verify(token)).toBe(USER);
    expect(tokens.cachedTokens).toBe(1);
  });

  it('refuses a remembered token once it expires, at the second jose would (exp <= now)', async () => {
    const c = clock();
    const tokens = new TokenService(SECRET, { ttlSeconds: 60, now: c.now });
    const token = await tokens.issue(USER);
    const exp = Math.floor(c.now() / 1000) + 60;
    expect(await tokens.verify(token)).toBe(USER);
    c.set(exp * 1000 - 1); // the last millisecond of its life
    expect(await tokens.verify(token)).toBe(USER);
    c.set(exp * 1000);
    expect((await refusal(tokens.verify(token))).message).toMatch(/expired/);
    expect(tokens.cachedTokens).toBe(0);
    // A fresh instance (no cache) agrees with the cached answers at both instants.
    const uncached = new TokenService(SECRET, { cacheSize: 0, now: () => exp * 1000 - 1 });
    expect(await uncached.verify(token)).toBe(USER);
    const later = new TokenService(SECRET, { cacheSize: 0, now: () => exp * 1000 });
    expect((await refusal(later.verify(token))).message).toMatch(/expired/);
  });

  it('never lets an altered or foreign token through because a genuine one is remembered', async () => {
    const tokens = new TokenService(SECRET, { now: clock().now });
    const token = await tokens.issue(USER);
    expect(await tokens.verify(token)).toBe(USER);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const otherSub = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), sub: 'someone-else' })).toString('base64url');
    await refusal(tokens.verify(`${header}.${otherSub}.${signature}`));
    const flipped = signature.slice(0, -2) + (signature.endsWith('AA') ? 'BB' : 'AA');
    await refusal(tokens.verify(`${header}.${payload}.${flipped}`));
    const foreign = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(USER)
      .setIssuer('wall')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('another-secret-another-secret-another-secret'));
    expect((await refusal(tokens.verify(foreign))).message).toMatch(/not valid/);
    // Refused tokens are not remembered.
    expect(tokens.cachedTokens).toBe(1);
  });

  it('keeps at most cacheSize tokens, dropping the least recently used', async () => {
    const c = clock();
    const tokens = new TokenService(SECRET, { cacheSize: 2, now: c.now });
    const users = ['0190a1b2-c3d4-7e5f-8a9b-000000000001', '0190a1b2-c3d4-7e5f-8a9b-000000000002', '0190a1b2-c3d4-7e5f-8a9b-000000000003'];
    const [a, b, d] = await Promise.all(users.map((u) => tokens.issue(u)));
    await tokens.verify(a!);
    await tokens.verify(b!);
    await tokens.verify(a!); // a is now the most recently used
    await tokens.verify(d!); // b goes
    expect(tokens.cachedTokens).toBe(2);
    // Every token still verifies (b the long way) and the bound holds.
    expect(await tokens.verify(b!)).toBe(users[1]);
    expect(await tokens.verify(a!)).toBe(users[0]);
    expect(await tokens.verify(d!)).toBe(users[2]);
    expect(tokens.cachedTokens).toBe(2);
  });

  it('still takes the lifetime as a number, as before', async () => {
    const tokens = new TokenService(SECRET, 10);
    const token = await tokens.issue(USER);
    const { exp, iat } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number; iat: number };
    expect(exp - iat).toBe(10);
    expect(await tokens.verify(token)).toBe(USER);
  });
});
