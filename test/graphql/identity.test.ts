import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { useTestApp } from '../support/app.ts';

const t = useTestApp();

const signIn = (handle: string, password: string) =>
  t.gql(`mutation($h: String!, $p: String!) { signIn(handle: $h, password: $p) { token user { id handle } } }`, { h: handle, p: password });

describe('sign-in and tokens', () => {
  it('issues a token that identifies the person on later requests', async () => {
    const receipt = await t.command('registerUser', { handle: 'Token_Ada', displayName: 'Ada', password: 'analytical engine' });
    const result = await signIn('token_ada', 'analytical engine');
    expect(result.errors).toBeUndefined();
    expect(result.data!['signIn'].user).toEqual({ id: receipt.aggregateId, handle: 'Token_Ada' });
    const me = await t.gql(`{ me { id } }`, {}, { token: result.data!['signIn'].token });
    expect(me.data).toEqual({ me: { id: receipt.aggregateId } });
  });

  it('refuses a wrong password and an unknown handle alike', async () => {
    await t.command('registerUser', { handle: 'token_bob', displayName: 'Bob', password: 'right password' });
    for (const [handle, password] of [['token_bob', 'wrong password'], ['nobody_here', 'right password']] as const) {
      const result = await signIn(handle, password);
      expect(result.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
      expect(result.errors?.[0]?.message).toBe('Wrong handle or password.');
    }
  });

  it('refuses forged, expired and malformed tokens where sign-in is needed', async () => {
    const ada = await t.register();
    const forged = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(ada.userId).setIssuer('wall')
      .sign(new TextEncoder().encode('some-other-secret-some-other-secret'));
    const expired = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(ada.userId).setIssuer('wall')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(new TextEncoder().encode('test-secret-test-secret-test-secret'));
    const cases: [Record<string, string>, RegExp][] = [
      [{ authorization: `Bearer ${forged}` }, /not valid/],
      [{ authorization: `Bearer ${expired}` }, /expired/],
      [{ authorization: 'Basic abc' }, /Bearer/],
    ];
    for (const [headers, message] of cases) {
      const me = await t.gql(`{ me { id } }`, {}, { headers });
      expect(me.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
      expect(me.errors?.[0]?.message).toMatch(message);
      const write = await t.gql(`mutation { publishPost(input: { body: "x" }) { position } }`, {}, { headers });
      expect(write.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    }
  });

  it('asks for a token on queries that need one', async () => {
    const me = await t.gql(`{ me { id } }`);
    expect(me.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    const user = await t.gql(`{ user(handle: "anyone") { id } }`);
    expect(user.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  });

  it('masks unexpected failures and reports parse and validation errors with their codes', async () => {
    const parse = await t.gql(`{ me { id `);
    expect(parse.errors?.[0]?.extensions?.['code']).toBe('GRAPHQL_PARSE_FAILED');
    const validation = await t.gql(`{ nothingHere }`);
    expect(validation.errors?.[0]?.extensions?.['code']).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});
