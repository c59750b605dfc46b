// The blob check verify runs on every entry: each referenced blob exists, can be read, hashes to
// its key, and has the size the reference records. The stored content of each blob is checked
// once per run; the size is checked for every reference, since references to one blob may
// disagree about it.
import { openStoredBlob } from '../blobs/blobs.js'
import { fromHex } from '../encoding/hash.js'
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
  const check: EntryCheck = async ({ sessionId, seq, hash, refs, findings }) => {
    for (const ref of refs) {
      const hex = ref.hex
      let size = good.get(hex)
      let problem = size === undefined ? bad.get(hex) : undefined
      if (size === undefined && problem === undefined) {
        const raw = fetched.has(hex) ? fetched.get(hex) : await store.getRaw(K.blobKey(fromHex(hex)))
        const b = openStoredBlob(hex, raw)
        if ('bytes' in b) size = b.bytes.length
        else if (b.problem === 'missing') problem = 'missing'
        else if (b.problem === 'unreadable') problem = `cannot be read: ${b.error.message}`
        else problem = `hashes to ${b.actual}`
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
  check.prefetch = async (refsOfRecords) => {
    const want = new Set<string>()
    for (const refs of refsOfRecords) {
      // Unreadable records have none: the walk reports them itself.
      for (const { hex } of refs ?? []) if (!good.has(hex) && !bad.has(hex)) want.add(hex)
    }
    const raws = await store.readBlobsRaw(want)
    return () => {
      fetched = raws
    }
  }
  return check
}
