import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'
import { HEAVY_TEST_FILES } from './test/heavy-files.js'

export default defineConfig({
  test: {
    // pg-shared.ts: one PostgreSQL cluster for the suites that only need a database (engines.ts).
    globalSetup: ['test/support/build-dist.ts', 'test/support/build-viewer.ts', 'test/support/pg-shared.ts'],
    include: ['test/**/*.test.ts'],
    // The slow suite runs these (test/heavy-files.ts says why).
    exclude: ['test/slow/**', ...HEAVY_TEST_FILES],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // expect.poll waits for asynchronous work (a page verifying sessions in a headless browser, a
    // child process printing): 1 s, vitest's default, was too short on a loaded 2-core machine
    // (the viewer's verified badges, 2 of 4 after 1 s, while other suites ran).
    expect: { poll: { timeout: 15_000 } },
    // Vitest runs (cores - 1) files at a time: one on a 2-core machine. Most files here wait on
    // child processes (the CLI, other holders), a PostgreSQL server or fsync, so two at a time
    // use the machine better: the whole suite took 309 s with one and 211 s with two, on the
    // 2-core development VM, quiet.
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
})
