// The session store: atomic, compare-and-set appends; streaming reads; restore through the
// reducer. Written against the storage-engine contract (engine.ts): every write is one engine
// commit whose preconditions are the rows it read (the session head, its lease), so a write that
// raced another writer is refused whole, never interleaved, whatever the in-process lock knows.
// Key layout: ./keys.ts and docs/storage.md. Concerns kept apart: reads (read-entries.ts),
// listing (list-sessions.ts), leases (leases.ts), metadata (session-meta.ts), the appended rows
// (append-plan.ts), opening and migration (store-format.ts, migrate.ts).
import { bytesEqual, decodeCbor, encodeCanonical } from '../encoding/cbor.js'
import type { OpenedRecord } from '../encoding/record.js'
import { ZERO_HASH, fromHex, hashRecord, isHexHash, toHex } from '../encoding/hash.js'
import { ChainlogError, ErrorCodes, formatPath } from '../errors.js'
import { classifyItem, type ItemClassifier } from '../schema/classify.js'
import type { Config, Entry, SessionStart, Usage } from '../schema/entry.js'
import { applyEntryInPlace, type SessionState } from '../state/reducer.js'
import { groupTurnItems } from '../state/turn.js'
import {
  DEFAULT_BLOB_THRESHOLD,
  externalize,
  packBlob,
  refHash,
  type BlobOptions,
  type CompressionProfile,
  type BlobRef,
  type NewBlob,
} from '../blobs/blobs.js'
import { PRESENT, PreconditionFailed, syncRequested, type BatchOp, type Precondition, type StorageEngine } from './engine.js'
import type { PgEngineOptions } from './pg-engine.js'
import * as K from './keys.js'
import { newSessionId } from './session-ids.js'
import { LevelEngine, type AnyLevel } from './level-engine.js'
import { LeaseTable, encodeLease, type Lease, type LeaseRead, type LeaseRow } from './leases.js'
import { KnownSessions, type KnownSession } from './known-sessions.js'
import { listSessions, type ListOptions, type SessionInfo } from './list-sessions.js'
import type { MigrationProgress } from './migrate.js'
import { storageError } from './open-errors.js'
import { checkedBlob, corrupt, readEntries, type StoredEntry } from './read-entries.js'
import { readEntriesAt } from './read-at.js'
import { countItems, emptyCounts, type SessionMeta } from './session-meta.js'
import { checkFormat, openLevel } from './store-format.js'
import { platform } from '../platform/node.js'
import { UsageLedger, withUsages, type UsageByModel } from './usage-ledger.js'
import { planAppend, planGenesis } from './append-plan.js'
import { buildTreeOps, readFrontier, type TreeState } from './tree.js'
import { checkIndexUpdate, indexOps, readIndexRow, scanIndexRows, type IndexScan, type IndexUpdate } from './session-index.js'
import { blobUse, isBlobGuard } from './gc.js'

export { STORE_FORMAT_VERSION, WRITE_BUFFER_BYTES } from './store-format.js'
export { FIRST_CHUNK, MAX_CHUNK, type StoredEntry } from './read-entries.js'
export { countItems, emptyCounts, itemsOf, type MessageCounts, type SessionMeta } from './session-meta.js'
export type { Lease } from './leases.js'
export type { IndexScan, IndexUpdate } from './session-index.js'
export type { ListOptions, SessionInfo } from './list-sessions.js'
export type { AnyLevel }

/**
 * The entry schema (zod) and the codec that checks entries against it, loaded on the first write
 * or checked read: a process that only lists and reads sessions never loads them (CLI start-up,
 * issue 13 case 8).
 */
// The import() promise is kept: an import() of a module already loaded still resolves its
// specifier and makes a promise each time, ~15 µs an append (case 1's floor-cpu profile).
let codecModule: Promise<typeof import('../encoding/entry-codec.js')> | undefined
let schemaModule: Promise<typeof import('../schema/entry.js')> | undefined
const codec = () => (codecModule ??= import('../encoding/entry-codec.js'))
const schema = () => (schemaModule ??= import('../schema/entry.js'))

/**
 * How often an append whose head moved under it (another writer of the same database) is planned
 * again before giving up; after the first retry each waits a short random while, so that two
 * writers racing for one session do not keep colliding.
 */
const APPEND_ATTEMPTS = 32

export type Durability = 'sync' | 'relaxed'

export interface StoreOptions {
  /** Directory of a classic-level store (created if missing). */
  path?: string
  /** A PostgreSQL database instead (docs/scaling.md): shared by any number of processes and hosts. */
  postgres?: PgEngineOptions
  /** Any abstract-level database instead of a path (e.g. memory-level). Opened if needed. */
  db?: AnyLevel
  /** `sync` (default): each append is fsynced before it returns. `relaxed`: left to the OS. */
  durability?: Durability
  /**
   * With `relaxed`, bound what a power cut can lose: the first commit made this many ms or more
   * after the last fsync is fsynced before it returns (LevelDB stores; docs/storage.md, section 5).
   */
  syncEveryMs?: number
  /** Classifier used by appendTurn when the call does not pass its own. */
  classify?: ItemClassifier
  /** Recompute hashes and links while restoring (default true). */
  verifyOnRestore?: boolean
  /** Out-of-line storage of large payloads (docs/storage.md, "Blobs"). */
  blobs?: BlobOptions
  /** Migrate a store of an older format on open (default true); false refuses it with CHAINLOG_UNSUPPORTED_VERSION. */
  migrate?: boolean
  /** Progress of a migration on open (docs/storage.md, section 11). */
  onMigrate?: (progress: MigrationProgress) => void
  /**
   * A signer key text (`PRIVATE+KEY+<name>+…`, docs/proofs.md section 3.3) for checkpoints and
   * proofs: `checkpoint()`, `prove()` and `proveConsistency()` sign with it.
   */
  signingKey?: string
  /**
   * With `signingKey`: after every append whose entries include a `turn_end`, sign a checkpoint
   * of the session at its new size and return it as the result's `checkpoint` (and pass it to
   * `onCheckpoint`). Produced, not stored (docs/proofs.md section 4.3).
   */
  checkpointOnTurnEnd?: boolean
  /** Called with each checkpoint `checkpointOnTurnEnd` produces, in append order per session; what it throws is ignored. */
  onCheckpoint?: (c: TurnCheckpoint) => void
}

/** A checkpoint signed after an append that ended a turn (StoreOptions.checkpointOnTurnEnd). */
export interface TurnCheckpoint {
  sessionId: string
  /** The session's size after the append. */
  size: number
  /** The signed checkpoint (docs/proofs.md section 4). */
  checkpoint: string
}

/**
 * Told of each append once it has committed, under the session's lock, with the session's head
 * and tree as the append left them (absent for an append that had already landed); returns the
 * result the caller gets. Store sets it for checkpoints on turn_end (storage/turn-checkpoints.ts).
 */
export type AppendHook = (sessionId: string, entries: readonly Entry[], result: TurnResult, landed?: { head: Head; tree: TreeState }) => TurnResult | Promise<TurnResult>

