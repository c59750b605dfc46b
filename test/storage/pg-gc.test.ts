// gc on PostgreSQL, where other processes write the same store and no process can watch their
// commits: the database decides (src/storage/gc.ts, docs/storage.md "Garbage collection").
// First the rule itself, one step at a time with two Store objects on one schema (as two
// processes would be) and the gc's test hooks between its steps; then real child processes that
// append entries using blobs while gc runs again and again: no entry is ever left whose blob is
// gone, gc still sweeps what nothing uses, and verify is ok afterwards.
import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { collectRefs, refHash } from '../../src/blobs/blobs.js'
import { openStore } from '../../src/open.js'
import { fromHex } from '../../src/encoding/hash.js'
import { gc } from '../../src/storage/gc.js'
import * as K from '../../src/storage/keys.js'
import type { Store } from '../../src/store.js'
import { pgDatabaseForFile } from '../support/pg-file.js'
import { Child, stopChildren } from '../support/processes.js'
import { entriesOf } from '../support/stores.js'

const WRITER = fileURLToPath(new URL('./pg-gc-writer.mjs', import.meta.url))
const sha = (s: string) => createHash('sha256').update(s).digest('hex')

// The run's shared cluster: nothing here stops or breaks the server.
const pgf = pgDatabaseForFile()
let schemas = 0
const opened: Store[] = []
const children: Child[] = []
afterEach(async () => {
  await stopChildren(children)
  for (const s of opened.splice(0)) await s.close()
})

const openOn = async (schema: string) => {
  const s = await openStore({ postgres: { connectionString: pgf.connectionString, schema, pool: { max: 4 } }, durability: 'relaxed' })
  opened.push(s)
  return s
}
/** Two stores on one fresh schema. */
const pair = async () => {
  const schema = pgf.schema(`gc${++schemas}`)
  return [await openOn(schema), await openOn(schema)] as const
}

/** A distinct text over the blob threshold, and the reference an entry may carry for it. */
function payload(tag: string, bytes = 9_000) {
  let text = ''
  for (let i = 0; text.length < bytes; i++) text += `${tag} ${i} ${sha(`${tag}/${i}`)}\n`
  text = text.slice(0, bytes)
  return { text, hex: sha(text), ref: { $blob: `sha256:${sha(text)}`, size: Buffer.byteLength(text), mediaType: 'text/plain;charset=utf-8' } }
}
type Payload = ReturnType<typeof payload>

const items = (id: string, output: unknown) => [
  { type: 'function_call', call_id: id, name: 'read', arguments: '{}' },
  { type: 'function_call_output', call_id: id, output },
]
let calls = 0
const use = (store: Store, sessionId: string, output: unknown) => store.appendMany(sessionId, [{ kind: 'tool_results', items: items(`c${++calls}`, output), ts: 10 + calls }])

/** Blobs stored in the PostgreSQL table (hex), and gc marks. */
async function rows(store: Store, tag: number): Promise<Set<string>> {
  const out = new Set<string>()
  for await (const chunk of store.engine.scan(K.tableRange(tag), 512)) for (const [k] of chunk) out.add(Buffer.from(k.subarray(1)).toString('hex'))
  return out
}
const blobs = (s: Store) => rows(s, K.TAG.blob)
const marks = (s: Store) => rows(s, K.TAG.gcMark)

/** Payloads stored, then left unreferenced: a session that used them, deleted. */
async function garbage(store: Store, ps: Payload[]): Promise<void> {
  const id = `garbage-${++calls}`
  await store.createSession({ sessionId: id, ts: 1 })
  for (const p of ps) await use(store, id, p.text)
  await store.deleteSession(id)
}

/** Every blob any live session's entries reference is stored, every entry restores with its blobs, verify is ok. */
async function intact(store: Store): Promise<Set<string>> {
  const stored = await blobs(store)
  const referenced = new Set<string>()
  for (const s of await store.listSessions()) {
    for (const e of await entriesOf(store, s.sessionId, false)) for (const r of collectRefs(e.entry)) referenced.add(refHash(r))
    await store.restore(s.sessionId)
  }
  for (const hex of referenced) expect(stored.has(hex), `blob ${hex} referenced but gone`).toBe(true)
  const report = await store.verify()
  expect(report.findings.filter((f) => f.severity === 'error')).toEqual([])
  expect(report.ok).toBe(true)
  return referenced
}

