// Blob tampering: change a stored blob behind the API's back (a flipped content byte in a raw
// blob, a corrupted brotli stream, a deleted row) and check that verify reports blob_invalid at
// every entry that references it, that restore refuses with CHAINLOG_CORRUPT_STORE, and that
// everything else stays readable. Bundles carry blobs; an altered blob item is refused on import.
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { collectRefs, refHash } from '../../src/blobs/blobs.js'
import { verifyBundle, type BundleHeader } from '../../src/bundle/bundle.js'
import { decodeCanonical, decodeCbor, encodeCanonical } from '../../src/encoding/cbor.js'
import { fromHex } from '../../src/encoding/hash.js'
import { sealEntry } from '../../src/encoding/entry-codec.js'
import { ChainlogError, ErrorCodes } from '../../src/errors.js'
import * as K from '../../src/storage/keys.js'
import type { Store } from '../../src/store.js'
import type { Finding } from '../../src/verify/findings.js'
import { BUNDLE_DIGEST_DOMAIN, exportBytes, items, joinItems, reseal } from '../support/bundle-bytes.js'
import { rejects } from '../support/errors.js'
import { prng, randomBytes } from '../support/random.js'
import { blobRows, dump, writeRows } from '../support/rows.js'
import { entriesOf } from '../support/stores.js'
import { eachEngine } from '../support/engines.js'

const TS = 1_700_000_000_000

