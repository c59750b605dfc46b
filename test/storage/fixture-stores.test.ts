// Stores and bundles written by earlier releases, kept in fixtures/stores/ (see generate.mjs
// there): this code must open them (migrating a store of format 1, 2 or 3 to format 4), read them back
// exactly, verify them, and carry on writing. A format change that breaks data already on disk
// fails here.
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { MemoryLevel } from 'memory-level'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { verifyBundle } from '../../src/bundle/bundle.js'
import { decodeCbor } from '../../src/encoding/cbor.js'
import { u64 } from '../../src/storage/keys.js'
import type { StorageEngine } from '../../src/storage/engine.js'
import { LevelEngine } from '../../src/storage/level-engine.js'
import { migrateToV2, type MigrationProgress } from '../../src/storage/migrate.js'
import { migrateToV3 } from '../../src/storage/migrate-v3.js'
import { migrateToV4 } from '../../src/storage/migrate-v4.js'
import { STORE_FORMAT_VERSION, parseFormatRow } from '../../src/storage/store-format.js'
import { inclusionParts } from '../../src/storage/tree-api.js'
import { leafHash, verifyInclusion } from '../../src/proofs/merkle.js'
import { mthHex } from './contract.js'
import { type Store } from '../../src/store.js'
import { openStore } from '../../src/open.js'
import type { SessionStart } from '../../src/schema/entry.js'
import { reduceEntries, type ChainedEntry } from '../../src/state/reducer.js'
import { entriesOf } from '../support/stores.js'

const FIXTURES = new URL('../../fixtures/stores/', import.meta.url)
const BIN = { keyEncoding: 'view', valueEncoding: 'view' } as const
interface Expected {
  storeFormatVersion: number
  sessions: Record<string, { head: string; length: number; hashes: string[] }>
  mainHead: string
  forkPoint: string
  lineage: { fork: string; materialized: string; compacted: string }
  deleted: string
  leased: string
  usage: unknown
  usageMain: unknown
  mainHistoryJson: string
}
const load = async (label: string) => JSON.parse(await readFile(new URL(`${label}.json`, FIXTURES), 'utf8')) as Expected

/**
 * The JSON spelling of each generator: bigints as "<n>n"; byte strings as 0.1.0 returned them
 * (Node Buffers, whose toJSON gives {type, data}) in v1, and as hex (plain Uint8Arrays) since.
 */
const asWritten: Record<string, (v: unknown) => string> = {
  v1: (v) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x instanceof Uint8Array ? { type: 'Buffer', data: [...x] } : x)),
  v2: (v) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x)),
}
asWritten['v2-trees'] = asWritten.v2!
asWritten.v3 = asWritten.v2!
asWritten.v4 = asWritten.v2!

/** Every key of a closed LevelDB directory, by table tag (a letter), and its format row. */
async function rawTables(dir: string): Promise<{ tags: Record<string, number>; format: unknown }> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, BIN)
  await db.open()
  try {
    const tags: Record<string, number> = {}
    for await (const key of db.keys()) {
      const t = String.fromCharCode(key[0]!)
      tags[t] = (tags[t] ?? 0) + 1
    }
    return { tags, format: decodeCbor((await db.get(Uint8Array.of(0x46)))!) }
  } finally {
    await db.close()
  }
}

async function copyOf(label: string): Promise<string> {
  // A copy: opening a LevelDB directory writes to it.
  const dir = await mkdtemp(join(tmpdir(), `chainlog-fixture-${label}-`))
  await cp(new URL(`${label}/`, FIXTURES), dir, { recursive: true })
  return dir
}

/** Every session, entry hash and head as the fixture's record says, and a clean verify. */
async function expectAsWritten(s: Store, expected: Expected, entryFormat: 1 | 2): Promise<void> {
  const report = await s.verify()
  expect(report.findings.filter((f) => f.severity === 'error')).toEqual([])
  expect(report.ok).toBe(true)
  const ids = (await s.listSessions()).map((x) => x.sessionId).sort()
  expect(ids).toEqual(Object.keys(expected.sessions).sort())
  for (const [id, want] of Object.entries(expected.sessions)) {
    const hashes: string[] = []
    for await (const e of s.entries(id)) {
      hashes.push(e.hash)
      expect(e.format).toBe(entryFormat)
    }
    expect(hashes, id).toEqual(want.hashes)
    expect(await s.head(id)).toBe(want.head)
  }
}

