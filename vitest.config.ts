import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Integration tests start real processes and bind real ports; two cores are shared.
    maxWorkers: 2,
    // In CI, also a JSON summary, from which .ci/run prints a plain `N passed, N failed` line.
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: 'node_modules/.cache/vitest-results.json' },
  },
});
