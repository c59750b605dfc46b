import { defineConfig } from 'vitest/config'

// Slow tests (crash safety with real child processes): `npm run test:slow`.
export default defineConfig({
  test: {
    include: ['test/slow/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
})