describe('the rule, step by step (two stores on one schema)', () => {
  it('gc sweeps what no session uses and keeps what one does, and a second gc finds nothing', async () => {
    const [a] = await pair()
    const keep = payload('keep')
    const drop = [payload('drop1'), payload('drop2')]
    await a.createSession({ sessionId: 'live', ts: 1 })
    await use(a, 'live', keep.text)
    await garbage(a, [...drop, keep])
    const r = await a.gc()
    expect(r.blobsRemoved).toBe(2)
    expect(r.entriesRemoved).toBe(0)
    expect(r.bytesFreed).toBeGreaterThan(0)
    expect(await blobs(a)).toEqual(new Set([keep.hex]))
    expect(await marks(a)).toEqual(new Set())
    expect(await a.gc()).toEqual({ entriesRemoved: 0, blobsRemoved: 0, bytesFreed: 0 })
    await intact(a)
  })

  it('costs two scans of the records, one of the blobs and of the marks, and a commit per 64 marks and per swept blob', async () => {
    const [a] = await pair()
    await a.createSession({ sessionId: 'live', ts: 1 })
    for (let i = 0; i < 30; i++) await use(a, 'live', `small ${i}`)
    const drop = Array.from({ length: 70 }, (_, i) => payload(`cost-${i}`, 5_000))
    await garbage(a, drop)
    const records = (await a.engine.scan(K.tableRange(K.TAG.record), 10_000)[Symbol.asyncIterator]().next()).value!.length
    const engine = a.engine
    const scanned = new Map<number, number>()
    const commits: number[] = []
    const { scan, commit } = engine
    engine.scan = (range, chunk) => {
      const inner = scan.call(engine, range, chunk)
      return (async function* () {
        for await (const rows of inner) {
          scanned.set(range.gte[0]!, (scanned.get(range.gte[0]!) ?? 0) + rows.length)
          yield rows
        }
      })()
    }
    engine.commit = (c) => (commits.push(c.ops.length), commit.call(engine, c))
    try {
      expect((await a.gc()).blobsRemoved).toBe(70)
    } finally {
      engine.scan = scan
      engine.commit = commit
    }
    expect(scanned.get(K.TAG.record)).toBe(2 * records)
    // The hash index once, in the second pass (for rows of no session): one row per record.
    expect(scanned.get(K.TAG.hash)).toBe(records)
    // The blobs as they were (70 garbage + none live: small payloads stay inline); no marks yet.
    expect(scanned.get(K.TAG.blob)).toBe(70)
    expect(scanned.get(K.TAG.gcMark) ?? 0).toBe(0)
    // Marks: two commits (64 + 6); then one commit per swept blob (the engine groups them).
    expect(commits).toEqual([64, 6, ...Array(70).fill(2)])
  })

  it('an append through another store that references a candidate before the marks: seen by the second scan, kept', async () => {
    const [a, b] = await pair()
    const p = payload('early')
    await garbage(a, [p])
    await b.createSession({ sessionId: 'b', ts: 1 })
    // The first scan has found p unreferenced; b uses it (by reference) before the marks land.
    let appended = false
    const r = await gc(a, {
      marked: async () => {
        // Too late for "before the marks": marked now, so b's append writes it back.
        await use(b, 'b', p.ref)
        appended = true
      },
    })
    expect(appended).toBe(true)
    expect(r.blobsRemoved).toBe(0)
    expect(await blobs(a)).toEqual(new Set([p.hex]))
    expect(await marks(a)).toEqual(new Set())
    await intact(a)
  })

  it('an append that uses a marked blob after the second scan writes it back and the sweep of it is refused', async () => {
    const [a, b] = await pair()
    const byRef = payload('by-ref')
    const known = payload('known')
    const other = payload('other')
    // b wrote `known` itself, so it skips writing it again (a blob it knows it stored).
    await b.createSession({ sessionId: 'b', ts: 1 })
    await use(b, 'b', known.text)
    await garbage(a, [byRef, other])
    await b.deleteSession('b')
    await b.createSession({ sessionId: 'b2', ts: 1 })
    const before = b.engine.stats.bytesWritten
    const r = await gc(a, {
      scanned: async () => {
        expect(await marks(a)).toEqual(new Set([byRef.hex, known.hex, other.hex]))
        await use(b, 'b2', byRef.ref)
        await use(b, 'b2', known.text)
      },
    })
    // Both were written back (the bytes as stored), with their marks dropped.
    expect(b.engine.stats.bytesWritten - before).toBeGreaterThan(byRef.text.length + known.text.length)
    expect(r.blobsRemoved).toBe(1)
    expect(await blobs(a)).toEqual(new Set([byRef.hex, known.hex]))
    expect(await marks(a)).toEqual(new Set())
    expect((await intact(a)).size).toBe(2)
  })

  it('after the sweep: a reference to the swept blob is refused with nothing written, the payload itself stores it again', async () => {
    const [a, b] = await pair()
    const p = payload('swept')
    await b.createSession({ sessionId: 'b', ts: 1 })
    await use(b, 'b', p.text) // b now knows p is stored
    await garbage(a, [p])
    // b's own use of it goes: a fresh session of b's that used it is deleted too.
    await b.deleteSession('b')
    expect((await a.gc()).blobsRemoved).toBe(1)
    expect(await blobs(a)).toEqual(new Set())
    await b.createSession({ sessionId: 'b2', ts: 1 })
    const head = await b.head('b2')
    await expect(use(b, 'b2', p.ref)).rejects.toMatchObject({ code: 'CHAINLOG_INVALID_ENTRY' })
    expect(await b.head('b2')).toBe(head)
    // b still believed p stored; the append's check (blob present) refused, b forgot it, and the retry wrote it.
    await use(b, 'b2', p.text)
    expect(await blobs(a)).toEqual(new Set([p.hex]))
    await intact(a)
  })

  it('a new session whose history references a marked blob, and an import, through another store during the gc keep their blobs', async () => {
    const [a, b] = await pair()
    const p = payload('genesis-ref')
    const q = payload('import-me')
    await b.createSession({ sessionId: 'src', ts: 1 })
    await use(b, 'src', q.text)
    const chunks: Buffer[] = []
    const { Writable } = await import('node:stream')
    await b.exportSession('src', new Writable({ write: (c, _e, cb) => (chunks.push(Buffer.from(c)), cb()) }))
    await b.deleteSession('src')
    await garbage(a, [p])
    const r = await gc(a, {
      scanned: async () => {
        expect(await marks(a)).toEqual(new Set([p.hex, q.hex]))
        await b.createSession({ sessionId: 'child', ts: 1, history: [{ type: 'function_call_output', call_id: 'h', output: p.ref }] })
        await b.importBundle(new Uint8Array(Buffer.concat(chunks)))
      },
    })
    expect(r.blobsRemoved).toBe(0)
    expect(await marks(a)).toEqual(new Set())
    const left = await intact(a)
    expect(left).toEqual(new Set([p.hex, q.hex]))
  })

  it('an import that counted on a blob another process has swept since writes it from the bundle', async () => {
    const [a, b] = await pair()
    const q = payload('swept-then-imported')
    await b.createSession({ sessionId: 'src', ts: 1 })
    await use(b, 'src', q.text) // b now knows q is stored, so its import will not write it
    const chunks: Buffer[] = []
    const { Writable } = await import('node:stream')
    await b.exportSession('src', new Writable({ write: (c, _e, cb) => (chunks.push(Buffer.from(c)), cb()) }))
    await b.deleteSession('src')
    expect((await a.gc()).blobsRemoved).toBe(1)
    expect(await blobs(a)).toEqual(new Set())
    const r = await b.importBundle(new Uint8Array(Buffer.concat(chunks)))
    expect(r.entriesAdded).toBeGreaterThan(0)
    expect(await blobs(a)).toEqual(new Set([q.hex]))
    await intact(a)
  })

  it('rows of no session go only while the session still has no head', async () => {
    const [a, b] = await pair()
    await a.createSession({ sessionId: 'x', ts: 1 })
    await use(a, 'x', 'small')
    // Damage: the head goes, the records stay (an interrupted tool or a hand edit).
    await a.engine.commit({ ops: [{ type: 'del', key: K.headKey('x') }] })
    const r = await gc(a, {
      scanned: async () => {
        // Meanwhile another process creates session x again.
        await b.createSession({ sessionId: 'x', ts: 5 })
      },
    })
    // Its genesis record (seq 0) was rewritten and the head is there: nothing of x is removed
    // but the old record at seq 1 and its hash row, whose session now has a head again.
    expect(r.entriesRemoved).toBe(0)
    expect(await a.head('x')).toBeDefined()
    const r2 = await a.engine.get(K.recordKey('x', 1))
    expect(r2).toBeDefined()
  })

  it('a gc left half way (its marks still there) only makes appends write those blobs back; the next gc clears them', async () => {
    const [a, b] = await pair()
    const p = payload('half')
    const q = payload('half-garbage')
    await garbage(a, [p, q])
    // The marks of a gc that stopped after step 2.
    await a.engine.commit({ ops: [p, q].map((x) => ({ type: 'put' as const, key: K.gcMarkKey(fromHex(x.hex)), value: new Uint8Array([1, 2, 3]) })) })
    await b.createSession({ sessionId: 'b', ts: 1 })
    await use(b, 'b', p.ref)
    expect(await marks(a)).toEqual(new Set([q.hex]))
    const r = await a.gc()
    expect(r.blobsRemoved).toBe(1)
    expect(await blobs(a)).toEqual(new Set([p.hex]))
    expect(await marks(a)).toEqual(new Set())
    await intact(a)
  })
})

