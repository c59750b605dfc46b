// Stored records split and decoded without the schema: what plain reads need (restore, entries,
// listing, gc's blob marks). Kept apart from entry-codec.ts, which validates entries against the
// zod schema, so that a process that only reads never loads the schema library.
import { ChainlogError, ErrorCodes } from '../errors.js'
import type { Entry } from '../schema/entry.js'
import { decodeCbor, type CanonicalFormat } from './cbor.js'
import { HASH_BYTES, recordFormat } from './hash.js'

export interface OpenedRecord {
  prev: Uint8Array
  /** The entry bytes, as hashed (for format 2, the whole [2, map] array). */
  entryBytes: Uint8Array
  entry: Entry
  /** The record's entry format. */
  format: CanonicalFormat
}

/**
 * Where the entry map starts in a record, by its format; a record whose entry bytes start with
 * the v2 marker but not with the full v2 prefix is refused.
 */
export function mapStart(record: Uint8Array): { format: CanonicalFormat; at: number } {
  if (record.length <= HASH_BYTES) {
    throw new ChainlogError(ErrorCodes.DECODE_FAILED, `record too short (${record.length} bytes)`)
  }
  if (recordFormat(record) === 1) return { format: 1, at: HASH_BYTES }
  if (record.length <= HASH_BYTES + 2 || record[HASH_BYTES + 1] !== 0x02) {
    throw new ChainlogError(ErrorCodes.DECODE_FAILED, 'entry bytes start with an array but not with the version-2 prefix 82 02')
  }
  return { format: 2, at: HASH_BYTES + 2 }
}

/**
 * Split and decode a stored record without the canonical and schema checks: for reads whose
 * bytes are already bound by a hash the caller checks. Verification uses openRecord.
 * @throws ChainlogError CHAINLOG_DECODE_FAILED
 */
export function decodeRecord(record: Uint8Array): OpenedRecord {
  const { format, at } = mapStart(record)
  const entryBytes = record.subarray(HASH_BYTES)
  const entry = decodeCbor(record.subarray(at)) as Entry
  if (entry === null || typeof entry !== 'object' || typeof (entry as { kind?: unknown }).kind !== 'string') {
    throw new ChainlogError(ErrorCodes.DECODE_FAILED, 'stored entry is not an entry map')
  }
  return { prev: record.subarray(0, HASH_BYTES), entryBytes, entry, format }
}
