import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

/**
 * A fresh PostgreSQL database for one test file when DATABASE_URL is set (dropped afterwards);
 * without it, `url` is undefined and the app runs on an in-memory PGlite.
 */
export async function createTestDatabase(): Promise<{ url: string | undefined; drop(): Promise<void> }> {
  const base = process.env['DATABASE_URL'];
  if (!base) return { url: undefined, drop: async () => {} };
  const name = `wall_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const admin = postgres(base, { max: 1, onnotice: () => {} });
      try {
        await admin.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await admin.end();
      }
    },
  };
}

export const databaseKind = () => (process.env['DATABASE_URL'] ? 'postgres' : 'pglite');
