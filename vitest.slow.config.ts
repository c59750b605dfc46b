import { defineConfig } from 'vitest/config'
import { HEAVY_TEST_FILES } from './test/heavy-files.js'

// Slow tests (crash loops and failover with real child processes, a 1M-entry verify, the
// benchmark harness in --quick mode, and the heavy files of test/heavy-files.ts):
// `npm run test:slow`. One file at a time: they measure memory and kill processes, and two
// cores are not enough to run them side by side.
export default defineConfig({
  test: {
    globalSetup: ['test/support/build-dist.ts'],
    include: ['test/slow/**/*.test.ts', ...HEAVY_TEST_FILES],
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 600_000,
    // As in vitest.config.ts: expect.poll waits on asynchronous work, on a machine that may be loaded.
    expect: { poll: { timeout: 15_000 } },
  },
})