/** An entry as given to `append`: `ts` defaults to now. */
export type EntryInput = Entry extends infer E ? (E extends { ts: number } ? Omit<E, 'ts'> & { ts?: number } : never) : never

export interface AppendOptions {
  /** The head the caller last saw. Stale -> CHAINLOG_HEAD_CONFLICT, nothing written. */
  expectedHead?: string
  /** The caller's lease on the session: stale or expired -> CHAINLOG_LEASE_INVALID, nothing written. */
  lease?: Lease
  /** Index rows to change in the same commit (session-index.ts; docs/storage.md section 1). */
  index?: IndexUpdate
}

export interface AppendResult {
  hash: string
  seq: number
  /** With checkpointOnTurnEnd, when the append added a turn_end: a signed checkpoint at seq + 1. */
  checkpoint?: string
}

export interface TurnOptions extends AppendOptions {
  /** Also append a turn_end with this turn count (true: the current count + 1). */
  turnEnd?: number | true
  /** Also append an llm_usage entry (or several). */
  usage?: Usage | Usage[]
  /** Classifier for this call's items. */
  classify?: ItemClassifier
  /** Timestamp for every entry of the turn (default now). */
  ts?: number
}

export interface TurnResult {
  head: string
  entries: AppendResult[]
  /** With checkpointOnTurnEnd, when the entries include a turn_end: a signed checkpoint of the session at its new size. */
  checkpoint?: string
}

export interface CreateSessionInput {
  sessionId?: string
  systemPrompt?: string
  config?: Config
  history?: unknown[]
  ts?: number
}

export interface Head {
  hash: Uint8Array
  seq: number
}

/** A session row (`P`) as read: its head, its bytes, and its metadata once decoded. */
export interface StoredRow {
  head: Head
  /** The row's bytes, for a precondition on it. */
  raw: Uint8Array
  /** Decoded on first use (readers of the head alone never decode it). */
  meta?: SessionMeta | undefined
}

/** Validate a hex hash prefix given by a user. */
export function normalisePrefix(hashOrPrefix: string): string {
  if (typeof hashOrPrefix !== 'string') throw new TypeError('hash must be a string')
  const p = hashOrPrefix.toLowerCase()
  if (!/^[0-9a-f]{4,64}$/.test(p)) {
    throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, `not a hash or hash prefix (4-64 hex digits): ${hashOrPrefix}`, {
      hash: hashOrPrefix,
    })
  }
  return p
}

/** Serialises async work per key: calls for one key run one after another, in call order. */
class KeyedMutex {
  #tails = new Map<string, Promise<unknown>>()
  /** Resolves when every call queued so far has finished. */
  idle(): Promise<void> {
    return Promise.all([...this.#tails.values()]).then(() => undefined)
  }

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve()
    const next = prev.then(fn, fn)
    const tail = next.catch(() => undefined)
    this.#tails.set(key, tail)
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key)
    })
    return next
  }
}

/** Something told of every commit before it is made (gc watches writes this way). */
export type CommitWatcher = (ops: readonly BatchOp[]) => void

export class SessionStore {
  /** The storage engine every read and write goes through. */
  readonly engine: StorageEngine
  readonly #db: AnyLevel | undefined
  readonly durability: Durability
  readonly classify: ItemClassifier
  protected readonly verifyOnRestore: boolean
  /** Orders this process's writes to one session (the engine's preconditions keep them correct). */
  readonly locks = new KeyedMutex()
  readonly ledger: UsageLedger
  readonly leases: LeaseTable
  readonly blobThreshold: number
  readonly blobProfile: CompressionProfile
  readonly #path: string | undefined
  /** Blobs known to be stored (bounded; a miss only costs a read). */
  #knownBlobs = new Set<string>()
  /** While > 0, a gc is sweeping: appends write their blobs even if they seem stored. */
  gcActive = 0
  #watchers = new Set<CommitWatcher>()
  /** Session rows as read or last written (used without a read on exclusive engines only). */
  #rows = new Map<string, StoredRow>()
  /** A session's turn count as of one seq (normally its head), so appendTurn({ turnEnd: true }) reads nothing. */
  #turns = new Map<string, { seq: number; turn: number }>()
  /**
   * A session's tree frontier as of the head whose hash is kept with it (bounded). Any engine:
   * a head hash fixes the whole chain below it, so the frontier is right whoever moved the head.
   */
  #trees = new Map<string, { head: Uint8Array; tree: TreeState }>()
  /** On an engine others write too: what this process's last append of a session left (known-sessions.ts). */
  #known = new KnownSessions()
  /** See AppendHook; unset (nothing called) unless a Store asks for checkpoints on turn_end. */
  protected appendHook: AppendHook | undefined
  #closed = false

  protected constructor(engine: StorageEngine, options: StoreOptions) {
    this.engine = engine
    this.#db = engine instanceof LevelEngine ? engine.db : undefined
    this.#path = options.path
    this.durability = options.durability ?? 'sync'
    this.classify = options.classify ?? classifyItem
    this.verifyOnRestore = options.verifyOnRestore ?? true
    this.ledger = new UsageLedger(engine)
    this.leases = new LeaseTable(engine, engine.exclusive)
    const t = options.blobs?.threshold ?? DEFAULT_BLOB_THRESHOLD
    this.blobThreshold = t > 0 ? t : Infinity
    // A store directory's LevelDB compresses every block with Snappy: blobs go in raw. Elsewhere
    // (PostgreSQL keeps values uncompressed, STORAGE EXTERNAL; a db given as is may be memory)
    // large blobs are compressed (docs/storage.md, `B`).
    this.blobProfile = options.blobs?.profile ?? (options.path !== undefined && !options.postgres ? 'low-latency' : 'balanced')
  }