for (const [label, entryFormat] of [
  ['v1', 1],
  ['v2', 2],
  ['v2-trees', 2],
  ['v3', 2],
  ['v4', 2],
] as const) {
  describe(`a store written in store format ${label.slice(1)} (entry format ${entryFormat})`, async () => {
    const expected = await load(label)
    let dir: string
    let store: Store | undefined
    beforeEach(async () => {
      dir = await copyOf(label)
      store = await openStore({ path: dir, exclusive: true })
    })
    afterEach(async () => {
      await store?.close()
      await rm(dir, { recursive: true, force: true })
    })

    it('opens and verifies, with every session, entry hash and head as written', async () => {
      expect(expected.storeFormatVersion).toBe(parseInt(label.slice(1), 10))
      await expectAsWritten(store!, expected, entryFormat)
    })

    it('reads back the same history, usage ledger, lineage, tombstone and lease', async () => {
      const s = store!
      expect(asWritten[label]!((await s.restore('fixture-main')).history)).toBe(expected.mainHistoryJson)
      expect(await s.usage()).toEqual(expected.usage)
      expect(await s.usage('fixture-main')).toEqual(expected.usageMain)
      const lin = await s.lineage('fixture-main')
      expect(lin.descendants.map((d) => d.sessionId).sort()).toEqual([expected.lineage.compacted, expected.lineage.fork, expected.lineage.materialized].sort())
      await expect(s.restore(expected.deleted)).rejects.toMatchObject({ code: 'CHAINLOG_SESSION_NOT_FOUND' })
      await expect(s.claimSession(expected.leased, { owner: 'someone-else', ttlMs: 1000 })).resolves.toMatchObject({ owner: 'someone-else' })
    })

    it('its materialised fork carries what a replay of its source to the fork point gives (docs/format.md section 6)', async () => {
      const s = store!
      const own = await entriesOf(s, expected.lineage.materialized)
      const g = own[0]!.entry as SessionStart
      const source: ChainedEntry[] = []
      for (const e of await entriesOf(s, g.forkedFrom!.sessionId)) {
        source.push({ hash: e.hash, entry: e.entry })
        if (e.hash === g.forkedFrom!.atHash) break
      }
      expect(source[source.length - 1]!.hash).toBe(g.forkedFrom!.atHash)
      const replayed = reduceEntries(source)
      expect(g.history).toEqual(replayed.history)
      expect(g.systemPrompt).toBe(replayed.systemPrompt)
      expect(g.config).toEqual(replayed.config)
      expect(g.snapshot).toMatchObject({ turnCount: replayed.turnCount, usage: replayed.usage })
      expect(g.snapshot!.cacheLockedPrefix ?? null).toBe(replayed.cacheLockedPrefix)
      expect(g.snapshot!.lastOutcome ?? null).toEqual(replayed.lastOutcome)
    })

    it('takes new (format 2) entries after old ones and still verifies the chain and its forks', async () => {
      const s = store!
      const item = { z: 'last', a: 'first', '2': 'index keys first' }
      const r = await s.append('fixture-main', { kind: 'user_input', item })
      const last = await s.getEntry(r.hash)
      expect(last.format).toBe(2)
      expect(last.prev).toBe(expected.mainHead)
      expect(JSON.stringify(last.entry.kind === 'user_input' && last.entry.item)).toBe(JSON.stringify(item))
      const fork = await s.forkAt(expected.forkPoint)
      await s.append(fork.sessionId, { kind: 'turn_end', turn: 9 })
      const report = await s.verify()
      expect(report.ok).toBe(true)
      expect(report.checked.entries).toBe(Object.values(expected.sessions).reduce((n, x) => n + x.length, 0) + 3)
    })

    it('is laid out in store format 4 once open: records by session and seq, no format-1 tables, tree rows only at leaves 7 mod 8, one session row each', async () => {
      await store!.close()
      store = undefined
      const { tags, format } = await rawTables(dir)
      expect(format).toEqual({ version: 4 })
      expect(tags.P).toBe(Object.keys(expected.sessions).length)
      expect(tags.M).toBeUndefined() // format 3's metadata rows, now in P
      expect(tags.U).toBeUndefined() // format 3's usage ledger rows, now in P
      // Trees are built when first needed; the v2-trees fixture's rows at other odd leaves are gone.
      const treeRows = label === 'v2-trees' || label === 'v3' || label === 'v4' ? Object.values(expected.sessions).reduce((n, x) => n + Math.floor(x.length / 8), 0) : 0
      expect(tags.T ?? 0).toBe(treeRows)
      expect(tags.E).toBeUndefined() // format 1's records by hash
      expect(tags.S).toBeUndefined() // format 1's sequence index
      const entries = Object.values(expected.sessions).reduce((n, x) => n + x.length, 0)
      expect(tags.R).toBe(entries)
      expect(tags.H).toBe(entries)
    })
  })
}

