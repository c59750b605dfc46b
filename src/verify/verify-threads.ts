// Verification spread over worker threads: the main thread reads records and checks what ties
// them together (links, indexes, heads, origins); worker threads do the per-record work (hash,
// decode, canonical form, schema: record-check.ts), which is most of verify's CPU time. Chunks
// go round-robin to the workers and come back in order. Where worker threads cannot run (the
// compiled worker script is missing, as when the TypeScript sources run under a test runner),
// the same function runs in the main thread.
import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { RecordCheck } from './record-check.js'
import { inThread, type RecordChecker } from './checker.js'

export { inThread, type RecordChecker }

const WORKER = new URL('./verify-worker.js', import.meta.url)

/** The number of worker threads verify uses by default: one per core beyond the main thread's, 1 to 4. */
export function defaultThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1))
}

/** A pool of `n` worker threads, or the main thread when `n` is 0 or the worker script is not there. */
export function recordChecker(n: number): RecordChecker {
  if (n <= 0 || WORKER.protocol !== 'file:' || !existsSync(fileURLToPath(WORKER))) return inThread()
  const workers = Array.from({ length: n }, () => new Worker(WORKER))
  const waiting = new Map<number, { resolve: (r: RecordCheck[]) => void; reject: (e: unknown) => void }>()
  let failed: unknown
  for (const w of workers) {
    w.on('message', (m: { id: number; results: RecordCheck[] }) => {
      const p = waiting.get(m.id)
      waiting.delete(m.id)
      p?.resolve(m.results)
    })
    w.on('error', (err) => {
      failed = err
      for (const p of waiting.values()) p.reject(err)
      waiting.clear()
    })
    // A worker that waits for work must not keep the process alive.
    w.unref()
  }
  let next = 0
  return {
    threads: n,
    check(records) {
      if (failed) return Promise.reject(failed)
      const id = next++
      const w = workers[id % workers.length]!
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject })
        w.ref()
        w.postMessage({ id, records })
      }).finally(() => {
        if (waiting.size === 0) for (const x of workers) x.unref()
      }) as Promise<RecordCheck[]>
    },
    async close() {
      await Promise.all(workers.map((w) => w.terminate()))
    },
  }
}
