import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

/**
 * `npm run test:browser`: GraphiQL driven in headless Chromium (Debian's `chromium` package,
 * through playwright-core). Apart from `npm test` so that the main suite needs no browser.
 */
export default defineConfig({
  // One graphql module for everyone, as in vitest.config.ts.
  resolve: { alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }] },
  test: {
    include: ['test/browser/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
