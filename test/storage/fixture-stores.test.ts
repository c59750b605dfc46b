// Stores and bundles written by earlier releases, kept in fixtures/stores/ (see generate-v1.mjs
// there): this code must open them, read them back exactly, verify them, and carry on writing.
// A format change that breaks data already on disk fails here.
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryLevel } from 'memory-level'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { verifyBundle } from '../../src/bundle/bundle.js'
import { type Store } from '../../src/store.js'
import { openStore } from '../../src/open.js'

const FIXTURES = new URL('../../fixtures/stores/', import.meta.url)
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
const expected = JSON.parse(await readFile(new URL('v1.json', FIXTURES), 'utf8')) as Expected

/**
 * The JSON spelling of the generator: bigints as "<n>n", and byte strings as 0.1.0 returned
 * them, Node Buffers (whose toJSON gives {type, data}); reads now return plain Uint8Arrays.
 */
const asWritten = (v: unknown) =>
  JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x instanceof Uint8Array ? { type: 'Buffer', data: [...x] } : x))

describe('a store written by chainlog 0.1.0 (store format 1, entry format v1)', () => {
  let dir: string
  let store: Store | undefined
  beforeEach(async () => {
    // A copy: opening a LevelDB directory writes to it.
    dir = await mkdtemp(join(tmpdir(), 'chainlog-fixture-'))
    await cp(new URL('v1/', FIXTURES), dir, { recursive: true })
    store = await openStore({ path: dir, exclusive: true })
  })
  afterEach(async () => {
    await store?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('opens and verifies, with every session, entry hash and head as written', async () => {
    const s = store!
    const report = await s.verify()
    expect(report.findings.filter((f) => f.severity === 'error')).toEqual([])
    expect(report.ok).toBe(true)
    const ids = (await s.listSessions()).map((x) => x.sessionId).sort()
    expect(ids).toEqual(Object.keys(expected.sessions).sort())
    for (const [id, want] of Object.entries(expected.sessions)) {
      const hashes: string[] = []
      for await (const e of s.entries(id)) {
        hashes.push(e.hash)
        expect(e.format).toBe(1)
      }
      expect(hashes, id).toEqual(want.hashes)
      expect(await s.head(id)).toBe(want.head)
    }
  })

  it('reads back the same history, usage ledger, lineage, tombstone and lease', async () => {
    const s = store!
    expect(asWritten((await s.restore('fixture-main')).history)).toBe(expected.mainHistoryJson)
    expect(await s.usage()).toEqual(expected.usage)
    expect(await s.usage('fixture-main')).toEqual(expected.usageMain)
    const lin = await s.lineage('fixture-main')
    expect(lin.descendants.map((d) => d.sessionId).sort()).toEqual([expected.lineage.compacted, expected.lineage.fork, expected.lineage.materialized].sort())
    await expect(s.restore(expected.deleted)).rejects.toMatchObject({ code: 'CHAINLOG_SESSION_NOT_FOUND' })
    await expect(s.claimSession(expected.leased, { owner: 'someone-else', ttlMs: 1000 })).resolves.toMatchObject({ owner: 'someone-else' })
  })

  it('takes new (format 2) entries after old ones and still verifies the mixed chain and its forks', async () => {
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
})

describe('a bundle written by chainlog 0.1.0 (bundle format 1)', () => {
  it('verifies, and imports into a new store whose sessions verify and restore as the source', async () => {
    const bytes = new Uint8Array(await readFile(new URL('v1-fork.bundle', FIXTURES)))
    const report = await verifyBundle(bytes)
    expect(report.findings).toEqual([])
    expect(report.header?.version).toBe(1)
    const store = await openStore({ db: new MemoryLevel(), durability: 'relaxed' })
    try {
      await store.importBundle(bytes)
      expect(await store.head(expected.lineage.fork)).toBe(expected.sessions[expected.lineage.fork]!.head)
      expect((await store.verify()).ok).toBe(true)
    } finally {
      await store.close()
    }
  })
})
