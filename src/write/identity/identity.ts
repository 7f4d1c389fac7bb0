import { eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/connect.ts';
import { users } from '../../db/schema/write.ts';
import { unauthenticated } from '../../errors.ts';
import { verifyPassword } from './password.ts';
import { SignInLimits } from './sign-in-limits.ts';
import type { TokenService } from './tokens.ts';

/** Checks credentials against the command side's users table and issues session tokens. */
export class IdentityService {
  constructor(
    private readonly db: Db,
    readonly tokens: TokenService,
    private readonly limits: SignInLimits = new SignInLimits(),
  ) {}

  /** A token for the right handle and password; RATE_LIMITED after too many wrong ones (SignInLimits). */
  async signIn(handle: string, password: string, from = 'local'): Promise<{ userId: string; token: string }> {
    const attempt = await this.limits.attempt(handle, from);
    const [user] = await this.db
      .select({ id: users.id, passwordHash: users.passwordHash })
      .from(users)
      .where(eq(sql`lower(${users.handle})`, handle.toLowerCase()));
    // The same answer, and about the same work, whether the handle or the password is wrong.
    const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH);
    if (!user || !ok) throw unauthenticated('Wrong handle or password.');
    await attempt.succeeded();
    return { userId: user.id, token: await this.tokens.issue(user.id) };
  }
}

const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
