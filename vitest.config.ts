import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // One graphql for everyone: Vite would pick graphql's ESM build for our code while Node hands
    // Pothos and Yoga the CommonJS one, and graphql refuses types from "another realm".
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // The browser test runs apart: `npm run test:browser` (vitest.browser.config.ts).
    exclude: ['test/browser/**', '**/node_modules/**'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Each file gets its own database (a fresh PostgreSQL database, or an in-memory PGlite), so
    // files need no module isolation; sharing modules saves compiling PGlite's WASM per file.
    fileParallelism: true,
    isolate: false,
  },
});
