// copyStore: move a whole store between engines (LevelDB directory, PostgreSQL, any abstract-level
// database), every session with its lineage, blobs, usage ledger, leases and tombstones.
//
// It copies rows, not bundles: both engines hold the same key layout (docs/storage.md section 1),
// so the target gets the source's rows byte for byte, in key order, in commits of bounded size,
// read from one snapshot of the source (a LevelDB iterator; a REPEATABLE READ transaction on
// PostgreSQL, storage/pg-snapshot.ts). Memory stays bounded by one chunk, whatever the store's size. Bundles
// would re-verify and re-derive every row per session, hold a bundle in memory, and leave out
// what a bundle does not carry (tombstones, leases). The copy is then checked twice: the target's
// rows are read back and must hash to what was written (every row, every byte), and the target
// is verified as an auditor would (chains, hash index, heads, lineage, blobs, tree rows).
//
// Refused before anything is written: a source that holds no store (CHAINLOG_STORE_NOT_FOUND), a
// target that holds any session, blob or other row (CHAINLOG_STORE_NOT_EMPTY), the same store as
// both, a location that is neither a directory nor a postgres:// URL (CHAINLOG_INVALID_ARGUMENT).
//
// Resuming (`resume: true`): a copy stopped part-way (a killed process, a lost connection, a
// machine that went down) leaves in the target the first rows of the source in key order, since
// rows are written in that order and each engine applies commits in order (a crash loses only a
// suffix of them). A resumed copy reads the target's rows beside the source's and continues after
// them only when they are exactly that: the same keys and values as the source's first rows. Any
// other target (another store's rows, or a source that has changed since in the part copied) is
// refused as not empty, with nothing written.
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createHash } from 'node:crypto'
import { bytesEqual } from '../encoding/cbor.js'
import { ChainlogError, ErrorCodes } from '../errors.js'
import type { VerifyReport } from '../verify/findings.js'
import { Store } from '../store.js'
import { checkStoreDir } from '../storage/dir-check.js'
import type { BatchOp, Row, StorageEngine } from '../storage/engine.js'
import * as K from '../storage/keys.js'
import type { AnyLevel } from '../storage/level-engine.js'
import type { PgEngineOptions } from '../storage/pg-engine.js'
import { openPgSnapshot, type PgSnapshot } from '../storage/pg-snapshot.js'
import { isPostgresUrl, isUrl, urlScheme } from '../store-location.js'

/** Where a store is: a directory, a postgres:// URL, or options naming one of those or an abstract-level database. */
export type StoreLocation = string | { path: string } | { postgres: PgEngineOptions } | { db: AnyLevel }

export interface CopyProgress {
  /** `copy`: rows written so far; `check`: rows of the target read back; `verify`: entries verified. */
  phase: 'copy' | 'check' | 'verify'
  /** Rows copied or read back so far (entries, in `verify`). */
  done: number
  /** Bytes of keys and values so far (entry bytes, in `verify`). */
  bytes: number
  /** How many there are in all: always in `check` and `verify`; in `copy` from a PostgreSQL source only (LevelDB cannot count rows without reading them). */
  total?: number
}

export interface CopyOptions {
  /** Called after each chunk of each phase. */
  onProgress?: (progress: CopyProgress) => void
  /** Rows per read of the source and per commit to the target (default 1024; at most 4 MiB of keys and values per commit either way). */
  chunk?: number
  /** Worker threads of the final verify (VerifyOptions.threads). */
  threads?: number
  /**
   * Continue a copy that stopped part-way: a target whose rows are exactly the source's first rows
   * in key order is accepted, and only the rest is written (an empty target is copied as usual).
   * A copy run with `resume` that fails keeps what it wrote, for the next resume.
   */
  resume?: boolean
}

export interface CopyResult {
  /** Sessions (heads), entries (records), blobs, and every row copied, with their bytes (keys and values), rows found in the target by a resume included. */
  sessions: number
  entries: number
  blobs: number
  rows: number
  bytes: number
  /** SHA-256 over every copied row (key and value, each with its length), as written and as read back from the target. */
  digest: string
  /** Rows a resumed copy found already in the target (the source's first rows), not written again; 0 otherwise. */
  resumed: number
  /** The target verified after the copy; `ok` is its verdict. */
  verify: VerifyReport
  ok: boolean
}

const MAX_COMMIT_BYTES = 4 * 1024 * 1024
const SCAN_CHUNK = 512
const ALL = { gte: new Uint8Array([0x00]), lt: new Uint8Array([0xff]) }
/** Rows that belong to one database and are not copied: the format row (each store has its own) and LevelDB's journal position. */
const isLocalRow = (key: Uint8Array) => key.length === 1 && (key[0] === K.TAG.format || key[0] === K.TAG.journal)

