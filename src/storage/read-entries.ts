// Reading a session's entries: one range scan of its records (`R ‖ session ‖ seq`), in seq order
// or reversed. A record does not carry its own hash; the chain does: the hash of record i is
// the `prev` of record i+1, and the last one's is the session head. So a read learns every hash
// from the links without hashing, and a verifying read hashes each record and checks it against
// that link ("does it hash to the hash the chain gives it").
import { collectRefs, mayHaveRefs, openStoredBlob, refHash, resolveRefs } from '../blobs/blobs.js'
import { bytesEqual } from '../encoding/cbor.js'
import { decodeRecord } from '../encoding/record.js'
import { HASH_BYTES, ZERO_HASH, hashRecord, toHex } from '../encoding/hash.js'
import { ChainlogError, ErrorCodes } from '../errors.js'
import type { Entry } from '../schema/entry.js'
import type { StorageEngine } from './engine.js'
import * as K from './keys.js'
import { ReadAhead } from './read-ahead.js'

/** entries() reads in chunks of MAX_CHUNK rows, or growing from FIRST_CHUNK when scanning back (see there). */
export const FIRST_CHUNK = 8
export const MAX_CHUNK = 256

/** A stored entry as reads return it. */
export interface StoredEntry {
  sessionId: string
  seq: number
  hash: string
  prev: string
  entry: Entry
  /** The entry format of the stored record: 2 for entries written now, 1 for older ones (docs/format.md). */
  format: 1 | 2
}

export interface ReadOptions {
  from?: number
  to?: number
  reverse?: boolean
  verify?: boolean
  resolveBlobs?: boolean
}

export interface ReadContext {
  engine: StorageEngine
  readBlobsRaw(hexes: Iterable<string>): Promise<Map<string, Uint8Array | undefined>>
}

export function corrupt(message: string, data: Record<string, unknown>): ChainlogError {
  return new ChainlogError(ErrorCodes.CORRUPT_STORE, `${message}; run verify`, data)
}

/** A record's bytes as decodeRecord opens them. */
export type OpenedRecord = ReturnType<typeof decodeRecord>

/** CORRUPT_STORE for a stored record that cannot be decoded, at `where`. */
export function unreadable(err: Error, where: { sessionId: string; seq: number; hash: string }): ChainlogError {
  return new ChainlogError(ErrorCodes.CORRUPT_STORE, `stored entry cannot be read: ${err.message}; run verify`, where, { cause: err })
}

/**
 * CORRUPT_STORE unless the record at `where` (its hash the one the chain gives it) sits where a
 * chain puts it: a genesis, with a zero prev and naming its session, at seq 0 and nowhere else.
 */
export function checkPlace(where: { sessionId: string; seq: number; hash: string }, o: OpenedRecord): void {
  if (where.seq === 0 && !bytesEqual(o.prev, ZERO_HASH)) throw corrupt(`genesis ${where.hash} has a non-zero prev`, where)
  if ((where.seq === 0) !== (o.entry.kind === 'session_start')) throw corrupt(`entry ${where.hash} is out of place`, where)
  if (o.entry.kind === 'session_start' && o.entry.sessionId !== where.sessionId) throw corrupt(`genesis ${where.hash} names session ${o.entry.sessionId}`, where)
}

/** A stored blob's content, unpacked and checked against its hash; CORRUPT_STORE otherwise. */
export function checkedBlob(hex: string, raw: Uint8Array | undefined): Uint8Array {
  const b = openStoredBlob(hex, raw)
  if ('bytes' in b) return b.bytes
  if (b.problem === 'missing') throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `blob ${hex} is missing; run verify`, { blob: hex })
  if (b.problem === 'unreadable') throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `blob ${hex} cannot be read; run verify`, { blob: hex }, { cause: b.error })
  throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `blob ${hex} does not hash to its key; run verify`, { blob: hex })
}

/**
 * Stream a session's entries between `from` and `to` inclusive, given its head. With `verify`
 * each record is hashed and checked against the hash its successor (or the head) links to.
 */