  /** The LevelDB (abstract-level) database under a LevelDB store, for tools that read raw rows. */
  get db(): AnyLevel {
    if (!this.#db) throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'this store is not on LevelDB: use store.engine', {})
    return this.#db
  }

  /** Open the database and its engine, and check (or migrate) the store format. */
  protected static async openEngine(options: StoreOptions): Promise<StorageEngine> {
    let engine: StorageEngine
    const every = options.syncEveryMs
    if (every !== undefined && !(typeof every === 'number' && Number.isFinite(every) && every >= 0)) {
      throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, `syncEveryMs must be a number of milliseconds, 0 or more (got ${String(every)})`, { syncEveryMs: every })
    }
    const engineOptions = { path: options.path, ...(every !== undefined ? { syncEveryMs: every } : {}) }
    if (options.postgres) {
      if (options.path !== undefined || options.db !== undefined) {
        throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'give one of path, db and postgres', {})
      }
      engine = await platform.openPgEngine(options.postgres)
    } else {
      const db = await openLevel(options)
      if (options.db || options.path === undefined) engine = new LevelEngine(db, undefined, engineOptions)
      else {
        // A store directory gets its journal (docs/storage.md section 12).
        try {
          engine = await LevelEngine.withJournal(db, options.path, engineOptions)
        } catch (err) {
          await db.close().catch(() => undefined)
          throw storageError(err, 'open', options.path)
        }
      }
    }
    try {
      await checkFormat(engine, { migrate: options.migrate, onMigrate: options.onMigrate, path: options.path })
    } catch (err) {
      // A refused store is closed again, so the directory is not left locked.
      await engine.close().catch(() => undefined)
      throw err instanceof ChainlogError ? err : storageError(err, 'open', options.path)
    }
    return engine
  }

  protected checkOpen(): void {
    if (this.#closed) throw new ChainlogError(ErrorCodes.STORE_CLOSED, 'the store is closed')
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    // Calls already past checkOpen finish (land or fail) before the database goes away.
    await this.locks.idle()
    await this.engine.flush()
    if (this.engine instanceof LevelEngine) await this.engine.emptyJournal()
    if (this.#db) await flushOnClose(this.#db, this.engine.stats.bytesWritten)
    await this.engine.close()
  }

  /**
   * Make one atomic commit: `ops` all land or none do, and only if every row in `expect` holds
   * what it says (else PreconditionFailed, nothing written). Durable before it resolves when the
   * store is `sync`, or the call runs under syncRequested.
   */
  async commit(ops: BatchOp[], expect?: Precondition[]): Promise<void> {
    for (const w of this.#watchers) w(ops)
    const sync = this.durability === 'sync' || syncRequested.getStore() === true
    try {
      if (!this.engine.exclusive) return await this.#guardedCommit(ops, expect ?? [], sync)
      await this.engine.commit(expect ? { ops, expect, sync } : { ops, sync })
    } catch (err) {
      if (err instanceof PreconditionFailed || err instanceof ChainlogError) throw err
      throw storageError(err, 'write', this.#path)
    }
  }

  /**
   * A commit on an engine other processes write, with the blob rule that makes their gc safe
   * (gc.ts, docs/storage.md "Garbage collection"): a blob the commit writes loses its gc mark; a
   * blob a record of the commit references without writing it must be there and unmarked, checked
   * by the engine in the commit's own transaction. When a gc has marked such a blob, the commit
   * writes it again (the bytes as stored) and drops the mark, which makes the gc's sweep of it
   * refused; when it is gone, the caller's own precondition failure is what it gets (the blob is
   * forgotten, so an append tried again writes it in full, or finds a caller's reference dangling).
   */
  async #guardedCommit(ops: BatchOp[], expect: Precondition[], sync: boolean): Promise<void> {
    const { written, used } = blobUse(ops)
    if (written.size === 0 && used.size === 0) return this.engine.commit(expect.length > 0 ? { ops, expect, sync } : { ops, sync })
    const extra: BatchOp[] = [...written].map((hex) => ({ type: 'del', key: K.gcMarkKey(fromHex(hex)) }))
    for (;;) {
      const guards: Precondition[] = []
      for (const hex of used) guards.push({ key: K.blobKey(fromHex(hex)), value: PRESENT }, { key: K.gcMarkKey(fromHex(hex)), value: undefined })
      try {
        return await this.engine.commit({ ops: [...ops, ...extra], expect: [...expect, ...guards], sync })
      } catch (err) {
        if (!(err instanceof PreconditionFailed) || err.index < expect.length) throw err
        const hex = toHex(err.key.subarray(1))
        const raw = await this.engine.get(K.blobKey(fromHex(hex)))
        if (raw === undefined) {
          this.#knownBlobs.delete(hex)
          throw err
        }
        // Marked by a gc that has not swept it yet: rescue it.
        used.delete(hex)
        extra.push({ type: 'put', key: K.blobKey(fromHex(hex)), value: raw }, { type: 'del', key: K.gcMarkKey(fromHex(hex)) })
      }
    }
  }

  /** Be told of every commit from now until the returned function is called. */
  watchCommits(watcher: CommitWatcher): () => void {
    this.#watchers.add(watcher)
    return () => void this.#watchers.delete(watcher)
  }

  // ---- low-level reads ---------------------------------------------------------------------

  async getRaw(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.engine.get(key)
  }

  /** The head of a session, or undefined if there is no such session. */
  async readHead(sessionId: string): Promise<Head | undefined> {
    return (await this.readRow(sessionId))?.head
  }

  /**
   * A session's row (`P`: head ‖ metadata), or undefined if there is no such session. Its
   * metadata is decoded only when asked for (rowMeta).
   */
  async readRow(sessionId: string): Promise<StoredRow | undefined> {
    const cached = this.engine.exclusive ? this.#rows.get(sessionId) : undefined
    if (cached) return cached
    const raw = await this.getRaw(K.headKey(sessionId))
    if (!raw) return undefined
    const head = K.parseHeadValue(raw)
    const row: StoredRow = { head: { hash: new Uint8Array(head.hash), seq: head.seq }, raw }
    // An append that landed while this read was under way cached a newer row: keep that one.
    const meanwhile = this.#rows.get(sessionId)
    if (meanwhile && meanwhile.head.seq > row.head.seq) return meanwhile
    this.#rows.set(sessionId, row)
    return row
  }

  /** The metadata of a session row, decoded once (undefined for a row that holds a head only). */
  rowMeta(row: StoredRow): SessionMeta | undefined {
    if (row.meta === undefined && row.raw.length > K.HEAD_BYTES) row.meta = decodeCbor(K.rowMetaBytes(row.raw)) as SessionMeta
    return row.meta
  }

  async #requireRow(sessionId: string): Promise<StoredRow> {
    const row = await this.readRow(sessionId)
    if (!row) throw new ChainlogError(ErrorCodes.SESSION_NOT_FOUND, `no session ${sessionId}`, { sessionId })
    return row
  }

  protected async requireHead(sessionId: string): Promise<Head> {
    const head = await this.readHead(sessionId)
    if (!head) throw new ChainlogError(ErrorCodes.SESSION_NOT_FOUND, `no session ${sessionId}`, { sessionId })
    return head
  }

  /** A session's metadata (usage totals included), or undefined if there is no such session. */
  async readMeta(sessionId: string): Promise<SessionMeta | undefined> {
    const row = await this.readRow(sessionId)
    return row ? this.rowMeta(row) : undefined
  }

  /** Drop cached heads and metadata (after writes that bypass append, e.g. delete or import). */
  invalidate(sessionId?: string): void {
    this.engine.forget()
    if (sessionId === undefined) {
      this.#rows.clear()
      this.#turns.clear()
      this.#trees.clear()
      this.#known.forget()
    } else {
      this.#rows.delete(sessionId)
      this.#turns.delete(sessionId)
      this.#trees.delete(sessionId)
      this.#known.forget(sessionId)
    }
    this.leases.forget(sessionId)
  }

  /** A session index row (docs/storage.md section 1), or undefined. */
  async readIndex(sessionId: string, name: string): Promise<unknown> {
    this.checkOpen()
    return readIndexRow(this.engine, sessionId, name)
  }

  /** A session's index rows in name order (or reversed), as `[name, value]`. */
  async scanIndex(sessionId: string, options: IndexScan = {}): Promise<[string, unknown][]> {
    this.checkOpen()
    return scanIndexRows(this.engine, sessionId, options)
  }

  /** Where an entry lives, by full hex hash; undefined if unknown. */
  async locate(hash: string): Promise<{ sessionId: string; seq: number } | undefined> {
    const raw = await this.getRaw(K.hashKey(fromHex(hash)))
    return raw ? K.parseHashIndexValue(raw) : undefined
  }

  /** The stored record of an entry (prev ‖ entry bytes) and where it is, by full hex hash. */
  async readRecord(hash: string): Promise<{ sessionId: string; seq: number; record: Uint8Array } | undefined> {
    const loc = await this.locate(hash)
    if (!loc) return undefined
    const record = await this.getRaw(K.recordKey(loc.sessionId, loc.seq))
    return record ? { ...loc, record } : undefined
  }

  /**
   * The full hash for a hash or unique prefix (at least 4 hex digits).
   * @throws CHAINLOG_ENTRY_NOT_FOUND, CHAINLOG_AMBIGUOUS_PREFIX, CHAINLOG_INVALID_ARGUMENT
   */
  async resolveHash(hashOrPrefix: string): Promise<string> {
    this.checkOpen()
    const p = normalisePrefix(hashOrPrefix)
    if (p.length === 64) {
      if (!(await this.getRaw(K.hashKey(fromHex(p))))) {
        throw new ChainlogError(ErrorCodes.ENTRY_NOT_FOUND, `no entry ${p}`, { hash: p })
      }
      return p
    }
    const matches: string[] = []
    for await (const rows of this.engine.scan({ ...K.hashPrefixRange(p), limit: 2 }, 2)) {
      for (const [key] of rows) {
        const hex = toHex(key.subarray(1))
        if (hex.startsWith(p)) matches.push(hex)
      }
    }
    if (matches.length === 0) throw new ChainlogError(ErrorCodes.ENTRY_NOT_FOUND, `no entry matches ${p}`, { prefix: p })
    if (matches.length > 1) {
      throw new ChainlogError(ErrorCodes.AMBIGUOUS_PREFIX, `prefix ${p} matches more than one entry`, { prefix: p, matches })
    }
    return matches[0]!
  }

  /** One entry by hash or unique prefix, with its session, seq and prev. */
  async getEntry(hashOrPrefix: string): Promise<StoredEntry> {
    const hash = await this.resolveHash(hashOrPrefix)
    const found = await this.readRecord(hash)
    if (!found) {
      throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `entry ${hash} is indexed but its record is missing; run verify`, { hash })
    }
    const where = { hash, sessionId: found.sessionId, seq: found.seq }
    // Stored bytes that do not hash to their index key, or do not decode, are damage, not bad input.
    if (toHex(hashRecord(found.record)) !== hash) {
      throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `entry ${hash} does not hash to its key; run verify`, where)
    }
    const { openRecord } = await codec()
    let opened: OpenedRecord
    try {
      opened = openRecord(found.record)
    } catch (err) {
      throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `entry ${hash} cannot be read: ${(err as Error).message}; run verify`, where, { cause: err })
    }
    return { sessionId: found.sessionId, seq: found.seq, hash, prev: toHex(opened.prev), entry: opened.entry, format: opened.format }
  }

  // ---- appends -----------------------------------------------------------------------------

  /**
   * Create a session. Its genesis entry binds the session id into the chain.
   * @returns the session id (UUIDv7 unless given) and the genesis hash.
   */
  async createSession(input: CreateSessionInput = {}): Promise<{ sessionId: string; head: string }> {
    const genesis: Record<string, unknown> = {
      kind: 'session_start',
      ts: input.ts ?? Date.now(),
      sessionId: input.sessionId ?? (await newSessionId()),
      config: input.config ?? {},
      history: input.history ?? [],
    }
    if (input.systemPrompt !== undefined) genesis.systemPrompt = input.systemPrompt
    return this.writeGenesis(genesis as SessionStart)
  }

  /**
   * Write a genesis entry as a new session, with extra ops (e.g. a dependant row) in the same
   * commit, which is refused if the session exists by then. Used by createSession, forks and
   * compactions.
   */
  async writeGenesis(genesis: SessionStart, extraOps: BatchOp[] = [], extraMeta: Partial<SessionMeta> = {}): Promise<{ sessionId: string; head: string }> {
    this.checkOpen()
    const [{ SessionId }, { sealEntry }] = await Promise.all([schema(), codec()])
    const sid = SessionId.safeParse(genesis.sessionId)
    if (!sid.success) {
      throw new ChainlogError(ErrorCodes.INVALID_ENTRY, `invalid session id: ${sid.error.issues[0]?.message}`, { path: 'sessionId' })
    }
    const sessionId = genesis.sessionId
    return this.locks.run(sessionId, async () => {
      this.checkOpen()
      const exists = () => new ChainlogError(ErrorCodes.SESSION_EXISTS, `session ${sessionId} already exists`, { sessionId })
      if (await this.readHead(sessionId)) throw exists()
      let plan: ReturnType<typeof planGenesis>
      let newBlobs: string[]
      for (let attempt = 1; ; attempt++) {
        const blobOps: BatchOp[] = []
        newBlobs = []
        const [stored] = await this.prepareBlobs([genesis], blobOps, newBlobs)
        plan = planGenesis(sessionId, sealEntry(ZERO_HASH, stored), genesis, extraMeta, this.classify)
        try {
          await this.commit([...plan.ops, ...blobOps, ...extraOps], plan.expect)
          break
        } catch (err) {
          if (!(err instanceof PreconditionFailed)) throw err
          // A blob it uses was swept by another process's gc meanwhile (forgotten now): again.
          if (isBlobGuard(err.key) && attempt < APPEND_ATTEMPTS) continue
          this.invalidate(sessionId)
          throw exists()
        }
      }
      for (const hex of newBlobs) this.rememberBlob(hex)
      this.#rows.set(sessionId, { head: plan.head, raw: plan.row, meta: plan.meta })
      // A new session without a snapshot or a source has had no turn; the others count theirs when asked.
      if (!genesis.snapshot && !genesis.forkedFrom) this.#turns.set(sessionId, { seq: 0, turn: 0 })
      else this.#turns.delete(sessionId)
      this.#rememberTree(sessionId, plan.head, plan.tree)
      // So that the session's first append, like every later one, reads nothing on an engine
      // others write too: its row as written, and no lease row (which the commit then expects
      // absent; one that another process wrote meanwhile refuses it, and the append reads).
      if (!this.engine.exclusive) this.#known.remember(sessionId, { head: plan.head, lease: { row: null, raw: undefined }, meta: plan.meta, row: plan.row })
      return { sessionId, head: toHex(plan.head.hash) }
    })
  }

  /**
   * Append one entry. With `expectedHead`, the append is compare-and-set, and re-sending an
   * append that already landed returns the landed entry instead of writing it twice.
   */
  async append(sessionId: string, entry: EntryInput, options: AppendOptions = {}): Promise<AppendResult> {
    const r = await this.appendMany(sessionId, [entry], options)
    if (!this.appendHook) return r.entries[0]!
    // What the hook added (a turn_end checkpoint; for a sharing process, the tree head) goes with the entry.
    const { head: _h, entries, idempotent: _i, ...added } = r as TurnResult & { idempotent?: boolean }
    return { ...entries[0]!, ...added }
  }

  /**
   * Append several entries to one session in ONE atomic batch: all land or none do.
   * The building block of appendTurn and the helpers.
   */
  async appendMany(sessionId: string, entries: readonly EntryInput[], options: AppendOptions = {}): Promise<TurnResult> {
    return this.#appendMany(sessionId, entries, options, false)
  }

  /** `nextTurn`: the last entry is a turn_end whose count is the count at prev + 1, found under the lock. */
  async #appendMany(sessionId: string, entries: readonly EntryInput[], options: AppendOptions, nextTurn: boolean): Promise<TurnResult> {
    this.checkOpen()
    if (entries.length === 0) throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'nothing to append', {})
    if (options.expectedHead !== undefined && !isHexHash(options.expectedHead)) {
      throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'expectedHead must be a full 64-digit lowercase hex hash', {
        expectedHead: options.expectedHead,
      })
    }
    if (options.index !== undefined) checkIndexUpdate(options.index)
    const now = Date.now()
    const full: Entry[] = entries.map((e, i) => {
      if (e === null || typeof e !== 'object') {
        throw new ChainlogError(ErrorCodes.INVALID_ENTRY, `entry ${i} is not an object`, { path: `[${i}]` })
      }
      if ((e as { kind?: unknown }).kind === 'session_start') {
        throw new ChainlogError(ErrorCodes.INVALID_ENTRY, 'session_start only starts a session; use createSession', { path: 'kind' })
      }
      return ('ts' in e && e.ts !== undefined ? e : { ...e, ts: now }) as Entry
    })
    return this.locks.run(sessionId, async () => {
      // The commit is refused if the head (or lease) moved since it was read: only another writer
      // of the same database can do that. Read again and plan again; a caller that named the
      // head it expects then gets its answer (idempotent result or HEAD_CONFLICT) from the new head.
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.#appendOnce(sessionId, entries.length, full, options, nextTurn)
        } catch (err) {
          if (!(err instanceof PreconditionFailed)) throw err
          this.#known.refused(sessionId)
          this.invalidate(sessionId)
          if (attempt >= APPEND_ATTEMPTS) {
            throw new ChainlogError(ErrorCodes.HEAD_CONFLICT, `session ${sessionId} kept moving under the append (${attempt} attempts)`, { sessionId })
          }
          if (attempt > 1) await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 * attempt)))
        }
      }
    })
  }

  /** One attempt of an append, under the session's lock: read, plan, one commit. */
  async #appendOnce(sessionId: string, given: number, full: Entry[], options: AppendOptions, nextTurn: boolean): Promise<TurnResult> {
    this.checkOpen()
    // On an engine other processes write, nothing read is cached: the session row (head and
    // metadata) and lease are asked for together (the PostgreSQL engine sends reads made in one
    // tick as one query), not one round trip after another. The session's errors still come
    // first. What this process's own last append of the session left is used instead when the
    // caller expects that head (or none): the commit then checks both rows as preconditions
    // (known-sessions.ts).
    const shared = !this.engine.exclusive
    const known = shared ? this.#knownFor(sessionId, options) : undefined
    let row: StoredRow
    let lease: LeaseRead
    if (known) {
      row = { head: known.head, raw: known.row, meta: known.meta }
      lease = known.lease
    } else {
      const rowRead = this.#requireRow(sessionId)
      const leaseRead = shared ? this.leases.check(sessionId, options.lease) : undefined
      leaseRead?.catch(() => undefined)
      row = await rowRead
      lease = await (leaseRead ?? this.leases.check(sessionId, options.lease))
    }
    const head = row.head
    const headHex = toHex(head.hash)
    const prev = options.expectedHead !== undefined ? fromHex(options.expectedHead) : head.hash
    if (nextTurn) {
      // Counted from the entry this append follows, so a retry after a lost ack seals the same turn_end.
      let atSeq: number | undefined = head.seq
      if (options.expectedHead !== undefined && options.expectedHead !== headHex) {
        const loc = await this.locate(options.expectedHead)
        atSeq = loc && loc.sessionId === sessionId ? loc.seq : undefined
      }
      const turn = atSeq === undefined ? 1 : (await this.turnAt(sessionId, atSeq)) + 1
      full[full.length - 1] = { ...full[full.length - 1]!, turn } as Entry
    }
    // Large payloads become blob references first: the entry hash covers the reference.
    const blobOps: BatchOp[] = []
    const newBlobs: string[] = []
    const stored = await this.prepareBlobs(full, blobOps, newBlobs)
    const { sealEntry } = await codec()
    // Seal (validate + encode + hash) everything before touching the database.
    const sealed: { record: Uint8Array; hash: Uint8Array }[] = []
    let link = prev
    for (const [i, e] of stored.entries()) {
      try {
        const s = sealEntry(link, e)
        sealed.push(s)
        link = s.hash
      } catch (err) {
        if (err instanceof ChainlogError && given > 1) {
          err.data.entryIndex = i
          err.message = `entry ${i}: ${err.message}`
        }
        throw err
      }
    }
    if (options.expectedHead !== undefined && options.expectedHead !== headHex) {
      // A retry of an append that already landed: the same entries after the same prev.
      const lastHash = toHex(sealed[sealed.length - 1]!.hash)
      const landed = await this.locate(lastHash)
      if (landed && landed.sessionId === sessionId) {
        const first = landed.seq - sealed.length + 1
        const again = {
          head: lastHash,
          entries: sealed.map((s, i) => ({ hash: toHex(s.hash), seq: first + i })),
          idempotent: true,
        } as TurnResult
        return this.appendHook ? this.appendHook(sessionId, full, again) : again
      }
      throw new ChainlogError(ErrorCodes.HEAD_CONFLICT, `session ${sessionId} head is ${headHex}, not ${options.expectedHead}`, {
        sessionId,
        expected: options.expectedHead,
        actual: headHex,
      })
    }
    const tree = await this.#treeAt(sessionId, head)
    const plan = planAppend({
      sessionId,
      head,
      row: row.raw,
      sealed,
      entries: full,
      meta: this.rowMeta(row) ?? { createdAt: full[0]!.ts, updatedAt: full[0]!.ts, counts: emptyCounts() },
      classify: this.classify,
      tree: tree.state,
      ...(tree.build ? { treeBuild: tree.build } : {}),
    })
    plan.ops.push(...blobOps)
    if (options.index) {
      const target = options.index.sessionId ?? sessionId
      if (target !== sessionId) {
        await this.requireHead(target)
        // Another session's rows move with this session's compare-and-set, and with the other
        // session still there when the commit applies: a delete of it between this read and the
        // commit refuses the commit (the retry then finds it gone), so no rows outlive it.
        plan.expect.push({ key: K.headKey(target), value: PRESENT })
      }
      plan.ops.push(...indexOps(target, options.index))
    }
    plan.expect.push({ key: K.leaseKey(sessionId), value: lease.raw })
    try {
      await this.commit(plan.ops, plan.expect)
    } catch (err) {
      // A commit with an unknown outcome may have moved the head: read it next time.
      if (!(err instanceof PreconditionFailed)) this.#known.forget(sessionId)
      throw err
    }
    if (shared) this.#known.remember(sessionId, { head: plan.head, lease, meta: plan.meta, row: plan.row })
    for (const hex of newBlobs) this.rememberBlob(hex)
    this.#rows.set(sessionId, { head: plan.head, raw: plan.row, meta: plan.meta })
    this.#rememberTree(sessionId, plan.head, plan.tree)
    // Carry a known turn count forward over what was just appended.
    const turns = this.#turns.get(sessionId)
    if (turns && turns.seq === head.seq) {
      let turn = turns.turn
      for (const e of full) if (e.kind === 'turn_end') turn = e.turn
      this.#turns.set(sessionId, { seq: plan.head.seq, turn })
    }
    const result: TurnResult = { head: plan.results[plan.results.length - 1]!.hash, entries: plan.results }
    return this.appendHook ? this.appendHook(sessionId, full, result, plan) : result
  }

  /**
   * What this process's last append of the session left, if the append may build on it without a
   * read: the caller expects that head (or names none) and the lease row as kept lets it append.
   * Anything else (another head expected, a lease refused) is decided on rows read afresh.
   */
  #knownFor(sessionId: string, options: AppendOptions): KnownSession | undefined {
    const known = this.#known.get(sessionId)
    if (!known) return undefined
    if (options.expectedHead !== undefined && options.expectedHead !== toHex(known.head.hash)) return undefined
    try {
      this.leases.judge(sessionId, options.lease, known.lease)
    } catch {
      return undefined
    }
    return known
  }

  /**
   * The session's tree at `head`: the frontier kept in memory for that head hash, else read with
   * one getMany. A session whose tree is not complete (written before trees, migrated, imported)
   * gets every row computed from its records; `build` holds them for the caller's commit, whose
   * head precondition makes them valid.
   */
  async #treeAt(sessionId: string, head: Head): Promise<{ state: TreeState; build?: BatchOp[] }> {
    const cached = this.#trees.get(sessionId)
    if (cached && cached.tree.size === head.seq + 1 && bytesEqual(cached.head, head.hash)) return { state: cached.tree }
    const state = await readFrontier(this.engine, sessionId, head)
    if (state) return { state }
    const built = await buildTreeOps(this.engine, sessionId, head)
    return { state: built.state, build: built.ops }
  }

  /** Keep a session's frontier at a head (bounded: a miss costs one getMany). */
  #rememberTree(sessionId: string, head: Head, tree: TreeState): void {
    if (this.#trees.size >= 10_000 && !this.#trees.has(sessionId)) this.#trees.clear()
    this.#trees.set(sessionId, { head: head.hash, tree })
  }

  /**
   * Make sure a session's tree is complete up to its head (writing the missing rows in one
   * commit whose precondition is that head), and return the head it is complete at. Callers
   * hold the session's lock.
   */
  async ensureTree(sessionId: string): Promise<{ head: Head; tree: TreeState }> {
    for (let attempt = 1; ; attempt++) {
      const row = await this.#requireRow(sessionId)
      const head = row.head
      const t = await this.#treeAt(sessionId, head)
      if (!t.build) {
        this.#rememberTree(sessionId, head, t.state)
        return { head, tree: t.state }
      }
      try {
        await this.commit(t.build, [{ key: K.headKey(sessionId), value: row.raw }])
      } catch (err) {
        if (!(err instanceof PreconditionFailed) || attempt >= APPEND_ATTEMPTS) throw err
        this.invalidate(sessionId)
        continue
      }
      this.#rememberTree(sessionId, head, t.state)
      return { head, tree: t.state }
    }
  }

  /**
   * Replace large payloads in the entries' items by blob references, adding puts for blobs the
   * store does not have yet to `ops`. References the caller passed must name stored blobs.
   */
  async prepareBlobs<E extends Entry>(entries: readonly E[], ops: BatchOp[], written?: string[]): Promise<E[]> {
    const fresh = new Map<string, NewBlob>()
    const given: { hex: string; size: number; path: string }[] = []
    const onNew = (b: NewBlob) => void fresh.set(b.hex, b)
    const out = entries.map((e, i) => {
      const onRef = (ref: BlobRef, path: (string | number)[]) =>
        given.push({ hex: refHash(ref), size: ref.size, path: entries.length > 1 ? `[${i}].${formatPath(path)}` : formatPath(path) })
      const ext = (v: unknown, field: string) => externalize(v, this.blobThreshold, onNew, onRef, [field])
      // Configs are never moved out of line, but a reference in one must still name a stored blob.
      if (e.kind === 'config_changed' || e.kind === 'session_start') externalize(e.config, Infinity, onNew, onRef, ['config'])
      if (e.kind === 'session_start' && e.compaction) externalize(e.compaction, Infinity, onNew, onRef, ['compaction'])
      switch (e.kind) {
        case 'user_input': {
          const item = ext(e.item, 'item')
          return item === e.item ? e : { ...e, item }
        }
        case 'assistant_items':
        case 'tool_results':
        case 'hook_injected_items': {
          const items = ext(e.items, 'items')
          return items === e.items ? e : { ...e, items }
        }
        case 'session_start': {
          const history = ext(e.history, 'history')
          return history === e.history ? e : { ...e, history }
        }
        case 'custom': {
          if (e.data === undefined) return e
          const data = ext(e.data, 'data')
          return data === e.data ? e : { ...e, data }
        }
        default:
          return e
      }
    }) as E[]
    for (const g of given) {
      const size = fresh.get(g.hex)?.bytes.length ?? (await this.blobSize(g.hex))
      if (size === undefined) {
        throw new ChainlogError(ErrorCodes.INVALID_ENTRY, `blob reference at ${g.path} names a blob this store does not have`, { path: g.path, blob: g.hex })
      }
      if (size !== g.size) {
        throw new ChainlogError(ErrorCodes.INVALID_ENTRY, `blob reference at ${g.path} says ${g.size} bytes, the blob has ${size}`, { path: g.path, blob: g.hex })
      }
      // Rewrite it during a gc, like a new blob, so the sweep cannot take it away.
      if (this.gcActive > 0 && !fresh.has(g.hex)) {
        ops.push({ type: 'put', key: K.blobKey(fromHex(g.hex)), value: (await this.getRaw(K.blobKey(fromHex(g.hex))))! })
      }
    }
    // A blob this process wrote before is skipped; anything else is written again rather than
    // looked up first (a content-addressed put of the same bytes is harmless, a read per append
    // is not). Callers remember what they wrote once their batch has landed.
    for (const b of fresh.values()) {
      if (this.gcActive === 0 && this.#knownBlobs.has(b.hex)) continue
      ops.push({ type: 'put', key: K.blobKey(b.hash), value: packBlob(b.bytes, this.blobProfile) })
      written?.push(b.hex)
    }
    return out
  }

  async blobSize(hex: string): Promise<number | undefined> {
    const raw = await this.getRaw(K.blobKey(fromHex(hex)))
    if (!raw) return undefined
    const size = (decodeCbor(raw) as { size?: unknown } | null)?.size
    return typeof size === 'number' ? size : undefined
  }

  /** Whether a blob is stored (by hex SHA-256 of its content). */
  async hasBlob(hex: string): Promise<boolean> {
    if (this.#knownBlobs.has(hex)) return true
    const found = (await this.getRaw(K.blobKey(fromHex(hex)))) !== undefined
    if (found) this.rememberBlob(hex)
    return found
  }

  rememberBlob(hex: string): void {
    if (this.#knownBlobs.size >= 100_000) this.#knownBlobs.clear()
    this.#knownBlobs.add(hex)
  }

  forgetBlobs(): void {
    this.#knownBlobs.clear()
  }

  /**
   * A blob's content by its hex SHA-256, checked against the hash.
   * @throws CHAINLOG_CORRUPT_STORE when it is missing or does not match
   */
  async readBlob(hex: string): Promise<Uint8Array> {
    return checkedBlob(hex, await this.getRaw(K.blobKey(fromHex(hex))))
  }

  /** Several blobs in one read, each checked as readBlob checks it (CORRUPT_STORE otherwise). */
  async readBlobs(hexes: readonly string[]): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>()
    for (const [hex, raw] of await this.readBlobsRaw(hexes)) out.set(hex, checkedBlob(hex, raw))
    return out
  }

  /** Several blobs in one read: hex -> stored form (undefined when missing), unchecked. */
  async readBlobsRaw(hexes: Iterable<string>): Promise<Map<string, Uint8Array | undefined>> {
    const list = [...new Set(hexes)]
    const out = new Map<string, Uint8Array | undefined>()
    if (list.length === 0) return out
    const raws = await this.engine.getMany(list.map((h) => K.blobKey(fromHex(h))))
    for (let i = 0; i < list.length; i++) out.set(list[i]!, raws[i])
    return out
  }

  /**
   * Claim a session for `owner` for `ttlMs`. Refused with CHAINLOG_LEASE_HELD while another
   * owner's lease is unexpired. Every claim gets a larger fencing token than any before it: the
   * claim is one commit whose precondition is the lease row it read.
   */
  claimSession(sessionId: string, options: { owner: string; ttlMs: number }): Promise<Lease> {
    this.checkOpen()
    if (!options || typeof options.owner !== 'string' || options.owner === '' || !(Number.isSafeInteger(options.ttlMs) && options.ttlMs > 0)) {
      throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'claimSession needs { owner: non-empty string, ttlMs: positive integer }', {})
    }
    return this.locks.run(sessionId, async () => {
      await this.requireHead(sessionId)
      const { row, raw } = await this.leases.read(sessionId)
      const now = Date.now()
      if (row && !row.released && row.expiresAt > now && row.owner !== options.owner) {
        throw new ChainlogError(ErrorCodes.LEASE_HELD, `session ${sessionId} is leased to ${row.owner}`, { sessionId, owner: row.owner, expiresAt: row.expiresAt })
      }
      const next: LeaseRow = { owner: options.owner, token: (row?.token ?? 0) + 1, expiresAt: now + options.ttlMs, released: false }
      await this.#writeLease(sessionId, next, raw)
      return { sessionId, owner: next.owner, token: next.token, expiresAt: next.expiresAt }
    })
  }

  /** Extend a lease that is still valid (same token, unexpired). */
  renewLease(lease: Lease, options: { ttlMs: number }): Promise<Lease> {
    this.checkOpen()
    if (!options || !(Number.isSafeInteger(options.ttlMs) && options.ttlMs > 0)) {
      throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'renewLease needs { ttlMs: positive integer }', {})
    }
    return this.locks.run(lease.sessionId, async () => {
      const { row, raw } = await this.leases.check(lease.sessionId, lease)
      const next: LeaseRow = { ...row!, expiresAt: Date.now() + options.ttlMs }
      await this.#writeLease(lease.sessionId, next, raw)
      return { ...lease, expiresAt: next.expiresAt }
    })
  }

  /** Give a lease up before it expires. The token is never reused. */
  releaseLease(lease: Lease): Promise<void> {
    this.checkOpen()
    return this.locks.run(lease.sessionId, async () => {
      const { row, raw } = await this.leases.check(lease.sessionId, lease)
      await this.#writeLease(lease.sessionId, { ...row!, released: true, expiresAt: Date.now() }, raw)
    })
  }

  /** Write a lease row if the row still holds `raw`, what the decision to write was made on (caller holds the session's lock). */
  async #writeLease(sessionId: string, row: LeaseRow, raw: Uint8Array | undefined): Promise<void> {
    const value = encodeLease(row)
    this.leases.forget(sessionId)
    try {
      await this.commit([{ type: 'put', key: K.leaseKey(sessionId), value }], [{ key: K.leaseKey(sessionId), value: raw }])
    } catch (err) {
      this.#known.forget(sessionId)
      if (err instanceof PreconditionFailed) {
        throw new ChainlogError(ErrorCodes.LEASE_INVALID, `the lease on ${sessionId} changed under this call (another writer); read it again`, { sessionId, reason: 'stale' })
      }
      throw err
    }
    this.leases.remember(sessionId, row, value)
    this.#known.leaseWritten(sessionId, { row, raw: value })
  }

  /**
   * Token usage by model for one session's own llm_usage entries (from its session row), or
   * store-wide (the sum over session rows, usage-ledger.ts).
   */
  async usage(sessionId?: string): Promise<UsageByModel> {
    this.checkOpen()
    if (sessionId === undefined) return this.ledger.totals()
    return withUsages((await this.readMeta(sessionId))?.usage, [])
  }

  /**
   * Append a turn's new items, grouped as the runtime saw them, plus an optional turn_end and
   * llm_usage, in one atomic batch.
   */
  async appendTurn(sessionId: string, items: readonly unknown[], options: TurnOptions = {}): Promise<TurnResult> {
    if (!Array.isArray(items)) throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'items must be an array', {})
    const ts = options.ts ?? Date.now()
    const entries: EntryInput[] = groupTurnItems(items, options.classify ?? this.classify).map((g) => ({ ...g, ts }) as EntryInput)
    const usages = options.usage === undefined ? [] : Array.isArray(options.usage) ? options.usage : [options.usage]
    for (const u of usages) entries.push({ kind: 'llm_usage', ts, ...u })
    // turnEnd: true is resolved under the session's lock (placeholder 0 until then).
    if (options.turnEnd !== undefined) entries.push({ kind: 'turn_end', ts, turn: options.turnEnd === true ? 0 : options.turnEnd })
    const appendOpts: AppendOptions = {}
    if (options.expectedHead !== undefined) appendOpts.expectedHead = options.expectedHead
    if (options.lease !== undefined) appendOpts.lease = options.lease
    if (options.index !== undefined) appendOpts.index = options.index
    return this.#appendMany(sessionId, entries, appendOpts, options.turnEnd === true)
  }

  /** The turn count as of entry `seq` of a session: the latest turn_end at or before it. */
  async turnAt(sessionId: string, seq: number): Promise<number> {
    const known = this.#turns.get(sessionId)
    if (known && known.seq === seq) return known.turn
    const turn = await this.#countTurns(sessionId, seq)
    this.#turns.set(sessionId, { seq, turn })
    return turn
  }

  async #countTurns(sessionId: string, seq: number): Promise<number> {
    for await (const e of this.entries(sessionId, { to: seq, reverse: true, verify: false, resolveBlobs: false })) {
      if (e.entry.kind === 'turn_end') return e.entry.turn
      if (e.entry.kind === 'session_start') {
        if (e.entry.snapshot) return e.entry.snapshot.turnCount
        if (e.entry.forkedFrom) {
          const loc = await this.locate(e.entry.forkedFrom.atHash)
          if (loc) return this.turnAt(loc.sessionId, loc.seq)
        }
      }
    }
    return 0
  }

  appendTurnEnd(sessionId: string, turn: number, options: AppendOptions = {}): Promise<AppendResult> {
    return this.append(sessionId, { kind: 'turn_end', turn }, options)
  }

  appendUsage(sessionId: string, usage: Usage, options: AppendOptions = {}): Promise<AppendResult> {
    return this.append(sessionId, { kind: 'llm_usage', ...usage }, options)
  }

  changeConfig(sessionId: string, config: Config, options: AppendOptions = {}): Promise<AppendResult> {
    return this.append(sessionId, { kind: 'config_changed', config }, options)
  }

  recordOutcome(
    sessionId: string,
    outcome: { status: 'finished' | 'paused' | 'limit_reached' | 'yielded' | 'error'; message?: string; interrupted?: boolean },
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    const e: Record<string, unknown> = { kind: 'run_outcome', status: outcome.status, interrupted: outcome.interrupted ?? false }
    if (outcome.message !== undefined) e.message = outcome.message
    return this.append(sessionId, e as EntryInput, options)
  }

  lockCache(sessionId: string, prefixLength: number, options: AppendOptions = {}): Promise<AppendResult> {
    return this.append(sessionId, { kind: 'cache_locked', prefixLength }, options)
  }

  unlockCache(sessionId: string, options: AppendOptions = {}): Promise<AppendResult> {
    return this.append(sessionId, { kind: 'cache_unlocked' }, options)
  }

  appendCustom(sessionId: string, namespace: string, type: string, data?: unknown, options: AppendOptions = {}): Promise<AppendResult> {
    const e: Record<string, unknown> = { kind: 'custom', namespace, type }
    if (data !== undefined) e.data = data
    return this.append(sessionId, e as EntryInput, options)
  }

  // ---- reads -------------------------------------------------------------------------------

  /**
   * Stream a session's entries in seq order (or reverse), between `from` and `to` inclusive.
   * With `verify` (default true) each record's hash and link are checked as it is read.
   */
  async *entries(
    sessionId: string,
    options: { from?: number; to?: number; reverse?: boolean; verify?: boolean; resolveBlobs?: boolean } = {},
  ): AsyncGenerator<StoredEntry> {
    this.checkOpen()
    const head = await this.requireHead(sessionId)
    yield* readEntries(this, sessionId, head, options)
  }

  /**
   * The entries at `seqs` of a session, in the order asked, each checked against the chain as
   * entries() checks it, in one batched read of their records and their successors (read-at.ts).
   */
  async entriesAt(sessionId: string, seqs: readonly number[]): Promise<StoredEntry[]> {
    this.checkOpen()
    return readEntriesAt(this, sessionId, await this.requireHead(sessionId), seqs)
  }

  /**
   * The state of a session as of its head, or as of the entry `at` (hash or prefix) of that
   * session. A fork replays its source up to the fork point first.
   */
  async restore(sessionId: string, options: { at?: string; resolveBlobs?: boolean } = {}): Promise<SessionState> {
    this.checkOpen()
    const head = await this.requireHead(sessionId)
    let to = head.seq
    if (options.at !== undefined) {
      const hash = await this.resolveHash(options.at)
      const loc = await this.locate(hash)
      if (!loc || loc.sessionId !== sessionId) {
        throw new ChainlogError(ErrorCodes.ENTRY_NOT_FOUND, `entry ${hash} is not in session ${sessionId}`, { hash, sessionId })
      }
      to = loc.seq
    }
    let state: SessionState | undefined
    const resolveBlobs = options.resolveBlobs ?? true
    for await (const e of this.entries(sessionId, { to, verify: this.verifyOnRestore, resolveBlobs })) {
      let base: SessionState | undefined
      if (e.entry.kind === 'session_start' && e.entry.forkedFrom && !e.entry.snapshot) {
        base = await this.restore(e.entry.forkedFrom.sessionId, { at: e.entry.forkedFrom.atHash, resolveBlobs })
      }
      state = applyEntryInPlace(state, e, base)
    }
    if (!state) throw corrupt(`session ${sessionId} has no entries`, { sessionId })
    return state
  }

  /**
   * Every session with its head, length and metadata: in session id order, or `newest` /
   * `oldest` first by the time of its last entry (ties by id); `limit` keeps the first n.
   * Reads the metadata and head tables with one range scan each, whatever the number of
   * sessions (no read per session).
   */
  listSessions(options: ListOptions = {}): Promise<SessionInfo[]> {
    this.checkOpen()
    return listSessions(this.engine, options)
  }

  /** Token totals of every session that has any, by one scan of the session rows. */
  usageBySession(): Promise<Record<string, UsageByModel>> {
    this.checkOpen()
    return this.ledger.bySession()
  }

  /** The current head hash of a session (hex). */
  async head(sessionId: string): Promise<string> {
    this.checkOpen()
    return toHex((await this.requireHead(sessionId)).hash)
  }
}