describe('migrating the store format 1 fixture', async () => {
  const expected = await load('v1')
  const entries = Object.values(expected.sessions).reduce((n, x) => n + x.length, 0)
  const dirs: string[] = []
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
  })

  it('reports progress up to every record, and a second open does nothing more', async () => {
    const dir = await copyOf('v1')
    dirs.push(dir)
    const seen: MigrationProgress[] = []
    const store = await openStore({ path: dir, exclusive: true, onMigrate: (p) => p.from === undefined && seen.push(p) })
    await store.close()
    expect(seen.length).toBeGreaterThanOrEqual(2)
    expect(seen[0]).toMatchObject({ done: 0, total: entries })
    expect(seen[seen.length - 1]).toMatchObject({ done: entries, total: entries })
    const again: MigrationProgress[] = []
    const reopened = await openStore({ path: dir, exclusive: true, onMigrate: (p) => again.push(p) })
    await reopened.close()
    expect(again).toEqual([])
  })

  it('with migrate: false, a format-1 store is refused and left as it was', async () => {
    const dir = await copyOf('v1')
    dirs.push(dir)
    const before = await rawTables(dir)
    await expect(openStore({ path: dir, exclusive: true, migrate: false })).rejects.toMatchObject({
      code: 'CHAINLOG_UNSUPPORTED_VERSION',
      data: { found: 1, supported: 4, migrate: true },
    })
    expect(await rawTables(dir)).toEqual(before)
    expect(before.format).toEqual({ version: 1 })
  })

  /** An engine over the same database that is not a LevelEngine: no range deletes, every delete in a commit (as on a SQL engine). */
  const plain = (inner: LevelEngine): StorageEngine => ({
    get stats() {
      return inner.stats
    },
    exclusive: true,
    get: (key) => inner.get(key),
    getMany: (keys) => inner.getMany(keys),
    scan: (range, chunk, maxChunk) => inner.scan(range, chunk, maxChunk),
    commit: (c) => inner.commit(c),
    flush: () => inner.flush(),
    forget: () => inner.forget(),
    close: () => inner.close(),
  })

  /**
   * Run the migration of a copy of the fixture (chunks of 7 records, S rows deleted 10 per commit
   * where they are deleted by commits) until `crash` says to stop, and check the store it leaves:
   * format row, and how many rows each format-1 table still has.
   */
  async function stopped(engineOf: (e: LevelEngine) => StorageEngine, crash: { afterCommits?: number; clear?: (range: { gte?: Uint8Array }, db: ClassicLevel<Uint8Array, Uint8Array>) => Promise<void> }, want: { R: number; E: number; S: number }): Promise<string> {
    const dir = await copyOf('v1')
    dirs.push(dir)
    const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, BIN)
    await db.open()
    const level = new LevelEngine(db as never)
    const commit = level.commit.bind(level)
    let commits = 0
    level.commit = (c) => (++commits > (crash.afterCommits ?? Infinity) ? Promise.reject(new Error('simulated crash')) : commit(c))
    if (crash.clear) {
      const clear = crash.clear
      db.clear = ((range: { gte?: Uint8Array }) => clear(range, db)) as never
    }
    await expect(migrateToV2(engineOf(level), undefined, 7, 10)).rejects.toThrow('simulated crash')
    if (crash.afterCommits !== undefined) expect(commits, 'no commit is made after one fails').toBe(crash.afterCommits + 1)
    await db.close()
    const mid = await rawTables(dir)
    expect(mid.format).toEqual({ version: 2, migrating: 1 })
    expect({ R: mid.tags.R ?? 0, E: mid.tags.E ?? 0, S: mid.tags.S ?? 0, H: mid.tags.H }).toEqual({ ...want, H: entries })
    return dir
  }

  /** The next open finishes the migration: the store verifies and reads as written, with no format-1 rows left. */
  async function resumes(dir: string, doneBefore: number): Promise<void> {
    const seen: MigrationProgress[] = []
    const store = await openStore({ path: dir, exclusive: true, onMigrate: (p) => p.from === undefined && seen.push(p) })
    try {
      await expectAsWritten(store, expected, 1)
      expect(await store.usage()).toEqual(expected.usage)
    } finally {
      await store.close()
    }
    // The resumed migration counts the records an earlier run moved.
    expect(seen[0]).toMatchObject({ done: doneBefore, total: entries })
    expect(seen[seen.length - 1]).toMatchObject({ done: entries, total: entries, orphansRemoved: 0 })
    const after = await rawTables(dir)
    expect(after.format).toEqual({ version: 4 })
    expect(after.tags.S).toBeUndefined()
    expect(after.tags.E).toBeUndefined()
    expect(after.tags.R).toBe(entries)
  }

  it('a migration that stops part way (a crash) leaves a store that resumes on the next open and verifies', async () => {
    // The marker (commit 1); 4 chunks of records (commits 2-5: 7, 7, 7, 3 records, each putting
    // their R rows, their E rows removed by a range delete once the commit has landed, while the
    // next commit is written, and before the one after it is made); then the
    // S table is removed by a range delete, and the last commit (6) sets the format. Stop after
    // each commit but the last, and between a chunk's commit and the removal of its E rows.
    expect(entries).toBe(24)
    for (const afterCommits of [1, 2, 4, 5]) {
      // Every record is in exactly one layout: moved ones in R, the rest still in E. S stays whole
      // until every record has moved (after commit 5 it is gone: only the last commit is left).
      const moved = Math.min(7 * (afterCommits - 1), entries)
      await resumes(await stopped((e) => e, { afterCommits }, { R: moved, E: entries - moved, S: afterCommits < 5 ? entries : 0 }), moved)
    }
    // A chunk's commit landed, the removal of its E rows did not (and the next chunk's commit, made
    // while that removal ran, landed too): those 14 records are in both layouts.
    const failClear = async () => Promise.reject(new Error('simulated crash'))
    await resumes(await stopped((e) => e, { clear: failClear }, { R: 14, E: entries, S: entries }), 0)
    // Part of the S table removed (a range delete is not one atomic write), then the crash.
    const partS = async (range: { gte?: Uint8Array }, db: ClassicLevel<Uint8Array, Uint8Array>) => {
      if (range.gte?.[0] !== 0x53) return ClassicLevel.prototype.clear.call(db, range as never)
      await ClassicLevel.prototype.clear.call(db, { ...range, limit: 10 } as never)
      throw new Error('simulated crash')
    }
    await resumes(await stopped((e) => e, { clear: partS }, { R: entries, E: 0, S: entries - 10 }), entries)
  })

  it('on an engine without range deletes, each commit deletes what it moves; a crash after any commit resumes', async () => {
    // The marker (1); 4 chunks (2-5) each putting R rows and deleting their E rows; S rows deleted
    // 10 per commit (6, 7), the last 4 with the last commit (8).
    for (const afterCommits of [1, 2, 4, 5, 6, 7]) {
      // Every record is in exactly one layout at every commit: moved ones in R, the rest in E.
      const moved = Math.min(7 * (afterCommits - 1), entries)
      const s = afterCommits <= 5 ? entries : entries - 10 * (afterCommits - 5)
      await resumes(await stopped(plain, { afterCommits }, { R: moved, E: entries - moved, S: s }), moved)
    }
  })

  it('reads the records by one scan of E, not one by one: point reads are of S rows only', async () => {
    for (const [label, engineOf] of [
      ['LevelDB', (e: LevelEngine) => e],
      ['no range deletes', plain],
    ] as const) {
      const dir = await copyOf('v1')
      dirs.push(dir)
      const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, BIN)
      const level = new LevelEngine(db as never)
      const getMany = level.getMany.bind(level)
      const pointReads: Record<string, number> = {}
      const count = (into: Record<string, number>, what: string) => (into[what] = (into[what] ?? 0) + 1)
      level.getMany = (keys) => {
        for (const k of keys) count(pointReads, String.fromCharCode(k[0]!))
        return getMany(keys)
      }
      const commit = level.commit.bind(level)
      const ops: Record<string, number> = {}
      level.commit = (c) => {
        for (const op of c.ops) count(ops, `${op.type} ${String.fromCharCode(op.key[0]!)}`)
        return commit(c)
      }
      const clear = db.clear.bind(db)
      const clears: Record<string, number> = {}
      db.clear = ((range: { gte: Uint8Array }) => (count(clears, String.fromCharCode(range.gte[0]!)), clear(range as never))) as never
      expect(await migrateToV2(engineOf(level), undefined, 7)).toEqual({ done: entries, total: entries, orphansRemoved: 0 })
      await level.close()
      // The S row at each record's position, and the format row (the precondition of the
      // marker's commit and of the last; on LevelDB read again after the range deletes).
      expect(pointReads, label).toEqual({ S: entries, F: label === 'LevelDB' ? 2 : 1 })
      // Each record put in R; then the store-wide usage rows (2: one per model) and the format row (put twice: marker, then version 2).
      const rest = { 'put F': 2, 'put R': entries, 'del U': 2 }
      // Without range deletes, each E row and S row is deleted by a commit. On LevelDB, the E
      // rows go by one range delete per chunk (the fixture's records are all moved: one run
      // each), then the S table by one.
      expect(ops, label).toEqual(label === 'LevelDB' ? rest : { ...rest, 'del E': entries, 'del S': entries })
      expect(clears, label).toEqual(label === 'LevelDB' ? { E: 4, S: 1 } : {})
    }
  })

  it('settles records whose hash index and sequence index disagree as format 1 did, and removes unindexed ones', async () => {
    // Format-1 rows a store can hold besides its sessions' records: a record left by a re-root
    // (its H row still names a position whose S row now holds another hash), one with no H row
    // at all, a record whose H row is missing but an S row names it, and an S row whose record is
    // missing. Written into a copy of the fixture, behind the code under test.
    const dir = await copyOf('v1')
    dirs.push(dir)
    const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, BIN)
    await db.open()
    const main = expected.sessions['fixture-main']!
    const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'))
    const key = (tag: string, ...parts: Uint8Array[]) => Uint8Array.from(Buffer.concat([Buffer.from(tag, 'latin1'), ...parts]))
    const seqKey = (id: string, seq: number) => key('S', Buffer.from(`${id}\0`, 'latin1'), u64(seq))
    const position = (id: string, seq: number) => Uint8Array.from(Buffer.concat([u64(seq), Buffer.from(id, 'latin1')]))
    const fake = (n: number) => bytes(n.toString(16).padStart(2, '0').repeat(32))
    // A re-root's leftover: H names fixture-main's seq 1, whose S row holds that entry's real hash.
    await db.put(key('E', fake(0x01)), bytes('00'.repeat(32) + 'a0'))
    await db.put(key('H', fake(0x01)), position('fixture-main', 1))
    // No H row, no S row.
    await db.put(key('E', fake(0xfe)), bytes('00'.repeat(32) + 'a1'))
    // A session 'fixture-extra' of one record whose H row is missing: its S row names it.
    const extraRecord = bytes('00'.repeat(32) + 'a2')
    await db.put(key('E', fake(0x80)), extraRecord)
    await db.put(seqKey('fixture-extra', 0), fake(0x80))
    // fixture-main's last S row names a record that is not there (damage, kept as a gap).
    const gapSeq = main.length
    await db.put(seqKey('fixture-main', gapSeq), fake(0x33))
    await db.close()
    const engine = new LevelEngine(new ClassicLevel<Uint8Array, Uint8Array>(dir, BIN) as never)
    const done = await migrateToV2(engine, undefined, 7, 10)
    await engine.close()
    // 24 records and the one S names moved; the two unindexed records removed.
    expect(done).toMatchObject({ done: entries + 1, orphansRemoved: 2 })
    const after = await rawTables(dir)
    expect(after.format).toEqual({ version: 2 })
    expect(after.tags).toMatchObject({ R: entries + 1, H: entries })
    expect(after.tags.E).toBeUndefined()
    expect(after.tags.S).toBeUndefined()
    const check = new ClassicLevel<Uint8Array, Uint8Array>(dir, BIN)
    await check.open()
    try {
      expect(Buffer.from((await check.get(key('R', Buffer.from('fixture-extra\0', 'latin1'), u64(0))))!).toString('hex')).toBe(Buffer.from(extraRecord).toString('hex'))
      expect(await check.get(key('R', Buffer.from('fixture-main\0', 'latin1'), u64(gapSeq)))).toBeUndefined()
      // fixture-main's seq 1 holds its own record, not the re-root's leftover.
      const seq1 = await check.get(key('R', Buffer.from('fixture-main\0', 'latin1'), u64(1)))
      expect(Buffer.from(seq1!.subarray(0, 32)).toString('hex')).toBe(main.hashes[0])
      expect(await check.get(key('H', fake(0x01)))).toBeUndefined()
    } finally {
      await check.close()
    }
  })
})

