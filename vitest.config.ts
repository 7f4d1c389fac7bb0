import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Each file gets its own database (a fresh PostgreSQL database, or an in-memory PGlite).
    fileParallelism: true,
    reporters: ['default'],
  },
});
