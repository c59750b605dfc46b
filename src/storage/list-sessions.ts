// Listing sessions: a session's row (`P`) holds its head and its metadata (usage totals
// included, store format 4), so one range scan of that table lists every session, with its
// usage, without a read per session.
import { decodeCbor } from '../encoding/cbor.js'
import { toHex } from '../encoding/hash.js'
import { ChainlogError, ErrorCodes } from '../errors.js'
import type { StorageEngine } from './engine.js'
import * as K from './keys.js'
import { prefetched } from './prefetch.js'
import type { SessionMeta } from './session-meta.js'

export interface SessionInfo extends SessionMeta {
  sessionId: string
  head: string
  length: number
}

/** How `listSessions` orders and limits what it returns. */
export interface ListOptions {
  /** `id` (default): by session id; `newest` / `oldest`: by the time of the last entry. */
  order?: 'id' | 'newest' | 'oldest'
  /** At most this many sessions. */
  limit?: number
}

export async function listSessions(engine: StorageEngine, options: ListOptions = {}): Promise<SessionInfo[]> {
  const { order = 'id', limit } = options
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
    throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, `limit must be a non-negative integer, not ${String(limit)}`, { limit })
  }
  if (!['id', 'newest', 'oldest'].includes(order)) {
    throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, `order is "id", "newest" or "oldest", not ${String(order)}`, { order })
  }
  const out: SessionInfo[] = []
  await forEachSession(engine, (key, headValue, metaValue) => {
    const { hash, seq } = K.parseHeadValue(headValue)
    const meta = decodeCbor(metaValue) as SessionMeta
    out.push({ sessionId: K.sessionIdFromKey(key), head: toHex(hash), length: seq + 1, ...meta })
  })
  if (order !== 'id') {
    const sign = order === 'newest' ? -1 : 1
    out.sort((a, b) => sign * (a.updatedAt - b.updatedAt) || (a.sessionId < b.sessionId ? -1 : 1))
  }
  return limit === undefined ? out : out.slice(0, limit)
}

/**
 * Every session, in key (session id) order, by one scan of the session rows (`P`): its `P` key,
 * the row's head bytes and its metadata bytes (store format 4 keeps both in the one row). A row
 * that holds a head only (no metadata: a session of a store whose migration to format 4 is under
 * way) is left out, as a session without a metadata row was before.
 */
export async function forEachSession(engine: StorageEngine, fn: (key: Uint8Array, headValue: Uint8Array, metaValue: Uint8Array) => void): Promise<void> {
  for await (const rows of prefetched(engine.scan(K.tableRange(K.TAG.head), 1024))) {
    for (const [key, value] of rows) {
      if (value.length <= K.HEAD_BYTES) continue
      fn(key, value, K.rowMetaBytes(value))
    }
  }
}
