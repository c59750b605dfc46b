// Entries to bytes and back. A stored record is prev (32 bytes) ‖ entry bytes, and the entry's
// hash is SHA-256(domain tag ‖ record): the stored bytes are the hashed bytes. Entry bytes of
// format 2 (written now) are the CBOR array [2, entry map] with map keys in the entry's own
// order; format 1 (read and verified, never written) is the bare map with sorted keys.
import type { z } from 'zod'
import { ChainlogError, ErrorCodes, formatPath } from '../errors.js'
import { Entry, parseCustomEntry, parseTurnEntry } from '../schema/entry.js'
import { decodeCanonical, encodeCanonicalWithPrefix } from './cbor.js'
import { ENTRY_V2_MARKER, HASH_BYTES, hashRecord, toHex } from './hash.js'
import { mapStart, type OpenedRecord } from './record.js'

export { decodeRecord, type OpenedRecord } from './record.js'

function firstIssue(error: z.ZodError): { path: string; message: string; issues: { path: string; message: string }[] } {
  const issues = error.issues.map((i) => ({ path: formatPath(i.path as (string | number)[]), message: i.message }))
  const first = issues[0] ?? { path: '(root)', message: 'invalid' }
  return { ...first, issues }
}

// Optional envelope fields given as `undefined` mean "absent"; items and configs are not touched.
function dropUndefined(o: Record<string, unknown>): void {
  for (const k of Object.keys(o)) {
    if (o[k] === undefined) delete o[k]
  }
}

/**
 * Validate an entry against the schema and return the envelope to encode.
 * @throws ChainlogError CHAINLOG_INVALID_ENTRY with data.path and data.issues
 */
export function validateEntry(input: unknown): Entry {
  const fast = parseTurnEntry(input) ?? parseCustomEntry(input)
  if (fast) return fast
  const parsed = Entry.safeParse(input)
  if (!parsed.success) {
    const { path, message, issues } = firstIssue(parsed.error)
    throw new ChainlogError(ErrorCodes.INVALID_ENTRY, `invalid entry at ${path}: ${message}`, { path, issues })
  }
  const e = parsed.data as Record<string, unknown>
  dropUndefined(e)
  for (const k of ['forkedFrom', 'compactedFrom', 'snapshot'] as const) {
    const sub = e[k]
    if (sub && typeof sub === 'object') dropUndefined(sub as Record<string, unknown>)
  }
  const snap = e.snapshot as Record<string, unknown> | undefined
  if (snap?.lastOutcome) dropUndefined(snap.lastOutcome as Record<string, unknown>)
  return parsed.data
}

/** The two bytes that start every version-2 entry: CBOR array(2), then the unsigned integer 2. */
const V2_PREFIX = new Uint8Array([ENTRY_V2_MARKER, 0x02])

/** Entry bytes (format 2) of a valid entry (validates first). */
export function encodeEntry(entry: unknown): Uint8Array {
  return encodeCanonicalWithPrefix(V2_PREFIX, validateEntry(entry))
}

export interface EncodedRecord {
  /** prev ‖ entry bytes, exactly as stored. */
  record: Uint8Array
  hash: Uint8Array
}

/** Validate, encode and hash an entry that follows `prev` (32 zero bytes for a genesis). */
export function sealEntry(prev: Uint8Array, entry: unknown): EncodedRecord {
  if (prev.length !== HASH_BYTES) throw new TypeError('prev must be 32 bytes')
  const valid = validateEntry(entry)
  const prefix = new Uint8Array(HASH_BYTES + V2_PREFIX.length)
  prefix.set(prev)
  prefix.set(V2_PREFIX, HASH_BYTES)
  const record = encodeCanonicalWithPrefix(prefix, valid)
  return { record, hash: hashRecord(record) }
}

/**
 * Split a stored record, check its entry bytes are canonical and schema-valid, and decode.
 * @throws ChainlogError CHAINLOG_DECODE_FAILED or CHAINLOG_INVALID_ENTRY
 */
export function openRecord(record: Uint8Array): OpenedRecord {
  const { format, at } = mapStart(record)
  const prev = record.subarray(0, HASH_BYTES)
  const entryBytes = record.subarray(HASH_BYTES)
  const value = decodeCanonical(record.subarray(at), format)
  const parsed = parseTurnEntry(value) ? { success: true as const } : Entry.safeParse(value)
  if (!parsed.success) {
    const { path, message, issues } = firstIssue(parsed.error)
    throw new ChainlogError(ErrorCodes.INVALID_ENTRY, `stored entry is invalid at ${path}: ${message}`, { path, issues })
  }
  if (format === 1) {
    const path = format2OnlyField(value as Entry)
    if (path) throw new ChainlogError(ErrorCodes.INVALID_ENTRY, `stored entry is invalid at ${path}: a format-1 entry cannot have it (entry format 2 added it)`, { path, issues: [] })
  }
  return { prev, entryBytes, entry: value as Entry, format }
}

/** Where an entry uses a field that entry format 2 added (usage `details`), if it does. */
function format2OnlyField(e: Entry): string | undefined {
  if (e.kind === 'llm_usage' && e.details !== undefined) return 'details'
  if (e.kind === 'session_start') {
    const i = e.snapshot?.usage.findIndex((u) => u.details !== undefined) ?? -1
    if (i >= 0) return `snapshot.usage[${i}].details`
  }
  return undefined
}

/** Hex hash of an entry following `prev`. */
export function hashEntry(prev: Uint8Array, entry: unknown): string {
  return toHex(sealEntry(prev, entry).hash)
}