describe('migrating the store format 2 fixture with tree rows to format 3', async () => {
  const expected = await load('v2-trees')
  const main = expected.sessions['fixture-main']!
  const dirs: string[] = []
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
  })
  // Format 2 wrote a row at every odd leaf: fixture-main's 18 entries have 9, fixture-fork's 3 one.
  const rowsBefore = 10
  const rowsAfter = 2 // fixture-main's leaves 7 and 15

  /** Roots at every size and an inclusion proof of every entry, against an independent RFC 9162 tree. */
  async function expectProofs(s: Store): Promise<void> {
    for (let size = 1; size <= main.length; size++) {
      const th = await s.treeHead('fixture-main', { size })
      expect(Buffer.from(th.root).toString('hex'), `root at ${size}`).toBe(mthHex(main.hashes.slice(0, size)))
    }
    for (const [i, h] of main.hashes.entries()) {
      const p = await inclusionParts(s as never, h)
      expect(p.index).toBe(i)
      expect(verifyInclusion(leafHash(Buffer.from(h, 'hex')), i, p.th.size, p.proof, p.th.root), `proof of ${i}`).toBe(true)
    }
  }

  it('drops the rows format 3 does not keep, reports progress over them, and the trees still prove', async () => {
    const dir = await copyOf('v2-trees')
    dirs.push(dir)
    const before = await rawTables(dir)
    expect(before.format).toEqual({ version: 2 })
    expect(before.tags.T).toBe(rowsBefore)
    const seen: MigrationProgress[] = []
    const store = await openStore({ path: dir, exclusive: true, onMigrate: (p) => p.from === 2 && seen.push(p) })
    try {
      expect(seen[0]).toMatchObject({ done: 0, total: rowsBefore, from: 2 })
      expect(seen[seen.length - 1]).toMatchObject({ done: rowsBefore, total: rowsBefore, from: 2 })
      await expectAsWritten(store, expected, 2)
      await expectProofs(store)
    } finally {
      await store.close()
    }
    const after = await rawTables(dir)
    expect(after.format).toEqual({ version: 4 })
    expect(after.tags.T).toBe(rowsAfter)
    // Nothing but tree rows and the format row changed, and the migration on to format 4 moved the
    // M and U rows into the session rows.
    const { M: _m, U: _u, ...kept } = before.tags
    expect({ ...after.tags, T: 0 }).toEqual({ ...kept, T: 0 })
  })

  it('with migrate: false, a format-2 store is refused and left as it was', async () => {
    const dir = await copyOf('v2-trees')
    dirs.push(dir)
    const before = await rawTables(dir)
    await expect(openStore({ path: dir, exclusive: true, migrate: false })).rejects.toMatchObject({
      code: 'CHAINLOG_UNSUPPORTED_VERSION',
      data: { found: 2, supported: 4, migrate: true },
    })
    expect(await rawTables(dir)).toEqual(before)
  })

  it('a migration that stops after any commit leaves a store that resumes on the next open and verifies', async () => {
    // Commits, with 3 rows deleted per commit: the marker (1), 3 rows (2), 3 rows (3), the last 2
    // rows with the format row (4). Stop after each but the last.
    for (const afterCommits of [1, 2, 3]) {
      const dir = await copyOf('v2-trees')
      dirs.push(dir)
      const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, BIN)
      await db.open()
      const level = new LevelEngine(db as never)
      const commit = level.commit.bind(level)
      let commits = 0
      level.commit = (c) => (++commits > afterCommits ? Promise.reject(new Error('simulated crash')) : commit(c))
      await expect(migrateToV3(level, undefined, 3)).rejects.toThrow('simulated crash')
      await level.close()
      const mid = await rawTables(dir)
      expect(mid.format).toEqual({ version: 3, migrating: 2 })
      expect(mid.tags.T).toBe(rowsBefore - 3 * (afterCommits - 1))
      // A chainlog that reads only format 2 would refuse it now (a newer version).
      const store = await openStore({ path: dir, exclusive: true })
      try {
        await expectAsWritten(store, expected, 2)
        await expectProofs(store)
      } finally {
        await store.close()
      }
      const after = await rawTables(dir)
      expect(after.format).toEqual({ version: 4 })
      expect(after.tags.T).toBe(rowsAfter)
    }
  })
})