describe('child processes append while gc runs again and again', () => {
  it('no entry is left whose blob is gone; unreferenced blobs are swept; verify is ok', async () => {
    const schema = pgf.schema(`gcproc${++schemas}`)
    const a = await openOn(schema)
    const shared = Array.from({ length: 12 }, (_, i) => payload(`shared-${i}`, 5_000))
    const send = JSON.stringify(shared.map((p) => ({ text: p.text, ref: p.ref })))
    // All of them garbage to start with.
    await garbage(a, shared)
    const TURNS = 80
    const PER_SESSION = 8
    const writers = Array.from({ length: 3 }, (_, i) => {
      const c = new Child(WRITER, [pgf.connectionString, schema, `w${i}`, String(TURNS), String(PER_SESSION), String(i * 5), send], { name: `writer ${i}`, stdin: 'ignore' })
      children.push(c)
      return c
    })
    const acks = () => writers.reduce((n, c) => n + c.lines.filter((l) => l.t === 'ack').length, 0)
    let removed = 0
    let rounds = 0
    const onlyGarbage: string[] = []
    while (writers.some((c) => c.alive) && rounds < 500) {
      // Blobs nothing will ever use again, for every round to sweep.
      const g = payload(`only-garbage-${rounds}`, 5_000)
      onlyGarbage.push(g.hex)
      if (rounds % 4 === 0) await garbage(a, [g])
      removed += (await a.gc()).blobsRemoved
      rounds++
    }
    const ends = await Promise.all(writers.map((c) => c.exited))
    for (const [i, e] of ends.entries()) expect(e.code, `${writers[i]!.name}: ${writers[i]!.stderr}`).toBe(0)
    expect(acks()).toBe(3 * TURNS)
    const gone = writers.reduce((n, c) => n + (c.lines.at(-1)!.gone as number), 0)
    console.log(`pg gc: ${rounds} gc rounds during ${acks()} appends from 3 processes; ${removed} blobs swept; ${gone} references found swept and stored again`)
    expect(rounds).toBeGreaterThan(2)
    expect(removed).toBeGreaterThan(0)
    // Every entry of the writers' last sessions is whole, with its blob.
    const referenced = await intact(a)
    for (const c of writers) expect((await entriesOf(a, c.lines.at(-1)!.session as string)).length).toBe(PER_SESSION + 1)
    // A last gc sweeps exactly what nothing references.
    await a.gc()
    expect(await blobs(a)).toEqual(referenced)
    for (const hex of onlyGarbage) expect(referenced.has(hex)).toBe(false)
    expect(await marks(a)).toEqual(new Set())
  })
})
