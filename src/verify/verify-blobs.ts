// The blob check verify runs on every entry: each referenced blob exists, can be read, hashes to
// its key, and has the size the reference records. The stored content of each blob is checked
// once per run; the size is checked for every reference, since references to one blob may
// disagree about it.
import { collectRefs, mayHaveRefs, refHash, unpackBlob } from '../blobs/blobs.js'
import { fromHex, sha256, toHex } from '../encoding/hash.js'
import * as K from '../storage/keys.js'
import type { SessionStore } from '../storage/session-store.js'
import type { EntryCheck } from './verify-store.js'

export function checkBlobs(store: SessionStore): EntryCheck {
  /** Blobs whose stored content is sound, with their content length. */
  const good = new Map<string, number>()
  /** Blobs whose stored content is missing or unsound, with the problem. */
  const bad = new Map<string, string>()
  /** Stored forms read ahead for the chunk being checked (undefined: not stored). */
  let fetched = new Map<string, Uint8Array | undefined>()
  const check: EntryCheck = async ({ sessionId, seq, hash, entry, record, findings }) => {
    if (!mayHaveRefs(record.subarray(32))) return
    for (const ref of collectRefs(entry)) {
      const hex = refHash(ref)
      let size = good.get(hex)
      let problem = size === undefined ? bad.get(hex) : undefined
      if (size === undefined && problem === undefined) {
        const raw = fetched.has(hex) ? fetched.get(hex) : await store.getRaw(K.blobKey(fromHex(hex)))
        if (!raw) problem = 'missing'
        else {
          try {
            const bytes = unpackBlob(raw)
            const actual = toHex(sha256(bytes))
            if (actual !== hex) problem = `hashes to ${actual}`
            else size = bytes.length
          } catch (err) {
            problem = `cannot be read: ${(err as Error).message}`
          }
        }
        if (size !== undefined) {
          if (good.size < 1_000_000) good.set(hex, size)
        } else if (bad.size < 10_000) bad.set(hex, problem!)
      }
      if (problem === undefined && size !== ref.size) problem = `has ${size} bytes, the reference says ${ref.size}`
      if (problem === undefined) continue
      findings.add({ code: 'blob_invalid', message: `blob ${hex} referenced by ${sessionId}#${seq} ${problem}`, sessionId, seq, hash, expected: hex, actual: problem })
    }
  }
  // Read the blobs a chunk of records references in one getMany, during the chunk read-ahead,
  // instead of one awaited read per reference.
  check.prefetch = async (entries) => {
    const want = new Set<string>()
    for (const e of entries) {
      // Missing or unreadable records are reported by the walk itself.
      if (e === undefined || e instanceof Error) continue
      for (const ref of collectRefs(e)) {
        const hex = refHash(ref)
        if (!good.has(hex) && !bad.has(hex)) want.add(hex)
      }
    }
    const hexes = [...want]
    const raws = hexes.length > 0 ? ((await store.db.getMany(hexes.map((h) => K.blobKey(fromHex(h))), { keyEncoding: 'view', valueEncoding: 'view' })) as (Uint8Array | undefined)[]) : []
    return () => {
      fetched = new Map(hexes.map((h, i) => [h, raws[i]]))
    }
  }
  return check
}
