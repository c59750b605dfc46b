// Tamper suite: build a realistic store through the API (several sessions with turns, forks,
// a fork of a fork, a materialised fork, a compaction), then change the LevelDB records behind
// the API's back and check that verify finds each change with the right code and location.
import { nodesAfterAppend } from '../../src/proofs/merkle.js'
import { treeRowOps } from '../../src/storage/tree.js'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { MemoryLevel } from 'memory-level'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { encodeCanonical } from '../../src/encoding/cbor.js'
import { sealEntry } from '../../src/encoding/entry-codec.js'
import { ZERO_HASH, fromHex, hashRecord, toHex } from '../../src/encoding/hash.js'
import type { Entry, SessionStart } from '../../src/schema/entry.js'
import type { BatchOp, Row } from '../../src/storage/engine.js'
import * as K from '../../src/storage/keys.js'
import type { SessionMeta, StoredEntry } from '../../src/storage/session-store.js'
import { Store } from '../../src/store.js'
import { openStore } from '../../src/open.js'
import type { Finding, FindingCode, VerifyReport } from '../../src/verify/findings.js'
import { dump, rawRows, writeRows } from '../support/rows.js'
import { entriesOf } from '../support/stores.js'
import { eachEngine } from '../support/engines.js'

const BIN = { keyEncoding: 'view', valueEncoding: 'view' } as const
const TS = 1_700_000_000_000

