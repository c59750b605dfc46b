// copyStore moves a whole store between engines: LevelDB -> PostgreSQL -> LevelDB, and from and to
// memory-level, with every session, fork point, blob, usage row, lease and tombstone, byte for byte,
// checked at the end. It refuses a non-empty target, a source that holds no store, a location that
// is not one, and the same store twice, writing nothing. A PostgreSQL source that other writers
// keep appending to is copied as it was at one moment.
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryLevel } from 'memory-level'
import { afterAll, describe, expect, it } from 'vitest'
import { openStore } from '../../src/open.js'
import { copyStore, type CopyProgress } from '../../src/copy/copy-store.js'
import * as K from '../../src/storage/keys.js'
import type { Store } from '../../src/store.js'
import { pgDatabaseForFile } from '../support/pg-file.js'
import { WORLD, addTurns, buildWorld, snapshotStore, type StoreSnapshot } from '../support/store-world.js'

const pgf = pgDatabaseForFile()

const dirs: string[] = []
let schemas = 0
afterAll(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'chainlog-copy-'))
  dirs.push(dir)
  return dir
}
const pgAt = (schema: string) => ({ postgres: { connectionString: pgf.connectionString, schema, pool: { max: 4 } } })
const newSchema = (name: string) => pgf.schema(`${name}${++schemas}`)

/** Open a store, run `fn`, close it. */
async function withOpen<T>(location: Parameters<typeof openStore>[0], fn: (s: Store) => Promise<T>): Promise<T> {
  const store = (await openStore({ ...(typeof location === 'string' ? { path: location } : location), exclusive: true, durability: 'relaxed' } as never)) as Store
  try {
    return await fn(store)
  } finally {
    await store.close()
  }
}

/** A LevelDB store directory holding the world, and its snapshot. */
async function levelWorld(scale = 1): Promise<{ dir: string; before: StoreSnapshot }> {
  const dir = join(await tempDir(), 'store')
  const before = await withOpen(dir, async (s) => {
    await buildWorld(s, scale)
    return snapshotStore(s)
  })
  return { dir, before }
}

