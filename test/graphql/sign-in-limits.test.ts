import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { openDatabase } from '../../src/db/connect.ts';
import { IdentityService } from '../../src/write/identity/identity.ts';
import { addressKey, SignInLimits, type SignInLimitOptions } from '../../src/write/identity/sign-in-limits.ts';
import { TokenService } from '../../src/write/identity/tokens.ts';
import { useTestApp } from '../support/app.ts';

const PASSWORD = 'correct horse battery';
const SIGN_IN = `mutation($handle: String!, $password: String!) { signIn(handle: $handle, password: $password) { token user { handle } } }`;

/**
 * An app with `limits`, listening, and signIn against it over real HTTP (the client address is
 * 127.0.0.1) or in process (no address).
 */
function appWithLimits(limits: SignInLimitOptions, trustProxy?: string) {
  const t = useTestApp({ signInLimits: limits, trustProxy });
  let url = '';
  beforeAll(async () => {
    const { port } = await t.app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${port}/graphql`;
  });
  const signIn = async (handle: string, password: string, over: 'http' | 'process' = 'http', headers: Record<string, string> = {}) => {
    const result =
      over === 'http'
        ? ((await (
            await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query: SIGN_IN, variables: { handle, password } }) })
          ).json()) as { data?: any; errors?: { message: string; extensions?: Record<string, any> }[] })
        : await t.gql(SIGN_IN, { handle, password });
    const error = result.errors?.[0];
    return error
      ? { code: error.extensions?.['code'] as string, message: error.message, retryAfterSeconds: error.extensions?.['retryAfterSeconds'] as number | undefined }
      : { code: 'OK', handle: result.data.signIn.user.handle as string };
  };
  return { t, signIn };
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Windows long enough that a loaded machine does not see counts expire mid-test (the last
// describe waits one out on purpose).
const { t, signIn } = appWithLimits({ perAddress: 3, perHandle: 5, windowSeconds: 60 });

describe('signIn limits wrong passwords', () => {
  it('per handle and address: refuses the right password too once the count is spent, and leaves other handles and addresses alone', async () => {
    const [ann, bob] = [await t.register(), await t.register()];
    await t.settle();
    for (let i = 0; i < 3; i++) expect((await signIn(ann.handle, 'wrong password')).code).toBe('UNAUTHENTICATED');
    const refused = await signIn(ann.handle, PASSWORD);
    expect(refused.code).toBe('RATE_LIMITED');
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(60);
    // The handle in another letter case is the same handle; another handle is not.
    expect((await signIn(ann.handle.toUpperCase(), PASSWORD)).code).toBe('RATE_LIMITED');
    expect(await signIn(bob.handle, PASSWORD)).toEqual({ code: 'OK', handle: bob.handle });
    // The same handle from another address (here: in process) still signs in.
    expect(await signIn(ann.handle, PASSWORD, 'process')).toEqual({ code: 'OK', handle: ann.handle });
  });

  it('a right password clears its address’s count', async () => {
    const ann = await t.register();
    await t.settle();
    for (let i = 0; i < 2; i++) expect((await signIn(ann.handle, 'wrong password')).code).toBe('UNAUTHENTICATED');
    expect((await signIn(ann.handle, PASSWORD)).code).toBe('OK');
    for (let i = 0; i < 3; i++) expect((await signIn(ann.handle, 'wrong password')).code).toBe('UNAUTHENTICATED');
    expect((await signIn(ann.handle, 'wrong password')).code).toBe('RATE_LIMITED');
  });

  it('per handle from every address: refused everywhere once the handle’s count is spent', async () => {
    const ann = await t.register();
    await t.settle();
    for (let i = 0; i < 3; i++) expect((await signIn(ann.handle, 'wrong password', 'http')).code).toBe('UNAUTHENTICATED');
    for (let i = 0; i < 2; i++) expect((await signIn(ann.handle, 'wrong password', 'process')).code).toBe('UNAUTHENTICATED');
    // 5 failures for the handle: the in-process pair has spent 2 of its 3, the handle all 5.
    expect((await signIn(ann.handle, PASSWORD, 'process')).code).toBe('RATE_LIMITED');
  });

  it('attempts made at the same time cannot pass the bound together', async () => {
    const ann = await t.register();
    await t.settle();
    const codes = (await Promise.all(Array.from({ length: 6 }, () => signIn(ann.handle, 'wrong password')))).map((r) => r.code).sort();
    expect(codes).toEqual(['RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED', 'UNAUTHENTICATED', 'UNAUTHENTICATED', 'UNAUTHENTICATED']);
  });
});

describe('signIn limits wrong passwords from one address across handles', () => {
  const { t, signIn } = appWithLimits({ perAddress: 10, perHandle: 10, perAddressAllHandles: 3, windowSeconds: 60 });
  const attempt = async (handle: string, password: string) => {
    const result = await signIn(handle, password);
    return result.code === 'OK' ? 'OK' : `${result.code}: ${result.message}`;
  };

  it('refuses an address that tried one password on many handles, and does not count handles no one can have', async () => {
    const people = [await t.register(), await t.register(), await t.register(), await t.register()];
    await t.settle();
    // Malformed handles (too short, a space) cannot be anyone's: refused like a wrong password, not counted.
    for (let i = 0; i < 5; i++) for (const handle of ['ab', 'no such handle']) expect(await attempt(handle, 'password1')).toMatch(/^UNAUTHENTICATED/);
    for (const person of people.slice(0, 3)) expect(await attempt(person.handle, 'password1')).toMatch(/^UNAUTHENTICATED/);
    expect(await attempt(people[3]!.handle, PASSWORD)).toMatch(/^RATE_LIMITED: Too many wrong passwords from this address/);
    // In process (another address) the same person signs in.
    expect(await signIn(people[3]!.handle, PASSWORD, 'process')).toEqual({ code: 'OK', handle: people[3]!.handle });
  });
});

describe('signIn behind a reverse proxy (TRUST_PROXY)', () => {
  const limits = { perAddress: 2, perHandle: 10, windowSeconds: 60 };
  const from = (address: string) => ({ 'x-forwarded-for': address });

  describe('trusting the loopback proxy', () => {
    const { t, signIn } = appWithLimits(limits, 'loopback');
    it('counts each forwarded client apart', async () => {
      const ann = await t.register();
      await t.settle();
      for (let i = 0; i < 2; i++) expect((await signIn(ann.handle, 'wrong password', 'http', from('203.0.113.7'))).code).toBe('UNAUTHENTICATED');
      expect((await signIn(ann.handle, PASSWORD, 'http', from('203.0.113.7'))).code).toBe('RATE_LIMITED');
      expect(await signIn(ann.handle, PASSWORD, 'http', from('203.0.113.8'))).toEqual({ code: 'OK', handle: ann.handle });
      // The client is the nearest untrusted address: one it put in the header itself changes nothing.
      expect((await signIn(ann.handle, PASSWORD, 'http', from('198.51.100.1, 203.0.113.7'))).code).toBe('RATE_LIMITED');
    });
    it('counts a forwarded entry that is no address by the nearest real one, so made-up entries are not fresh keys', async () => {
      const bob = await t.register();
      await t.settle();
      expect((await signIn(bob.handle, 'wrong password', 'http', from('unknown'))).code).toBe('UNAUTHENTICATED');
      expect((await signIn(bob.handle, 'wrong password', 'http', from('203.0.113.9:5555'))).code).toBe('UNAUTHENTICATED');
      // Both counted for the proxy's own address (127.0.0.1), as a request without the header is.
      expect((await signIn(bob.handle, PASSWORD, 'http', from('made up'))).code).toBe('RATE_LIMITED');
      expect((await signIn(bob.handle, PASSWORD, 'http')).code).toBe('RATE_LIMITED');
      expect(await signIn(bob.handle, PASSWORD, 'http', from('203.0.113.9'))).toEqual({ code: 'OK', handle: bob.handle });
    });
  });

  describe('trusting no proxy (the default)', () => {
    const { t, signIn } = appWithLimits(limits);
    it('ignores X-Forwarded-For: a client cannot pick its address', async () => {
      const ann = await t.register();
      await t.settle();
      for (let i = 0; i < 2; i++) expect((await signIn(ann.handle, 'wrong password', 'http', from('203.0.113.7'))).code).toBe('UNAUTHENTICATED');
      expect((await signIn(ann.handle, PASSWORD, 'http', from('203.0.113.8'))).code).toBe('RATE_LIMITED');
    });
  });

  it('takes a hop count or a list of addresses and ranges, and refuses anything else at start', () => {
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toBe('1');
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8, fd00::1' }).trustProxy).toBe('loopback, 10.0.0.0/8, fd00::1');
    expect(loadConfig({}).trustProxy).toBeUndefined();
    expect(() => loadConfig({ TRUST_PROXY: 'proxy.example' })).toThrow(/TRUST_PROXY: "proxy.example" is not an IP address/);
    expect(() => loadConfig({ TRUST_PROXY: '10.0.0.0/40' })).toThrow(/TRUST_PROXY/);
    // Read as addresses by a lax parser (0.0.0.1, 8.0.0.1): refused instead.
    expect(() => loadConfig({ TRUST_PROXY: '1, loopback' })).toThrow(/TRUST_PROXY: "1" is not an IP address/);
    expect(() => loadConfig({ TRUST_PROXY: '010.0.0.1' })).toThrow(/TRUST_PROXY: "010.0.0.1" is not an IP address/);
    expect(loadConfig({ TRUST_PROXY: '0' }).trustProxy).toBe('0');
  });
});

describe('signIn after the window', () => {
  const { t, signIn } = appWithLimits({ perAddress: 2, windowSeconds: 3 });

  it('takes the right password again once the wait it was told has passed', async () => {
    const ann = await t.register();
    await t.settle();
    for (let i = 0; i < 2; i++) expect((await signIn(ann.handle, 'wrong password')).code).toBe('UNAUTHENTICATED');
    const refused = await signIn(ann.handle, PASSWORD);
    expect(refused.code).toBe('RATE_LIMITED');
    await wait(refused.retryAfterSeconds! * 1000 + 300);
    expect(await signIn(ann.handle, PASSWORD)).toEqual({ code: 'OK', handle: ann.handle });
  });
});

describe('SignInLimits', () => {
  it('counts an IPv6 client by its /64 and an IPv4-mapped one as IPv4', () => {
    expect(addressKey('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(addressKey('10.1.2.3')).toBe('10.1.2.3');
    expect(addressKey('2001:db8::1')).toBe(addressKey('2001:db8:0:0:ffff::2'));
    expect(addressKey('2001:db8::1')).not.toBe(addressKey('2001:db8:0:1::1'));
    expect(addressKey('local')).toBe('local');
  });

  it('gives an attempt back when the password could not be checked (the database failed)', async () => {
    const limits = new SignInLimits({ perAddress: 1, perHandle: 1, perAddressAllHandles: 1, windowSeconds: 60 });
    const closed = await openDatabase({ dataDir: null });
    await closed.close();
    const identity = new IdentityService(closed.db, new TokenService('x'.repeat(32)), limits);
    for (let i = 0; i < 3; i++) {
      const error = await identity.signIn('ann_1', 'password1', '10.0.0.1').then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(Error);
      expect((error as { code?: string }).code).not.toBe('RATE_LIMITED');
    }
    // The one failure allowed is still there to spend.
    await (await limits.attempt('ann_1', '10.0.0.1')).cancelled();
  });
});
