// Entries and stored bytes by kind, for one session or the whole store, in one range scan of the
// record table (`R ‖ sessionId ‖ 0x00 ‖ seq`, docs/storage.md) merged with the sessions' heads:
// no read and no iterator per session, so `chainlog stats` on many small sessions costs a few
// scans, not two round trips per session.
import { decodeRecord, mapStart } from '../encoding/record.js'
import { HASH_BYTES } from '../encoding/hash.js'
import { ChainlogError, ErrorCodes } from '../errors.js'
import type { EntryKind } from '../schema/entry.js'
import type { StorageEngine } from './engine.js'
import * as K from './keys.js'
import { forEachSession } from './list-sessions.js'
import { prefetched } from './prefetch.js'
import { corrupt } from './read-entries.js'

export interface KindFigures {
  entries: number
  bytes: number
}

/** What `store.figures()` counts. */
export interface StoreFigures {
  /** Sessions counted: every listed session (`listSessions`), or the one asked for. */
  sessions: number
  entries: number
  /** Stored record bytes: 32 (prev) + the canonical entry bytes; blob contents are not included. */
  bytes: number
  /** By entry kind, in the order the kinds are first met (sessions by id, entries by seq). */
  byKind: Partial<Record<EntryKind, KindFigures>>
}

/** Records per chunk of the scan: the first chunk, and the most it grows to. */
const FIRST_CHUNK = 256
const MAX_CHUNK = 4096

interface Live {
  /** A one-tag key of the session (`P ‖ id`): its id is the bytes after the tag. */
  key: Uint8Array
  sessionId: string
  /** Seq of its head: records past it are not the session's (yet). */
  last: number
}

/**
 * The `kind` of a record's entry, read from the CBOR bytes without decoding the rest of the entry:
 * the entry map's keys are walked (values skipped) up to `kind`, which format 2 writes first.
 * Undefined when anything before it is not plain definite-length CBOR; the caller then decodes
 * the record whole (and reports it if it does not decode). Counting needs no more: bytes are the
 * record's length, and checking entries is verify's job.
 */
export function peekKind(record: Uint8Array): string | undefined {
  let p: number
  try {
    p = mapStart(record).at
  } catch {
    return undefined
  }
  const b = record
  const end = b.length
  // The argument of the item head at p (p moves past the head); -1 when indefinite, reserved or
  // out of bounds. Past 2^53 it is inexact, which only matters as a length, and then it runs
  // past the end of the record anyway.
  const arg = (): number => {
    const ai = b[p]! & 31
    p++
    if (ai < 24) return ai
    const n = ai === 24 ? 1 : ai === 25 ? 2 : ai === 26 ? 4 : ai === 27 ? 8 : 0
    if (n === 0 || p + n > end) return -1
    let v = 0
    for (let i = 0; i < n; i++) v = v * 256 + b[p + i]!
    p += n
    return v
  }
  // Skip one item (and what it contains); false when it is not plain definite-length CBOR.
  const skip = (): boolean => {
    for (let pending = 1; pending > 0; pending--) {
      if (p >= end) return false
      const major = b[p]! >> 5
      if (major === 7) {
        const ai = b[p]! & 31
        p += ai < 24 ? 1 : ai === 24 ? 2 : ai === 25 ? 3 : ai === 26 ? 5 : ai === 27 ? 9 : end + 1
        continue
      }
      const n = arg()
      if (n < 0) return false
      if (major === 2 || major === 3) p += n
      else if (major === 4) pending += n
      else if (major === 5) pending += 2 * n
      else if (major === 6) pending += 1
    }
    return p <= end
  }
  if (p >= end || b[p]! >> 5 !== 5) return undefined
  const pairs = arg()
  for (let i = 0; i < pairs; i++) {
    if (p >= end || b[p]! >> 5 !== 3) return undefined
    const klen = arg()
    if (klen < 0 || p + klen > end) return undefined
    const isKind = klen === 4 && b[p] === 0x6b && b[p + 1] === 0x69 && b[p + 2] === 0x6e && b[p + 3] === 0x64
    p += klen
    if (isKind) {
      if (p >= end || b[p]! >> 5 !== 3) return undefined
      const vlen = arg()
      if (vlen < 0 || p + vlen > end) return undefined
      let kind = ''
      for (let j = p; j < p + vlen; j++) {
        if (b[j]! >= 0x80) return undefined
        kind += String.fromCharCode(b[j]!)
      }
      return kind
    }
    if (!skip()) return undefined
  }
  return undefined
}

/**
 * Each entry is counted once, in the session that stores it, up to that session's head; entries
 * are not re-hashed or decoded past their kind (checking them is verify's job) and blob
 * references are not resolved. A seq missing below a head, or a record whose kind cannot be
 * read, is reported as CHAINLOG_CORRUPT_STORE, as a read of that session would. With
 * `sessionId`, that session alone (CHAINLOG_SESSION_NOT_FOUND when it has no head).
 */
