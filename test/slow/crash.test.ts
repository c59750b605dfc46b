// Crash safety: a child process appends to a durable classic-level store and is killed with
// SIGKILL at random moments, many times over the same (growing) store. After every kill the
// store must open, every session's chain must be intact from genesis to head (each record
// hashes to its key, links to the one before, seqs have no gaps), and every append the child
// saw acknowledged must be there with the same seq and hash. Nothing seen before may change.
import { spawn } from 'node:child_process'
import { cp, mkdir, mkdtemp, rm, symlink, unlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as K from '../../src/storage/keys.js'
import { openStore } from '../../src/open.js'
import { recordHash } from '../support/entry-spec.js'

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '../..')
// The child runs from a snapshot of dist (with the repository's node_modules linked in), so
// a rebuild of dist while this test runs cannot pull the package out from under it.
let child = join(here, 'crash-child.mjs')
let snapshot: string | undefined

const ITERATIONS = Number(process.env.CHAINLOG_CRASH_ITERATIONS ?? 30)
const SESSIONS = 4
const ZERO = '0'.repeat(64)

beforeAll(async () => {
  snapshot = await mkdtemp(join(tmpdir(), 'chainlog-crash-pkg-'))
  await cp(join(root, 'dist'), join(snapshot, 'dist'), { recursive: true })
  await cp(join(root, 'package.json'), join(snapshot, 'package.json'))
  await mkdir(join(snapshot, 'test', 'slow'), { recursive: true })
  await cp(join(here, 'crash-child.mjs'), join(snapshot, 'test', 'slow', 'crash-child.mjs'))
  await symlink(join(root, 'node_modules'), join(snapshot, 'node_modules'), 'dir')
  child = join(snapshot, 'test', 'slow', 'crash-child.mjs')
}, 120_000)

afterAll(async () => {
  if (!snapshot) return
  // Remove the link itself first: never anything it points to.
  await unlink(join(snapshot, 'node_modules')).catch(() => undefined)
  await rm(snapshot, { recursive: true, force: true })
})

interface Run {
  acked: { sessionId: string; seq: number; hash: string }[]
  signal: NodeJS.Signals | null
  code: number | null
  stderr: string
}

/** Start the child; once it prints READY, wait 30-300 ms and SIGKILL it. */
function runAndKill(dir: string, seed: number, durability: 'sync' | 'relaxed'): Promise<Run> {
  return new Promise((resolveRun, reject) => {
    const p = spawn(process.execPath, [child, dir, String(SESSIONS), String(seed), durability], { stdio: ['ignore', 'pipe', 'pipe'] })
    let buf = ''
    let stderr = ''
    let timer: NodeJS.Timeout | undefined
    const acked: Run['acked'] = []
    const delay = 30 + Math.floor(Math.random() * 271)
    const watchdog = setTimeout(() => p.kill('SIGKILL'), 20_000)
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    p.stdout.on('data', (d: Buffer) => {
      buf += d.toString()
      let nl: number
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        if (line === 'READY') {
          timer ??= setTimeout(() => p.kill('SIGKILL'), delay)
          continue
        }
        const [tag, sessionId, seq, hash] = line.split(' ')
        if (tag !== 'A' || !sessionId || !seq || !hash) return reject(new Error(`unexpected line from child: ${line}`))
        acked.push({ sessionId, seq: Number(seq), hash })
      }
    })
    p.on('error', reject)
    // 'close' comes after stdout is drained. A line cut short by the kill is not counted.
    p.on('close', (code, signal) => {
      clearTimeout(watchdog)
      if (timer) clearTimeout(timer)
      resolveRun({ acked, signal, code, stderr })
    })
  })
}

// `sync` and `relaxed` both promise that an acknowledged append survives the process dying
// (docs/storage.md section 5); what tells them apart, a power cut, is test/storage/journal.test.ts.
describe.each(['sync', 'relaxed'] as const)('crash safety under SIGKILL, durability %s', (durability) => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chainlog-crash-'))
  })
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it(`${ITERATIONS} kills: chains intact, every acknowledged append present`, async () => {
    const acked = new Map<string, Map<number, string>>() // sessionId -> seq -> hash, over all runs
    const seen = new Map<string, string[]>() // the chains as verified after the previous kill
    let killedWithAcks = 0
    let totalAcked = 0

    for (let i = 0; i < ITERATIONS; i++) {
      const run = await runAndKill(dir, 1 + i * 7919, durability)
      expect(run.signal, `child ${i} was not killed (exit ${run.code}): ${run.stderr}`).toBe('SIGKILL')
      for (const a of run.acked) {
        const m = acked.get(a.sessionId) ?? new Map<number, string>()
        acked.set(a.sessionId, m)
        const before = m.get(a.seq)
        // An acknowledged seq never changes its hash, across runs either.
        if (before !== undefined) expect(a.hash, `${a.sessionId} seq ${a.seq} acknowledged twice`).toBe(before)
        m.set(a.seq, a.hash)
      }
      totalAcked += run.acked.length
      if (run.acked.length > 0) killedWithAcks++

      // The store opens (the dead child's lock is gone) and verifies.
      const store = await openStore({ path: dir, exclusive: true })
      try {
        const sessions = await store.listSessions()
        expect(sessions.map((s) => s.sessionId)).toEqual([...acked.keys()].sort())
        for (const s of sessions) {
          const hashes: string[] = []
          let prev = ZERO
          for await (const e of store.entries(s.sessionId, { verify: true })) {
            expect(e.seq).toBe(hashes.length)
            expect(e.prev).toBe(prev)
            // Independently of the store's own check: the stored bytes hash to the chain's hash.
            const record = await store.getRaw(K.recordKey(s.sessionId, e.seq))
            expect(recordHash(record!)).toBe(e.hash)
            hashes.push(e.hash)
            prev = e.hash
          }
          expect(hashes.length).toBe(s.length)
          expect(hashes[hashes.length - 1]).toBe(s.head)
          expect(await store.head(s.sessionId)).toBe(s.head)
          // Every acknowledged append is there, at its seq.
          for (const [seq, hash] of acked.get(s.sessionId) ?? []) {
            expect(hashes[seq], `${s.sessionId} seq ${seq} (acknowledged) lost after kill ${i}`).toBe(hash)
          }
          // What was there after the last kill is still there, unchanged.
          const earlier = seen.get(s.sessionId) ?? []
          expect(hashes.slice(0, earlier.length)).toEqual(earlier)
          seen.set(s.sessionId, hashes)
          // And the session restores.
          const state = await store.restore(s.sessionId)
          expect(state.head).toBe(s.head)
          expect(state.length).toBe(s.length)
        }
      } finally {
        await store.close()
      }
    }

    console.log(`crash test (${durability}): ${ITERATIONS} kills, ${killedWithAcks} after acknowledged appends, ${totalAcked} acknowledged entries, session lengths ${[...seen.values()].map((h) => h.length).join(', ')}`)
    // The test must have exercised something: most kills landed mid-stream, after acks.
    expect(killedWithAcks).toBeGreaterThanOrEqual(Math.floor(ITERATIONS * 0.8))
    expect(totalAcked).toBeGreaterThan(ITERATIONS * 10)
    const lengths = [...seen.values()].map((h) => h.length)
    expect(lengths.every((n) => n > ITERATIONS)).toBe(true)
  })
})