eachEngine((engine, memStore) => {

  // ---- the realistic store -----------------------------------------------------------------------

  const usage = (n: number) => ({
    historyLength: 4 * n + 1,
    model: n % 2 ? 'model-b' : 'model-a',
    inputTokens: 1000 + n,
    cacheReadTokens: 500,
    cacheWriteTokens: 20,
    outputTokens: 200 + n,
    reasoningTokens: 10,
  })

  function turnItems(tag: string, t: number): unknown[] {
    return [
      { role: 'user', content: `${tag}: question ${t}` },
      { type: 'reasoning', summary: [{ type: 'summary_text', text: `thinking about ${t}` }] },
      { type: 'function_call', call_id: `${tag}-c${t}`, name: 'ls', arguments: JSON.stringify({ dir: `/tmp/${t}` }) },
      { type: 'function_call_output', call_id: `${tag}-c${t}`, output: `file-${t}.txt\nother.txt` },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: `${tag}: answer ${t}, pi is about ${3.14159 + t}` }] },
    ]
  }

  async function turns(store: Store, sessionId: string, from: number, n: number): Promise<void> {
    for (let t = from; t < from + n; t++) {
      await store.appendTurn(sessionId, turnItems(sessionId, t), { ts: TS + 1000 * t, usage: usage(t), turnEnd: true })
    }
  }

  interface World {
    /** Every session's entries as stored, by session id. */
    sessions: Record<string, StoredEntry[]>
    /** Where each fork / compaction was taken. */
    forkA: string
    forkF: string
    matA: string
    compB: string
  }

  const A = 'sess-a'
  const B = 'sess-b'
  const D = 'sess-d'
  const F = 'fork-a' // plain fork of A
  const FF = 'fork-fa' // plain fork of F (a fork of a fork)
  const MF = 'mat-a' // materialised fork of A
  const C = 'comp-b' // compaction of B
  const ALL = [A, B, C, D, F, FF, MF]

  /**
   * The world in `store`, a fresh empty store. The first call on each engine builds it through
   * the API (buildWorldThroughApi); later calls write a copy of the rows that build left, behind
   * the API, and drop the store's caches: the same bytes (checked) in one commit instead of the
   * build's 24 commits and the reads between them, for the ~30 tests on each engine that take a world.
   */
  let template: { rows: Row[]; dump: [string, string][]; world: World } | undefined
  async function buildWorld(store: Store): Promise<World> {
    if (template === undefined) {
      const world = await buildWorldThroughApi(store)
      template = { rows: await rawRows(store), dump: await dump(store), world }
      return structuredClone(world)
    }
    // Fresh copies: memory-level keeps the buffers it is given, and tests change what get returns in place.
    await writeRows(store, template.rows.map(([key, value]) => ({ type: 'put' as const, key: new Uint8Array(key), value: new Uint8Array(value) })))
    expect(await dump(store)).toEqual(template.dump)
    return structuredClone(template.world)
  }

  /**
   * A: 4 turns; F forks A at seq 12; FF forks F at seq 4; MF is a materialised fork of A at seq 7;
   * B: 3 turns, a config change and an outcome; C compacts B at its head; D: 2 turns, nothing
   * depends on it.
   */
  async function buildWorldThroughApi(store: Store): Promise<World> {
    await store.createSession({ sessionId: A, systemPrompt: 'You are a careful assistant.', config: { model: 'model-a', tools: ['ls', 'cat'] }, ts: TS })
    await turns(store, A, 0, 4)
    const a = await entriesOf(store, A)
    await store.forkAt(a[12]!.hash, { sessionId: F, ts: TS + 50_000 })
    await turns(store, F, 10, 2)
    const f = await entriesOf(store, F)
    await store.forkAt(f[4]!.hash.slice(0, 16), { sessionId: FF, ts: TS + 60_000 })
    await turns(store, FF, 20, 1)
    await store.forkAt(a[7]!.hash, { sessionId: MF, materialize: true, ts: TS + 70_000 })
    await turns(store, MF, 30, 1)

    await store.createSession({ sessionId: B, config: { model: 'model-b' }, history: [{ role: 'user', content: 'earlier context' }], ts: TS })
    await turns(store, B, 0, 2)
    await store.changeConfig(B, { model: 'model-b', temperature: 0.25 })
    await turns(store, B, 2, 1)
    await store.recordOutcome(B, { status: 'paused', interrupted: true })
    const b = await entriesOf(store, B)
    await store.compact(B, {
      sessionId: C,
      history: [{ role: 'user', content: 'summary of the earlier conversation' }],
      summary: 'the user asked three questions about files',
      details: { model: 'summariser-1' },
      ts: TS + 80_000,
    })
    await turns(store, C, 40, 2)

    await store.createSession({ sessionId: D, systemPrompt: 'standalone', ts: TS })
    await turns(store, D, 0, 2)

    const sessions: Record<string, StoredEntry[]> = {}
    for (const id of ALL) sessions[id] = await entriesOf(store, id)
    return { sessions, forkA: a[12]!.hash, forkF: f[4]!.hash, matA: a[7]!.hash, compB: b[b.length - 1]!.hash }
  }

  // ---- raw access --------------------------------------------------------------------------------

  // Through the engine, so on every engine, as a tool or an attacker with the database would.
  const get = (store: Store, key: Uint8Array) => store.engine.get(key)
  const batch = async (store: Store, ops: BatchOp[]) => {
    await store.engine.commit({ ops })
    store.invalidate()
  }
  const put = (store: Store, key: Uint8Array, value: Uint8Array) => batch(store, [{ type: 'put', key, value }])
  const del = (store: Store, key: Uint8Array) => batch(store, [{ type: 'del', key }])
  const keysIn = async function* (store: Store, range: { gte: Uint8Array; lt: Uint8Array }) {
    for await (const chunk of store.engine.scan(range, 512)) for (const [key] of chunk) yield key
  }

  const errors = (r: VerifyReport) => r.findings.filter((f) => f.severity === 'error')

  function findingAt(r: VerifyReport, code: FindingCode, at: { sessionId?: string; seq?: number; hash?: string }): Finding {
    const hit = r.findings.find(
      (f) => f.code === code && (at.sessionId === undefined || f.sessionId === at.sessionId) && (at.seq === undefined || f.seq === at.seq) && (at.hash === undefined || f.hash === at.hash),
    )
    if (!hit) throw new Error(`no ${code} finding at ${JSON.stringify(at)}; findings: ${JSON.stringify(r.findings, null, 1)}`)
    expect(hit.severity).toBe('error')
    return hit
  }

  /**
   * Re-seal a session's whole chain from `entries` (seq 0 first) and replace its rows
   * consistently: old record and hash-index rows deleted, new record and hash-index rows and head
   * written. Optionally rewrites its metadata origin to match the new genesis.
   */
  async function rewriteChain(store: Store, sessionId: string, old: StoredEntry[], entries: Entry[], opts: { meta?: boolean } = {}): Promise<string[]> {
    const ops: BatchOp[] = []
    for (const e of old) {
      ops.push({ type: 'del', key: K.recordKey(sessionId, e.seq) }, { type: 'del', key: K.hashKey(fromHex(e.hash)) })
    }
    const hashes: string[] = []
    let prev: Uint8Array = ZERO_HASH
    entries.forEach((entry, seq) => {
      const s = sealEntry(prev, entry)
      ops.push(
        { type: 'put', key: K.recordKey(sessionId, seq), value: s.record },
        { type: 'put', key: K.hashKey(s.hash), value: K.hashIndexValue(sessionId, seq) },
      )
      hashes.push(toHex(s.hash))
      prev = s.hash
    })
    const oldRow = await get(store, K.headKey(sessionId))
    let meta = oldRow!.subarray(K.HEAD_BYTES)
    // The Merkle tree rows too: a consistent rewrite leaves nothing a plain verify can catch.
    for await (const key of keysIn(store, K.treeRange(sessionId))) ops.push({ type: 'del', key })
    ops.push(...treeRowOps(sessionId, nodesAfterAppend(0, [], hashes.map(fromHex)).nodes))
    if (opts.meta) {
      const m = { ...(await store.readMeta(sessionId))! } as SessionMeta
      const g = entries[0] as SessionStart
      delete m.forkedFrom
      delete m.compactedFrom
      if (g.forkedFrom) m.forkedFrom = g.forkedFrom
      if (g.compactedFrom) m.compactedFrom = g.compactedFrom
      meta = encodeCanonical(m)
    }
    ops.push({ type: 'put', key: K.headKey(sessionId), value: K.sessionRowValue(prev, entries.length - 1, meta) })
    await batch(store, ops)
    return hashes
  }

  /** Replace the LAST entry of a session with `record` (bytes given), rows kept consistent. */
  async function replaceLast(store: Store, sessionId: string, old: StoredEntry[], record: Uint8Array): Promise<string> {
    const last = old[old.length - 1]!
    const hash = hashRecord(record)
    const row = await get(store, K.headKey(sessionId))
    await batch(store, [
      { type: 'del', key: K.hashKey(fromHex(last.hash)) },
      { type: 'put', key: K.recordKey(sessionId, last.seq), value: record },
      { type: 'put', key: K.hashKey(hash), value: K.hashIndexValue(sessionId, last.seq) },
      { type: 'put', key: K.headKey(sessionId), value: K.withHead(row, hash, last.seq) },
    ])
    return toHex(hash)
  }

  /** CBOR of a flat map with its keys in the given order (not necessarily canonical). */
  function mapInOrder(obj: Record<string, unknown>, keys: string[]): Uint8Array {
    const parts: Uint8Array[] = [Uint8Array.of(0xa0 | keys.length)]
    for (const k of keys) parts.push(encodeCanonical(k), encodeCanonical(obj[k]))
    return Buffer.concat(parts)
  }

  const cat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts))
  /** The first two bytes of every format-2 entry (docs/format.md): array(2), then the integer 2. */
  const V2 = new Uint8Array([0x82, 0x02])

  // ---- the clean store ---------------------------------------------------------------------------

  describe('a clean store', () => {
    it('verifies ok with zero findings, and the checked counts match the store', async () => {
      const store = await memStore()
      const w = await buildWorld(store)
      const report = await store.verify()
      expect(report.findings).toEqual([])
      expect(report.ok).toBe(true)
      expect(report.truncated).toBeUndefined()
      let entries = 0
      let bytes = 0
      for await (const chunk of store.engine.scan(K.tableRange(K.TAG.record), 512)) {
        for (const [, v] of chunk) {
          entries++
          bytes += v.length
        }
      }
      const lengths = ALL.map((id) => w.sessions[id]!.length)
      expect(entries).toBe(lengths.reduce((a, b) => a + b, 0))
      expect(report.checked).toEqual({ sessions: ALL.length, entries, bytes })
      // The world is what the comments say it is.
      expect(w.sessions[A]).toHaveLength(1 + 4 * 6)
      expect((w.sessions[F]![0]!.entry as SessionStart).forkedFrom).toEqual({ sessionId: A, atHash: w.forkA })
      expect((w.sessions[FF]![0]!.entry as SessionStart).forkedFrom).toEqual({ sessionId: F, atHash: w.forkF })
      expect((w.sessions[MF]![0]!.entry as SessionStart).snapshot).toBeDefined()
      expect((w.sessions[C]![0]!.entry as SessionStart).compactedFrom).toEqual({ sessionId: B, atHash: w.compB })
    })

    it('reports progress with running counts', async () => {
      const store = await memStore()
      await buildWorld(store)
      const seen: number[] = []
      const report = await store.verify({ onProgress: (c) => seen.push(c.entries) })
      expect(seen.length).toBeGreaterThan(0)
      expect(seen).toEqual([...seen].sort((a, b) => a - b))
      expect(seen[seen.length - 1]).toBe(report.checked.entries)
    })

    it('trustedHead: the current head and an older entry of the chain are contained', async () => {
      const store = await memStore()
      const w = await buildWorld(store)
      const a = w.sessions[A]!
      const r1 = await store.verify({ trustedHead: a[a.length - 1]!.hash })
      expect(r1.ok).toBe(true)
      expect(r1.trustedHead).toEqual({ hash: a[a.length - 1]!.hash, status: 'contained', sessionId: A, seq: a.length - 1 })
      const r2 = await store.verify({ sessionId: A, trustedHead: a[3]!.hash })
      expect(r2.trustedHead).toEqual({ hash: a[3]!.hash, status: 'contained', sessionId: A, seq: 3 })
      // Appending keeps an earlier trusted head contained.
      await turns(store, A, 9, 1)
      const r3 = await store.verify({ sessionId: A, trustedHead: a[a.length - 1]!.hash })
      expect(r3.ok).toBe(true)
      expect(r3.trustedHead?.status).toBe('contained')
      // A trusted head of another session is not in this one.
      const r4 = await store.verify({ sessionId: B, trustedHead: a[3]!.hash })
      expect(r4.ok).toBe(false)
      expect(r4.trustedHead?.status).toBe('absent')
      findingAt(r4, 'trusted_head_missing', { hash: a[3]!.hash })
    })
  })

  describe('scope', () => {
    it('verify({sessionId}) checks only that session; with lineage: true its sources too', async () => {
      const store = await memStore()
      const w = await buildWorld(store)
      const len = (id: string) => w.sessions[id]!.length
      const one = await store.verify({ sessionId: FF })
      expect(one.ok).toBe(true)
      expect(one.checked.sessions).toBe(1)
      expect(one.checked.entries).toBe(len(FF))
      const withLineage = await store.verify({ sessionId: FF, lineage: true })
      expect(withLineage.ok).toBe(true)
      expect(withLineage.checked.sessions).toBe(3)
      expect(withLineage.checked.entries).toBe(len(FF) + len(F) + len(A))

      // Damage A: FF alone still verifies, FF with its lineage does not, and the finding is in A.
      const victim = w.sessions[A]![2]!
      const key = K.recordKey(A, 2)
      const rec = (await get(store, key))!
      rec[rec.length - 1]! ^= 0x01
      await put(store, key, rec)
      expect((await store.verify({ sessionId: FF })).ok).toBe(true)
      expect((await store.verify({ sessionId: F })).ok).toBe(true)
      const r = await store.verify({ sessionId: FF, lineage: true })
      expect(r.ok).toBe(false)
      findingAt(r, 'hash_mismatch', { sessionId: A, seq: 2, hash: victim.hash })
      // Damage elsewhere (B) is outside FF's lineage.
      const other = w.sessions[B]![1]!
      await del(store, K.recordKey(B, 1))
      const r2 = await store.verify({ sessionId: FF, lineage: true })
      expect(r2.findings.some((f) => f.sessionId === B)).toBe(false)
      const all = await store.verify()
      findingAt(all, 'seq_gap', { sessionId: B, seq: 2 })
      findingAt(all, 'index_mismatch', { sessionId: B, seq: 1, hash: other.hash })
      findingAt(all, 'hash_mismatch', { sessionId: A, seq: 2, hash: victim.hash })
    })

    it('a compaction with lineage: true follows compactedFrom to its source', async () => {
      const store = await memStore()
      const w = await buildWorld(store)
      const r = await store.verify({ sessionId: C, lineage: true })
      expect(r.ok).toBe(true)
      expect(r.checked.sessions).toBe(2)
      expect(r.checked.entries).toBe(w.sessions[C]!.length + w.sessions[B]!.length)
    })

    it('an unknown session id is CHAINLOG_SESSION_NOT_FOUND; a malformed trusted head is CHAINLOG_INVALID_ARGUMENT', async () => {
      const store = await memStore()
      await buildWorld(store)
      await expect(store.verify({ sessionId: 'nope' })).rejects.toMatchObject({ code: 'CHAINLOG_SESSION_NOT_FOUND' })
      await expect(store.verify({ trustedHead: 'abcd' })).rejects.toMatchObject({ code: 'CHAINLOG_INVALID_ARGUMENT' })
    })
  })

  // ---- tampering ---------------------------------------------------------------------------------

  describe('tampering is found, located and typed', () => {
    let store: Store
    let w: World
    async function fresh(): Promise<void> {
      store = await memStore()
      w = await buildWorld(store)
      expect((await store.verify()).ok).toBe(true)
    }

    it('a flipped byte in an entry record: hash_mismatch at that entry', async () => {
      await fresh()
      const e = w.sessions[A]![5]!
      const key = K.recordKey(A, 5)
      const rec = (await get(store, key))!
      rec[40]! ^= 0x20
      await put(store, key, rec)
      const r = await store.verify()
      expect(r.ok).toBe(false)
      const f = findingAt(r, 'hash_mismatch', { sessionId: A, seq: 5, hash: e.hash })
      expect(f.expected).toBe(e.hash)
      expect(f.actual).toBe(toHex(hashRecord(rec)))
      // Only that entry is blamed.
      expect(errors(r).filter((x) => x.hash !== e.hash)).toEqual([])
      // A flip inside the prev link is a hash_mismatch there, and a broken link to the entry before it.
      const e2 = w.sessions[B]![3]!
      const key2 = K.recordKey(B, 3)
      const rec2 = (await get(store, key2))!
      rec2[0]! ^= 0x80
      await put(store, key2, rec2)
      const r2 = await store.verify()
      findingAt(r2, 'hash_mismatch', { sessionId: B, seq: 3, hash: e2.hash })
      const p = findingAt(r2, 'prev_mismatch', { sessionId: B, seq: 3 })
      expect(p.expected).toBe(w.sessions[B]![2]!.hash)
      expect(p.actual).toBe(toHex(rec2.subarray(0, 32)))
    })

    it('a record deleted from the middle: seq_gap at the next seq, and its index row names nothing', async () => {
      await fresh()
      const e = w.sessions[B]![4]!
      await del(store, K.recordKey(B, 4))
      const r = await store.verify()
      expect(r.ok).toBe(false)
      const gap = findingAt(r, 'seq_gap', { sessionId: B, seq: 5 })
      expect(gap.expected).toBe(4)
      expect(gap.actual).toBe(5)
      // Its hash-index row now names nothing.
      findingAt(r, 'index_mismatch', { sessionId: B, seq: 4, hash: e.hash })
      const total = ALL.reduce((n, id) => n + w.sessions[id]!.length, 0)
      expect(r.checked.entries).toBe(total - 1)
    })

    it('two records swapped: prev_mismatch and index_mismatch at both seqs, hash_mismatch where the chain expects the other', async () => {
      await fresh()
      const s = w.sessions[D]!
      const [x, y] = [s[3]!, s[4]!]
      const [rx, ry] = [(await get(store, K.recordKey(D, 3)))!, (await get(store, K.recordKey(D, 4)))!]
      await batch(store, [
        { type: 'put', key: K.recordKey(D, 3), value: ry },
        { type: 'put', key: K.recordKey(D, 4), value: rx },
      ])
      const r = await store.verify()
      expect(r.ok).toBe(false)
      const p3 = findingAt(r, 'prev_mismatch', { sessionId: D, seq: 3, hash: y.hash })
      expect(p3).toMatchObject({ expected: s[2]!.hash, actual: x.hash })
      findingAt(r, 'index_mismatch', { sessionId: D, seq: 3, hash: y.hash })
      const p4 = findingAt(r, 'prev_mismatch', { sessionId: D, seq: 4, hash: x.hash })
      expect(p4).toMatchObject({ expected: y.hash, actual: s[2]!.hash })
      const i4 = findingAt(r, 'index_mismatch', { sessionId: D, seq: 4, hash: x.hash })
      expect(i4).toMatchObject({ expected: { sessionId: D, seq: 4 }, actual: { sessionId: D, seq: 3 } })
      // And the entry after them links to y, which the index still puts at seq 4: the record there is not y.
      findingAt(r, 'hash_mismatch', { sessionId: D, seq: 4, hash: y.hash })
      // No finding outside D.
      expect(errors(r).every((f) => f.sessionId === D)).toBe(true)
    })

    it('a head moved back: head_mismatch; with the real head as trusted head: rolled_back', async () => {
      await fresh()
      const s = w.sessions[A]!
      const realHead = s[s.length - 1]!
      const older = s[s.length - 4]!
      await put(store, K.headKey(A), K.withHead(await get(store, K.headKey(A)), fromHex(older.hash), older.seq))
      const r = await store.verify()
      expect(r.ok).toBe(false)
      const f = findingAt(r, 'head_mismatch', { sessionId: A, seq: older.seq, hash: older.hash })
      expect(f.expected).toEqual({ hash: realHead.hash, seq: realHead.seq })
      const t = await store.verify({ trustedHead: realHead.hash })
      expect(t.ok).toBe(false)
      expect(t.trustedHead).toEqual({ hash: realHead.hash, status: 'rolled_back', sessionId: A, seq: realHead.seq })
      findingAt(t, 'trusted_head_missing', { sessionId: A, seq: realHead.seq, hash: realHead.hash })
      // Scoped to the session, the same.
      const t2 = await store.verify({ sessionId: A, trustedHead: realHead.hash })
      expect(t2.trustedHead?.status).toBe('rolled_back')
    })

    it('truncation done consistently passes a plain verify, but the trusted head is absent', async () => {
      await fresh()
      const s = w.sessions[D]!
      const realHead = s[s.length - 1]!
      const keep = s.length - 5
      const ops: BatchOp[] = []
      for (const e of s.slice(keep)) ops.push({ type: 'del', key: K.recordKey(D, e.seq) }, { type: 'del', key: K.hashKey(fromHex(e.hash)) })
      const newLast = s[keep - 1]!
      ops.push({ type: 'put', key: K.headKey(D), value: K.withHead(await get(store, K.headKey(D)), fromHex(newLast.hash), newLast.seq) })
      for await (const key of keysIn(store, K.treeRange(D, keep))) ops.push({ type: 'del', key })
      await batch(store, ops)
      const plain = await store.verify()
      expect(plain.findings).toEqual([])
      expect(plain.ok).toBe(true)
      expect((await store.verify({ sessionId: D })).ok).toBe(true)
      const t = await store.verify({ trustedHead: realHead.hash })
      expect(t.ok).toBe(false)
      expect(t.trustedHead).toMatchObject({ hash: realHead.hash, status: 'absent' })
      findingAt(t, 'trusted_head_missing', { hash: realHead.hash })
      const t2 = await store.verify({ sessionId: D, trustedHead: realHead.hash })
      expect(t2.trustedHead?.status).toBe('absent')
      findingAt(t2, 'trusted_head_missing', { sessionId: D, hash: realHead.hash })
    })

    it('an entry spliced in from another session: prev_mismatch and index_mismatch at the splice', async () => {
      await fresh()
      const s = w.sessions[D]!
      const alien = w.sessions[B]![5]!
      const replaced = s[6]!
      await put(store, K.recordKey(D, 6), (await get(store, K.recordKey(B, 5)))!)
      const r = await store.verify()
      expect(r.ok).toBe(false)
      findingAt(r, 'prev_mismatch', { sessionId: D, seq: 6, hash: alien.hash })
      const i = findingAt(r, 'index_mismatch', { sessionId: D, seq: 6, hash: alien.hash })
      expect(i.actual).toEqual({ sessionId: B, seq: 5 })
      // The entry after it links to the replaced entry, which the index still puts at seq 6.
      findingAt(r, 'hash_mismatch', { sessionId: D, seq: 6, hash: replaced.hash })
      // B itself is untouched.
      expect(r.findings.some((f) => f.sessionId === B)).toBe(false)
    })

    it('a forged fork point naming an entry of another session, chain re-hashed consistently: origin_missing', async () => {
      await fresh()
      const old = w.sessions[FF]!
      const g = { ...(old[0]!.entry as SessionStart), forkedFrom: { sessionId: F, atHash: w.sessions[A]![3]!.hash } }
      const hashes = await rewriteChain(store, FF, old, [g, ...old.slice(1).map((e) => e.entry)], { meta: true })
      // The forged chain itself is consistent: every link and index row checks out.
      const own = await store.verify({ sessionId: FF })
      const r = await store.verify()
      for (const rep of [own, r]) {
        expect(rep.ok).toBe(false)
        const f = findingAt(rep, 'origin_missing', { sessionId: FF, seq: 0, hash: hashes[0] })
        expect(f.expected).toEqual(g.forkedFrom)
        expect(f.actual).toEqual({ sessionId: A, seq: 3 })
        expect(errors(rep).map((x) => x.code)).toEqual(['origin_missing'])
      }
    })

    it('a forged fork point inside the right session: the dependants index disagrees (index_mismatch)', async () => {
      await fresh()
      const old = w.sessions[FF]!
      const forged = { sessionId: F, atHash: w.sessions[F]![2]!.hash }
      const g = { ...(old[0]!.entry as SessionStart), forkedFrom: forged }
      const hashes = await rewriteChain(store, FF, old, [g, ...old.slice(1).map((e) => e.entry)], { meta: true })
      const r = await store.verify()
      expect(r.ok).toBe(false)
      const f = findingAt(r, 'index_mismatch', { sessionId: FF, seq: 0, hash: hashes[0] })
      expect(f.expected).toEqual({ relation: 'fork', atHash: forged.atHash })
      expect(f.actual).toMatchObject({ relation: 'fork', atHash: w.forkF })
      expect(errors(r).map((x) => x.code)).toEqual(['index_mismatch'])

      // Rewriting the dependants row too makes the store self-consistent; only a trusted head
      // recorded before the forgery tells.
      await put(store, K.childKey(F, FF), encodeCanonical({ relation: 'fork', atHash: forged.atHash, materialized: false }))
      expect((await store.verify()).ok).toBe(true)
      const t = await store.verify({ sessionId: FF, trustedHead: old[old.length - 1]!.hash })
      expect(t.ok).toBe(false)
      expect(t.trustedHead?.status).toBe('absent')
    })

    it('a forged fork point without touching the metadata: index_mismatch on the metadata as well', async () => {
      await fresh()
      const old = w.sessions[FF]!
      const g = { ...(old[0]!.entry as SessionStart), forkedFrom: { sessionId: F, atHash: w.sessions[F]![1]!.hash } }
      const hashes = await rewriteChain(store, FF, old, [g, ...old.slice(1).map((e) => e.entry)])
      const r = await store.verify()
      const meta = r.findings.filter((f) => f.code === 'index_mismatch' && f.sessionId === FF && f.seq === 0)
      expect(meta.length).toBe(2) // the metadata row and the dependants row
      expect(meta.some((f) => f.hash === hashes[0])).toBe(true)
      expect(meta.some((f) => (f.actual as { atHash?: string } | null)?.atHash === w.forkF)).toBe(true)
    })

    it('a changed compaction source, chain re-hashed consistently: origin_missing or index_mismatch', async () => {
      await fresh()
      const old = w.sessions[C]!
      const rest = old.slice(1).map((e) => e.entry)
      // Names an entry that is not in B.
      const g1 = { ...(old[0]!.entry as SessionStart), compactedFrom: { sessionId: B, atHash: w.sessions[D]![2]!.hash } }
      const h1 = await rewriteChain(store, C, old, [g1, ...rest], { meta: true })
      const r1 = await store.verify()
      expect(r1.ok).toBe(false)
      const f1 = findingAt(r1, 'origin_missing', { sessionId: C, seq: 0, hash: h1[0] })
      expect(f1.actual).toEqual({ sessionId: D, seq: 2 })
      expect(errors(r1).map((x) => x.code)).toEqual(['origin_missing'])
      const lin = await store.verify({ sessionId: C, lineage: true })
      findingAt(lin, 'origin_missing', { sessionId: C, seq: 0, hash: h1[0] })

      // Names an older entry of B: the dependants index still says the head.
      const now = await entriesOf(store, C)
      const g2 = { ...g1, compactedFrom: { sessionId: B, atHash: w.sessions[B]![3]!.hash } }
      const h2 = await rewriteChain(store, C, now, [g2, ...rest], { meta: true })
      const r2 = await store.verify()
      expect(r2.ok).toBe(false)
      const f2 = findingAt(r2, 'index_mismatch', { sessionId: C, seq: 0, hash: h2[0] })
      expect(f2.expected).toEqual({ relation: 'compaction', atHash: w.sessions[B]![3]!.hash })
      expect(f2.actual).toMatchObject({ relation: 'compaction', atHash: w.compB })

      // Names an entry that exists nowhere.
      const now2 = await entriesOf(store, C)
      const g3 = { ...g1, compactedFrom: { sessionId: B, atHash: 'ab'.repeat(32) } }
      const h3 = await rewriteChain(store, C, now2, [g3, ...rest], { meta: true })
      const r3 = await store.verify()
      const f3 = findingAt(r3, 'origin_missing', { sessionId: C, seq: 0, hash: h3[0] })
      expect(f3.actual).toBeNull()
    })

    it('a corrupted hash-index row: index_mismatch at the entry, with what the row says', async () => {
      await fresh()
      const e = w.sessions[A]![5]!
      await put(store, K.hashKey(fromHex(e.hash)), K.hashIndexValue(A, 9))
      const r = await store.verify()
      expect(r.ok).toBe(false)
      const f = findingAt(r, 'index_mismatch', { sessionId: A, seq: 5, hash: e.hash })
      expect(f.expected).toEqual({ sessionId: A, seq: 5 })
      expect(f.actual).toEqual({ sessionId: A, seq: 9 })
      // Pointing at another session is found the same way.
      const e2 = w.sessions[B]![2]!
      await put(store, K.hashKey(fromHex(e2.hash)), K.hashIndexValue(D, 2))
      const r2 = await store.verify()
      const f2 = findingAt(r2, 'index_mismatch', { sessionId: B, seq: 2, hash: e2.hash })
      expect(f2.actual).toEqual({ sessionId: D, seq: 2 })
      // A hash-index row deleted: index_mismatch, actual null.
      const e3 = w.sessions[C]![1]!
      await del(store, K.hashKey(fromHex(e3.hash)))
      const r3 = await store.verify()
      const f3 = findingAt(r3, 'index_mismatch', { sessionId: C, seq: 1, hash: e3.hash })
      expect(f3.actual).toBeNull()
    })

    it('records of a session that has no head: head_mismatch; an index row naming no record: index_mismatch', async () => {
      await fresh()
      const ghost = sealEntry(ZERO_HASH, { kind: 'session_start', ts: TS, sessionId: 'ghost', config: {}, history: [] })
      await put(store, K.recordKey('ghost', 0), ghost.record)
      const r = await store.verify()
      expect(r.ok).toBe(false)
      findingAt(r, 'head_mismatch', { sessionId: 'ghost' })
      // Its hash has no index row, and it has no metadata row (nothing ever wrote them).
      findingAt(r, 'index_mismatch', { sessionId: 'ghost', seq: 0, hash: toHex(ghost.hash) })
      expect(errors(r).map((f) => f.code).sort()).toEqual(['head_mismatch', 'index_mismatch', 'index_mismatch'])
      await del(store, K.recordKey('ghost', 0))
      // A hash-index row naming a session that does not exist.
      await put(store, K.hashKey(ghost.hash), K.hashIndexValue('ghost', 0))
      const r2 = await store.verify()
      findingAt(r2, 'index_mismatch', { sessionId: 'ghost', seq: 0, hash: toHex(ghost.hash) })
      expect(errors(r2)).toHaveLength(1)
      // A verify scoped to one session does not scan the whole index.
      expect((await store.verify({ sessionId: A })).ok).toBe(true)
    })

    it('non-canonical bytes with a correct hash and consistent rows: non_canonical', async () => {
      await fresh()
      const s = w.sessions[D]!
      const last = s[s.length - 1]!
      expect(last.entry.kind).toBe('turn_end')
      const body = last.entry as unknown as Record<string, unknown>
      const canonicalKeys = Object.keys(body).sort((a, b) => a.length - b.length || (a < b ? -1 : 1))
      const unsorted = mapInOrder(body, [...canonicalKeys].reverse())
      // Same value, different bytes.
      expect(toHex(unsorted)).not.toBe(toHex(encodeCanonical(body)))
      const hash = await replaceLast(store, D, s, cat(fromHex(s[s.length - 2]!.hash), unsorted))
      const r = await store.verify()
      expect(r.ok).toBe(false)
      findingAt(r, 'non_canonical', { sessionId: D, seq: last.seq, hash })
      expect(errors(r).map((f) => f.code)).toEqual(['non_canonical'])
    })

    it('bytes that are not CBOR at all, with a correct hash: non_canonical', async () => {
      await fresh()
      const s = w.sessions[D]!
      const hash = await replaceLast(store, D, s, cat(fromHex(s[s.length - 2]!.hash), Uint8Array.of(0xff, 0xfe, 0x00)))
      const r = await store.verify()
      findingAt(r, 'non_canonical', { sessionId: D, seq: s.length - 1, hash })
      expect(errors(r).map((f) => f.code)).toEqual(['non_canonical'])
    })

    it('schema-invalid content with a correct hash: schema_invalid', async () => {
      await fresh()
      const s = w.sessions[D]!
      const bad = cat(V2, encodeCanonical({ ...(s[s.length - 1]!.entry as object), sneaky: 'extra field' }))
      const hash = await replaceLast(store, D, s, cat(fromHex(s[s.length - 2]!.hash), bad))
      const r = await store.verify()
      expect(r.ok).toBe(false)
      findingAt(r, 'schema_invalid', { sessionId: D, seq: s.length - 1, hash })
      expect(errors(r).map((f) => f.code)).toEqual(['schema_invalid'])

      // An unknown kind is schema_invalid too.
      await fresh()
      const s2 = w.sessions[D]!
      const unknownKind = cat(V2, encodeCanonical({ kind: 'mystery', ts: TS }))
      const hash2 = await replaceLast(store, D, s2, cat(fromHex(s2[s2.length - 2]!.hash), unknownKind))
      const r2 = await store.verify()
      findingAt(r2, 'schema_invalid', { sessionId: D, seq: s2.length - 1, hash: hash2 })
      expect(errors(r2).map((f) => f.code)).toEqual(['schema_invalid'])
    })

    it('a genesis naming another session, chain re-hashed consistently: genesis_invalid', async () => {
      await fresh()
      const old = w.sessions[D]!
      const g = { ...(old[0]!.entry as SessionStart), sessionId: 'sess-elsewhere' }
      const hashes = await rewriteChain(store, D, old, [g, ...old.slice(1).map((e) => e.entry)])
      const r = await store.verify()
      expect(r.ok).toBe(false)
      const f = findingAt(r, 'genesis_invalid', { sessionId: D, seq: 0, hash: hashes[0] })
      expect(f).toMatchObject({ expected: D, actual: 'sess-elsewhere' })
      expect(errors(r).map((x) => x.code)).toEqual(['genesis_invalid'])
    })

    it('a genesis that is not a session_start, and a session_start later in the chain: genesis_invalid', async () => {
      await fresh()
      const old = w.sessions[D]!
      const entries = old.map((e) => e.entry)
      const hashes = await rewriteChain(store, D, old, entries.slice(1))
      const r = await store.verify()
      const f = findingAt(r, 'genesis_invalid', { sessionId: D, seq: 0, hash: hashes[0] })
      expect(f).toMatchObject({ expected: 'session_start', actual: entries[1]!.kind })

      await fresh()
      const old2 = w.sessions[D]!
      const entries2 = old2.map((e) => e.entry)
      const hashes2 = await rewriteChain(store, D, old2, [...entries2, entries2[0]!])
      const r2 = await store.verify()
      findingAt(r2, 'genesis_invalid', { sessionId: D, seq: entries2.length, hash: hashes2[entries2.length] })
      expect(errors(r2).map((x) => x.code)).toEqual(['genesis_invalid'])
    })

    it('a missing head, a session row without its metadata and a dangling dependants row are found', async () => {
      await fresh()
      await del(store, K.headKey(D))
      const r = await store.verify()
      const h = findingAt(r, 'head_mismatch', { sessionId: D })
      expect(h.actual).toBeNull()

      await fresh()
      // The session row cut to its head (store format 4 keeps the metadata after it).
      await put(store, K.headKey(D), (await get(store, K.headKey(D)))!.slice(0, K.HEAD_BYTES))
      findingAt(await store.verify(), 'index_mismatch', { sessionId: D, seq: 0 })

      await fresh()
      await del(store, K.childKey(A, F))
      const r3 = await store.verify()
      const f = findingAt(r3, 'index_mismatch', { sessionId: F, seq: 0, hash: w.sessions[F]![0]!.hash })
      expect(f.actual).toBeNull()
    })

    it('unreadable index rows are findings, not crashes', async () => {
      await fresh()
      // A hash-index row too short to hold a seq.
      const e = w.sessions[A]![4]!
      await put(store, K.hashKey(fromHex(e.hash)), Uint8Array.of(1, 2, 3))
      const r1 = await store.verify({ trustedHead: e.hash })
      expect(r1.ok).toBe(false)
      findingAt(r1, 'index_mismatch', { sessionId: A, seq: 4, hash: e.hash })
      expect(r1.trustedHead?.status).toBe('absent')
      // A fork point whose hash-index row is unreadable.
      await put(store, K.hashKey(fromHex(w.forkA)), Uint8Array.of(9))
      findingAt(await store.verify(), 'origin_missing', { sessionId: F, seq: 0, hash: w.sessions[F]![0]!.hash })

      await fresh()
      // A head row cut short.
      await put(store, K.headKey(D), Uint8Array.of(0xde, 0xad))
      const r2 = await store.verify()
      const h = findingAt(r2, 'head_mismatch', { sessionId: D })
      expect(h.actual).toBe('dead')

      await fresh()
      // Metadata (in the session row, after its head) and dependants rows that are not CBOR.
      await put(store, K.headKey(D), Buffer.concat([(await get(store, K.headKey(D)))!.subarray(0, K.HEAD_BYTES), Uint8Array.of(0xff, 0xff)]))
      await put(store, K.childKey(B, C), Uint8Array.of(0x1c))
      const r3 = await store.verify()
      findingAt(r3, 'index_mismatch', { sessionId: D, seq: 0 })
      findingAt(r3, 'index_mismatch', { sessionId: C, seq: 0, hash: w.sessions[C]![0]!.hash })
    })

    it('malformed record keys are reported and stepped over (no crash, no endless loop)', async () => {
      await fresh()
      const short = Uint8Array.of(K.TAG.record, 0x61) // `R` ‖ "a": no separator, no seq
      const badUtf8 = Uint8Array.of(K.TAG.record, 0xff, 0x00, ...K.u64(0)) // the id is not UTF-8
      await put(store, short, (await get(store, K.recordKey(A, 1)))!)
      await put(store, badUtf8, (await get(store, K.recordKey(A, 2)))!)
      const r = await store.verify()
      expect(r.ok).toBe(false)
      const bad = r.findings.filter((f) => f.code === 'index_mismatch' && f.sessionId === undefined && f.hash === undefined)
      expect(bad.map((f) => f.actual).sort()).toEqual([toHex(short), toHex(badUtf8)].sort())
      // Every real session was still walked.
      expect(r.checked.sessions).toBe(ALL.length)
    })

    it('a compaction naming a source that is not in the store at all: an origin_deleted warning', async () => {
      // What an import of a compaction without its source looks like; provenance to a session the
      // store never had cannot be checked here (a trusted head catches a rewrite).
      await fresh()
      const old = w.sessions[C]!
      const g = { ...(old[0]!.entry as SessionStart), compactedFrom: { sessionId: 'never-here', atHash: 'cd'.repeat(32) } }
      const hashes = await rewriteChain(store, C, old, [g, ...old.slice(1).map((e) => e.entry)], { meta: true })
      await del(store, K.childKey(B, C))
      const r = await store.verify()
      expect(r.ok).toBe(true)
      expect(r.findings).toEqual([expect.objectContaining({ code: 'origin_deleted', severity: 'warning', sessionId: C, seq: 0, hash: hashes[0] })])
      const t = await store.verify({ trustedHead: old[old.length - 1]!.hash })
      expect(t.ok).toBe(false)
      // The same claim for a plain fork (which needs its source to restore) is an error.
      await fresh()
      const oldF = w.sessions[FF]!
      const gF = { ...(oldF[0]!.entry as SessionStart), forkedFrom: { sessionId: 'never-here', atHash: 'cd'.repeat(32) } }
      const hF = await rewriteChain(store, FF, oldF, [gF, ...oldF.slice(1).map((e) => e.entry)], { meta: true })
      findingAt(await store.verify(), 'origin_missing', { sessionId: FF, seq: 0, hash: hF[0] })
    })

    it('a session with a head but no entries: seq_gap', async () => {
      await fresh()
      const ops: BatchOp[] = []
      for (const e of w.sessions[D]!) ops.push({ type: 'del', key: K.recordKey(D, e.seq) }, { type: 'del', key: K.hashKey(fromHex(e.hash)) })
      await batch(store, ops)
      const r = await store.verify()
      expect(r.ok).toBe(false)
      findingAt(r, 'seq_gap', { sessionId: D })
    })

    it('a lineage that loops back on itself: lineage_cycle', async () => {
      await fresh()
      // Make A claim to be a fork of FF (whose lineage is F, then A).
      const old = w.sessions[A]!
      const g = { kind: 'session_start', ts: TS, sessionId: A, config: {}, history: [], forkedFrom: { sessionId: FF, atHash: w.sessions[FF]![1]!.hash } } as SessionStart
      await rewriteChain(store, A, old, [g, ...old.slice(1).map((e) => e.entry)], { meta: true })
      const r = await store.verify({ sessionId: FF, lineage: true })
      expect(r.ok).toBe(false)
      findingAt(r, 'lineage_cycle', { sessionId: FF })
    })

    it('a deleted compaction source is an origin_deleted WARNING and the store still verifies ok', async () => {
      await fresh()
      await store.deleteSession(B)
      const r = await store.verify()
      expect(errors(r)).toEqual([])
      expect(r.ok).toBe(true)
      const f = r.findings.find((x) => x.code === 'origin_deleted')
      expect(f).toMatchObject({ severity: 'warning', sessionId: C, seq: 0, hash: w.sessions[C]![0]!.hash, expected: { sessionId: B, atHash: w.compB } })
      const one = await store.verify({ sessionId: C, lineage: true })
      expect(one.ok).toBe(true)
      expect(one.findings.map((x) => x.code)).toEqual(['origin_deleted'])
      // A materialised fork whose source is deleted: the same warning.
      await store.deleteSession(A, { dependants: 'delete' })
      const r2 = await store.verify()
      expect(r2.ok).toBe(true)
      expect(r2.findings.find((x) => x.sessionId === MF)).toMatchObject({ code: 'origin_deleted', severity: 'warning' })
    })
  })

  // ---- random bit flips --------------------------------------------------------------------------

  // 200 flips of one store: in memory, once.
  if (engine === 'memory-level') describe('every single-bit flip of any stored entry record is found', () => {
    let store: Store
    let records: { key: Uint8Array; hash: string }[]
    beforeAll(async () => {
      store = await openStore({ db: new MemoryLevel(), durability: 'relaxed' })
      const w = await buildWorld(store)
      records = ALL.flatMap((id) => w.sessions[id]!.map((e) => ({ key: K.recordKey(id, e.seq), hash: e.hash })))
    })
    afterAll(async () => {
      await store.close()
    })

    it('200 random flips: report.ok is false with a finding at the flipped entry', async () => {
      const before = await dump(store)
      await fc.assert(
        fc.asyncProperty(fc.nat(), fc.nat(), fc.integer({ min: 0, max: 7 }), async (ki, bi, bit) => {
          const { key, hash } = records[ki % records.length]!
          const rec = (await get(store, key))!
          const pos = bi % rec.length
          rec[pos]! ^= 1 << bit
          await put(store, key, rec)
          try {
            const r = await store.verify()
            expect(r.ok).toBe(false)
            expect(r.findings.some((f) => f.code === 'hash_mismatch' && f.hash === hash)).toBe(true)
          } finally {
            rec[pos]! ^= 1 << bit
            await put(store, key, rec)
          }
        }),
        { numRuns: 200 },
      )
      expect(await dump(store)).toEqual(before)
      expect((await store.verify()).ok).toBe(true)
    })
  })

  // ---- on disk -----------------------------------------------------------------------------------

  // A store directory closed and opened again: LevelDB's own case, once.
  if (engine === 'classic-level') describe('classic-level', () => {
    it('tampering written to an on-disk store is found after reopening', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'chainlog-tamper-'))
      try {
        let store = await openStore({ path: join(dir, 'db'), exclusive: true, durability: 'relaxed' })
        const w = await buildWorld(store)
        expect((await store.verify()).ok).toBe(true)
        const e = w.sessions[F]![3]!
        const key = K.recordKey(F, 3)
        const rec = (await get(store, key))!
        rec[rec.length - 2]! ^= 0x04
        await store.db.put(key, rec, BIN)
        const s = w.sessions[C]!
        const realHead = s[s.length - 1]!
        await store.db.put(K.headKey(C), K.withHead(await get(store, K.headKey(C)), fromHex(s[1]!.hash), 1), BIN)
        await store.close()

        store = await openStore({ path: join(dir, 'db'), exclusive: true, durability: 'relaxed' })
        try {
          const r = await store.verify({ trustedHead: realHead.hash })
          expect(r.ok).toBe(false)
          findingAt(r, 'hash_mismatch', { sessionId: F, seq: 3, hash: e.hash })
          findingAt(r, 'head_mismatch', { sessionId: C, seq: 1, hash: s[1]!.hash })
          expect(r.trustedHead).toEqual({ hash: realHead.hash, status: 'rolled_back', sessionId: C, seq: realHead.seq })
          findingAt(r, 'trusted_head_missing', { sessionId: C, seq: realHead.seq, hash: realHead.hash })
        } finally {
          await store.close()
        }
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    })
  })
})