/** Below this many bytes written since open, close leaves the log for the next open to replay. */
export const FLUSH_ON_CLOSE_BYTES = 1024 * 1024

// No key starts with 0x01 (tags are ASCII letters, keys.ts): compacting this empty range does
// nothing but LevelDB's first step of every compactRange, which is to flush the memtable.
const EMPTY_RANGE: [Uint8Array, Uint8Array] = [Uint8Array.of(0x01), Uint8Array.of(0x01, 0x00)]

/**
 * Before a clean close of a store that wrote at least FLUSH_ON_CLOSE_BYTES, write the memtable
 * out as a table, so that the next open (a resume, a CLI call, the next holder) does not replay up
 * to WRITE_BUFFER_BYTES of log. Only for databases that can (classic-level); a failure here loses
 * nothing, since the log still holds every write, so it is not an error.
 */
async function flushOnClose(db: AnyLevel, written: number): Promise<void> {
  const compact = (db as { compactRange?: (a: Uint8Array, b: Uint8Array, o: unknown) => Promise<void> }).compactRange
  if (written < FLUSH_ON_CLOSE_BYTES || typeof compact !== 'function') return
  try {
    await compact.call(db, EMPTY_RANGE[0], EMPTY_RANGE[1], K.BIN)
  } catch {
    // the log still holds everything; the next open replays it
  }
}

