import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    globalSetup: ['test/support/build-dist.ts', 'test/support/build-viewer.ts'],
    include: ['test/**/*.test.ts'],
    exclude: ['test/slow/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