export async function* readEntries(ctx: ReadContext, sessionId: string, head: { hash: Uint8Array; seq: number }, options: ReadOptions): AsyncGenerator<StoredEntry> {
  const from = Math.max(0, options.from ?? 0)
  const to = Math.min(head.seq, options.to ?? head.seq)
  if (from > to) return
  const verify = options.verify ?? true
  const reverse = options.reverse ?? false
  const resolve = options.resolveBlobs ?? true
  // One row past `to` gives the hash of record `to` (its successor's prev); at the head, the head does.
  const last = to < head.seq ? to + 1 : to
  // Forward reads, and reverse reads given a `from`, mostly run to the end of their range:
  // chunks of up to 256 rows from the start (a tail read of 100 is one chunk). A reverse read
  // without a `from` scans back an unknown distance and usually stops after a few entries (the
  // turn count behind an appendTurn with turnEnd): its chunks start at 8 rows and double.
  const first = reverse && options.from === undefined ? FIRST_CHUNK : Math.min(last - from + 1, MAX_CHUNK)
  // The range holds at most last - from + 1 records: with that limit the engine knows when it is done (no read past the end).
  const rows = ctx.engine.scan({ ...K.recordRange(sessionId, from, last), reverse, limit: last - from + 1 }, first, MAX_CHUNK)[Symbol.asyncIterator]()
  type Opened = OpenedRecord
  // Two chunks are read ahead while the caller works on the current one, so I/O overlaps with
  // hashing, decoding and reducing (read-ahead.ts). A chunk's records are decoded as soon as
  // they arrive, so that the blobs they reference are fetched in one read too.
  const ahead = new ReadAhead(
    async () => {
      const r = await rows.next()
      return r.done ? undefined : r.value
    },
    async (batch) => {
      const opened: (Opened | Error)[] = new Array(batch.length)
      const withRefs = new Uint8Array(batch.length)
      const refs: string[] = []
      for (let i = 0; i < batch.length; i++) {
        try {
          const o = decodeRecord(batch[i]![1])
          opened[i] = o
          if (resolve && mayHaveRefs(o.entryBytes)) {
            withRefs[i] = 1
            for (const r of collectRefs(o.entry)) refs.push(refHash(r))
          }
        } catch (err) {
          opened[i] = err as Error
        }
      }
      return { batch, opened, withRefs, blobs: await ctx.readBlobsRaw(refs) }
    },
  )
  // Forward: a record is yielded once the next one (or the head) gives its hash.
  let held: { seq: number; record: Uint8Array; opened: Opened | Error; refs: boolean; blobs: Map<string, Uint8Array | undefined> } | undefined
  let expectedSeq = reverse ? last : from
  // Reverse: the hash the record read next must have (the prev of the one read before it).
  let want: Uint8Array | undefined = last === head.seq ? head.hash : undefined
  const emit = async (h: NonNullable<typeof held>, hash: Uint8Array): Promise<StoredEntry> => {
    const where = { sessionId, seq: h.seq, hash: toHex(hash) }
    if (verify && !bytesEqual(hashRecord(h.record), hash)) {
      // The chain breaks between this record and the next (or the head). If the hash index still
      // puts the chain's hash here, this record was rewritten; else the next one's link was.
      const row = await ctx.engine.get(K.hashKey(hash))
      const loc = row && row.length > 8 ? K.parseHashIndexValue(row) : undefined
      if (loc?.sessionId === sessionId && loc.seq === h.seq) throw corrupt(`entry ${where.hash} (session ${sessionId} seq ${h.seq}) does not hash to its hash`, where)
      const next = { sessionId, seq: h.seq + 1 }
      throw corrupt(`the entry at seq ${next.seq} of session ${sessionId} does not link to the entry before it`, next)
    }
    if (h.opened instanceof Error) throw unreadable(h.opened, where)
    const prev = toHex(h.opened.prev)
    if (verify) checkPlace(where, h.opened)
    let entry = h.opened.entry
    if (h.refs) entry = resolveRefs(entry, (x) => checkedBlob(x, h.blobs.get(x))) as Entry
    return { sessionId, seq: h.seq, hash: where.hash, prev, entry, format: h.opened.format }
  }
  try {
    for (;;) {
      const chunk = await ahead.next()
      if (!chunk) break
      for (let i = 0; i < chunk.batch.length; i++) {
        const [key, record] = chunk.batch[i]!
        const { seq } = K.parseRecordKey(key)
        if (seq !== expectedSeq) throw corrupt(`seq ${expectedSeq} is missing from session ${sessionId}`, { sessionId, seq: expectedSeq })
        if (record.length < HASH_BYTES) throw corrupt(`record ${seq} of session ${sessionId} is too short`, { sessionId, seq })
        const cur = { seq, record, opened: chunk.opened[i]!, refs: chunk.withRefs[i] === 1, blobs: chunk.blobs }
        const prev = record.subarray(0, HASH_BYTES)
        if (!reverse) {
          expectedSeq++
          if (held) yield await emit(held, prev)
          held = seq <= to ? cur : undefined
        } else {
          expectedSeq--
          if (seq <= to) yield await emit(cur, want!)
          want = prev
        }
      }
    }
    if (!reverse && held) yield await emit(held, head.hash)
  } finally {
    await ahead.settle()
    await rows.return?.()
  }
  const done = reverse ? expectedSeq === from - 1 : expectedSeq === last + 1
  if (!done) throw corrupt(`session ${sessionId} ends at seq ${expectedSeq} before ${reverse ? from : last}`, { sessionId })
}

