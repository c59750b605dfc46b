// Reading a few entries of a session by seq, without a range scan: one batched point read of
// their records and of each one's successor, whose `prev` is the hash the chain gives the record
// (the head's hash for the last one), so each is checked against the chain as entries() checks it.
// For callers that know where their entries are (an adapter's index rows) and want only those.
import { collectRefs, mayHaveRefs, refHash, resolveRefs } from '../blobs/blobs.js'
import { decodeRecord } from '../encoding/record.js'
import { bytesEqual } from '../encoding/cbor.js'
import { HASH_BYTES, hashRecord, toHex } from '../encoding/hash.js'
import { ChainlogError, ErrorCodes } from '../errors.js'
import type { Entry } from '../schema/entry.js'
import * as K from './keys.js'
import { checkedBlob, checkPlace, corrupt, unreadable, type OpenedRecord, type ReadContext, type StoredEntry } from './read-entries.js'

/** Records read with the engine's getSync, where it has one, when a call needs at most this many. */
const SYNC_READS = 16

/** Most seqs one call reads (a caller with more reads a range with entries()). */
export const MAX_ENTRIES_AT = 1024

/**
 * The entries at `seqs` of a session whose head is `head`, in the order asked (a seq asked twice
 * is returned twice). Each record is hashed and checked against its successor's `prev` (or the
 * head); its blobs are resolved. CHAINLOG_INVALID_ARGUMENT for a seq that is not an integer in
 * 0..head.seq or for more than MAX_ENTRIES_AT seqs; CHAINLOG_CORRUPT_STORE for a missing or
 * damaged record.
 */
export async function readEntriesAt(ctx: ReadContext, sessionId: string, head: { hash: Uint8Array; seq: number }, seqs: readonly number[]): Promise<StoredEntry[]> {
  if (!Array.isArray(seqs) || seqs.length > MAX_ENTRIES_AT) {
    throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, `seqs must be an array of at most ${MAX_ENTRIES_AT} seqs`, { sessionId })
  }
  for (const seq of seqs) {
    if (!Number.isInteger(seq) || seq < 0 || seq > head.seq) {
      throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, `session ${sessionId} has no seq ${String(seq)} (its head is at ${head.seq})`, { sessionId, seq, headSeq: head.seq })
    }
  }
  const want = [...new Set(seqs)].sort((a, b) => a - b)
  // Each wanted record and the one after it (its hash is that one's prev), read in one batch.
  const fetch = new Set(want)
  for (const q of want) if (q < head.seq) fetch.add(q + 1)
  const order = [...fetch].sort((a, b) => a - b)
  const keys = order.map((q) => K.recordKey(sessionId, q))
  // A few small records: read on this thread where the engine can (no thread-pool round trip).
  const getSync = ctx.engine.getSync
  const raw = getSync && keys.length <= SYNC_READS ? keys.map((k) => getSync(k)) : await ctx.engine.getMany(keys)
  const records = new Map<number, Uint8Array>()
  for (let i = 0; i < order.length; i++) {
    const r = raw[i]
    if (!r || r.length < HASH_BYTES) throw corrupt(`record ${order[i]} of session ${sessionId} is missing or too short`, { sessionId, seq: order[i] })
    records.set(order[i]!, r)
  }
  const opened = new Map<number, { hash: string; entry: Entry; prev: Uint8Array; format: 1 | 2; refs: boolean }>()
  const blobs: string[] = []
  for (const q of want) {
    const record = records.get(q)!
    const hash = q === head.seq ? head.hash : records.get(q + 1)!.subarray(0, HASH_BYTES)
    const where = { sessionId, seq: q, hash: toHex(hash) }
    if (!bytesEqual(hashRecord(record), hash)) throw corrupt(`entry ${where.hash} (session ${sessionId} seq ${q}) does not hash to the hash the chain gives it`, where)
    let o: OpenedRecord
    try {
      o = decodeRecord(record)
    } catch (err) {
      throw unreadable(err as Error, where)
    }
    checkPlace(where, o)
    const refs = mayHaveRefs(o.entryBytes)
    if (refs) for (const r of collectRefs(o.entry)) blobs.push(refHash(r))
    opened.set(q, { hash: where.hash, entry: o.entry, prev: o.prev, format: o.format, refs })
  }
  const got = blobs.length > 0 ? await ctx.readBlobsRaw(blobs) : undefined
  return seqs.map((q) => {
    const o = opened.get(q)!
    const entry = o.refs && got ? (resolveRefs(o.entry, (x) => checkedBlob(x, got.get(x))) as Entry) : o.entry
    return { sessionId, seq: q, hash: o.hash, prev: toHex(o.prev), entry, format: o.format }
  })
}
