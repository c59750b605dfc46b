// Entries and stored bytes by kind, for one session or the whole store, in one range scan of the
// record table (`R ‖ sessionId ‖ 0x00 ‖ seq`, docs/storage.md) merged with the sessions' heads:
// no read and no iterator per session, so `chainlog stats` on many small sessions costs a few
// scans, not two round trips per session.
import { decodeRecord } from '../encoding/record.js'
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
  /** A one-tag key of the session (`P ‖ id` or `M ‖ id`): its id is the bytes after the tag. */
  key: Uint8Array
  sessionId: string
  /** Seq of its head: records past it are not the session's (yet). */
  last: number
}

/**
 * Each entry is counted once, in the session that stores it, up to that session's head; entries
 * are not re-hashed (that is verify's job) and blob references are not resolved. A seq missing
 * below a head, or a record that does not decode, is reported as CHAINLOG_CORRUPT_STORE, as a
 * read of that session would. With `sessionId`, that session alone (CHAINLOG_SESSION_NOT_FOUND
 * when it has no head).
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
  const fig: StoreFigures = { sessions: live.length, entries: 0, bytes: 0, byKind: {} }
  let i = 0
  /** The next seq the current session must have. */
  let expected = 0
  const finish = (s: Live): void => {
    if (expected <= s.last) throw corrupt(`session ${s.sessionId} ends at seq ${expected} before ${s.last}`, { sessionId: s.sessionId })
  }
  const range = sessionId !== undefined ? K.recordRange(sessionId) : K.tableRange(K.TAG.record)
  for await (const rows of prefetched(engine.scan(range, FIRST_CHUNK, MAX_CHUNK))) {
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
      let kind: EntryKind
      try {
        kind = decodeRecord(record).entry.kind
      } catch (err) {
        const where = { sessionId: s.sessionId, seq }
        throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `stored entry cannot be read: ${(err as Error).message}; run verify`, where, { cause: err })
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