type Resolved = { kind: 'path'; path: string } | { kind: 'postgres'; postgres: PgEngineOptions } | { kind: 'db'; db: AnyLevel }

function invalid(message: string, data: Record<string, unknown>): ChainlogError {
  return new ChainlogError(ErrorCodes.INVALID_ARGUMENT, message, data)
}

/** A location as one of the three kinds; a URL of another scheme is refused. */
export function resolveLocation(location: StoreLocation, role: 'from' | 'to'): Resolved {
  if (typeof location === 'string') {
    if (location === '') throw invalid(`copy ${role}: a store location is a directory or a postgres:// URL, not an empty string`, { [role]: location })
    if (isPostgresUrl(location)) return { kind: 'postgres', postgres: { connectionString: location } }
    if (isUrl(location)) throw invalid(`copy ${role}: ${urlScheme(location)}… is not a store location (a directory or a postgres:// URL)`, { [role]: redact(location) })
    return { kind: 'path', path: resolve(location) }
  }
  if (location && typeof location === 'object') {
    if ('postgres' in location && location.postgres) return { kind: 'postgres', postgres: location.postgres }
    if ('db' in location && location.db) return { kind: 'db', db: location.db }
    if ('path' in location && typeof location.path === 'string' && location.path !== '') return { kind: 'path', path: resolve(location.path) }
  }
  throw invalid(`copy ${role}: give a directory, a postgres:// URL, { path }, { postgres } or { db }`, {})
}

/** A URL with its password hidden, for messages and error data. */
export function redact(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@]*@/i, '$1:***@')
}

/** How a location reads in messages (passwords hidden). */
export function describeLocation(r: Resolved): string {
  if (r.kind === 'path') return r.path
  if (r.kind === 'postgres') return `${redact(r.postgres.connectionString)}${r.postgres.schema ? ` (schema ${r.postgres.schema})` : ''}`
  return 'the given database'
}

function sameStore(a: Resolved, b: Resolved): boolean {
  if (a.kind === 'path' && b.kind === 'path') return a.path === b.path
  if (a.kind === 'postgres' && b.kind === 'postgres') return a.postgres.connectionString === b.postgres.connectionString && (a.postgres.schema ?? 'chainlog') === (b.postgres.schema ?? 'chainlog')
  if (a.kind === 'db' && b.kind === 'db') return a.db === b.db
  return false
}

function notFound(r: Resolved, detail: string): ChainlogError {
  return new ChainlogError(ErrorCodes.STORE_NOT_FOUND, `no chainlog store at ${describeLocation(r)} to copy from: ${detail}`, { from: describeLocation(r) })
}

/** The source side: its store (format checked, never migrated) and a snapshot of its rows. */
interface Source {
  store: Store
  /** How many rows will be copied, when the engine can tell without reading them (PostgreSQL). */
  total(): Promise<number | undefined>
  rows(chunk: number): AsyncIterable<Row[]>
  close(): Promise<void>
}

async function openSource(r: Resolved): Promise<Source> {
  if (r.kind === 'path') {
    // Looked at first: opening a directory that holds no store would create one there.
    checkStoreDir(r.path)
    if (!existsSync(join(r.path, 'CURRENT'))) throw notFound(r, existsSync(r.path) ? 'the directory holds no store' : 'no such directory')
  }
  let snapshot: PgSnapshot | undefined
  if (r.kind === 'postgres') {
    // The snapshot first: its transaction starts before anything is read, and it asks whether the
    // schema holds a store without creating one (opening an engine would).
    snapshot = await openPgSnapshot(r.postgres)
    if (!snapshot.exists) {
      await snapshot.close()
      throw notFound(r, `schema ${r.postgres.schema ?? 'chainlog'} holds no store`)
    }
  }
  let store: Store
  try {
    // migrate: false: a copy never changes its source (a format-1 store is refused; migrate it first).
    store = await Store.open({ ...openOptions(r), durability: 'relaxed', migrate: false })
  } catch (err) {
    await snapshot?.close()
    throw err
  }
  const engine = store.engine
  return {
    store,
    total: async () => snapshot?.count(),
    rows: (chunk) => (snapshot ? snapshot.rows(chunk) : engine.scan(ALL, chunk)),
    async close() {
      await snapshot?.close()
      await store.close()
    },
  }
}

function openOptions(r: Resolved): { path: string } | { postgres: PgEngineOptions } | { db: AnyLevel } {
  return r.kind === 'path' ? { path: r.path } : r.kind === 'postgres' ? { postgres: r.postgres } : { db: r.db }
}

const TABLES: Record<number, string> = Object.fromEntries(Object.entries(K.TAG).map(([name, tag]) => [tag, name]))

