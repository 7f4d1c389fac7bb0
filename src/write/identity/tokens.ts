import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errors, jwtVerify, SignJWT } from 'jose';
import { unauthenticated } from '../../errors.ts';

const ISSUER = 'wall';
const ALGORITHM = 'HS256';

/** Signs and checks session tokens (HS256 JWTs whose subject is the user's id). */
export class TokenService {
  private readonly key: Uint8Array;

  constructor(
    secret: string,
    private readonly ttlSeconds = 30 * 24 * 3600,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  issue(userId: string): Promise<string> {
    return new SignJWT({})
      .setProtectedHeader({ alg: ALGORITHM })
      .setSubject(userId)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + this.ttlSeconds)
      .sign(this.key);
  }

  /** The user id a token names; UNAUTHENTICATED with the reason when it is not valid. */
  async verify(token: string): Promise<string> {
    try {
      const { payload } = await jwtVerify(token, this.key, { issuer: ISSUER, algorithms: [ALGORITHM] });
      if (!payload.sub) throw unauthenticated('The token names no user.');
      return payload.sub;
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw unauthenticated('The token has expired; sign in again.');
      if (error instanceof errors.JOSEError) throw unauthenticated('The token is not valid; sign in again.');
      throw error;
    }
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
