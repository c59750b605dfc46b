// The bundle rules docs/verification.md states for an independent verifier (issue 18, items 13
// and 15): what `checked.bytes` counts (the same as store verification), which bytes the digest
// covers, blob items in strictly ascending hash order (so each once), a blob item shorter than
// its hash, and a malformed `$blob` map. A bundle that breaks one is refused on import with
// nothing written.
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { verifyBundle, type BundleHeader } from '../../src/bundle/bundle.js'
import { decodeCanonical, encodeCanonical } from '../../src/encoding/cbor.js'
import { sealEntry } from '../../src/encoding/entry-codec.js'
import { fromHex, hashRecord, toHex } from '../../src/encoding/hash.js'
import { ChainlogError, ErrorCodes } from '../../src/errors.js'
import type { Store } from '../../src/store.js'
import { BUNDLE_DIGEST_DOMAIN, exportToMemory, items, reseal } from '../support/bundle-bytes.js'
import { dump } from '../support/rows.js'
import { eachEngine } from '../support/engines.js'

const TS = 1_700_000_000_000
const S = 'sess-blobs'

eachEngine((_engine, memStore) => {

  /** A session with two tool outputs large enough to be blobs, and its bundle split into items. */
  async function withBlobs(): Promise<{ store: Store; bundle: Uint8Array; parts: Uint8Array[]; header: BundleHeader; entryCount: number }> {
    const store = await memStore()
    await store.createSession({ sessionId: S, ts: TS })
    for (let i = 0; i < 2; i++) {
      await store.appendTurn(S, [{ type: 'function_call', call_id: `c${i}`, name: 'cat', arguments: '{}' }, { type: 'function_call_output', call_id: `c${i}`, output: `output ${i}\n`.repeat(800) }], { ts: TS + 1 + i })
    }
    const { bytes } = await exportToMemory(store, S)
    const parts = items(bytes)
    const header = decodeCanonical(parts[0]!, 1) as BundleHeader
    expect(header.blobs).toBe(2)
    return { store, bundle: bytes, parts, header, entryCount: header.sessions.reduce((n, s) => n + s.length, 0) }
  }

  const headerItem = (h: BundleHeader): Uint8Array => encodeCanonical(h, 1)

  async function expectRefused(bundle: Uint8Array): Promise<void> {
    const empty = await memStore()
    const before = await dump(empty)
    const err = await empty.importBundle(bundle).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(ChainlogError)
    expect((err as ChainlogError).code).toBe(ErrorCodes.INVALID_BUNDLE)
    expect(await dump(empty)).toEqual(before)
  }

  describe('checked.bytes (item 13)', () => {
    it('counts the bytes of the entry records, in a bundle as in a store: blob content is not counted', async () => {
      const { store, bundle, parts, entryCount } = await withBlobs()
      const recordBytes = parts.slice(1, 1 + entryCount).reduce((n, r) => n + r.length, 0)
      const blobBytes = parts.slice(1 + entryCount, -1).reduce((n, b) => n + b.length - 32, 0)
      expect(blobBytes).toBeGreaterThan(10_000)
      const fromBundle = await verifyBundle(bundle)
      const fromStore = await store.verify({ sessionId: S })
      expect(fromBundle.ok && fromStore.ok).toBe(true)
      expect(fromStore.checked).toEqual({ sessions: 1, entries: entryCount, bytes: recordBytes })
      expect(fromBundle.checked).toEqual(fromStore.checked)
      // The whole-store walk counts the same.
      expect((await store.verify()).checked.bytes).toBe(recordBytes)
    })
  })

  describe('the digest (item 15)', () => {
    it('covers every byte from the start up to, not including, the digest item’s head 58 20', async () => {
      const { bundle } = await withBlobs()
      const head = bundle.subarray(bundle.length - 34, bundle.length - 32)
      expect(toHex(head)).toBe('5820')
      const want = createHash('sha256').update(BUNDLE_DIGEST_DOMAIN).update(bundle.subarray(0, bundle.length - 34)).digest()
      expect(toHex(bundle.subarray(bundle.length - 32))).toBe(want.toString('hex'))
      // A digest that also covers its own head is not the digest.
      const wrong = new Uint8Array(bundle)
      wrong.set(createHash('sha256').update(BUNDLE_DIGEST_DOMAIN).update(bundle.subarray(0, bundle.length - 32)).digest(), bundle.length - 32)
      const r = await verifyBundle(wrong)
      expect(r.findings.map((f) => f.code)).toEqual(['bundle_malformed'])
    })
  })

  describe('blob items (item 15)', () => {
    it('out of ascending hash order: bundle_malformed, and import writes nothing', async () => {
      const { parts, entryCount } = await withBlobs()
      const blobs = parts.slice(1 + entryCount, -1)
      const swapped = reseal([...parts.slice(0, 1 + entryCount), blobs[1]!, blobs[0]!])
      const r = await verifyBundle(swapped)
      expect(r.ok).toBe(false)
      expect(r.findings).toEqual([expect.objectContaining({ code: 'bundle_malformed', actual: toHex(blobs[0]!.subarray(0, 32)), expected: `a hash above ${toHex(blobs[1]!.subarray(0, 32))}` })])
      await expectRefused(swapped)
    })

    it('a blob carried twice (the header counting both): bundle_malformed, and import writes nothing', async () => {
      const { parts, header, entryCount } = await withBlobs()
      const blobs = parts.slice(1 + entryCount, -1)
      const twice = reseal([headerItem({ ...header, blobs: 3 }), ...parts.slice(1, 1 + entryCount), blobs[0]!, blobs[0]!, blobs[1]!])
      const r = await verifyBundle(twice)
      expect(r.ok).toBe(false)
      expect(r.findings).toEqual([expect.objectContaining({ code: 'bundle_malformed', actual: toHex(blobs[0]!.subarray(0, 32)) })])
      expect(r.findings[0]!.message).toContain('twice')
      await expectRefused(twice)
    })

    it('an item shorter than the 32-byte hash it starts with: bundle_malformed, with its length', async () => {
      const { parts, entryCount } = await withBlobs()
      const blobs = parts.slice(1 + entryCount, -1)
      const short = reseal([...parts.slice(0, 1 + entryCount), blobs[0]!.subarray(0, 31), blobs[1]!])
      const r = await verifyBundle(short)
      expect(r.findings).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'bundle_malformed', expected: 32, actual: 31 })]))
      await expectRefused(short)
    })
  })

  describe('a malformed $blob map (item 15)', () => {
    it('is blob_invalid at the entry, with the map’s path; import writes nothing', async () => {
      const { parts, header, entryCount } = await withBlobs()
      const s = header.sessions[0]!
      const bad = sealEntry(fromHex(s.head), {
        kind: 'tool_results',
        ts: TS + 10,
        items: [{ type: 'function_call_output', call_id: 'c9', output: { $blob: 'sha256:not-a-hash', size: 3, mediaType: 'text/plain' } }],
      })
      expect(toHex(hashRecord(bad.record))).toBe(toHex(bad.hash))
      const edited = reseal([
        headerItem({ ...header, sessions: [{ ...s, length: s.length + 1, head: toHex(bad.hash) }] }),
        ...parts.slice(1, 1 + entryCount),
        bad.record,
        ...parts.slice(1 + entryCount, -1),
      ])
      const r = await verifyBundle(edited)
      expect(r.ok).toBe(false)
      expect(r.findings).toEqual([
        expect.objectContaining({ code: 'blob_invalid', severity: 'error', sessionId: S, seq: s.length, hash: toHex(bad.hash), actual: { malformedReference: 'items[0].output' } }),
      ])
      await expectRefused(edited)
    })
  })
})
