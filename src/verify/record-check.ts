// The per-record work of verification, as one pure function of the record's bytes: hash it,
// open it (decode, canonical form, schema), and keep only what the walk needs afterwards (the
// hash, the error if any, the genesis fields, the blob references). Pure and self-contained, so
// it runs the same on the main thread and on worker threads (verify-threads.ts), and what it
// returns is small and cheap to send back: never the decoded entry.
import { collectRefs, malformedRefs, mayHaveRefs, refHash } from '../blobs/blobs.js'
import { openRecord } from '../encoding/entry-codec.js'
import { HASH_BYTES, hashRecord } from '../encoding/hash.js'
import { ChainlogError, ErrorCodes } from '../errors.js'
import type { Origin } from '../schema/entry.js'

export interface RecordCheck {
  /** SHA-256 of the record under its entry format's domain tag. */
  hash: Uint8Array
  /** Why the entry bytes cannot be opened: not canonical CBOR, or not a valid entry. */
  error?: { code: 'non_canonical' | 'schema_invalid'; message: string }
  /** The entry's kind (absent when it cannot be opened). */
  kind?: string
  /** For a session_start. */
  genesis?: { sessionId: string; forkedFrom?: Origin; compactedFrom?: Origin; selfContained: boolean }
  /** Blob references in the entry: hex SHA-256 and recorded size. */
  refs?: { hex: string; size: number }[]
  /** Paths of maps with the reserved key "$blob" that are not exactly a reference. */
  malformedRefs?: string[]
}

export function checkRecord(record: Uint8Array): RecordCheck {
  const hash = hashRecord(record)
  if (record.length < HASH_BYTES) return { hash, error: { code: 'non_canonical', message: `record of ${record.length} bytes is shorter than its prev` } }
  let entry
  try {
    entry = openRecord(record).entry
  } catch (err) {
    const code = err instanceof ChainlogError && err.code === ErrorCodes.INVALID_ENTRY ? 'schema_invalid' : 'non_canonical'
    return { hash, error: { code, message: (err as Error).message } }
  }
  const out: RecordCheck = { hash, kind: entry.kind }
  if (entry.kind === 'session_start') {
    out.genesis = { sessionId: entry.sessionId, selfContained: entry.compactedFrom !== undefined || entry.snapshot !== undefined }
    if (entry.forkedFrom) out.genesis.forkedFrom = entry.forkedFrom
    if (entry.compactedFrom) out.genesis.compactedFrom = entry.compactedFrom
  }
  if (mayHaveRefs(record.subarray(HASH_BYTES))) {
    out.refs = collectRefs(entry).map((r) => ({ hex: refHash(r), size: r.size }))
    const bad = malformedRefs(entry)
    if (bad.length > 0) out.malformedRefs = bad
  }
  return out
}
