import { eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/connect.ts';
import { users } from '../../db/schema/write.ts';
import { unauthenticated } from '../../errors.ts';
import { field } from '../commands/rules.ts';
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

  /**
   * A token for the right handle and password; RATE_LIMITED after too many wrong ones
   * (SignInLimits), counted per handle and per client address `from`.
   */
  async signIn(handle: string, password: string, from = 'local'): Promise<{ userId: string; token: string }> {
    // No one can have a malformed handle (the rules are public): the same answer as a wrong
    // password at once, no password work, nothing counted.
    if (!field.handle.safeParse(handle).success) throw wrong();
    const attempt = await this.limits.attempt(handle, from);
    let user: { id: string; passwordHash: string } | undefined;
    let ok: boolean;
    try {
      [user] = await this.db
        .select({ id: users.id, passwordHash: users.passwordHash })
        .from(users)
        .where(eq(sql`lower(${users.handle})`, handle.toLowerCase()));
      // The same answer, and about the same work, whether the handle or the password is wrong.
      ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH);
    } catch (error) {
      await attempt.cancelled();
      throw error;
    }
    if (!user || !ok) throw wrong();
    await attempt.succeeded();
    return { userId: user.id, token: await this.tokens.issue(user.id) };
  }
}

const wrong = () => unauthenticated('Wrong handle or password.');
const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
