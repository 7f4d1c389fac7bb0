import { eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/connect.ts';
import { users } from '../../db/schema/write.ts';
import { unauthenticated } from '../../errors.ts';
import { verifyPassword } from './password.ts';
import type { TokenService } from './tokens.ts';

/** Checks credentials against the command side's users table and issues session tokens. */
export class IdentityService {
  constructor(
    private readonly db: Db,
    readonly tokens: TokenService,
  ) {}

  async signIn(handle: string, password: string): Promise<{ userId: string; token: string }> {
    const [user] = await this.db
      .select({ id: users.id, passwordHash: users.passwordHash })
      .from(users)
      .where(eq(sql`lower(${users.handle})`, handle.toLowerCase()));
    // The same answer, and about the same work, whether the handle or the password is wrong.
    const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH);
    if (!user || !ok) throw unauthenticated('Wrong handle or password.');
    return { userId: user.id, token: await this.tokens.issue(user.id) };
  }
}

const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
