// The blob check verify runs on every entry: each referenced blob exists, can be read, and
// hashes to its key. Each blob is checked once per run.
import { collectRefs, mayHaveRefs, refHash, unpackBlob } from '../blobs/blobs.js'
import { fromHex, sha256, toHex } from '../encoding/hash.js'
import * as K from '../storage/keys.js'
import type { SessionStore } from '../storage/session-store.js'
import type { EntryCheck } from './verify-store.js'

export function checkBlobs(store: SessionStore): EntryCheck {
  const good = new Set<string>()
  const bad = new Map<string, string>()
  return async ({ sessionId, seq, hash, entry, record, findings }) => {
    if (!mayHaveRefs(record.subarray(32))) return
    for (const ref of collectRefs(entry)) {
      const hex = refHash(ref)
      if (good.has(hex)) continue
      let problem = bad.get(hex)
      if (problem === undefined) {
        const raw = await store.getRaw(K.blobKey(fromHex(hex)))
        if (!raw) problem = 'missing'
        else {
          try {
            const bytes = unpackBlob(raw)
            const actual = toHex(sha256(bytes))
            if (actual !== hex) problem = `hashes to ${actual}`
            else if (bytes.length !== ref.size) problem = `has ${bytes.length} bytes, the reference says ${ref.size}`
          } catch (err) {
            problem = `cannot be read: ${(err as Error).message}`
          }
        }
        if (problem === undefined) {
          if (good.size < 1_000_000) good.add(hex)
          continue
        }
        if (bad.size < 10_000) bad.set(hex, problem)
      }
      findings.add({ code: 'blob_invalid', message: `blob ${hex} referenced by ${sessionId}#${seq} ${problem}`, sessionId, seq, hash, expected: hex, actual: problem })
    }
  }
}
