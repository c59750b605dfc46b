// Every key the store writes is built here (docs/storage.md lists them). Keys are bytes: a
// one-byte table tag, then the table's fields. Session ids are printable ASCII without 0x00,
// so 0x00 can end an id inside a key and ranges over one session never touch another's.
//
// Store format 2 keeps a session's records contiguous, in seq order (`R ‖ sessionId ‖ 0x00 ‖
// seq`), so that reading a session, its tail or the whole store is one range scan; the hash
// index `H` finds an entry by hash or prefix. Format 1 keyed records by hash (`E`) with a
// separate sequence index (`S`): those tags are kept here only for the migration (migrate.ts).
// Store format 4 keeps all a session has besides its entries (head, metadata, usage totals) in
// one session row (`P`); format 3's metadata (`M`) and usage (`U`) tables are kept here only for
// the migration (migrate-v4.ts).
import { fromHexString } from '../encoding/bytes.js'


/** Keys and values are raw bytes in every call the store makes. */
export const BIN = { keyEncoding: 'view', valueEncoding: 'view' } as const

export const TAG = {
  /** format version: `F` -> CBOR { version } */
  format: 0x46,
  /** records: `R` ‖ sessionId ‖ 0x00 ‖ seq(u64 BE) -> record (prev(32) ‖ canonical entry bytes) */
  record: 0x52,
  /** hash index: `H` ‖ hash(32) -> seq(u64 BE) ‖ sessionId */
  hash: 0x48,
  /**
   * session rows: `P` ‖ sessionId -> hash(32) ‖ seq(u64 BE) of the last entry ‖ canonical CBOR
   * SessionMeta (with the session's usage totals by model; store format 4). Readers that need only
   * the head read the first 40 bytes.
   */
  head: 0x50,
  /** dependants: `D` ‖ sourceId ‖ 0x00 ‖ childId -> CBOR { relation, atHash, materialized } */
  child: 0x44,
  /** blobs: `B` ‖ sha256(32) -> CBOR { codec, size, data } */
  blob: 0x42,
  /** leases: `L` ‖ sessionId -> CBOR { owner, token, expiresAt, released } */
  lease: 0x4c,
  /** tombstones of deleted sessions: `X` ‖ sessionId -> CBOR { deletedAt, head, length } */
  tombstone: 0x58,
  /**
   * Merkle tree rows (derived, docs/storage.md section 1, docs/proofs.md section 2):
   * `T` ‖ sessionId ‖ 0x00 ‖ leaf(u64 BE) -> the hashes of the nodes of levels 1..t that leaf
   * completes, concatenated (t = trailing one bits of leaf; only leaves with t >= 3, leaf mod 8 = 7,
   * have a row since store format 3; format 2 had one at every odd leaf)
   */
  tree: 0x54,
  /** journal position: `J` -> seq(u64 BE) of the last journal record applied (docs/storage.md section 12) */
  journal: 0x4a,
  /**
   * session index rows (not hashed, written only with an append; docs/storage.md section 1):
   * `I` ‖ sessionId ‖ 0x00 ‖ name(UTF-8) -> CBOR value
   */
  index: 0x49,
  /**
   * gc marks (engines other processes write, docs/storage.md "Garbage collection"): `G` ‖
   * sha256(32) -> the token of the gc that means to sweep that blob. A commit that uses a stored
   * blob without writing it expects no mark; one that writes the blob deletes its mark.
   */
  gcMark: 0x47,
} as const

/**
 * Tables of store formats 2 and 3, read only by the migration to format 4 (migrate-v4.ts), which
 * moves them into the session row `P`.
 */
export const TAG_V3 = {
  /** session metadata: `M` ‖ sessionId -> CBOR SessionMeta */
  meta: 0x4d,
  /** usage ledger: `U` ‖ sessionId ‖ 0x00 ‖ model -> CBOR totals (format 1 also had `U ‖ 0x00 ‖ model`) */
  usage: 0x55,
} as const

/** Tables of store format 1, read only by the migration to format 2. */
export const TAG_V1 = {
  /** `E` ‖ hash(32) -> record */
  entry: 0x45,
  /** `S` ‖ sessionId ‖ 0x00 ‖ seq(u64 BE) -> hash(32) */
  seq: 0x53,
} as const

const enc = new TextEncoder()
const dec = new TextDecoder()