export async function storeFigures(engine: StorageEngine, sessionId?: string): Promise<StoreFigures> {
  const live: Live[] = []
  if (sessionId !== undefined) {
    const head = await engine.get(K.headKey(sessionId))
    if (!head) throw new ChainlogError(ErrorCodes.SESSION_NOT_FOUND, `no session ${sessionId}`, { sessionId })
    live.push({ key: K.headKey(sessionId), sessionId, last: K.parseHeadValue(head).seq })
  } else {
    await forEachSession(engine, (key, headValue) => {
      live.push({ key, sessionId: K.sessionIdFromKey(key), last: K.parseHeadValue(headValue).seq })
    })
  }
  // Many records are read as a few contiguous ranges of sessions at once: one range scan keeps
  // one database thread busy while the main thread mostly waits for it (stats on 20,000 small
  // sessions was half idle).
  const groups = split(live)
  const settled = await Promise.allSettled(groups.map((g) => countRecords(engine, g, K.recordRange(g[0]!.sessionId).gte, K.recordRange(g[g.length - 1]!.sessionId).lt)))
  const fig: StoreFigures = { sessions: live.length, entries: 0, bytes: 0, byKind: {} }
  // In session order: the error a single scan would have met first, and the kinds in the order
  // they are first met.
  for (const r of settled) {
    if (r.status === 'rejected') throw r.reason
    fig.entries += r.value.entries
    fig.bytes += r.value.bytes
    for (const [kind, k] of Object.entries(r.value.byKind) as [EntryKind, KindFigures][]) {
      const t = (fig.byKind[kind] ??= { entries: 0, bytes: 0 })
      t.entries += k.entries
      t.bytes += k.bytes
    }
  }
  return fig
}

/**
 * From this many records on, the sessions are read as SCANS ranges at once (two: bench case 10's
 * machine has two cores; four scans were no faster there than two).
 */
export const SPLIT_AT = 16_384
const SCANS = 2

/** The sessions in contiguous groups of about as many records each. */
function split(live: Live[]): Live[][] {
  if (live.length === 0) return []
  let total = 0
  for (const s of live) total += s.last + 1
  const n = total < SPLIT_AT ? 1 : Math.min(SCANS, live.length)
  const groups: Live[][] = []
  let group: Live[] = []
  let done = 0
  for (const s of live) {
    group.push(s)
    done += s.last + 1
    if (groups.length < n - 1 && done >= (total * (groups.length + 1)) / n) {
      groups.push(group)
      group = []
    }
  }
  if (group.length > 0) groups.push(group)
  return groups
}

/** Entries and bytes by kind of the sessions `live` (in key order), from one scan of [gte, lt). */
async function countRecords(engine: StorageEngine, live: Live[], gte: Uint8Array, lt: Uint8Array): Promise<Omit<StoreFigures, 'sessions'>> {
  const fig: Omit<StoreFigures, 'sessions'> = { entries: 0, bytes: 0, byKind: {} }
  let i = 0
  /** The next seq the current session must have. */
  let expected = 0
  const finish = (s: Live): void => {
    if (expected <= s.last) throw corrupt(`session ${s.sessionId} ends at seq ${expected} before ${s.last}`, { sessionId: s.sessionId })
  }
  for await (const rows of prefetched(engine.scan({ gte, lt }, FIRST_CHUNK, MAX_CHUNK))) {
    for (const [key, record] of rows) {
      if (key.length < 10) continue
      let c = -1
      while (i < live.length && (c = compareToRecord(live[i]!.key, key)) < 0) {
        finish(live[i]!)
        i++
        expected = 0
      }
      if (i >= live.length) break
      if (c !== 0) continue // records of no listed session
      const s = live[i]!
      const seq = K.readU64(key, key.length - 8)
      if (seq > s.last) continue
      if (seq !== expected) throw corrupt(`seq ${expected} is missing from session ${s.sessionId}`, { sessionId: s.sessionId, seq: expected })
      expected++
      if (record.length < HASH_BYTES) throw corrupt(`record ${seq} of session ${s.sessionId} is too short`, { sessionId: s.sessionId, seq })
      let kind = peekKind(record) as EntryKind | undefined
      if (kind === undefined) {
        try {
          kind = decodeRecord(record).entry.kind
        } catch (err) {
          const where = { sessionId: s.sessionId, seq }
          throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `stored entry cannot be read: ${(err as Error).message}; run verify`, where, { cause: err })
        }
      }
      fig.entries++
      fig.bytes += record.length
      const k = (fig.byKind[kind] ??= { entries: 0, bytes: 0 })
      k.entries++
      k.bytes += record.length
    }
    if (i >= live.length) break
  }
  for (; i < live.length; i++, expected = 0) finish(live[i]!)
  return fig
}

/**
 * Order of the session id of a one-tag key (`P ‖ id`) and that of a record key (`R ‖ id ‖ 0x00 ‖
 * seq(8)`, the id between the tag and the last 9 bytes), compared as bytes.
 */
function compareToRecord(idKey: Uint8Array, recordKey: Uint8Array): number {
  const end = recordKey.length - 9
  const n = Math.min(idKey.length, end)
  for (let i = 1; i < n; i++) if (idKey[i] !== recordKey[i]) return idKey[i]! - recordKey[i]!
  return idKey.length - end
}