/** What makes a store non-empty: `sessions` when it has a head, else the table of its first row (its own rows aside); undefined when empty. */
async function occupied(engine: StorageEngine): Promise<string | undefined> {
  for await (const rows of engine.scan({ ...K.tableRange(K.TAG.head), limit: 1 }, 1)) if (rows.length > 0) return 'sessions'
  for await (const rows of engine.scan(ALL, 8)) for (const [key] of rows) if (!isLocalRow(key)) return TABLES[key[0]!] ?? `0x${key[0]!.toString(16)}`
  return undefined
}

/** The rows of chunked scans, one at a time. */
async function* eachRow(chunks: AsyncIterable<Row[]>): AsyncGenerator<Row> {
  for await (const rows of chunks) yield* rows
}

/** The name of the table a key belongs to, for messages. */
const tableOf = (key: Uint8Array): string => TABLES[key[0]!] ?? `0x${key[0]!.toString(16)}`

/** Running SHA-256 and counts over rows, as written and as read back. */
class RowDigest {
  readonly #hash = createHash('sha256')
  rows = 0
  bytes = 0
  readonly #len = Buffer.alloc(4)
  add(key: Uint8Array, value: Uint8Array): void {
    this.#len.writeUInt32BE(key.length)
    this.#hash.update(this.#len).update(key)
    this.#len.writeUInt32BE(value.length)
    this.#hash.update(this.#len).update(value)
    this.rows++
    this.bytes += key.length + value.length
  }
  digest(): string {
    return this.#hash.digest('hex')
  }
}

/**
 * Copy every row of the store at `from` into the empty store at `to` (created when missing), then
 * read the target back and verify it. Both stores are opened by this call, alone (a LevelDB
 * directory another process holds is refused with CHAINLOG_STORE_LOCKED), and closed at the end.
 * @example await copyStore('./.chainlog', 'postgres://chainlog@db.internal/agents', { onProgress: (p) => console.log(p.phase, p.done) })
 */