function cat(...parts: (Uint8Array | number[])[]): Uint8Array {
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

/** `n` (a safe integer >= 0) as 8 bytes, big-endian. Two 32-bit halves: no BigInt on the append path. */
// Byte by byte, not through a DataView: asking a small (on-heap) typed array for its .buffer
// moves it to memory of its own outside the JS heap, which costs more than these few stores
// (the keys of every append pass through here).
export function u64(n: number): Uint8Array {
  const b = new Uint8Array(8)
  const hi = Math.floor(n / 0x1_0000_0000)
  const lo = n >>> 0
  b[0] = hi >>> 24
  b[1] = (hi >>> 16) & 0xff
  b[2] = (hi >>> 8) & 0xff
  b[3] = hi & 0xff
  b[4] = lo >>> 24
  b[5] = (lo >>> 16) & 0xff
  b[6] = (lo >>> 8) & 0xff
  b[7] = lo & 0xff
  return b
}

export function readU64(b: Uint8Array, offset = 0): number {
  if (offset < 0 || offset + 8 > b.length) throw new RangeError('Offset is outside the bounds of the DataView')
  const hi = ((b[offset]! << 24) | (b[offset + 1]! << 16) | (b[offset + 2]! << 8) | b[offset + 3]!) >>> 0
  // Above 2^53 a number is not exact: read those through BigInt, as before, so nothing wraps.
  if (hi >= 0x20_0000) return Number(new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(offset))
  const lo = ((b[offset + 4]! << 24) | (b[offset + 5]! << 16) | (b[offset + 6]! << 8) | b[offset + 7]!) >>> 0
  return hi * 0x1_0000_0000 + lo
}

export const formatKey = (): Uint8Array => cat([TAG.format])
export const journalKey = (): Uint8Array => cat([TAG.journal])
export const entryKeyV1 = (hash: Uint8Array): Uint8Array => cat([TAG_V1.entry], hash)
export const hashKey = (hash: Uint8Array): Uint8Array => cat([TAG.hash], hash)
export const headKey = (sessionId: string): Uint8Array => cat([TAG.head], enc.encode(sessionId))
/** A format-3 metadata key (migration only). */
export const metaKeyV3 = (sessionId: string): Uint8Array => cat([TAG_V3.meta], enc.encode(sessionId))
export const recordKey = (sessionId: string, seq: number): Uint8Array => cat([TAG.record], enc.encode(sessionId), [0], u64(seq))
export const childKey = (sourceId: string, childId: string): Uint8Array =>
  cat([TAG.child], enc.encode(sourceId), [0], enc.encode(childId))
export const leaseKey = (sessionId: string): Uint8Array => cat([TAG.lease], enc.encode(sessionId))
export const tombstoneKey = (sessionId: string): Uint8Array => cat([TAG.tombstone], enc.encode(sessionId))
export const blobKey = (sha: Uint8Array): Uint8Array => cat([TAG.blob], sha)
export const gcMarkKey = (sha: Uint8Array): Uint8Array => cat([TAG.gcMark], sha)

export const treeKey = (sessionId: string, leaf: number): Uint8Array => cat([TAG.tree], enc.encode(sessionId), [0], u64(leaf))

export const indexKey = (sessionId: string, name: string): Uint8Array => cat([TAG.index], enc.encode(sessionId), [0], enc.encode(name))

/** Range over one session's index rows, optionally limited to names in [gte, lt) (UTF-8 byte order). */
export function indexRange(sessionId: string, names: { gte?: string; lt?: string } = {}): { gte: Uint8Array; lt: Uint8Array } {
  const id = enc.encode(sessionId)
  const gte = names.gte !== undefined ? cat([TAG.index], id, [0], enc.encode(names.gte)) : cat([TAG.index], id, [0])
  const lt = names.lt !== undefined ? cat([TAG.index], id, [0], enc.encode(names.lt)) : cat([TAG.index], id, [1])
  return { gte, lt }
}

/** The name of an index row key (`I ‖ sessionId ‖ 0x00 ‖ name`). */
export function indexName(key: Uint8Array): string {
  return dec.decode(key.subarray(key.indexOf(0, 1) + 1))
}

/** Range over one session's tree rows, optionally from leaf `from` on. */
export function treeRange(sessionId: string, from = 0): { gte: Uint8Array; lt: Uint8Array } {
  const id = enc.encode(sessionId)
  return { gte: cat([TAG.tree], id, [0], u64(from)), lt: cat([TAG.tree], id, [1]) }
}

/** Range over every key of one table. */
export function tableRange(tag: number): { gte: Uint8Array; lt: Uint8Array } {
  return { gte: new Uint8Array([tag]), lt: new Uint8Array([tag + 1]) }
}

/** Range over one session's records, optionally limited to seqs [from, to]. */
export function recordRange(sessionId: string, from = 0, to?: number): { gte: Uint8Array; lt: Uint8Array } {
  const id = enc.encode(sessionId)
  const gte = cat([TAG.record], id, [0], u64(from))
  if (to !== undefined) return { gte, lt: cat([TAG.record], id, [0], u64(to + 1)) }
  return { gte, lt: cat([TAG.record], id, [1]) }
}

/** Range over one session's format-1 sequence index (migration only). */
export function seqRangeV1(sessionId: string): { gte: Uint8Array; lt: Uint8Array } {
  const id = enc.encode(sessionId)
  return { gte: cat([TAG_V1.seq], id, [0]), lt: cat([TAG_V1.seq], id, [1]) }
}

/**
 * The key of the record at the position a hash-index value (`u64 seq ‖ sessionId`) names, in
 * the table `tag`: `R` (format 2) or `S` (format 1's sequence index, same shape), built from the
 * value's bytes (the migration does this for every record).
 */
export function positionKey(tag: typeof TAG.record | typeof TAG_V1.seq, hashIndexValue: Uint8Array): Uint8Array {
  const idLength = hashIndexValue.length - 8
  const key = new Uint8Array(idLength + 10)
  key[0] = tag
  key.set(hashIndexValue.subarray(8), 1)
  key[idLength + 1] = 0
  key.set(hashIndexValue.subarray(0, 8), idLength + 2)
  return key
}

/** Range over the dependants of one session. */
export function childRange(sourceId: string): { gte: Uint8Array; lt: Uint8Array } {
  const id = enc.encode(sourceId)
  return { gte: cat([TAG.child], id, [0]), lt: cat([TAG.child], id, [1]) }
}

/** Range of hash-index keys whose hash starts with the hex `prefix` (any length 1-64). */
export function hashPrefixRange(prefix: string): { gte: Uint8Array; lt: Uint8Array } {
  const lo = fromHexString(prefix.padEnd(64, '0'))
  const hi = fromHexString(prefix.padEnd(64, 'f'))
  return { gte: cat([TAG.hash], lo), lt: cat([TAG.hash], hi, [0]) }
}

/** The session and seq of a record key (`R`) or a format-1 sequence key (`S`): same shape. */
export function parseRecordKey(key: Uint8Array): { sessionId: string; seq: number } {
  const end = key.length - 9
  return { sessionId: dec.decode(key.subarray(1, end)), seq: readU64(key, end + 1) }
}

export function parseChildKey(key: Uint8Array): { sourceId: string; childId: string } {
  const zero = key.indexOf(0, 1)
  return { sourceId: dec.decode(key.subarray(1, zero)), childId: dec.decode(key.subarray(zero + 1)) }
}

export function sessionIdFromKey(key: Uint8Array): string {
  return dec.decode(key.subarray(1))
}

export function hashIndexValue(sessionId: string, seq: number): Uint8Array {
  return cat(u64(seq), enc.encode(sessionId))
}

export function parseHashIndexValue(v: Uint8Array): { sessionId: string; seq: number } {
  return { seq: readU64(v, 0), sessionId: dec.decode(v.subarray(8)) }
}

/**
 * The rows one entry takes: its record under its session and seq, and its hash-index row. Every
 * writer of entries (append, fork, bundle import, re-root, migration) builds them here.
 */
export function entryRows(sessionId: string, seq: number, hash: Uint8Array, record: Uint8Array): [{ type: 'put'; key: Uint8Array; value: Uint8Array }, { type: 'put'; key: Uint8Array; value: Uint8Array }] {
  return [
    { type: 'put', key: recordKey(sessionId, seq), value: record },
    { type: 'put', key: hashKey(hash), value: hashIndexValue(sessionId, seq) },
  ]
}

/** The bytes of a session row that hold its head: hash(32) ‖ seq(u64 BE). */
export const HEAD_BYTES = 40

/** The head part of a session row alone (format 3's whole `P` value). */
export function headValue(hash: Uint8Array, seq: number): Uint8Array {
  return cat(hash, u64(seq))
}

/** A session row (`P`): the head, then the canonical CBOR of the session's metadata. */
export function sessionRowValue(hash: Uint8Array, seq: number, metaValue: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEAD_BYTES + metaValue.length)
  out.set(hash, 0)
  out.set(u64(seq), 32)
  out.set(metaValue, HEAD_BYTES)
  return out
}

/** A session row with another head and the same metadata (tools and tests that move a head by hand). */
export function withHead(row: Uint8Array | undefined, hash: Uint8Array, seq: number): Uint8Array {
  return sessionRowValue(hash, seq, row ? rowMetaBytes(row) : new Uint8Array(0))
}

/** The metadata bytes of a session row (empty when the row holds a head only). */
export function rowMetaBytes(v: Uint8Array): Uint8Array {
  return v.subarray(HEAD_BYTES)
}

export function parseHeadValue(v: Uint8Array): { hash: Uint8Array; seq: number } {
  return { hash: v.subarray(0, 32), seq: readU64(v, 32) }
}