eachEngine((_engine, openStore) => {
  // The tampering below needs a brotli blob: the 'balanced' profile compresses the large text
  // (a store directory's default, 'low-latency', stores blobs raw).
  const memStore = (options: Parameters<typeof openStore>[0] = {}) => openStore({ blobs: { profile: 'balanced' }, ...options })

  const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex')
  const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

  function logText(bytes: number, seed: number): string {
    const r = prng(seed)
    let s = ''
    for (let i = 0; s.length < bytes; i++) s += `${i} GET /api/items/${Math.floor(r() * 1000)} 200 ${Math.floor(r() * 90)}ms\n`
    return s.slice(0, bytes)
  }

  /** Compressible text: stored with codec br under the default profile. */
  const TEXT = logText(60_000, 1)
  /** Random bytes: stored with codec raw under every profile. */
  const BYTES = randomBytes(30_000, 2)
  /** Used by one session only. */
  const OTHER = logText(20_000, 3)

  const call = (id: string) => ({ type: 'function_call', call_id: id, name: 'read', arguments: '{}' })
  const result = (id: string, output: unknown) => ({ type: 'function_call_output', call_id: id, output })

  interface World {
    /** Every (sessionId, seq, hash) of an entry referencing each blob. */
    refsTo: Map<string, { sessionId: string; seq: number; hash: string }[]>
  }

  /** 'a' references TEXT twice and BYTES once; 'b' references TEXT and OTHER; 'fork' forks 'a' and references BYTES; 'plain' has no blobs. */
  async function buildWorld(store: Store): Promise<World> {
    await store.createSession({ sessionId: 'a', ts: TS })
    await store.appendTurn('a', [{ role: 'user', content: 'read both' }, call('t'), result('t', TEXT)], { ts: TS + 1, turnEnd: true })
    await store.appendTurn('a', [call('b'), result('b', { image: BYTES })], { ts: TS + 2, turnEnd: true })
    await store.appendTurn('a', [call('t2'), result('t2', TEXT)], { ts: TS + 3, turnEnd: true })
    await store.createSession({ sessionId: 'b', history: [{ role: 'user', content: TEXT }], ts: TS })
    await store.appendTurn('b', [call('o'), result('o', OTHER)], { ts: TS + 4 })
    const a = await entriesOf(store, 'a', false)
    await store.forkAt(a[4]!.hash, { sessionId: 'fork', ts: TS + 5 })
    await store.appendTurn('fork', [call('fb'), result('fb', BYTES)], { ts: TS + 6 })
    await store.createSession({ sessionId: 'plain', ts: TS })
    await store.appendTurn('plain', [{ role: 'user', content: 'no blobs here' }], { ts: TS + 7 })
    const refsTo = new Map<string, { sessionId: string; seq: number; hash: string }[]>()
    for (const id of ['a', 'b', 'fork', 'plain']) {
      for (const e of await entriesOf(store, id, false)) {
        for (const r of new Set(collectRefs(e.entry).map(refHash))) {
          const list = refsTo.get(r) ?? []
          list.push({ sessionId: id, seq: e.seq, hash: e.hash })
          refsTo.set(r, list)
        }
      }
    }
    return { refsTo }
  }

  const blobKey = (content: Uint8Array | string) => K.blobKey(fromHex(sha(content)))

  async function getBlobRow(store: Store, content: Uint8Array | string): Promise<{ codec: string; size: number; data: Uint8Array }> {
    const raw = await store.engine.get(blobKey(content))
    expect(raw).toBeDefined()
    return decodeCbor(raw!) as { codec: string; size: number; data: Uint8Array }
  }

  async function putBlobRow(store: Store, content: Uint8Array | string, row: { codec: string; size: number; data: Uint8Array }): Promise<void> {
    await writeRows(store, [{ type: 'put', key: blobKey(content), value: encodeCanonical({ codec: row.codec, size: row.size, data: new Uint8Array(row.data) }) }])
    store.forgetBlobs()
  }

  function blobFindings(findings: Finding[]): { sessionId?: string; seq?: number; hash?: string; expected?: unknown; actual?: unknown }[] {
    return findings
      .filter((f) => f.code === 'blob_invalid')
      .map(({ sessionId, seq, hash, expected, actual }) => ({ sessionId, seq, hash, expected, actual }))
      .sort((x, y) => `${x.sessionId}#${String(x.seq).padStart(4, '0')}`.localeCompare(`${y.sessionId}#${String(y.seq).padStart(4, '0')}`))
  }

  const where = (w: World, content: Uint8Array | string) => w.refsTo.get(sha(content))!

  describe('blob tampering in a store', () => {
    it('a clean store with blobs verifies ok, store-wide and per session', async () => {
      const store = await memStore()
      const w = await buildWorld(store)
      expect(w.refsTo.get(sha(TEXT))!.map((x) => x.sessionId)).toEqual(['a', 'a', 'b'])
      expect(w.refsTo.get(sha(BYTES))!.map((x) => x.sessionId)).toEqual(['a', 'fork'])
      const report = await store.verify()
      expect(report.findings).toEqual([])
      expect(report.ok).toBe(true)
      for (const id of ['a', 'b', 'fork', 'plain']) expect((await store.verify({ sessionId: id, lineage: true })).ok).toBe(true)
      // The tampering below needs both codecs.
      expect((await getBlobRow(store, TEXT)).codec).toBe('br')
      expect((await getBlobRow(store, BYTES)).codec).toBe('raw')
    })

    it('a flipped content byte in a raw blob is blob_invalid at every entry that references it', async () => {
      const store = await memStore()
      const w = await buildWorld(store)
      const row = await getBlobRow(store, BYTES)
      const data = new Uint8Array(row.data)
      data[1234] = data[1234]! ^ 0x01
      await putBlobRow(store, BYTES, { ...row, data })
      // It still decodes: the change is only found by hashing.
      const report = await store.verify()
      expect(report.ok).toBe(false)
      const expected = where(w, BYTES).map((x) => ({ ...x, expected: sha(BYTES), actual: `hashes to ${sha(data)}` }))
      expect(blobFindings(report.findings)).toEqual(expected)
      expect(report.findings.every((f) => f.code === 'blob_invalid')).toBe(true)
      // Restoring a session that needs it fails; the fork needs it through its source too.
      await rejects(store.restore('a'), ErrorCodes.CORRUPT_STORE)
      await rejects(store.restore('fork'), ErrorCodes.CORRUPT_STORE)
      await rejects(store.readBlob(sha(BYTES)), ErrorCodes.CORRUPT_STORE)
      // Sessions that do not reference it are untouched.
      expect((await store.restore('b')).history[0]).toEqual({ role: 'user', content: TEXT })
      expect((await store.verify({ sessionId: 'b' })).ok).toBe(true)
      expect((await store.verify({ sessionId: 'plain' })).ok).toBe(true)
      // References can still be read without content: all of 'a' (genesis + turns of 4, 3 and 3 entries).
      const a = await entriesOf(store, 'a', false)
      expect(a).toHaveLength(11)
      // Restore at an entry before the first reference to the bad blob still works.
      expect((await store.restore('a', { at: a[5]!.hash })).history).toHaveLength(4)
    })

    it('a corrupted brotli stream is blob_invalid at every entry that references it', async () => {
      for (const how of ['flip', 'truncate'] as const) {
        const store = await memStore()
        const w = await buildWorld(store)
        const row = await getBlobRow(store, TEXT)
        expect(row.codec).toBe('br')
        let data = new Uint8Array(row.data)
        if (how === 'flip') data[Math.floor(data.length / 2)] = data[Math.floor(data.length / 2)]! ^ 0x10
        else data = data.subarray(0, data.length - 20)
        await putBlobRow(store, TEXT, { ...row, data })
        const report = await store.verify()
        expect(report.ok, how).toBe(false)
        const found = blobFindings(report.findings)
        expect(found.map(({ sessionId, seq, hash, expected }) => ({ sessionId, seq, hash, expected }))).toEqual(where(w, TEXT).map((x) => ({ ...x, expected: sha(TEXT) })))
        for (const f of found) expect(String(f.actual)).toMatch(/^(cannot be read|hashes to)/)
        await rejects(store.restore('a'), ErrorCodes.CORRUPT_STORE)
        await rejects(store.restore('b'), ErrorCodes.CORRUPT_STORE)
        // 'fork' forked 'a' at seq 4, after its first TEXT reference.
        await rejects(store.restore('fork'), ErrorCodes.CORRUPT_STORE)
        expect((await store.restore('plain')).history).toEqual([{ role: 'user', content: 'no blobs here' }])
      }
    })

    it('a deleted blob row is blob_invalid "missing" at every entry that references it', async () => {
      const store = await memStore()
      const w = await buildWorld(store)
      await writeRows(store, [{ type: 'del', key: blobKey(OTHER) }])
      store.forgetBlobs()
      const report = await store.verify()
      expect(report.ok).toBe(false)
      expect(blobFindings(report.findings)).toEqual(where(w, OTHER).map((x) => ({ ...x, expected: sha(OTHER), actual: 'missing' })))
      expect(report.findings[0]!.message).toContain('missing')
      const err = await rejects(store.restore('b'), ErrorCodes.CORRUPT_STORE)
      expect(err.data.blob).toBe(sha(OTHER))
      expect((await store.restore('a')).history).toHaveLength(7)
      expect((await store.verify({ sessionId: 'a' })).ok).toBe(true)
      // An append of the same content writes the blob again (the store does not trust a stale cache).
      await store.appendTurn('plain', [call('x'), result('x', OTHER)], { ts: TS + 9 })
      expect((await store.verify()).ok).toBe(true)
      expect((await store.restore('b')).history[2]).toEqual(result('o', OTHER))
    })

    it('an append whose reference gives the wrong size is refused and writes nothing', async () => {
      const store = await memStore()
      await store.createSession({ sessionId: 's', ts: TS })
      await store.appendTurn('s', [call('c'), result('c', TEXT)], { ts: TS + 1 })
      const good = (((await entriesOf(store, 's', false))[2]!.entry as { items: { output: unknown }[] }).items[0]!.output) as { $blob: string; size: number; mediaType: string }
      const before = await store.head('s')
      const err = await store.appendTurn('s', [{ role: 'user', content: { ...good, size: good.size - 1 } }], { ts: TS + 2 }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ChainlogError)
      expect((err as ChainlogError).code).toBe(ErrorCodes.INVALID_ENTRY)
      expect((err as ChainlogError).data.path).toBe('item.content')
      expect(await store.head('s')).toBe(before)
      // The same reference with the right size is accepted.
      await store.appendTurn('s', [{ role: 'user', content: good }], { ts: TS + 3 })
    })

    it('checks the size of every reference, whatever order references come in', async () => {
      // A reference with the right hash but a wrong size (written past the API, which refuses it),
      // after a correct one and before one.
      for (const order of ['good-first', 'bad-first'] as const) {
        const store = await memStore()
        await store.createSession({ sessionId: 's', ts: TS })
        await store.appendTurn('s', [call('c'), result('c', TEXT)], { ts: TS + 1 })
        const good = (((await entriesOf(store, 's', false))[2]!.entry as { items: { output: unknown }[] }).items[0]!.output) as { $blob: string; size: number; mediaType: string }
        const bad = { ...good, size: good.size - 1 }
        await store.createSession({ sessionId: 't', ts: TS })
        const first = order === 'good-first' ? good : bad
        const second = order === 'good-first' ? bad : good
        await appendPastApi(store, 't', { kind: 'user_input', ts: TS + 2, item: { role: 'user', content: first } })
        await appendPastApi(store, 't', { kind: 'user_input', ts: TS + 3, item: { role: 'user', content: second } })
        const t = await entriesOf(store, 't', false)
        const badSeq = order === 'good-first' ? 2 : 1
        const report = await store.verify()
        expect(blobFindings(report.findings), order).toEqual([
          { sessionId: 't', seq: badSeq, hash: t[badSeq]!.hash, expected: sha(TEXT), actual: `has ${good.size} bytes, the reference says ${bad.size}` },
        ])
      }
    })
  })

  describe('a malformed $blob map in a stored entry', () => {
    it('is blob_invalid at the entry, with the map’s path, on every verify path (issue 18, item 15)', async () => {
      const store = await memStore()
      await store.createSession({ sessionId: 't', ts: TS })
      await store.appendTurn('t', [call('c'), result('c', TEXT)], { ts: TS + 1 })
      const good = (((await entriesOf(store, 't', false))[2]!.entry as { items: { output: unknown }[] }).items[0]!.output) as Record<string, unknown>
      // Written past the API (which refuses each with CHAINLOG_INVALID_ENTRY): an extra key, a
      // hash that is not 64 hex digits, no mediaType, and, nested in a good reference's sibling, a bare $blob.
      const malformed = [
        { ...good, note: 'x' },
        { ...good, $blob: 'sha256:1234' },
        { $blob: good.$blob, size: good.size },
      ]
      for (const [i, m] of malformed.entries()) await appendPastApi(store, 't', { kind: 'user_input', ts: TS + 2 + i, item: { role: 'user', content: [m] } })
      await appendPastApi(store, 't', { kind: 'custom', ts: TS + 9, namespace: 'x', type: 'y', data: { ok: good, deeper: [{ $blob: 1 }] } })
      const t = await entriesOf(store, 't', false)
      const want = [
        ...malformed.map((_, i) => ({ sessionId: 't', seq: 3 + i, hash: t[3 + i]!.hash, expected: null, actual: { malformedReference: 'item.content[0]' } })),
        { sessionId: 't', seq: 6, hash: t[6]!.hash, expected: null, actual: { malformedReference: 'data.deeper[0]' } },
      ]
      for (const options of [{}, { threads: 0 }, { sessionId: 't' }]) {
        const report = await store.verify(options)
        expect(blobFindings(report.findings), JSON.stringify(options)).toEqual(want)
        expect(report.ok).toBe(false)
      }
      // The good reference in the custom entry is still checked, and sound.
      expect(blobFindings((await store.verify()).findings).filter((f) => f.expected !== null)).toEqual([])
    })
  })

  /** Append an entry by writing its rows directly, as a tool that bypasses the checks would. */
  async function appendPastApi(store: Store, sessionId: string, entry: Record<string, unknown>): Promise<void> {
    const row = (await store.engine.get(K.headKey(sessionId)))!
    const head = K.parseHeadValue(row)
    const { record, hash } = sealEntry(new Uint8Array(head.hash), entry)
    const seq = head.seq + 1
    await store.engine.commit({ ops: [...K.entryRows(sessionId, seq, hash, record), { type: 'put', key: K.headKey(sessionId), value: K.withHead(row, hash, seq) }] })
    store.invalidate(sessionId)
  }

  // ---- bundles -----------------------------------------------------------------------------------

  interface Parts {
    header: BundleHeader
    headerBytes: Uint8Array
    entries: Uint8Array[]
    blobs: Uint8Array[]
    /** Whether the bundle ends with a digest item. */
    digest: boolean
  }

  /** A bundle's parts: header, entry records, blob items, and whether a digest item follows. */
  function split(bundle: Uint8Array): Parts {
    const parts = items(bundle)
    const header = decodeCanonical(parts[0]!) as BundleHeader
    const entryCount = header.sessions.reduce((n, s) => n + s.length, 0)
    const blobCount = header.blobs ?? 0
    const rest = parts.length - 1 - entryCount - blobCount
    expect([0, 1]).toContain(rest)
    const out: Parts = {
      header,
      headerBytes: parts[0]!,
      entries: parts.slice(1, 1 + entryCount),
      blobs: parts.slice(1 + entryCount, 1 + entryCount + blobCount),
      digest: rest === 1,
    }
    if (out.digest) {
      // Our own digest of the untouched bundle matches the one it carries, so rebuilt bundles are sound.
      const body = joinItems([out.headerBytes, ...out.entries, ...out.blobs])
      expect(hex(parts[parts.length - 1]!)).toBe(createHash('sha256').update(BUNDLE_DIGEST_DOMAIN).update(body).digest('hex'))
    }
    return out
  }

  /** Rebuild a bundle from (changed) parts, with a correct digest if the format has one. */
  function build(p: Parts): Uint8Array {
    const body = [p.headerBytes, ...p.entries, ...p.blobs]
    return p.digest ? reseal(body) : joinItems(body)
  }

  describe('bundles with blobs', () => {
    it('export carries each blob once; the bundle verifies; import restores identically and verifies', async () => {
      const src = await memStore()
      await buildWorld(src)
      const bundle = await exportBytes(src, 'fork')
      const report = await verifyBundle(bundle)
      expect(report.findings).toEqual([])
      expect(report.ok).toBe(true)
      const header = report.header as BundleHeader
      // 'fork' needs 'a' up to the fork point: TEXT and BYTES are referenced there and in the fork.
      expect(header.sessions.map((s) => s.sessionId)).toEqual(['a', 'fork'])
      expect(header.blobs).toBe(2)
      const parts = split(bundle)
      const entryCount = parts.entries.length
      expect(entryCount).toBe(header.sessions.reduce((n, s) => n + s.length, 0))
      expect(parts.blobs).toHaveLength(2)
      const byHash = new Map(parts.blobs.map((b) => [hex(b.subarray(0, 32)), b.subarray(32)]))
      expect(Buffer.from(byHash.get(sha(TEXT))!).toString('utf8')).toBe(TEXT)
      expect(hex(byHash.get(sha(BYTES))!)).toBe(hex(BYTES))
      // Rebuilt unchanged, it is the same bundle.
      expect(hex(build(parts))).toBe(hex(bundle))

      const dst = await memStore({ blobs: { profile: 'low-latency' } })
      const imported = await dst.importBundle(bundle)
      expect(imported.entriesAdded).toBe(entryCount)
      expect(await dst.restore('fork')).toEqual(await src.restore('fork'))
      expect(await dst.restore('a', { at: header.sessions[0]!.head })).toEqual(await src.restore('a', { at: header.sessions[0]!.head }))
      expect(await entriesOf(dst, 'fork', false)).toEqual(await entriesOf(src, 'fork', false))
      const v = await dst.verify()
      expect(v.findings).toEqual([])
      expect(v.ok).toBe(true)
      // Stored with the importing store's profile.
      expect((await getBlobRow(dst, TEXT)).codec).toBe('raw')
      // A bundle of a session without blobs has no blob count.
      expect((await verifyBundle(await exportBytes(src, 'plain'))).header!.blobs).toBeUndefined()
    })

    it('import into a store that has the blobs already adds no second copy', async () => {
      const src = await memStore()
      await buildWorld(src)
      const dst = await memStore()
      await dst.createSession({ sessionId: 'mine', ts: TS })
      await dst.appendTurn('mine', [call('m'), result('m', TEXT)], { ts: TS + 1 })
      await dst.importBundle(await exportBytes(src, 'b'))
      expect((await blobRows(dst)).size).toBe(2) // TEXT (shared) and OTHER
      expect(await dst.restore('b')).toEqual(await src.restore('b'))
      expect((await dst.verify()).ok).toBe(true)
    })

    it('a bundle whose blob item is altered fails with blob_invalid and import is refused, store unchanged', async () => {
      const src = await memStore()
      await buildWorld(src)
      const bundle = await exportBytes(src, 'fork')
      const parts = split(bundle)

      const dst = await memStore()
      await dst.createSession({ sessionId: 'existing', ts: TS })
      await dst.appendTurn('existing', [{ role: 'user', content: 'hi' }], { ts: TS + 1 })
      const rows = await dump(dst)

      const withBlob = (i: number, item: Uint8Array): Parts => ({ ...parts, blobs: parts.blobs.map((b, j) => (j === i ? item : b)) })
      const flipped = new Uint8Array(parts.blobs[0]!)
      flipped[132] = flipped[132]! ^ 0x01
      const other = new Uint8Array(Buffer.from('not the blob the entries reference'))
      const otherItem = new Uint8Array(32 + other.length)
      otherItem.set(fromHex(sha(other)), 0)
      otherItem.set(other, 32)
      const header1 = { ...parts.header, blobs: 1 }
      const variants: [string, Uint8Array][] = [
        // One content byte changed: the item no longer hashes to the hash it starts with.
        ['content byte', build(withBlob(0, flipped))],
        // The content replaced by another blob (consistent with its own hash): a reference goes unmet.
        ['other blob', build(withBlob(0, otherItem))],
        // The content cut short.
        ['cut short', build(withBlob(1, parts.blobs[1]!.subarray(0, parts.blobs[1]!.length - 1)))],
        // A blob item left out, with a header that no longer counts it.
        ['left out', build({ ...parts, header: header1, headerBytes: encodeCanonical(header1), blobs: parts.blobs.slice(1) })],
      ]
      for (const [what, bad] of variants) {
        const report = await verifyBundle(bad)
        expect(report.ok, what).toBe(false)
        // Only blob findings: the rest of the bundle is intact.
        expect(report.findings.filter((f) => f.severity === 'error').map((f) => f.code), what).toEqual(expect.arrayContaining(['blob_invalid']))
        expect(report.findings.filter((f) => f.severity === 'error' && f.code !== 'blob_invalid'), what).toEqual([])
        // The entries that reference the unmet blob are named.
        const located = report.findings.filter((f) => f.code === 'blob_invalid' && f.sessionId !== undefined)
        expect(located.length, what).toBeGreaterThan(0)
        for (const f of located) expect(typeof f.seq === 'number' && typeof f.hash === 'string', what).toBe(true)
        const err = await rejects(dst.importBundle(bad), ErrorCodes.INVALID_BUNDLE)
        expect((err.data.findings as Finding[]).some((f) => f.code === 'blob_invalid'), what).toBe(true)
        expect(await dump(dst), what).toEqual(rows)
      }
      // The untouched bundle still imports.
      await dst.importBundle(bundle)
      expect(await dst.restore('fork')).toEqual(await src.restore('fork'))
    })
  })
})
