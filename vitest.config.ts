import { defineConfig } from 'vitest/config';
import SkippedReporter from './test/support/skipped-reporter.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Integration tests start real processes and bind real ports; two cores are shared.
    maxWorkers: 2,
    // In CI, also a JSON summary, from which .ci/run prints a plain `N passed, N failed` line.
    // Last, every skipped test and why (test/support/skip.ts), after the summary.
    reporters: [...(process.env.CI ? ['default', 'json'] : ['default']), new SkippedReporter()],
    outputFile: { json: 'node_modules/.cache/vitest-results.json' },
  },
});
