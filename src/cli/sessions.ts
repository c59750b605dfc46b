// Lookups shared by commands: a session named by its id or a unique id prefix, its origin, an
// entry read as stored, and the rows `ls` and the viewer list sessions with.
import { InvalidArgumentError } from 'commander'
import { usageError } from './errors.js'
import { ChainlogError, ErrorCodes, isChainlogError } from '../errors.js'
import { isHexHash } from '../encoding/hex-hash.js'
import type { ChainlogStore, SessionInfo, StoredEntry } from '../index.js'

/** A session id as typed: the full id, or a prefix that only one session id starts with. */
export async function resolveSession(store: ChainlogStore, arg: string): Promise<string> {
  if (arg === '') throw usageError('a session id or prefix is needed; it was given an empty string')
  try {
    await store.head(arg)
    return arg
  } catch (err) {
    if (!isChainlogError(err, ErrorCodes.SESSION_NOT_FOUND)) throw err
  }
  const ids = arg.length >= 4 ? (await store.listSessions()).map((s) => s.sessionId) : []
  let matches = ids.filter((id) => id.startsWith(arg))
  // Ids are usually lowercase UUIDs: `01A2` finds them as `01a2` does (hash prefixes work the same).
  if (matches.length === 0) matches = ids.filter((id) => id.toLowerCase().startsWith(arg.toLowerCase()))
  if (matches.length === 1) return matches[0]!
  if (matches.length > 1) {
    throw new ChainlogError(ErrorCodes.AMBIGUOUS_PREFIX, `session id prefix ${arg} matches ${matches.length} sessions`, { prefix: arg, matches })
  }
  throw new ChainlogError(ErrorCodes.SESSION_NOT_FOUND, `no session ${arg}`, { sessionId: arg })
}

export { originOf, sessionRow, sessionRows, emptyTotals, addTotals, type Relation, type OriginView, type SessionRow } from '../views/rows.js'

/** Sessions by id, for commands that print many of them. */
export async function sessionMap(store: ChainlogStore): Promise<Map<string, SessionInfo>> {
  return new Map((await store.listSessions()).map((s) => [s.sessionId, s]))
}

/** Commander parser for a hash argument: 4-64 hex digits, checked before the store is opened. */
export function parseHashArg(value: string): string {
  if (!/^[0-9a-fA-F]{4,64}$/.test(value)) throw new InvalidArgumentError('expected a hash or hash prefix of 4-64 hex digits')
  return value.toLowerCase()
}

/**
 * store.getEntry, with stored bytes that do not decode or fit the schema reported as a corrupt
 * store (exit status 1) rather than as bad input: the user gave a hash, not an entry.
 */
export async function getStoredEntry(store: ChainlogStore, hashOrPrefix: string): Promise<StoredEntry> {
  try {
    return await store.getEntry(hashOrPrefix)
  } catch (err) {
    if (isChainlogError(err, ErrorCodes.DECODE_FAILED) || isChainlogError(err, ErrorCodes.INVALID_ENTRY) || isChainlogError(err, ErrorCodes.UNENCODABLE_VALUE)) {
      throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `entry ${hashOrPrefix} cannot be read: ${err.message}; run verify`, { hash: hashOrPrefix }, { cause: err })
    }
    throw err
  }
}

/** Where an entry is (session and seq), or undefined when the store has no such entry. */
export async function locateEntry(store: ChainlogStore, hash: string): Promise<{ sessionId: string; seq: number } | undefined> {
  // One index read, no entry read: fork points are full hashes.
  return isHexHash(hash) ? store.locate(hash) : undefined
}

/** The seq of a session's head (its length - 1). */
export async function headSeq(store: ChainlogStore, sessionId: string): Promise<number> {
  const head = await store.readHead(sessionId)
  if (!head) throw new ChainlogError(ErrorCodes.SESSION_NOT_FOUND, `no session ${sessionId}`, { sessionId })
  return head.seq
}
