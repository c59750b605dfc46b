// Listing sessions: the metadata (`M`) and head (`P`) tables are both keyed by session id, so
// one range scan of each, merged by id, lists every session without a read per session.
import { decodeCbor } from '../encoding/cbor.js'
import { toHex } from '../encoding/hash.js'
import { ChainlogError, ErrorCodes } from '../errors.js'
import type { Row, StorageEngine } from './engine.js'
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
 * Every session that has both a metadata row and a head, in key (session id) order: its `M` key
 * and the raw values of its head and metadata rows. `M ‖ id` and `P ‖ id` sort alike, so the two
 * scans are merged by id; a metadata row without a head (a session being created or deleted) is
 * left out. Ids are compared as key bytes, the order the scans return them in.
 */
export async function forEachSession(engine: StorageEngine, fn: (metaKey: Uint8Array, headValue: Uint8Array, metaValue: Uint8Array) => void): Promise<void> {
  const heads = prefetched(engine.scan(K.tableRange(K.TAG.head), 1024))[Symbol.asyncIterator]()
  try {
    let headRows: Row[] = []
    let h = 0
    const nextHead = async (): Promise<Row | undefined> => {
      if (h >= headRows.length) {
        const r = await heads.next()
        if (r.done) return undefined
        headRows = r.value
        h = 0
      }
      return headRows[h++]
    }
    let head = await nextHead()
    for await (const rows of prefetched(engine.scan(K.tableRange(K.TAG.meta), 1024))) {
      for (const [key, value] of rows) {
        while (head && compareIds(head[0], key) < 0) head = await nextHead()
        if (!head || compareIds(head[0], key) !== 0) continue
        fn(key, head[1], value)
      }
    }
  } finally {
    await heads.return(undefined)
  }
}

/** Order of the session ids of two one-tag keys (`P ‖ id`, `M ‖ id`): their bytes after the tag. */
function compareIds(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 1; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}
