// copyStore with `resume`: a copy stopped part-way (here: a writer process killed mid-copy, and a
// target whose disk fails) is continued, writing only the rows not yet there, and ends with the
// same rows (same digest) as an uninterrupted copy. A target that is not the start of the source
// (another store's rows, or a source that changed in the part already copied) is refused with
// nothing written.
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'
import { MemoryLevel } from 'memory-level'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { openStore } from '../../src/open.js'
import { copyStore } from '../../src/copy/copy-store.js'
import type { Store } from '../../src/store.js'
import { WORLD, addTurns, buildWorld } from '../support/store-world.js'
import { chainlog } from '../cli/helpers.js'

const dirs: string[] = []
afterAll(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'chainlog-copy-resume-'))
  dirs.push(dir)
  return dir
}

const prefix = `cr${randomUUID().replace(/-/g, '').slice(0, 8)}_`
let schemas = 0
const pgAt = () => ({ postgres: { connectionString: inject('pgShared'), schema: `${prefix}${++schemas}`, pool: { max: 4 } } })

async function withOpen<T>(location: Parameters<typeof openStore>[0], fn: (s: Store) => Promise<T>): Promise<T> {
  const store = (await openStore({ ...(location as object), exclusive: true, durability: 'relaxed' } as never)) as Store
  try {
    return await fn(store)
  } finally {
    await store.close()
  }
}

/** A LevelDB store holding the shared test world (forks, blobs, usage, a lease, a tombstone). */
async function sourceDir(scale = 2): Promise<string> {
  const dir = join(await tempDir(), 'source')
  await withOpen({ path: dir }, (s) => buildWorld(s, scale))
  return dir
}

/** Keys of a database's rows, as latin1 strings. */
async function keysOf(db: MemoryLevel): Promise<string[]> {
  if (db.status !== 'open') await db.open()
  const out: string[] = []
  for await (const key of db.keys({ keyEncoding: 'view' })) out.push(Buffer.from(key as unknown as Uint8Array).toString('latin1'))
  return out
}

/** A memory database whose puts are counted, and whose `failAt`-th batch fails like a full disk. */
function countingDb(failAt?: number): { db: MemoryLevel; puts: () => number; batches: () => number; heal: () => void } {
  const db = new MemoryLevel()
  const inner = db as unknown as { _batch: (ops: { type: string }[], ...a: unknown[]) => Promise<void> }
  const batch = inner._batch.bind(db)
  let puts = 0
  let batches = 0
  let fail = failAt
  inner._batch = async (ops, ...a) => {
    if (++batches === fail) throw Object.assign(new Error('No space left on device'), { code: 'ENOSPC' })
    puts += ops.filter((op) => op.type === 'put').length
    return batch(ops, ...a)
  }
  return { db, puts: () => puts, batches: () => batches, heal: () => (fail = undefined) }
}