async function schemaExists(schema: string): Promise<boolean> {
  return (await pgf.admin.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount === 1
}

/** What a store holds beyond its sessions: the deleted session's tombstone and B's lease. */
async function expectTombstoneAndLease(store: Store): Promise<void> {
  expect(await store.getRaw(K.tombstoneKey(WORLD.gone))).toBeDefined()
  await expect(store.claimSession(WORLD.b, { owner: 'someone else', ttlMs: 1000 })).rejects.toMatchObject({ code: 'CHAINLOG_LEASE_HELD' })
}

describe('copyStore between engines', () => {
  it('LevelDB -> PostgreSQL -> LevelDB: the same sessions, hashes, heads, blobs, usage, leases and tombstones', async () => {
    const { dir, before } = await levelWorld()
    const schema = newSchema('copy')
    const progress: CopyProgress[] = []
    const there = await copyStore(dir, pgAt(schema), { onProgress: (p) => progress.push(p) })
    expect(there.ok).toBe(true)
    expect(there.verify.findings).toEqual([])
    expect(there.sessions).toBe(before.sessions.length)
    // Every record of every session (a deleted session's records went with it).
    expect(there.entries).toBe(Object.values(before.hashes).reduce((n, h) => n + h.length, 0))
    expect(there.blobs).toBe(Object.keys(before.blobs).length)
    // Progress: copy, then the read-back check, then verify, each counting up to its total.
    const phases = progress.map((p) => p.phase).filter((p, i, a) => p !== a[i - 1])
    expect(phases).toEqual(['copy', 'check', 'verify'])
    expect(progress.filter((p) => p.phase === 'check').at(-1)).toMatchObject({ done: there.rows, total: there.rows })
    expect(progress.filter((p) => p.phase === 'verify').at(-1)).toMatchObject({ done: there.entries, total: there.entries })

    await withOpen(pgAt(schema), async (s) => {
      expect(await snapshotStore(s)).toEqual(before)
      await expectTombstoneAndLease(s)
      // The copy is a working store: it takes appends and forks like the original.
      await addTurns(s, WORLD.fork, 1, { from: 90 })
      expect((await s.verify()).ok).toBe(true)
    })

    const back = join(await tempDir(), 'back')
    const fromPg: CopyProgress[] = []
    const again = await copyStore(pgAt(schema), back, { onProgress: (p) => fromPg.push(p) })
    // From PostgreSQL the copy phase knows its total too (one count in the snapshot).
    expect(fromPg.filter((p) => p.phase === 'copy').at(-1)).toMatchObject({ done: again.rows, total: again.rows })
    expect(again.ok).toBe(true)
    expect(again.rows).toBeGreaterThan(there.rows) // the turn appended on PostgreSQL came along
    await withOpen(back, async (s) => {
      const snap = await snapshotStore(s)
      expect({ ...snap, hashes: { ...snap.hashes, [WORLD.fork]: snap.hashes[WORLD.fork]!.slice(0, before.hashes[WORLD.fork]!.length) } }).toMatchObject({
        hashes: before.hashes,
        blobs: before.blobs,
      })
      expect(snap.hashes[WORLD.fork]).toHaveLength(before.hashes[WORLD.fork]!.length + 6)
      await expectTombstoneAndLease(s)
    })
  })

  it('memory-level -> PostgreSQL and PostgreSQL -> memory-level, rows byte for byte (same digest)', async () => {
    const db = new MemoryLevel()
    const before = await withOpen({ db } as never, async (s) => {
      await buildWorld(s)
      return snapshotStore(s)
    })
    const schema = newSchema('mem')
    const there = await copyStore({ db }, pgAt(schema))
    const out = new MemoryLevel()
    const back = await copyStore(pgAt(schema), { db: out })
    expect([there.ok, back.ok]).toEqual([true, true])
    expect(back.digest).toBe(there.digest)
    expect(back.rows).toBe(there.rows)
    expect(await withOpen({ db: out } as never, snapshotStore)).toEqual(before)
  })

  it('streams: no commit holds more than `chunk` rows, and the rows are read once and read back once', async () => {
    const { dir } = await levelWorld()
    const copies: number[] = []
    const phases: Record<string, number> = {}
    const r = await copyStore(dir, { db: new MemoryLevel() }, {
      chunk: 16,
      onProgress: (p) => {
        phases[p.phase] = p.done
        if (p.phase === 'copy') copies.push(p.done)
      },
    })
    expect(r.ok).toBe(true)
    // Each commit reports the rows sent so far: consecutive reports differ by at most a chunk.
    const steps = copies.map((n, i) => n - (copies[i - 1] ?? 0))
    expect(Math.max(...steps)).toBeLessThanOrEqual(16)
    expect(copies.length).toBeGreaterThanOrEqual(Math.ceil(r.rows / 16))
    expect(copies.at(-1)).toBe(r.rows)
    expect(phases.check).toBe(r.rows)
  })

  it('a PostgreSQL source that writers keep appending to is copied as of one moment', async () => {
    const schema = newSchema('live')
    await withOpen(pgAt(schema), async (s) => buildWorld(s))
    const writer = (await openStore({ ...pgAt(schema), durability: 'relaxed' })) as Store
    let stop = false
    let appended = 0
    // Three sessions appended to at once, each turn with usage, some with blobs.
    const writing = Promise.all(
      [WORLD.a, WORLD.compacted, WORLD.fork].map(async (id, w) => {
        for (let t = 0; !stop; t++) {
          await addTurns(writer, id, 1, { from: 100 + t, big: (t + w) % 3 === 0 })
          appended++
        }
      }),
    )
    try {
      const dest = join(await tempDir(), 'live')
      const r = await copyStore(pgAt(schema), dest, { chunk: 4 })
      const during = appended
      stop = true
      await writing
      expect(during).toBeGreaterThan(0)
      expect(r.ok).toBe(true)
      expect(r.verify.findings).toEqual([])
      const now = await snapshotStore(writer)
      await withOpen(dest, async (s) => {
        const copied = await snapshotStore(s)
        for (const [id, hashes] of Object.entries(copied.hashes)) {
          // Each copied session is a prefix of the source's chain as it is now...
          expect(now.hashes[id]!.slice(0, hashes.length)).toEqual(hashes)
          // ...and its usage rows count exactly the llm_usage entries copied with it, no more.
          expect(copied.usage[id]).toEqual(await usageFromEntries(s, id))
        }
      })
    } finally {
      stop = true
      await writing.catch(() => undefined)
      await writer.close()
    }
  })
})

/** A session's usage totals by model, summed from its own llm_usage entries. */
async function usageFromEntries(store: Store, id: string): Promise<Record<string, Record<string, number>>> {
  const out: Record<string, Record<string, number>> = {}
  for await (const { entry } of store.entries(id, { resolveBlobs: false })) {
    if (entry.kind !== 'llm_usage') continue
    const u = entry as unknown as Record<string, number> & { model: string }
    const t = (out[u.model] ??= { calls: 0, inputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, outputTokens: 0, reasoningTokens: 0 })
    t.calls! += 1
    for (const k of ['inputTokens', 'cacheReadTokens', 'cacheWriteTokens', 'outputTokens', 'reasoningTokens']) t[k]! += u[k] ?? 0
  }
  return out
}

describe('copyStore of a damaged store', () => {
  it('copies it as it is and reports what verify finds in the copy (ok: false), keeping the target', async () => {
    const db = new MemoryLevel()
    await withOpen({ db } as never, async (s) => {
      await buildWorld(s)
      // One byte of one entry of sess-b changed behind the store's back.
      const key = K.recordKey(WORLD.b, 3)
      const record = new Uint8Array((await s.getRaw(key))!)
      record[record.length - 2]! ^= 0x01
      await s.engine.commit({ ops: [{ type: 'put', key, value: record }] })
    })
    const out = new MemoryLevel()
    const r = await copyStore({ db }, { db: out })
    expect(r.ok).toBe(false)
    expect(r.verify.findings.filter((f) => f.severity === 'error').map((f) => f.sessionId)).toContain(WORLD.b)
    // The copy holds the same bytes, damage included: the same findings as the source's own verify.
    const own = await withOpen({ db } as never, (s) => s.verify())
    expect(r.verify.findings).toEqual(own.findings)
    expect(await withOpen({ db: out } as never, async (s) => (await s.listSessions()).length)).toBe(r.sessions)
  })
})

describe('copyStore refuses, writing nothing', () => {
  it('a target that holds a session (PostgreSQL or LevelDB), or a directory of other files', async () => {
    const { dir, before } = await levelWorld()
    const schema = newSchema('full')
    await withOpen(pgAt(schema), async (s) => void (await s.createSession({ sessionId: 'already-here', ts: 1 })))
    await expect(copyStore(dir, pgAt(schema))).rejects.toMatchObject({ code: 'CHAINLOG_STORE_NOT_EMPTY', data: { found: 'sessions' } })
    await withOpen(pgAt(schema), async (s) => expect((await s.listSessions()).map((x) => x.sessionId)).toEqual(['already-here']))

    const other = await levelWorld()
    await expect(copyStore(dir, other.dir)).rejects.toMatchObject({ code: 'CHAINLOG_STORE_NOT_EMPTY' })
    await withOpen(other.dir, async (s) => expect(await snapshotStore(s)).toEqual(other.before))

    const files = await tempDir()
    await writeFile(join(files, 'notes.txt'), 'mine')
    await expect(copyStore(dir, files)).rejects.toMatchObject({ code: 'CHAINLOG_STORE_NOT_EMPTY', data: { found: 'files' } })
    expect(existsSync(join(files, 'CURRENT'))).toBe(false)
    // The source is as it was.
    await withOpen(dir, async (s) => expect(await snapshotStore(s)).toEqual(before))
  })

  it('a source that holds no store: a missing directory, an empty one, a schema without a store', async () => {
    const base = await tempDir()
    const target = join(base, 'target')
    await expect(copyStore(join(base, 'nothing-here'), target)).rejects.toMatchObject({ code: 'CHAINLOG_STORE_NOT_FOUND' })
    expect(existsSync(join(base, 'nothing-here'))).toBe(false)
    expect(existsSync(target)).toBe(false)
    await expect(copyStore(base, target)).rejects.toMatchObject({ code: 'CHAINLOG_STORE_NOT_FOUND' })
    expect(existsSync(join(base, 'CURRENT'))).toBe(false)
    const schema = newSchema('absent')
    await expect(copyStore(pgAt(schema), target)).rejects.toMatchObject({ code: 'CHAINLOG_STORE_NOT_FOUND' })
    expect(await schemaExists(schema)).toBe(false)
    expect(existsSync(target)).toBe(false)
  })

  it('a location that is not a store: another scheme, a server that is not there, the same store twice', async () => {
    const { dir } = await levelWorld()
    const base = await tempDir()
    await expect(copyStore(dir, 'mysql://root:pw@localhost/db')).rejects.toMatchObject({ code: 'CHAINLOG_INVALID_ARGUMENT', data: { to: 'mysql://root:***@localhost/db' } })
    await expect(copyStore('', join(base, 'x'))).rejects.toMatchObject({ code: 'CHAINLOG_INVALID_ARGUMENT' })
    await expect(copyStore(dir, { postgres: { connectionString: pgf.connectionString, schema: 'Bad-Name' } })).rejects.toMatchObject({ code: 'CHAINLOG_INVALID_ARGUMENT' })
    const down = `postgresql://postgres@/postgres?host=${encodeURIComponent(join(base, 'no-server'))}`
    await expect(copyStore(down, join(base, 'y'))).rejects.toMatchObject({ code: 'CHAINLOG_STORE_UNAVAILABLE' })
    await expect(copyStore(dir, down)).rejects.toMatchObject({ code: 'CHAINLOG_STORE_UNAVAILABLE' })
    await expect(copyStore(dir, `${dir}/.`)).rejects.toMatchObject({ code: 'CHAINLOG_INVALID_ARGUMENT' })
    expect(existsSync(join(base, 'x')) || existsSync(join(base, 'y'))).toBe(false)
  })

  it('a copy that fails part-way removes what it wrote, and says why', async () => {
    const { dir } = await levelWorld()
    // A database whose third write fails, as a disk that fills up would.
    const db = new MemoryLevel()
    const inner = db as unknown as { _batch: (...a: unknown[]) => Promise<void>; writes: number }
    const batch = inner._batch.bind(db)
    inner.writes = 0
    inner._batch = async (...a) => {
      if (++inner.writes === 3) throw Object.assign(new Error('No space left on device'), { code: 'ENOSPC' })
      return batch(...a)
    }
    await expect(copyStore(dir, { db }, { chunk: 16 })).rejects.toMatchObject({ code: 'CHAINLOG_IO', data: { reason: 'no-space' } })
    expect(inner.writes).toBeGreaterThan(3) // the writes after the failure are the removal
    const left: string[] = []
    await db.open()
    for await (const key of db.keys({ keyEncoding: 'view' })) left.push(Buffer.from(key).toString('latin1'))
    expect(left).toEqual(['F']) // its format row only: an empty store, which a new copy accepts
    const again = await copyStore(dir, { db })
    expect(again.ok).toBe(true)
  })

  it('a LevelDB source another process holds: CHAINLOG_STORE_LOCKED, and the new target is not left behind', async () => {
    const { dir } = await levelWorld()
    const target = join(await tempDir(), 't')
    await withOpen(dir, async () => {
      await expect(copyStore(dir, target)).rejects.toMatchObject({ code: 'CHAINLOG_STORE_LOCKED' })
    })
    expect(existsSync(target)).toBe(false)
  })
})
