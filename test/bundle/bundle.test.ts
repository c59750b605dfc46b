// Export/import bundles: a bundle restores exactly the sessions it was made from (forks, forks
// of forks, materialised forks, compactions); importing is idempotent and extends shorter
// copies; any changed byte or any cut is refused before anything is written; diverged sessions
// are refused; JSONL export is one parseable line per entry.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BUNDLE_VERSION, verifyBundle, type BundleHeader } from '../../src/bundle/bundle.js'
import { decodeCanonical, encodeCanonical } from '../../src/encoding/cbor.js'
import { fromHex, hashRecord, toHex } from '../../src/encoding/hash.js'
import { ChainlogError, ErrorCodes } from '../../src/errors.js'
import type { SessionStart } from '../../src/schema/entry.js'
import type { Store } from '../../src/store.js'
import { exportToMemory, items, reseal } from '../support/bundle-bytes.js'
import { dump } from '../support/rows.js'
import { entriesOf } from '../support/stores.js'
import { eachEngine } from '../support/engines.js'

const BIN = { keyEncoding: 'view', valueEncoding: 'view' } as const
const TS = 1_700_000_000_000

eachEngine((_engine, memStore) => {

  /** Export to memory. */
  async function exportBytes(store: Store, sessionId: string, format?: 'bundle' | 'jsonl'): Promise<Uint8Array> {
    const { bytes, result } = await exportToMemory(store, sessionId, format ? { format } : {})
    // What the result reports is what reached the stream.
    expect(result.bytes).toBe(bytes.length)
    return bytes
  }

  const usage = (n: number) => ({ historyLength: n, model: 'model-a', inputTokens: 100 * n, cacheReadTokens: 0, cacheWriteTokens: 0, outputTokens: 10 * n, reasoningTokens: 0 })

  async function turns(store: Store, id: string, from: number, n: number, tag = id): Promise<void> {
    for (let t = from; t < from + n; t++) {
      await store.appendTurn(
        id,
        [
          { role: 'user', content: `${tag} q${t}` },
          { type: 'function_call', call_id: `c${t}`, name: 'cat', arguments: '{"f":"a.txt"}' },
          { type: 'function_call_output', call_id: `c${t}`, output: 'contents' },
          { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: `${tag} a${t}` }] },
        ],
        { ts: TS + t, usage: usage(t + 1), turnEnd: true },
      )
    }
  }

  const A = 'sess-a'
  const F = 'fork-a'
  const FF = 'fork-fa'
  const MF = 'mat-a'
  const B = 'sess-b'
  const C = 'comp-b'
  const FC = 'fork-cb'

  /** A with forks F (and FF from F) and a materialised fork MF; B compacted into C; FC forks C. */
  async function buildWorld(store: Store): Promise<void> {
    await store.createSession({ sessionId: A, systemPrompt: 'be brief', config: { model: 'model-a', temperature: 0.5 }, ts: TS })
    await turns(store, A, 0, 3)
    await store.lockCache(A, 3)
    const a = await entriesOf(store, A)
    await store.forkAt(a[6]!.hash, { sessionId: F, ts: TS + 100 })
    await turns(store, F, 10, 2)
    const f = await entriesOf(store, F)
    await store.forkAt(f[3]!.hash, { sessionId: FF, ts: TS + 200 })
    await turns(store, FF, 20, 1)
    await store.forkAt(a[10]!.hash, { sessionId: MF, materialize: true, ts: TS + 300 })
    await turns(store, MF, 30, 1)
    await store.createSession({ sessionId: B, config: { model: 'model-b' }, ts: TS })
    await turns(store, B, 0, 2)
    await store.recordOutcome(B, { status: 'finished', interrupted: false })
    await store.compact(B, { sessionId: C, history: [{ role: 'user', content: 'summary' }], summary: 'short', ts: TS + 400 })
    await turns(store, C, 40, 2)
    const c = await entriesOf(store, C)
    await store.forkAt(c[2]!.hash, { sessionId: FC, ts: TS + 500 })
    await turns(store, FC, 50, 1)
  }

  async function expectInvalidBundle(p: Promise<unknown>): Promise<ChainlogError> {
    try {
      await p
    } catch (err) {
      expect(err).toBeInstanceOf(ChainlogError)
      expect((err as ChainlogError).code).toBe(ErrorCodes.INVALID_BUNDLE)
      expect(Array.isArray((err as ChainlogError).data.findings)).toBe(true)
      return err as ChainlogError
    }
    throw new Error('expected CHAINLOG_INVALID_BUNDLE')
  }

  describe('export then import into an empty store', () => {
    it('a plain session: the imported store is byte-for-byte the original', async () => {
      const src = await memStore()
      await src.createSession({ sessionId: A, systemPrompt: 'be brief', config: { model: 'model-a' }, ts: TS })
      await turns(src, A, 0, 3)
      const bundle = await exportBytes(src, A)
      const report = await verifyBundle(bundle)
      expect(report.ok).toBe(true)
      expect(report.findings).toEqual([])
      expect(report.header).toMatchObject({ format: 'chainlog-bundle', version: BUNDLE_VERSION, root: A, sessions: [{ sessionId: A, length: 19, head: await src.head(A) }] })
      expect(report.checked).toMatchObject({ sessions: 1, entries: 19 })

      const dst = await memStore()
      const result = await dst.importBundle(bundle)
      // Genesis, then per turn: user_input, assistant_items, tool_results, assistant_items, llm_usage, turn_end.
      expect(result.entriesAdded).toBe(19)
      expect(result.sessions).toEqual([{ sessionId: A, added: 19 }])
      // Entries, sequence and hash index, head and metadata rows: identical to the original.
      expect(await dump(dst)).toEqual(await dump(src))
      expect(await dst.restore(A)).toEqual(await src.restore(A))
      expect((await dst.verify()).ok).toBe(true)
    })

    for (const root of [A, F, FF, MF, C, FC]) {
      it(`${root}: restored state and heads equal the originals, for the root and every source in the bundle`, async () => {
        const src = await memStore()
        await buildWorld(src)
        const bundle = await exportBytes(src, root)
        const report = await verifyBundle(bundle)
        expect(report.ok).toBe(true)
        const header = report.header!
        expect(header.root).toBe(root)
        expect(header.sessions[header.sessions.length - 1]!.sessionId).toBe(root)

        const dst = await memStore()
        const result = await dst.importBundle(bundle)
        expect(result.entriesAdded).toBe(header.sessions.reduce((n, s) => n + s.length, 0))
        // The root: same head, same state.
        expect(await dst.head(root)).toBe(await src.head(root))
        expect(await dst.restore(root)).toEqual(await src.restore(root))
        expect(await entriesOf(dst, root)).toEqual(await entriesOf(src, root))
        // Every source: up to the point the bundle needs, same entries and state as the original there.
        for (const s of header.sessions) {
          expect(await dst.head(s.sessionId)).toBe(s.head)
          expect(await dst.restore(s.sessionId)).toEqual(await src.restore(s.sessionId, { at: s.head }))
          expect(await entriesOf(dst, s.sessionId)).toEqual((await entriesOf(src, s.sessionId)).slice(0, s.length))
        }
        // Lineage survives: the imported metadata records the same origin.
        const meta = await dst.readMeta(root)
        const orig = await src.readMeta(root)
        expect(meta?.forkedFrom).toEqual(orig?.forkedFrom)
        expect(meta?.compactedFrom).toEqual(orig?.compactedFrom)
      })
    }

    it('forks of forks carry every source up to its fork point', async () => {
      const src = await memStore()
      await buildWorld(src)
      const report = await verifyBundle(await exportBytes(src, FF))
      const ff0 = (await entriesOf(src, FF))[0]!.entry as SessionStart
      const f0 = (await entriesOf(src, F))[0]!.entry as SessionStart
      expect(report.header!.sessions).toEqual([
        { sessionId: A, length: (await src.getEntry(f0.forkedFrom!.atHash)).seq + 1, head: f0.forkedFrom!.atHash },
        { sessionId: F, length: (await src.getEntry(ff0.forkedFrom!.atHash)).seq + 1, head: ff0.forkedFrom!.atHash },
        { sessionId: FF, length: (await entriesOf(src, FF)).length, head: await src.head(FF) },
      ])
    })

    it('a compaction is exported alone: its source is an origin_outside_bundle warning and it still imports', async () => {
      const src = await memStore()
      await buildWorld(src)
      const bundle = await exportBytes(src, C)
      const report = await verifyBundle(bundle)
      expect(report.ok).toBe(true)
      expect(report.header!.sessions.map((s) => s.sessionId)).toEqual([C])
      const c0 = (await entriesOf(src, C))[0]!
      expect(report.findings).toEqual([
        expect.objectContaining({ code: 'origin_outside_bundle', severity: 'warning', sessionId: C, seq: 0, hash: c0.hash, expected: { sessionId: B, atHash: (c0.entry as SessionStart).compactedFrom!.atHash } }),
      ])
      const dst = await memStore()
      const result = await dst.importBundle(bundle)
      expect(result.report.findings.map((f) => f.code)).toEqual(['origin_outside_bundle'])
      expect(await dst.restore(C)).toEqual(await src.restore(C))
      // The imported store verifies: the missing source of a self-contained session is a warning.
      const v = await dst.verify()
      expect(v.findings.filter((f) => f.severity === 'error')).toEqual([])
      expect(v.ok).toBe(true)
      expect(v.findings.map((f) => [f.code, f.severity, f.sessionId])).toEqual([['origin_deleted', 'warning', C]])
      // Importing the source later completes the lineage and the warning goes away.
      await dst.importBundle(await exportBytes(src, B))
      const v2 = await dst.verify()
      expect(v2.findings).toEqual([])
    })

    it('bundles and imports through file paths', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'chainlog-bundle-'))
      try {
        const src = await memStore()
        await buildWorld(src)
        const file = join(dir, 'ff.chainlog')
        const res = await src.exportSession(FF, file)
        const bytes = new Uint8Array(await readFile(file))
        expect(res.bytes).toBe(bytes.length)
        expect(res.entries).toBe(res.sessions.reduce((n, s) => n + s.length, 0))
        expect((await verifyBundle(file)).ok).toBe(true)
        const dst = await memStore()
        await dst.importBundle(file)
        expect(await dst.restore(FF)).toEqual(await src.restore(FF))
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    })

    it('an unknown session or format is refused', async () => {
      const src = await memStore()
      await expect(exportBytes(src, 'nope')).rejects.toMatchObject({ code: ErrorCodes.SESSION_NOT_FOUND })
      await src.createSession({ sessionId: A, ts: TS })
      await expect(exportBytes(src, A, 'xml' as 'jsonl')).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT })
    })
  })

  describe('the bundle layout', () => {
    it('is a CBOR sequence of byte strings: a canonical header, then each session’s records in header order, then the digest', async () => {
      const src = await memStore()
      await buildWorld(src)
      const bundle = await exportBytes(src, FF)
      const parts = items(bundle)
      const header = decodeCanonical(parts[0]!) as BundleHeader
      expect(Object.keys(header).sort()).toEqual(['createdAt', 'format', 'root', 'sessions', 'version'])
      expect(toHex(encodeCanonical(header))).toBe(toHex(parts[0]!))
      let i = 1
      for (const s of header.sessions) {
        const stored = await entriesOf(src, s.sessionId)
        for (let seq = 0; seq < s.length; seq++, i++) {
          const rec = parts[i]!
          expect(toHex(hashRecord(rec))).toBe(stored[seq]!.hash)
          const key = new Uint8Array([0x52, ...Buffer.from(s.sessionId), 0, ...Buffer.from(seq.toString(16).padStart(16, '0'), 'hex')])
          expect(toHex(rec)).toBe(toHex((await src.engine.get(key))!))
        }
      }
      // The last item is the digest of every byte before it.
      expect(parts.length).toBe(i + 1)
      const digest = parts[i]!
      expect(digest.length).toBe(32)
      const { createHash } = await import('node:crypto')
      const body = bundle.subarray(0, bundle.length - 34)
      const want = createHash('sha256').update(Buffer.from('chainlog/bundle/v1\u0000', 'latin1')).update(body).digest()
      expect(toHex(digest)).toBe(toHex(want))
    })
  })

  describe('importing again', () => {
    it('importing the same bundle twice adds nothing and leaves the store identical', async () => {
      const src = await memStore()
      await buildWorld(src)
      for (const root of [FF, C, MF]) {
        const bundle = await exportBytes(src, root)
        const dst = await memStore()
        await dst.importBundle(bundle)
        const before = await dump(dst)
        const again = await dst.importBundle(bundle)
        expect(again.entriesAdded).toBe(0)
        expect(again.sessions.every((s) => s.added === 0)).toBe(true)
        expect(await dump(dst)).toEqual(before)
        // Into the store it came from: nothing to add either.
        const srcBefore = await dump(src)
        expect((await src.importBundle(bundle)).entriesAdded).toBe(0)
        expect(await dump(src)).toEqual(srcBefore)
      }
    })

    it('importing into a store that holds a shorter copy adds only the missing entries', async () => {
      const src = await memStore()
      await src.createSession({ sessionId: A, systemPrompt: 'x', ts: TS })
      await turns(src, A, 0, 2)
      const short = await exportBytes(src, A)
      const shortLen = (await entriesOf(src, A)).length
      await turns(src, A, 2, 3)
      const long = await exportBytes(src, A)
      const longLen = (await entriesOf(src, A)).length

      const dst = await memStore()
      expect((await dst.importBundle(short)).entriesAdded).toBe(shortLen)
      const r = await dst.importBundle(long)
      expect(r.entriesAdded).toBe(longLen - shortLen)
      expect(r.sessions).toEqual([{ sessionId: A, added: longLen - shortLen }])
      // Same rows as the original, metadata (counts, updatedAt) included.
      expect(await dump(dst)).toEqual(await dump(src))
      // A shorter bundle into the longer copy: nothing to add.
      expect((await dst.importBundle(short)).entriesAdded).toBe(0)
      expect(await dump(dst)).toEqual(await dump(src))
    })

    it('a fork bundle whose sources are partly present adds only what is missing', async () => {
      const src = await memStore()
      await buildWorld(src)
      const dst = await memStore()
      await dst.importBundle(await exportBytes(src, A)) // all of A
      const r = await dst.importBundle(await exportBytes(src, FF))
      expect(r.sessions.find((s) => s.sessionId === A)?.added).toBe(0)
      expect(r.entriesAdded).toBe((await entriesOf(src, FF)).length + (await verifyBundle(await exportBytes(src, FF))).header!.sessions[1]!.length)
      expect(await dst.restore(FF)).toEqual(await src.restore(FF))
      expect((await dst.verify()).ok).toBe(true)
    })

    it('a session that diverged in the store is refused with CHAINLOG_HEAD_CONFLICT and nothing is written', async () => {
      const src = await memStore()
      await src.createSession({ sessionId: A, ts: TS })
      await turns(src, A, 0, 1)
      const short = await exportBytes(src, A)
      await turns(src, A, 1, 2)
      const long = await exportBytes(src, A)

      // The store's copy went on differently after the common prefix.
      const dst = await memStore()
      await dst.importBundle(short)
      await turns(dst, A, 1, 1, 'elsewhere')
      let before = await dump(dst)
      await expect(dst.importBundle(long)).rejects.toMatchObject({ code: ErrorCodes.HEAD_CONFLICT, data: { sessionId: A } })
      expect(await dump(dst)).toEqual(before)
      // ... and is longer than the bundle.
      await turns(dst, A, 2, 3, 'elsewhere')
      before = await dump(dst)
      await expect(dst.importBundle(long)).rejects.toMatchObject({ code: ErrorCodes.HEAD_CONFLICT })
      expect(await dump(dst)).toEqual(before)
      // A different session under the same id from the start.
      const other = await memStore()
      await other.createSession({ sessionId: A, systemPrompt: 'not the same', ts: TS })
      before = await dump(other)
      await expect(other.importBundle(short)).rejects.toMatchObject({ code: ErrorCodes.HEAD_CONFLICT })
      expect(await dump(other)).toEqual(before)
    })

    it('a conflict in one session of a bundle writes none of the others', async () => {
      const src = await memStore()
      await buildWorld(src)
      const bundle = await exportBytes(src, FF) // A, F, FF
      const dst = await memStore()
      await dst.createSession({ sessionId: F, ts: TS }) // F exists and is not the bundle's F
      const before = await dump(dst)
      await expect(dst.importBundle(bundle)).rejects.toMatchObject({ code: ErrorCodes.HEAD_CONFLICT, data: { sessionId: F } })
      expect(await dump(dst)).toEqual(before)
      await expect(dst.head(A)).rejects.toMatchObject({ code: ErrorCodes.SESSION_NOT_FOUND })
    })
  })

  describe('a damaged bundle is refused before anything is written', () => {
    /** A small bundle with two sessions (a source and a fork) and a target store with content. */
    async function setup(): Promise<{ bundle: Uint8Array; dst: Store; before: [string, string][] }> {
      const src = await memStore()
      await src.createSession({ sessionId: 'src', ts: TS })
      await src.append('src', { kind: 'user_input', item: { role: 'user', content: 'hi' }, ts: TS + 1 })
      const { hash } = await src.append('src', { kind: 'assistant_items', items: [{ type: 'message', role: 'assistant', content: 'hello' }], ts: TS + 2 })
      await src.forkAt(hash, { sessionId: 'frk', ts: TS + 3 })
      await src.appendTurnEnd('frk', 1)
      const bundle = await exportBytes(src, 'frk')
      expect((await verifyBundle(bundle)).ok).toBe(true)
      // The target already holds the first part of the source, so an import would have work to do.
      const dst = await memStore()
      const partial = await memStore()
      await partial.createSession({ sessionId: 'src', ts: TS })
      await partial.append('src', { kind: 'user_input', item: { role: 'user', content: 'hi' }, ts: TS + 1 })
      await dst.importBundle(await exportBytes(partial, 'src'))
      return { bundle, dst, before: await dump(dst) }
    }

    it('every single byte xor 0xff: verifyBundle fails and import throws CHAINLOG_INVALID_BUNDLE, store unchanged', async () => {
      const { bundle, dst, before } = await setup()
      expect(bundle.length).toBeGreaterThan(200)
      expect(bundle.length).toBeLessThan(4000)
      for (let i = 0; i < bundle.length; i++) {
        const bad = new Uint8Array(bundle)
        bad[i]! ^= 0xff
        const report = await verifyBundle(bad)
        if (report.ok) throw new Error(`byte ${i} changed and verifyBundle still passes`)
        expect(report.findings.some((f) => f.severity === 'error')).toBe(true)
        await expectInvalidBundle(dst.importBundle(bad))
        expect(await dump(dst)).toEqual(before)
      }
      // The intact bundle still imports.
      expect((await dst.importBundle(bundle)).entriesAdded).toBeGreaterThan(0)
    })

    it('cut short at every length from 0 to size-1: verifyBundle fails and import throws, store unchanged', async () => {
      const { bundle, dst, before } = await setup()
      for (let n = 0; n < bundle.length; n++) {
        const cut = bundle.slice(0, n)
        const report = await verifyBundle(cut)
        if (report.ok) throw new Error(`bundle cut at ${n} of ${bundle.length} still passes`)
        expect(report.findings.some((f) => f.code === 'bundle_malformed')).toBe(true)
        await expectInvalidBundle(dst.importBundle(cut))
        expect(await dump(dst)).toEqual(before)
      }
    })

    it('trailing bytes, a second copy appended, or a record dropped are refused', async () => {
      const { bundle, dst, before } = await setup()
      const parts = items(bundle)
      for (const bad of [
        new Uint8Array([...bundle, 0x40]),
        new Uint8Array([...bundle, ...bundle]),
        new Uint8Array([...bundle, 0x00]),
      ]) {
        expect((await verifyBundle(bad)).ok).toBe(false)
        await expectInvalidBundle(dst.importBundle(bad))
      }
      // Re-assemble the bundle without its second record (and a fresh, correct digest): the
      // header's counts and heads still catch it.
      const { createHash } = await import('node:crypto')
      const head = (b: Uint8Array) => (b.length < 24 ? [0x40 | b.length] : b.length < 256 ? [0x58, b.length] : [0x59, b.length >> 8, b.length & 0xff])
      const kept = [parts[0]!, parts[1]!, ...parts.slice(3, parts.length - 1)]
      const body = Buffer.concat(kept.map((p) => Buffer.concat([Buffer.from(head(p)), Buffer.from(p)])))
      const digest = createHash('sha256').update(Buffer.from('chainlog/bundle/v1\u0000', 'latin1')).update(body).digest()
      const dropped = new Uint8Array(Buffer.concat([body, Buffer.from([0x58, 32]), digest]))
      const r = await verifyBundle(dropped)
      expect(r.ok).toBe(false)
      expect(r.findings.some((f) => f.code === 'bundle_malformed')).toBe(true)
      await expectInvalidBundle(dst.importBundle(dropped))
      expect(await dump(dst)).toEqual(before)
    })
  })

  describe('a re-sealed bundle (edited, with a fresh digest) is still checked against its entries', () => {
    async function parts(): Promise<{ parts: Uint8Array[]; header: BundleHeader }> {
      const src = await memStore()
      await buildWorld(src)
      const ps = items(await exportBytes(src, FF)).slice(0, -1)
      // Sanity: re-sealing the untouched items gives a valid bundle.
      expect((await verifyBundle(await reseal(ps))).ok).toBe(true)
      return { parts: ps, header: decodeCanonical(ps[0]!) as BundleHeader }
    }
    const withHeader = async (ps: Uint8Array[], h: unknown) => reseal([encodeCanonical(h), ...ps.slice(1)])

    it('a header whose root is not the last session, or with fields it should not have, is malformed', async () => {
      const { parts: ps, header } = await parts()
      for (const h of [{ ...header, root: A }, { ...header, extra: 1 }, { ...header, createdAt: -1 }, { ...header, version: BUNDLE_VERSION + 1 }, { ...header, sessions: header.sessions.map((s) => ({ ...s, note: 'x' })) }]) {
        const r = await verifyBundle(await withHeader(ps, h))
        expect(r.ok).toBe(false)
        expect(r.findings.map((f) => f.code)).toContain('bundle_malformed')
      }
    })

    it('a header naming another head, length or session id is caught by the entries', async () => {
      const { parts: ps, header } = await parts()
      const s0 = header.sessions[0]!
      const cases: [BundleHeader, string][] = [
        [{ ...header, sessions: [{ ...s0, head: 'ee'.repeat(32) }, ...header.sessions.slice(1)] }, 'hash_mismatch'],
        [{ ...header, sessions: [{ ...s0, length: s0.length - 1 }, ...header.sessions.slice(1)] }, 'bundle_malformed'],
        [{ ...header, sessions: [{ ...s0, sessionId: 'someone-else' }, ...header.sessions.slice(1)] }, 'genesis_invalid'],
      ]
      for (const [h, code] of cases) {
        const r = await verifyBundle(await withHeader(ps, h))
        expect(r.ok).toBe(false)
        expect(r.findings.map((f) => f.code)).toContain(code)
      }
      // Two records swapped.
      const swapped = [...ps]
      ;[swapped[2], swapped[3]] = [swapped[3]!, swapped[2]!]
      const r = await verifyBundle(await reseal(swapped))
      expect(r.findings).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'prev_mismatch', sessionId: A, seq: 1 })]))
    })

    it('a fork whose source is missing from the bundle is origin_missing (an error: a plain fork needs it)', async () => {
      const { parts: ps, header } = await parts()
      // Drop A (the first session) from header and records: F's fork point is no longer in the bundle.
      const a = header.sessions[0]!
      const h = { ...header, sessions: header.sessions.slice(1) }
      const r = await verifyBundle(await reseal([encodeCanonical(h), ...ps.slice(1 + a.length)]))
      expect(r.ok).toBe(false)
      expect(r.findings).toEqual([expect.objectContaining({ code: 'origin_missing', severity: 'error', sessionId: F, seq: 0 })])
    })
  })

  describe('blobs in bundles', () => {
    it('many blobs (more than one read of them) travel in ascending hash order, each once, and import', async () => {
      const src = await memStore()
      await src.createSession({ sessionId: A, ts: TS })
      const outputs = Array.from({ length: 40 }, (_, i) => `output ${i}\n`.repeat(600))
      for (let i = 0; i < outputs.length; i++) {
        await src.appendTurn(A, [{ type: 'function_call', call_id: `c${i}`, name: 'cat', arguments: '{}' }, { type: 'function_call_output', call_id: `c${i}`, output: outputs[i] }], { ts: TS + 1 + i })
      }
      // Repeat one output: a blob referenced twice is carried once.
      await src.appendTurn(A, [{ type: 'function_call_output', call_id: 'c0', output: outputs[0] }], { ts: TS + 100 })
      const bundle = await exportBytes(src, A)
      const report = await verifyBundle(bundle)
      expect(report.ok).toBe(true)
      expect(report.header!.blobs).toBe(40)
      const parts = items(bundle)
      const blobHashes = parts.slice(parts.length - 41, -1).map((p) => toHex(p.subarray(0, 32)))
      expect(blobHashes).toEqual([...blobHashes].sort())
      expect(new Set(blobHashes).size).toBe(40)
      const dst = await memStore()
      await dst.importBundle(bundle)
      expect(await dst.restore(A)).toEqual(await src.restore(A))
    })

    it('a referenced blob travels in the bundle, imports, restores, and any changed byte is found', async () => {
      const src = await memStore()
      await src.createSession({ sessionId: A, ts: TS })
      const big = 'line of a long tool output\n'.repeat(250)
      await src.appendTurn(A, [{ role: 'user', content: 'cat big.txt' }, { type: 'function_call', call_id: 'c1', name: 'cat', arguments: '{}' }, { type: 'function_call_output', call_id: 'c1', output: big }], { ts: TS + 1 })
      const bundle = await exportBytes(src, A)
      const report = await verifyBundle(bundle)
      expect(report.ok).toBe(true)
      expect(report.header!.blobs).toBe(1)
      const dst = await memStore()
      await dst.importBundle(bundle)
      expect(await dst.restore(A)).toEqual(await src.restore(A))
      expect(((await dst.restore(A)).history[2] as { output: string }).output).toBe(big)
      expect((await dst.verify()).ok).toBe(true)
      const before = await dump(dst)
      // Every byte outside the blob's content, and every 7th byte inside it.
      const parts = items(bundle)
      const blobItem = parts[parts.length - 2]!
      const blobStart = blobItem.byteOffset - bundle.byteOffset + 32
      const blobEnd = blobStart + blobItem.length - 32
      const empty = await memStore()
      for (let i = 0; i < bundle.length; i++) {
        if (i >= blobStart && i < blobEnd && (i - blobStart) % 7 !== 0) continue
        const bad = new Uint8Array(bundle)
        bad[i]! ^= 0xff
        if ((await verifyBundle(bad)).ok) throw new Error(`byte ${i} changed and verifyBundle still passes`)
        await expectInvalidBundle(empty.importBundle(bad))
      }
      expect(await dump(empty)).toEqual(await dump(await memStore()))
      expect(await dump(dst)).toEqual(before)
    })
  })

  describe('findings after an unreadable record still name the right entry', () => {
    it('a missing blob is reported at the seq and hash of the entry that references it', async () => {
      const src = await memStore()
      await src.createSession({ sessionId: A, ts: TS })
      const big = 'line of a long tool output\n'.repeat(250)
      await src.appendTurn(A, [{ role: 'user', content: 'cat big.txt' }, { type: 'function_call', call_id: 'c1', name: 'cat', arguments: '{}' }, { type: 'function_call_output', call_id: 'c1', output: big }], { ts: TS + 1 })
      const entries = []
      for await (const e of src.entries(A, { resolveBlobs: false })) entries.push(e)
      const withRef = entries.find((e) => e.entry.kind === 'tool_results')!
      expect(withRef.seq).toBe(3)
      const ps = items(await exportBytes(src, A)).slice(0, -1)
      // Record of seq 1 (item 2) made unreadable; the blob (last item) damaged.
      const unreadable = new Uint8Array(ps[2]!.length).fill(0xff)
      unreadable.set(ps[2]!.subarray(0, 32))
      const blob = new Uint8Array(ps[ps.length - 1]!)
      blob[blob.length - 1]! ^= 0xff
      const r = await verifyBundle(await reseal([...ps.slice(0, 2), unreadable, ...ps.slice(3, -1), blob]))
      expect(r.ok).toBe(false)
      expect(r.findings).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'non_canonical', sessionId: A, seq: 1 })]))
      const refFinding = r.findings.find((f) => f.code === 'blob_invalid' && f.sessionId === A)
      expect(refFinding).toEqual(expect.objectContaining({ seq: 3, hash: withRef.hash }))
    })
  })

  describe('JSONL export', () => {
    it('has a header line and one parseable line per entry with hash, prev, seq and entry', async () => {
      const src = await memStore()
      await buildWorld(src)
      const text = Buffer.from(await exportBytes(src, FF, 'jsonl')).toString('utf8')
      expect(text.endsWith('\n')).toBe(true)
      const lines = text.slice(0, -1).split('\n')
      const header = JSON.parse(lines[0]!)
      expect(header).toMatchObject({ format: 'chainlog-jsonl', version: BUNDLE_VERSION, root: FF })
      const sessions = header.sessions as { sessionId: string; length: number; head: string }[]
      expect(sessions.map((s) => s.sessionId)).toEqual([A, F, FF])
      expect(lines.length - 1).toBe(sessions.reduce((n, s) => n + s.length, 0))
      let i = 1
      for (const s of sessions) {
        const stored = (await entriesOf(src, s.sessionId)).slice(0, s.length)
        for (const e of stored) {
          const line = JSON.parse(lines[i++]!)
          expect(Object.keys(line).sort()).toEqual(['entry', 'hash', 'prev', 'seq', 'sessionId'])
          expect(line).toEqual({ sessionId: s.sessionId, seq: e.seq, hash: e.hash, prev: e.prev, entry: e.entry })
          // The line carries what is needed to recompute the hash (for JSON-safe entries): JSON
          // keeps the entry's key order, and format 2 hashes that order behind its 82 02 prefix.
          const rec = new Uint8Array([...fromHex(line.prev), 0x82, 0x02, ...encodeCanonical(line.entry)])
          expect(toHex(hashRecord(rec))).toBe(line.hash)
        }
        expect(stored[stored.length - 1]!.hash).toBe(s.head)
      }
    })
  })
})