describe('bundles written by earlier releases', () => {
  for (const [label, version] of [
    ['v1', 1],
    ['v2', 2],
    ['v3', 3],
    ['v4', 3],
  ] as const) {
    it(`bundle format ${version}: verifies, and imports into a new store whose sessions verify`, async () => {
      const expected = await load(label)
      const bytes = new Uint8Array(await readFile(new URL(`${label}-fork.bundle`, FIXTURES)))
      const report = await verifyBundle(bytes)
      expect(report.findings).toEqual([])
      expect(report.header?.version).toBe(version)
      const store = await openStore({ db: new MemoryLevel(), durability: 'relaxed' })
      try {
        await store.importBundle(bytes)
        expect(await store.head(expected.lineage.fork)).toBe(expected.sessions[expected.lineage.fork]!.head)
        expect((await store.verify()).ok).toBe(true)
      } finally {
        await store.close()
      }
    })
  }
})

describe('migrating the store format 3 fixture to format 4', async () => {
  const expected = await load('v3')
  const sessions = Object.keys(expected.sessions).length
  const dirs: string[] = []
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
  })

  it('puts each session in one row (head, metadata, usage), reports progress over sessions, and leaves the rest as it was', async () => {
    const dir = await copyOf('v3')
    dirs.push(dir)
    const before = await rawTables(dir)
    expect(before.format).toEqual({ version: 3 })
    expect(before.tags.M).toBe(sessions)
    expect(before.tags.U).toBeGreaterThan(0)
    const seen: MigrationProgress[] = []
    const store = await openStore({ path: dir, exclusive: true, onMigrate: (p) => seen.push(p) })
    try {
      expect(seen[0]).toMatchObject({ done: 0, total: sessions, from: 3 })
      expect(seen[seen.length - 1]).toMatchObject({ done: sessions, total: sessions, orphansRemoved: 0, from: 3 })
      await expectAsWritten(store, expected, 2)
      expect(await store.usage()).toEqual(expected.usage)
      expect(await store.usage('fixture-main')).toEqual(expected.usageMain)
    } finally {
      await store.close()
    }
    const after = await rawTables(dir)
    expect(after.format).toEqual({ version: 4 })
    const { M: _m, U: _u, ...kept } = before.tags
    expect(after.tags).toEqual(kept)
  })

  it('with migrate: false, a format-3 store is refused and left as it was', async () => {
    const dir = await copyOf('v3')
    dirs.push(dir)
    const before = await rawTables(dir)
    await expect(openStore({ path: dir, exclusive: true, migrate: false })).rejects.toMatchObject({
      code: 'CHAINLOG_UNSUPPORTED_VERSION',
      data: { found: 3, supported: STORE_FORMAT_VERSION, migrate: true },
    })
    expect(await rawTables(dir)).toEqual(before)
  })

  it('a migration that stops after any commit leaves a store a format-3 reader refuses, that resumes on the next open and verifies', async () => {
    // Commits, one session per commit: the marker (1), then one per session, then the format
    // row with nothing left to convert. Stop after each but the last.
    for (let afterCommits = 1; afterCommits <= sessions + 1; afterCommits++) {
      const dir = await copyOf('v3')
      dirs.push(dir)
      const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, BIN)
      await db.open()
      const level = new LevelEngine(db as never)
      const commit = level.commit.bind(level)
      let commits = 0
      level.commit = (c) => (++commits > afterCommits ? Promise.reject(new Error('simulated crash')) : commit(c))
      await expect(migrateToV4(level, undefined, 1)).rejects.toThrow('simulated crash')
      const raw = (await level.get(Uint8Array.of(0x46)))!
      await level.close()
      const mid = await rawTables(dir)
      expect(mid.format).toEqual({ version: 4, migrating: 3 })
      // A chainlog that reads only format 3 refuses it: its version check sees a newer format.
      expect(parseFormatRow(raw).version).toBeGreaterThan(3)
      // Every session is wholly in one layout: converted ones lost their M row.
      expect(mid.tags.M ?? 0).toBe(sessions - (afterCommits - 1))
      expect(mid.tags.P).toBe(sessions)
      const seen: MigrationProgress[] = []
      const store = await openStore({ path: dir, exclusive: true, onMigrate: (p) => seen.push(p) })
      try {
        await expectAsWritten(store, expected, 2)
        expect(await store.usage()).toEqual(expected.usage)
        expect(await store.usage('fixture-main')).toEqual(expected.usageMain)
      } finally {
        await store.close()
      }
      expect(seen[seen.length - 1]).toMatchObject({ done: sessions, total: sessions, from: 3 })
      const after = await rawTables(dir)
      expect(after.format).toEqual({ version: 4 })
      expect(after.tags.M).toBeUndefined()
      expect(after.tags.U).toBeUndefined()
    }
  })

  it('two runs of the migration side by side (as two processes on PostgreSQL) end with the same store', async () => {
    const dir = await copyOf('v3')
    dirs.push(dir)
    const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, BIN)
    await db.open()
    const level = new LevelEngine(db as never)
    try {
      await Promise.all([migrateToV4(level, undefined, 1), migrateToV4(level, undefined, 2)])
    } finally {
      await level.close()
    }
    const after = await rawTables(dir)
    expect(after.format).toEqual({ version: 4 })
    expect(after.tags.M).toBeUndefined()
    expect(after.tags.U).toBeUndefined()
    const store = await openStore({ path: dir, exclusive: true })
    try {
      await expectAsWritten(store, expected, 2)
      expect(await store.usage()).toEqual(expected.usage)
    } finally {
      await store.close()
    }
  })
})
