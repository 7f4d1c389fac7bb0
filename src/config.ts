import { z } from 'zod';
import { compileTrust } from './graphql/client-address.ts';

/** Limits that the command rules enforce; tests lower them to reach the edges quickly. */
export interface Limits {
  maxFriends: number;
}

const configSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().default('127.0.0.1'),
  DATABASE_URL: z.string().url().optional(),
  READ_DATABASE_URL: z.string().url().optional(),
  DB_POOL: z.coerce.number().int().min(1).max(1000).optional(),
  ROLE: z.enum(['all', 'api']).default('all'),
  FEED_LIMIT: z.coerce.number().int().min(1).max(100_000).default(500),
  DATA_DIR: z.string().default('.data'),
  TOKEN_SECRET: z.string().min(32, 'TOKEN_SECRET must be at least 32 characters').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MAX_FRIENDS: z.coerce.number().int().positive().default(5000),
  CHANGE_LOG_SIZE: z.coerce.number().int().min(100).default(100_000),
  SUBSCRIPTION_QUEUE: z.coerce.number().int().min(1).max(100_000).default(256),
  SEED_DEMO: z.coerce.number().int().min(2).max(100_000).optional(),
  TRUST_PROXY: z
    .string()
    .optional()
    .superRefine((value, ctx) => {
      try {
        compileTrust(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
    }),
});

export interface Config {
  port: number;
  host: string;
  /** PostgreSQL through postgres.js when set; embedded PGlite in `dataDir` when not. */
  databaseUrl: string | undefined;
  /** PostgreSQL for the views, apart from the write side (optional). */
  readDatabaseUrl: string | undefined;
  /** Connections per PostgreSQL database (the embedded database has one); unset: DEFAULT_POOL_SIZE. */
  poolSize: number | undefined;
  /** `all`: API and projector in one process; `api`: no projector (run `npm run projector` beside it). */
  role: 'all' | 'api';
  feedLimit: number;
  dataDir: string;
  tokenSecret: string | undefined;
  logLevel: z.infer<typeof configSchema>['LOG_LEVEL'];
  limits: Limits;
  /** Change-log rows kept for subscribers who resume (`since`). */
  changeLogSize: number;
  /** Live changes one subscriber may fall behind before it is ended. */
  subscriptionQueue: number;
  /** At start, seed a demo world of this many people unless it exists (see src/seed/). */
  seedDemo: number | undefined;
  /** Which proxies' X-Forwarded-For names the client (see src/graphql/client-address.ts). */
  trustProxy: string | undefined;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    readDatabaseUrl: e.READ_DATABASE_URL,
    poolSize: e.DB_POOL,
    role: e.ROLE,
    feedLimit: e.FEED_LIMIT,
    dataDir: e.DATA_DIR,
    tokenSecret: e.TOKEN_SECRET,
    logLevel: e.LOG_LEVEL,
    limits: { maxFriends: e.MAX_FRIENDS },
    changeLogSize: e.CHANGE_LOG_SIZE,
    subscriptionQueue: e.SUBSCRIPTION_QUEUE,
    seedDemo: e.SEED_DEMO,
    trustProxy: e.TRUST_PROXY,
  };
}
