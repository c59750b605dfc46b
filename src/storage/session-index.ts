// Session index rows (`I`, docs/storage.md section 1): small named values a caller keeps beside a
// session, such as an adapter's lookup tables (the LangGraph saver's checkpoint id -> entry). They
// are not hashed and never read by restore or verify. They change only inside an append, in its
// commit, so they move with the head's compare-and-set: a writer whose append is refused wrote
// none of them, and a reader that finds the head where a row says it was knows the rows are as the
// last append left them. Deleting a session deletes its rows.
import { decodeCbor, encodeWire } from '../encoding/cbor.js'
import { ChainlogError, ErrorCodes } from '../errors.js'
import type { BatchOp, StorageEngine } from './engine.js'
import * as K from './keys.js'

/** Longest index row name, in UTF-8 bytes. */
export const MAX_INDEX_NAME = 512

/** Index rows an append changes: `[name, value]`, a `null` value deleting the row. */
export interface IndexUpdate {
  /** The session whose rows these are (default: the session appended to). It must exist. */
  sessionId?: string
  rows: [name: string, value: unknown][]
}

export interface IndexScan {
  /** Names from this one on (inclusive). */
  gte?: string
  /** Names before this one (exclusive). */
  lt?: string
  reverse?: boolean
  limit?: number
}

const utf8 = new TextEncoder()

/** Check an append's index update; INVALID_ARGUMENT (nothing written) if it is malformed. */
export function checkIndexUpdate(update: unknown): asserts update is IndexUpdate {
  const bad = (message: string, data: Record<string, unknown> = {}) => new ChainlogError(ErrorCodes.INVALID_ARGUMENT, message, data)
  if (update === null || typeof update !== 'object') throw bad('index must be an object { sessionId?, rows }')
  const { sessionId, rows } = update as { sessionId?: unknown; rows?: unknown }
  if (sessionId !== undefined && typeof sessionId !== 'string') throw bad('index.sessionId must be a string', { sessionId })
  if (!Array.isArray(rows)) throw bad('index.rows must be an array of [name, value]')
  for (const row of rows) {
    if (!Array.isArray(row) || row.length !== 2) throw bad('index.rows must be an array of [name, value]')
    const [name, value] = row as [unknown, unknown]
    if (typeof name !== 'string' || name.length === 0 || utf8.encode(name).length > MAX_INDEX_NAME) {
      throw bad(`an index row name must be a non-empty string of at most ${MAX_INDEX_NAME} bytes`, { name })
    }
    if (value === undefined) throw bad('an index row value must be defined (null deletes the row)', { name })
  }
}

/** The ops of an index update (checked), for the session `sessionId`. */
export function indexOps(sessionId: string, update: IndexUpdate): BatchOp[] {
  return update.rows.map(([name, value]) => {
    if (value === null) return { type: 'del', key: K.indexKey(sessionId, name) }
    let bytes: Uint8Array
    try {
      bytes = encodeWire(value)
    } catch (err) {
      throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, `index row ${name} cannot be encoded: ${(err as Error).message}`, { name }, { cause: err })
    }
    return { type: 'put', key: K.indexKey(sessionId, name), value: bytes }
  })
}

export async function readIndexRow(engine: StorageEngine, sessionId: string, name: string): Promise<unknown> {
  const key = K.indexKey(sessionId, name)
  const raw = engine.getSync ? engine.getSync(key) : await engine.get(key)
  return raw === undefined ? undefined : decodeCbor(raw)
}

export async function scanIndexRows(engine: StorageEngine, sessionId: string, options: IndexScan = {}): Promise<[string, unknown][]> {
  const out: [string, unknown][] = []
  const limit = options.limit
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
    throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'limit must be a non-negative integer', { limit })
  }
  if (limit === 0) return out
  const range = { ...K.indexRange(sessionId, options), reverse: options.reverse ?? false, ...(limit !== undefined ? { limit } : {}) }
  const first = limit !== undefined ? Math.min(limit, 256) : 64
  for await (const rows of engine.scan(range, first, 1024)) {
    for (const [key, value] of rows) out.push([K.indexName(key), decodeCbor(value)])
  }
  return out
}

