// Test files that run in the slow suite (`npm run test:slow`, which CI runs after `npm test`)
// although they live beside the code they test: each takes 10-20 s of a worker (stores of
// tens of thousands of entries or sessions, worker threads, several processes, whole stores
// copied through a PostgreSQL cluster of its own), and `npm test` must stay under 5 minutes on
// the 2-core machine (it took 298-307 s with them).
export const HEAVY_TEST_FILES = [
  'test/cli/copy.test.ts',
  'test/host/multiprocess.test.ts',
  'test/verify/checkpoint-tree.test.ts',
  'test/verify/many-sessions.test.ts',
  'test/verify/threads.test.ts',
]