describe('copyStore with resume', () => {
  it('a copy whose target failed part-way keeps its rows, and the resume writes only the rest: same digest as a whole copy', async () => {
    const src = await sourceDir()
    const whole = await copyStore(src, { db: new MemoryLevel() })
    expect(whole.ok).toBe(true)
    expect(whole.resumed).toBe(0)

    const t = countingDb(4)
    await expect(copyStore(src, { db: t.db }, { chunk: 16, resume: true })).rejects.toMatchObject({ code: 'CHAINLOG_IO', data: { reason: 'no-space' } })
    const kept = (await keysOf(t.db)).filter((k) => k !== 'F' && k !== 'J')
    // The commits before the failed one are there (resume keeps them), and nothing after it.
    expect(kept.length).toBeGreaterThanOrEqual(16)
    expect(kept.length).toBeLessThan(whole.rows)

    t.heal()
    const putsBefore = t.puts()
    const resumed = await copyStore(src, { db: t.db }, { chunk: 16, resume: true })
    expect(resumed.ok).toBe(true)
    expect(resumed.resumed).toBe(kept.length)
    expect(resumed.digest).toBe(whole.digest)
    expect({ rows: resumed.rows, sessions: resumed.sessions, entries: resumed.entries, blobs: resumed.blobs }).toEqual({ rows: whole.rows, sessions: whole.sessions, entries: whole.entries, blobs: whole.blobs })
    // Only the rows not yet there were written (the format row aside).
    expect(t.puts() - putsBefore).toBe(whole.rows - kept.length)

    // Resuming a finished copy finds everything there and writes only its last row again, durably.
    const again = await copyStore(src, { db: t.db }, { resume: true })
    expect(again).toMatchObject({ ok: true, resumed: whole.rows, digest: whole.digest })
  })

  it('a copy to PostgreSQL whose process is killed mid-copy is resumed by another process', async () => {
    const src = await sourceDir(6)
    const to = pgAt()
    // The child copies in small chunks and says when its first commits are sent; then it is killed.
    const script = `
      const { copyStore } = await import(${JSON.stringify(new URL('../../dist/index.js', import.meta.url).href)})
      let said = false
      await copyStore(${JSON.stringify(src)}, ${JSON.stringify(to)}, { chunk: 8, resume: true, onProgress: (p) => {
        // Said once, then the process waits here (a pipe's write is synchronous on Linux) until killed.
        if (p.phase === 'copy' && p.done >= 64 && !said) { said = true; process.stdout.write('copying\\n'); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000) }
      } })
      process.stdout.write('finished\\n')
    `
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    const first = await new Promise<string>((resolve, reject) => {
      child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()))
      child.once('error', reject)
      child.once('exit', (code) => resolve(`exit ${code}`))
    })
    expect(first).toBe('copying')
    child.kill('SIGKILL')
    await new Promise((r) => child.once('exit', r))

    const resumed = await copyStore(src, to, { resume: true })
    expect(resumed.ok).toBe(true)
    expect(resumed.resumed).toBeGreaterThan(0)
    expect(resumed.resumed).toBeLessThan(resumed.rows)
    const whole = await copyStore(src, { db: new MemoryLevel() })
    expect(resumed.digest).toBe(whole.digest)
    const copied = await withOpen(to, async (s) => (await s.listSessions()).map((x) => x.sessionId).sort())
    expect(copied).toEqual((await sessionsOf(src)).sort())
  })

  it('refuses a target that is not the start of this source, writing nothing', async () => {
    const src = await sourceDir()
    // Another store's rows.
    const other = new MemoryLevel()
    await withOpen({ db: other }, async (s) => {
      await s.createSession({ sessionId: 'someone-else' })
    })
    const otherKeys = await keysOf(other)
    await expect(copyStore(src, { db: other }, { resume: true })).rejects.toMatchObject({ code: 'CHAINLOG_STORE_NOT_EMPTY', data: { resumable: false } })
    expect(await keysOf(other)).toEqual(otherKeys)

    // A target cut back to a prefix of the source, then changed in the part already copied.
    const t = countingDb()
    await copyStore(src, { db: t.db })
    // Cut the target back to a prefix ending before the record rows (every head row copied, no
    // record), as a copy stopped there would have left it.
    const all = await keysOf(t.db)
    const cut = all.findIndex((k) => k.startsWith('R'))
    expect(cut).toBeGreaterThan(0)
    expect(all.slice(0, cut).some((k) => k === `P${WORLD.a}`)).toBe(true)
    await t.db.batch(all.slice(cut).map((k) => ({ type: 'del' as const, key: Buffer.from(k, 'latin1') })), { keyEncoding: 'view' })
    // The same keys with a value that differs: session a's head row.
    const headA = Buffer.from(`P${WORLD.a}`, 'latin1')
    const real = (await t.db.get(headA, { keyEncoding: 'view', valueEncoding: 'view' })) as unknown as Uint8Array
    await t.db.put(headA, Uint8Array.from(real, (b, i) => (i === 0 ? b ^ 1 : b)), { keyEncoding: 'view', valueEncoding: 'view' })
    await expect(copyStore(src, { db: t.db }, { resume: true })).rejects.toMatchObject({ code: 'CHAINLOG_STORE_NOT_EMPTY', data: { resumable: false }, message: expect.stringContaining('value differs') })
    await t.db.open()
    await t.db.put(headA, real, { keyEncoding: 'view', valueEncoding: 'view' })
    // A turn appended to the source since: new hash-index rows (H, before P in key order) among
    // the ones already copied.
    await withOpen({ path: src }, (s) => addTurns(s, WORLD.a, 1, { from: 100 }))
    const cutKeys = await keysOf(t.db)
    await expect(copyStore(src, { db: t.db }, { resume: true })).rejects.toMatchObject({ code: 'CHAINLOG_STORE_NOT_EMPTY', data: { resumable: false } })
    expect(await keysOf(t.db)).toEqual(cutKeys)
  })

  it('chainlog copy --resume: a finished copy is found whole, another store refused (exit 2)', async () => {
    const src = await sourceDir(1)
    const to = join(await tempDir(), 'copy')
    const first = await chainlog(['copy', '--from', src, '--to', to, '--json'])
    expect(first.code, first.stderr).toBe(0)
    const { rows, digest } = JSON.parse(first.stdout)
    const again = await chainlog(['copy', '--from', src, '--to', to, '--resume'])
    expect(again.code, again.stderr).toBe(0)
    expect(again.stdout).toMatch(new RegExp(`^resumed: ${rows.toLocaleString('en-US')} rows were already in the target\ncopied .*\nread back \\(sha256 ${digest.slice(0, 16)}…\\) and verified: ok\n$`))
    const other = join(await tempDir(), 'other')
    await withOpen({ path: other }, (s) => s.createSession({ sessionId: 'someone-else' }).then(() => undefined))
    const refused = await chainlog(['copy', '--from', src, '--to', other, '--resume', '--json'])
    expect(refused.code).toBe(2)
    expect(JSON.parse(refused.stdout)).toMatchObject({ ok: false, error: { code: 'CHAINLOG_STORE_NOT_EMPTY', data: { resumable: false } } })
  })

  it('without resume, a non-empty target is still refused, and the message says a stopped copy can be resumed', async () => {
    const src = await sourceDir(1)
    const t = countingDb()
    await copyStore(src, { db: t.db })
    await expect(copyStore(src, { db: t.db })).rejects.toMatchObject({ code: 'CHAINLOG_STORE_NOT_EMPTY', message: expect.stringContaining('resume') })
  })
})

async function sessionsOf(dir: string): Promise<string[]> {
  return withOpen({ path: dir }, async (s) => (await s.listSessions()).map((x) => x.sessionId))
}