export async function copyStore(from: StoreLocation, to: StoreLocation, options: CopyOptions = {}): Promise<CopyResult> {
  const src = resolveLocation(from, 'from')
  const dst = resolveLocation(to, 'to')
  if (sameStore(src, dst)) throw invalid(`copy: ${describeLocation(src)} is both the source and the target`, { from: describeLocation(src), to: describeLocation(dst) })
  const chunk = options.chunk ?? 1024
  if (!Number.isSafeInteger(chunk) || chunk < 1) throw invalid('copy: chunk must be a positive integer', { chunk })
  const onProgress = options.onProgress ?? (() => undefined)

  // A target directory that holds something other than a store is refused before LevelDB writes into it.
  let created = false
  if (dst.kind === 'path') {
    checkStoreDir(dst.path)
    if (!existsSync(dst.path)) created = true
    else if (statSync(dst.path).isDirectory() && !existsSync(join(dst.path, 'CURRENT')) && readdirSync(dst.path).length > 0) {
      throw new ChainlogError(ErrorCodes.STORE_NOT_EMPTY, `copy: ${dst.path} holds other files; copy into a new or empty directory`, { to: dst.path, found: 'files' })
    }
  }

  const source = await openSource(src)
  let target: Store | undefined
  let wrote = false
  let failed = false
  const resume = options.resume === true
  try {
    target = await Store.open({ ...openOptions(dst), durability: 'relaxed', migrate: false })
    const found = await occupied(target.engine)
    if (found && !resume) {
      throw new ChainlogError(ErrorCodes.STORE_NOT_EMPTY, `copy: the target ${describeLocation(dst)} is not empty (it holds ${found === 'sessions' ? 'sessions' : `${found} rows`}); copy into an empty store, or resume a copy that stopped part-way`, { to: describeLocation(dst), found })
    }

    // Copy: one commit in flight while the next chunk is read; the last one is durable, and makes
    // every one before it durable (LevelDB's journal and PostgreSQL's WAL are flushed in order).
    const written = new RowDigest()
    const counts = { sessions: 0, entries: 0, blobs: 0 }
    let ops: BatchOp[] = []
    let opBytes = 0
    let inFlight: Promise<void> | undefined
    const engine = target.engine
    const total = await source.total()
    const sourceRows = eachRow(source.rows(chunk))
    // A resume: the target's rows must be the source's first rows, byte for byte; they count as
    // copied (in the digest, the counts and the progress) and are not written again.
    let resumed = 0
    let last: Row | undefined
    const count = (key: Uint8Array) => {
      const tag = key[0]
      if (tag === K.TAG.head) counts.sessions++
      else if (tag === K.TAG.record) counts.entries++
      else if (tag === K.TAG.blob) counts.blobs++
    }
    if (found) {
      for await (const [key, value] of eachRow(engine.scan(ALL, SCAN_CHUNK))) {
        if (isLocalRow(key)) continue
        let next: Row | undefined
        for (;;) {
          const r = await sourceRows.next()
          if (r.done || !isLocalRow(r.value[0])) {
            next = r.done ? undefined : r.value
            break
          }
        }
        if (!next || !bytesEqual(next[0], key) || !bytesEqual(next[1], value)) {
          const where = next && bytesEqual(next[0], key) ? `a ${tableOf(key)} row whose value differs` : `a ${tableOf(key)} row the source does not have there`
          throw new ChainlogError(
            ErrorCodes.STORE_NOT_EMPTY,
            `copy: the target ${describeLocation(dst)} is not a copy of this source stopped part-way (after ${resumed} matching rows it holds ${where}); copy into an empty store`,
            { to: describeLocation(dst), found, resumable: false, matched: resumed },
          )
        }
        count(key)
        last = [new Uint8Array(key), new Uint8Array(value)]
        written.add(last[0], last[1])
        resumed++
        if (resumed % SCAN_CHUNK === 0) onProgress({ phase: 'copy', done: written.rows, bytes: written.bytes, ...(total !== undefined ? { total } : {}) })
      }
    }
    const send = async (sync: boolean) => {
      if (inFlight) await inFlight
      if (ops.length === 0) return
      const commit = engine.commit({ ops, sync })
      // Awaited before the next commit or at the end; until then its failure must not count as unhandled.
      commit.catch(() => undefined)
      wrote = true
      ops = []
      opBytes = 0
      inFlight = commit
      onProgress({ phase: 'copy', done: written.rows, bytes: written.bytes, ...(total !== undefined ? { total } : {}) })
    }
    for await (const [key, value] of sourceRows) {
      if (isLocalRow(key)) continue
      count(key)
      // Copies: a chunk's buffers may be reused by the reader once it moves on.
      const k = new Uint8Array(key)
      const v = new Uint8Array(value)
      written.add(k, v)
      ops.push({ type: 'put', key: k, value: v })
      last = [k, v]
      opBytes += k.length + v.length
      if (ops.length >= chunk || opBytes >= MAX_COMMIT_BYTES) await send(false)
    }
    // The last commit is durable and makes every one before it durable. When nothing is left to
    // write (the rows ended exactly at a commit, or a resume found the whole source in the
    // target), the last row is written again, durably, for that.
    if (ops.length === 0 && last) ops.push({ type: 'put', key: last[0], value: last[1] })
    await send(true)
    if (inFlight) await inFlight
    await engine.flush()
    target.invalidate()
    const digest = written.digest()

    // Check: the target holds exactly the rows written, byte for byte.
    const readBack = new RowDigest()
    for await (const rows of engine.scan(ALL, SCAN_CHUNK)) {
      for (const [key, value] of rows) if (!isLocalRow(key)) readBack.add(key, value)
      onProgress({ phase: 'check', done: readBack.rows, bytes: readBack.bytes, total: written.rows })
    }
    const back = readBack.digest()
    if (back !== digest || readBack.rows !== written.rows) {
      // Kept as it is: the rows that differ may be another writer's, not this copy's.
      wrote = false
      throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `copy: the target ${describeLocation(dst)} does not hold what was written (${readBack.rows} rows read back of ${written.rows}); did another process write to it?`, {
        to: describeLocation(dst),
        expected: digest,
        actual: back,
        rows: written.rows,
        rowsRead: readBack.rows,
      })
    }

    // Verify: as an auditor would, every chain, index, head, fork point, blob and tree row.
    const verify = await target.verify({
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
      onProgress: (c) => onProgress({ phase: 'verify', done: c.entries, bytes: c.bytes, total: counts.entries }),
    })
    return { ...counts, rows: written.rows, bytes: written.bytes, digest, resumed, verify, ok: verify.ok }
  } catch (err) {
    failed = true
    // A copy that failed part-way leaves no partial store behind where it can remove it: a
    // directory it created goes, rows it wrote elsewhere are deleted (if the target still answers).
    // A resumable copy keeps them for the next resume.
    if (wrote && target && !created && !resume) await removeRows(target).catch(() => undefined)
    throw err
  } finally {
    await source.close().catch(() => undefined)
    await target?.close().catch(() => undefined)
    if (failed && created && !resume && dst.kind === 'path') rmSync(dst.path, { recursive: true, force: true })
  }
}

/** Delete every row of a store but its own (format, journal), chunk by chunk: what a failed copy wrote. */
async function removeRows(store: Store): Promise<void> {
  const engine = store.engine
  await engine.flush().catch(() => undefined)
  for (;;) {
    const keys: Uint8Array[] = []
    for await (const rows of engine.scan(ALL, SCAN_CHUNK)) {
      for (const [key] of rows) if (!isLocalRow(key)) keys.push(new Uint8Array(key))
      if (keys.length >= 1024) break
    }
    if (keys.length === 0) return
    await engine.commit({ ops: keys.map((key) => ({ type: 'del', key })), sync: true })
  }
}
