// The LevelDB session store: atomic, compare-and-set appends; streaming reads; restore through
// the reducer. Written against abstract-level, so classic-level (on disk), memory-level and any
// other abstract-level database work. Key layout: ./keys.ts and docs/storage.md.
import type { AnyLevel } from './level-engine.js'
import { v7 as uuidv7 } from 'uuid'
import { decodeCbor, encodeCanonical } from '../encoding/cbor.js'
import { decodeRecord, openRecord, sealEntry } from '../encoding/entry-codec.js'
import { checkStoreDir, storageError } from './open-errors.js'
import { HASH_BYTES, ZERO_HASH, fromHex, hashRecord, isHexHash, toHex } from '../encoding/hash.js'
import { ChainlogError, ErrorCodes, formatPath } from '../errors.js'
import { classifyItem, type ItemClassifier } from '../schema/classify.js'
import type { Config, Entry, Origin, SessionStart, Usage } from '../schema/entry.js'
import { SessionId } from '../schema/entry.js'
import { applyEntryInPlace, usageOf, type SessionState } from '../state/reducer.js'
import type { Usage as UsageRecord } from '../schema/entry.js'
import { groupTurnItems, itemText } from '../state/turn.js'
import {
  DEFAULT_BLOB_THRESHOLD,
  collectRefs,
  externalize,
  mayHaveRefs,
  packBlob,
  refHash,
  openStoredBlob,
  resolveRefs,
  type BlobOptions,
  type CompressionProfile,
  type BlobRef,
  type NewBlob,
} from '../blobs/blobs.js'
import { GroupWriter, type BatchOp } from './group-writer.js'
import { ReadAhead } from './read-ahead.js'
import * as K from './keys.js'
import { UsageLedger, type UsageByModel } from './usage-ledger.js'

/** The on-disk layout version this code writes and reads. */
export const STORE_FORMAT_VERSION = 1

/** entries() reads in chunks of MAX_CHUNK rows, or growing from FIRST_CHUNK when scanning back (see there). */
export const FIRST_CHUNK = 8
export const MAX_CHUNK = 256

/** Store directories this process has open (see openDb). */
const HELD_PATHS = new Set<string>()

export type { AnyLevel }


export type Durability = 'sync' | 'relaxed'

export interface StoreOptions {
  /** Directory of a classic-level store (created if missing). */
  path?: string
  /** Any abstract-level database instead of a path (e.g. memory-level). Opened if needed. */
  db?: AnyLevel
  /** `sync` (default): each append is fsynced before it returns. `relaxed`: left to the OS. */
  durability?: Durability
  /** Classifier used by appendTurn when the call does not pass its own. */
  classify?: ItemClassifier
  /** Recompute hashes and links while restoring (default true). */
  verifyOnRestore?: boolean
  /** Out-of-line storage of large payloads (docs/storage.md, "Blobs"). */
  blobs?: BlobOptions
}

/** An entry as given to `append`: `ts` defaults to now. */
export type EntryInput = Entry extends infer E ? (E extends { ts: number } ? Omit<E, 'ts'> & { ts?: number } : never) : never

export interface AppendOptions {
  /** The head the caller last saw. Stale -> CHAINLOG_HEAD_CONFLICT, nothing written. */
  expectedHead?: string
  /** The caller's lease on the session: stale or expired -> CHAINLOG_LEASE_INVALID, nothing written. */
  lease?: Lease
}

/** A session lease: while unexpired, only appends carrying its fencing token are accepted. */
export interface Lease {
  sessionId: string
  owner: string
  /** Fencing token: grows by one with every claim of the session, never reused. */
  token: number
  /** Expiry, in ms since the epoch by the clock of the process that holds the store. */
  expiresAt: number
}

interface LeaseRow {
  owner: string
  token: number
  expiresAt: number
  released: boolean
}

export interface AppendResult {
  hash: string
  seq: number
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
}

export interface CreateSessionInput {
  sessionId?: string
  systemPrompt?: string
  config?: Config
  history?: unknown[]
  ts?: number
}

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

export interface MessageCounts {
  user: number
  assistant: number
  toolCalls: number
  toolResults: number
  reasoning: number
  other: number
}

/** What the store keeps about a session besides its entries (derived, not hashed). */
export interface SessionMeta {
  createdAt: number
  updatedAt: number
  firstUserMessage?: string
  counts: MessageCounts
  forkedFrom?: Origin
  compactedFrom?: Origin
  materialized?: boolean
}

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

export interface Head {
  hash: Uint8Array
  seq: number
}

export function emptyCounts(): MessageCounts {
  return { user: 0, assistant: 0, toolCalls: 0, toolResults: 0, reasoning: 0, other: 0 }
}

export function countItems(meta: SessionMeta, items: readonly unknown[], classify: ItemClassifier): void {
  for (const item of items) {
    switch (classify(item)) {
      case 'user_message':
        meta.counts.user++
        if (meta.firstUserMessage === undefined) meta.firstUserMessage = itemText(item) ?? ''
        break
      case 'assistant_message':
        meta.counts.assistant++
        break
      case 'tool_call':
        meta.counts.toolCalls++
        break
      case 'tool_result':
        meta.counts.toolResults++
        break
      case 'reasoning':
        meta.counts.reasoning++
        break
      default:
        meta.counts.other++
    }
  }
}

export function itemsOf(entry: Entry): readonly unknown[] {
  switch (entry.kind) {
    case 'user_input':
      return [entry.item]
    case 'assistant_items':
    case 'tool_results':
    case 'hook_injected_items':
      return entry.items
    case 'session_start':
      return entry.history
    default:
      return []
  }
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

export class SessionStore {
  readonly db: AnyLevel
  readonly durability: Durability
  readonly writer: GroupWriter
  readonly classify: ItemClassifier
  protected readonly verifyOnRestore: boolean
  readonly locks = new KeyedMutex()
  readonly ledger: UsageLedger
  readonly blobThreshold: number
  readonly blobProfile: CompressionProfile
  /** Blobs known to be stored (bounded; a miss only costs a read). */
  #knownBlobs = new Set<string>()
  /** While > 0, a gc is sweeping: appends write their blobs even if they seem stored. */
  gcActive = 0
  #heads = new Map<string, Head>()
  /** A session's turn count as of one seq (normally its head), so appendTurn({ turnEnd: true }) reads nothing. */
  #turns = new Map<string, { seq: number; turn: number }>()
  #leases = new Map<string, LeaseRow | null>()
  #metas = new Map<string, SessionMeta>()
  #closed = false

  protected constructor(db: AnyLevel, options: StoreOptions) {
    this.db = db
    this.durability = options.durability ?? 'sync'
    this.classify = options.classify ?? classifyItem
    this.verifyOnRestore = options.verifyOnRestore ?? true
    this.ledger = new UsageLedger(db)
    const t = options.blobs?.threshold ?? DEFAULT_BLOB_THRESHOLD
    this.blobThreshold = t > 0 ? t : Infinity
    this.blobProfile = options.blobs?.profile ?? 'balanced'
    this.writer = new GroupWriter(
      {
        batch: (ops, o) =>
          db.batch(ops as never, { ...K.BIN, sync: o.sync } as never).catch((err: unknown) => {
            throw storageError(err, 'write', options.path)
          }),
      },
      this.durability === 'sync',
      (deltas) => this.ledger.assemble(deltas as UsageByModel[]),
    )
  }

  /** Open `db` (if needed) and check or write the store format version. */
  protected static async openDb(options: StoreOptions): Promise<AnyLevel> {
    let db = options.db
    let held: string | undefined
    if (!db) {
      if (!options.path) throw new TypeError('openStore needs a path or a db')
      // LevelDB locks a store with fcntl, and POSIX drops every fcntl lock a process holds on a
      // file when it closes any descriptor of that file: LevelDB's own refusal of a second open
      // in this process closes one, and another process could then open the store beside us.
      // So a directory this process holds is refused here, before LevelDB touches its LOCK.
      const { resolve: resolvePath } = await import('node:path')
      held = resolvePath(options.path)
      if (HELD_PATHS.has(held)) {
        throw new ChainlogError(ErrorCodes.STORE_LOCKED, `store is already open in this process: ${options.path}`, { path: options.path })
      }
      // A file, an unreadable directory or damaged LevelDB files fail here, untouched.
      checkStoreDir(options.path)
      const { ClassicLevel } = await import('classic-level')
      db = new ClassicLevel(options.path, { ...K.BIN, writeBufferSize: WRITE_BUFFER_BYTES }) as unknown as AnyLevel
    }
    try {
      if (db.status !== 'open') await db.open()
    } catch (err) {
      throw storageError(err, 'open', options.path)
    }
    if (held !== undefined) {
      const path = held
      HELD_PATHS.add(path)
      db.once('closed', () => HELD_PATHS.delete(path))
    }
    try {
      const raw = (await db.get(K.formatKey(), K.BIN)) as Uint8Array | undefined
      if (raw === undefined) {
        await db.put(K.formatKey(), encodeCanonical({ version: STORE_FORMAT_VERSION }), K.BIN)
      } else {
        const row = decodeCbor(raw) as { version?: unknown } | null
        const version = row !== null && typeof row === 'object' ? row.version : undefined
        if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
          throw new ChainlogError(ErrorCodes.CORRUPT_STORE, 'the store format row is unreadable; is this a chainlog store?', { found: version ?? null })
        }
        if (version > STORE_FORMAT_VERSION) {
          throw new ChainlogError(
            ErrorCodes.UNSUPPORTED_VERSION,
            `store format version ${version} is newer than this chainlog reads (${STORE_FORMAT_VERSION})`,
            { found: version, supported: STORE_FORMAT_VERSION },
          )
        }
      }
    } catch (err) {
      // A refused store is closed again, so the directory is not left locked.
      await db.close().catch(() => undefined)
      throw storageError(err, 'open', options.path)
    }
    return db
  }

  protected checkOpen(): void {
    if (this.#closed) throw new ChainlogError(ErrorCodes.STORE_CLOSED, 'the store is closed')
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    // Calls already past checkOpen finish (land or fail) before the database goes away.
    await this.locks.idle()
    // Let writes already queued finish before the database goes away.
    await this.writer.write([])
    await flushOnClose(this.db, this.writer.bytesWritten)
    await this.db.close()
  }

  // ---- low-level reads ---------------------------------------------------------------------

  async getRaw(key: Uint8Array): Promise<Uint8Array | undefined> {
    return (await this.db.get(key, K.BIN)) as Uint8Array | undefined
  }

  /** The head of a session, or undefined if there is no such session. */
  async readHead(sessionId: string): Promise<Head | undefined> {
    const cached = this.#heads.get(sessionId)
    if (cached) return cached
    const raw = await this.getRaw(K.headKey(sessionId))
    if (!raw) return undefined
    const head = K.parseHeadValue(raw)
    const copy = { hash: new Uint8Array(head.hash), seq: head.seq }
    this.#heads.set(sessionId, copy)
    return copy
  }

  protected async requireHead(sessionId: string): Promise<Head> {
    const head = await this.readHead(sessionId)
    if (!head) throw new ChainlogError(ErrorCodes.SESSION_NOT_FOUND, `no session ${sessionId}`, { sessionId })
    return head
  }

  async readMeta(sessionId: string): Promise<SessionMeta | undefined> {
    const cached = this.#metas.get(sessionId)
    if (cached) return cached
    const raw = await this.getRaw(K.metaKey(sessionId))
    if (!raw) return undefined
    const meta = decodeCbor(raw) as SessionMeta
    this.#metas.set(sessionId, meta)
    return meta
  }

  /** Drop cached heads and metadata (after writes that bypass append, e.g. delete or import). */
  invalidate(sessionId?: string): void {
    if (sessionId === undefined) {
      this.#heads.clear()
      this.#metas.clear()
      this.#leases.clear()
      this.#turns.clear()
    } else {
      this.#heads.delete(sessionId)
      this.#metas.delete(sessionId)
      this.#leases.delete(sessionId)
      this.#turns.delete(sessionId)
    }
  }

  /** Where an entry lives, by full hex hash; undefined if unknown. */
  async locate(hash: string): Promise<{ sessionId: string; seq: number } | undefined> {
    const raw = await this.getRaw(K.hashKey(fromHex(hash)))
    return raw ? K.parseHashIndexValue(raw) : undefined
  }

  /**
   * The full hash for a hash or unique prefix (at least 4 hex digits).
   * @throws CHAINLOG_ENTRY_NOT_FOUND, CHAINLOG_AMBIGUOUS_PREFIX, CHAINLOG_INVALID_ARGUMENT
   */
  async resolveHash(hashOrPrefix: string): Promise<string> {
    this.checkOpen()
    const p = normalisePrefix(hashOrPrefix)
    if (p.length === 64) {
      if (!(await this.getRaw(K.entryKey(fromHex(p))))) {
        throw new ChainlogError(ErrorCodes.ENTRY_NOT_FOUND, `no entry ${p}`, { hash: p })
      }
      return p
    }
    const matches: string[] = []
    for await (const key of this.db.keys({ ...K.entryPrefixRange(p), ...K.BIN, limit: 2 })) {
      const hex = toHex((key as Uint8Array).subarray(1))
      if (hex.startsWith(p)) matches.push(hex)
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
    const loc = await this.locate(hash)
    const record = await this.getRaw(K.entryKey(fromHex(hash)))
    if (!loc || !record) {
      throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `entry ${hash} has no index row; run verify`, { hash })
    }
    // Stored bytes that do not hash to their key, or do not decode, are damage, not bad input.
    if (toHex(hashRecord(record)) !== hash) {
      throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `entry ${hash} does not hash to its key; run verify`, { hash, sessionId: loc.sessionId, seq: loc.seq })
    }
    let opened: ReturnType<typeof openRecord>
    try {
      opened = openRecord(record)
    } catch (err) {
      throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `entry ${hash} cannot be read: ${(err as Error).message}; run verify`, { hash, sessionId: loc.sessionId, seq: loc.seq }, { cause: err })
    }
    return { sessionId: loc.sessionId, seq: loc.seq, hash, prev: toHex(opened.prev), entry: opened.entry, format: opened.format }
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
      sessionId: input.sessionId ?? uuidv7(),
      config: input.config ?? {},
      history: input.history ?? [],
    }
    if (input.systemPrompt !== undefined) genesis.systemPrompt = input.systemPrompt
    return this.writeGenesis(genesis as SessionStart)
  }

  /**
   * Write a genesis entry as a new session, with extra ops (e.g. a dependant row) in the same
   * batch. Used by createSession, forks and compactions.
   */
  async writeGenesis(genesis: SessionStart, extraOps: BatchOp[] = [], extraMeta: Partial<SessionMeta> = {}): Promise<{ sessionId: string; head: string }> {
    this.checkOpen()
    const sid = SessionId.safeParse(genesis.sessionId)
    if (!sid.success) {
      throw new ChainlogError(ErrorCodes.INVALID_ENTRY, `invalid session id: ${sid.error.issues[0]?.message}`, { path: 'sessionId' })
    }
    const sessionId = genesis.sessionId
    return this.locks.run(sessionId, async () => {
      this.checkOpen()
      if (await this.readHead(sessionId)) {
        throw new ChainlogError(ErrorCodes.SESSION_EXISTS, `session ${sessionId} already exists`, { sessionId })
      }
      const blobOps: BatchOp[] = []
      const newBlobs: string[] = []
      const [stored] = await this.prepareBlobs([genesis], blobOps, newBlobs)
      const sealed = sealEntry(ZERO_HASH, stored)
      const meta: SessionMeta = { createdAt: genesis.ts, updatedAt: genesis.ts, counts: emptyCounts(), ...extraMeta }
      if (genesis.forkedFrom) meta.forkedFrom = genesis.forkedFrom
      if (genesis.compactedFrom) meta.compactedFrom = genesis.compactedFrom
      countItems(meta, genesis.history, this.classify)
      const ops: BatchOp[] = [
        { type: 'put', key: K.entryKey(sealed.hash), value: sealed.record },
        { type: 'put', key: K.seqKey(sessionId, 0), value: sealed.hash },
        { type: 'put', key: K.hashKey(sealed.hash), value: K.hashIndexValue(sessionId, 0) },
        { type: 'put', key: K.headKey(sessionId), value: K.headValue(sealed.hash, 0) },
        { type: 'put', key: K.metaKey(sessionId), value: encodeCanonical(meta) },
        { type: 'del', key: K.tombstoneKey(sessionId) },
        ...blobOps,
        ...extraOps,
      ]
      await this.writer.write(ops)
      for (const hex of newBlobs) this.rememberBlob(hex)
      this.#heads.set(sessionId, { hash: sealed.hash, seq: 0 })
      this.#turns.delete(sessionId)
      this.#metas.set(sessionId, meta)
      return { sessionId, head: toHex(sealed.hash) }
    })
  }

  /**
   * Append one entry. With `expectedHead`, the append is compare-and-set, and re-sending an
   * append that already landed returns the landed entry instead of writing it twice.
   */
  async append(sessionId: string, entry: EntryInput, options: AppendOptions = {}): Promise<AppendResult> {
    const r = await this.appendMany(sessionId, [entry], options)
    return r.entries[0]!
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
      this.checkOpen()
      const head = await this.requireHead(sessionId)
      const headHex = toHex(head.hash)
      const prev = options.expectedHead !== undefined ? fromHex(options.expectedHead) : head.hash
      await this.#checkLease(sessionId, options.lease)
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
      // Seal (validate + encode + hash) everything before touching the database.
      const sealed: { record: Uint8Array; hash: Uint8Array }[] = []
      let link = prev
      for (const [i, e] of stored.entries()) {
        try {
          const s = sealEntry(link, e)
          sealed.push(s)
          link = s.hash
        } catch (err) {
          if (err instanceof ChainlogError && entries.length > 1) {
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
          return {
            head: lastHash,
            entries: sealed.map((s, i) => ({ hash: toHex(s.hash), seq: first + i })),
            idempotent: true,
          } as TurnResult
        }
        throw new ChainlogError(ErrorCodes.HEAD_CONFLICT, `session ${sessionId} head is ${headHex}, not ${options.expectedHead}`, {
          sessionId,
          expected: options.expectedHead,
          actual: headHex,
        })
      }
      const usages = full.filter((e): e is Extract<Entry, { kind: 'llm_usage' }> => e.kind === 'llm_usage')
      let sessionUsage: UsageByModel | undefined
      if (usages.length > 0) {
        await this.ledger.ready()
        sessionUsage = await this.ledger.sessionTotals(sessionId)
      }
      const meta = { ...(await this.readMeta(sessionId)) } as SessionMeta
      meta.counts = { ...(meta.counts ?? emptyCounts()) }
      const ops: BatchOp[] = []
      const results: AppendResult[] = []
      let seq = head.seq
      for (const [i, s] of sealed.entries()) {
        seq += 1
        ops.push(
          { type: 'put', key: K.entryKey(s.hash), value: s.record },
          { type: 'put', key: K.seqKey(sessionId, seq), value: s.hash },
          { type: 'put', key: K.hashKey(s.hash), value: K.hashIndexValue(sessionId, seq) },
        )
        results.push({ hash: toHex(s.hash), seq })
        countItems(meta, itemsOf(full[i]!), this.classify)
        meta.updatedAt = full[i]!.ts
      }
      const last = sealed[sealed.length - 1]!
      ops.push(
        { type: 'put', key: K.headKey(sessionId), value: K.headValue(last.hash, seq) },
        { type: 'put', key: K.metaKey(sessionId), value: encodeCanonical(meta) },
      )
      ops.push(...blobOps)
      const delta = sessionUsage ? this.ledger.addOps(sessionId, sessionUsage, usages.map(usageOf), ops) : undefined
      await this.writer.write(ops, delta)
      for (const hex of newBlobs) this.rememberBlob(hex)
      this.#heads.set(sessionId, { hash: last.hash, seq })
      this.#metas.set(sessionId, meta)
      // Carry a known turn count forward over what was just appended.
      const known = this.#turns.get(sessionId)
      if (known && known.seq === head.seq) {
        let turn = known.turn
        for (const e of full) if (e.kind === 'turn_end') turn = e.turn
        this.#turns.set(sessionId, { seq, turn })
      }
      return { head: results[results.length - 1]!.hash, entries: results }
    })
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

  /** The recorded size of a stored blob, or undefined if it is not stored. */
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
    const raws = (await this.db.getMany(list.map((h) => K.blobKey(fromHex(h))), K.BIN)) as (Uint8Array | undefined)[]
    for (let i = 0; i < list.length; i++) out.set(list[i]!, raws[i])
    return out
  }

  async #readLease(sessionId: string): Promise<LeaseRow | null> {
    const cached = this.#leases.get(sessionId)
    if (cached !== undefined) return cached
    const raw = await this.getRaw(K.leaseKey(sessionId))
    const row = raw ? (decodeCbor(raw) as LeaseRow) : null
    this.#leases.set(sessionId, row)
    return row
  }

  /** Caller holds the session's lock. */
  async #checkLease(sessionId: string, lease: Lease | undefined): Promise<void> {
    const row = await this.#readLease(sessionId)
    const now = Date.now()
    if (lease !== undefined) {
      if (lease === null || typeof lease !== 'object' || !Number.isSafeInteger(lease.token)) {
        throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'lease must be a lease returned by claimSession', {})
      }
      const reason = !row || lease.token !== row.token ? 'stale' : row.released ? 'released' : row.expiresAt <= now ? 'expired' : undefined
      if (reason) {
        throw new ChainlogError(ErrorCodes.LEASE_INVALID, `lease ${lease.token} on ${sessionId} is ${reason}`, {
          sessionId,
          token: lease.token,
          current: row?.token ?? null,
          reason,
        })
      }
    } else if (row && !row.released && row.expiresAt > now) {
      throw new ChainlogError(ErrorCodes.LEASE_HELD, `session ${sessionId} is leased to ${row.owner}`, { sessionId, owner: row.owner, expiresAt: row.expiresAt })
    }
  }

  async #writeLease(sessionId: string, row: LeaseRow): Promise<void> {
    this.#leases.delete(sessionId)
    try {
      await this.writer.write([{ type: 'put', key: K.leaseKey(sessionId), value: encodeCanonical(row) }])
      this.#leases.set(sessionId, row)
    } catch (err) {
      this.#leases.delete(sessionId)
      throw err
    }
  }

  /**
   * Claim a session for `owner` for `ttlMs`. Refused with CHAINLOG_LEASE_HELD while another
   * owner's lease is unexpired. Every claim gets a larger fencing token than any before it.
   */
  claimSession(sessionId: string, options: { owner: string; ttlMs: number }): Promise<Lease> {
    this.checkOpen()
    if (!options || typeof options.owner !== 'string' || options.owner === '' || !(Number.isSafeInteger(options.ttlMs) && options.ttlMs > 0)) {
      throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'claimSession needs { owner: non-empty string, ttlMs: positive integer }', {})
    }
    return this.locks.run(sessionId, async () => {
      await this.requireHead(sessionId)
      const row = await this.#readLease(sessionId)
      const now = Date.now()
      if (row && !row.released && row.expiresAt > now && row.owner !== options.owner) {
        throw new ChainlogError(ErrorCodes.LEASE_HELD, `session ${sessionId} is leased to ${row.owner}`, { sessionId, owner: row.owner, expiresAt: row.expiresAt })
      }
      const next: LeaseRow = { owner: options.owner, token: (row?.token ?? 0) + 1, expiresAt: now + options.ttlMs, released: false }
      await this.#writeLease(sessionId, next)
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
      await this.#checkLease(lease.sessionId, lease)
      const row = (await this.#readLease(lease.sessionId))!
      const next: LeaseRow = { ...row, expiresAt: Date.now() + options.ttlMs }
      await this.#writeLease(lease.sessionId, next)
      return { ...lease, expiresAt: next.expiresAt }
    })
  }

  /** Give a lease up before it expires. The token is never reused. */
  releaseLease(lease: Lease): Promise<void> {
    this.checkOpen()
    return this.locks.run(lease.sessionId, async () => {
      await this.#checkLease(lease.sessionId, lease)
      const row = (await this.#readLease(lease.sessionId))!
      await this.#writeLease(lease.sessionId, { ...row, released: true, expiresAt: Date.now() })
    })
  }

  /** Token usage by model for one session's own llm_usage entries, or store-wide. Read from the ledger. */
  usage(sessionId?: string): Promise<UsageByModel> {
    this.checkOpen()
    return this.ledger.totals(sessionId)
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
   * With `verify` (default true) each record's hash and prev link are checked as it is read.
   */
  async *entries(
    sessionId: string,
    options: { from?: number; to?: number; reverse?: boolean; verify?: boolean; resolveBlobs?: boolean } = {},
  ): AsyncGenerator<StoredEntry> {
    this.checkOpen()
    const head = await this.requireHead(sessionId)
    const from = Math.max(0, options.from ?? 0)
    const to = Math.min(head.seq, options.to ?? head.seq)
    if (from > to) return
    const verify = options.verify ?? true
    const reverse = options.reverse ?? false
    const resolve = options.resolveBlobs ?? true
    const it = this.db.iterator({ ...K.seqRange(sessionId, from, to), ...K.BIN, reverse })
    let expectedSeq = reverse ? to : from
    let prevHash: string | undefined // forward: the hash the next record must link to
    let nextPrev: string | undefined // reverse: the prev the last-read record declared
    // Two chunks are read ahead while the caller works on the current one, so I/O overlaps with
    // hashing, decoding and reducing (read-ahead.ts). A chunk's records are decoded as soon as
    // they arrive, so that the blobs they reference are fetched in one read too (not one
    // awaited read each).
    type Opened = ReturnType<typeof decodeRecord>
    // Forward reads, and reverse reads given a `from`, mostly run to the end of their range:
    // chunks of up to 256 rows from the start (a tail read of 100 is one chunk). A reverse read
    // without a `from` scans back an unknown distance and usually stops after a few entries (the
    // turn count behind an appendTurn with turnEnd): its chunks start at 8 rows and double, where
    // two full chunks read ahead would have fetched and decoded 768 records for each call.
    let chunk = reverse && options.from === undefined ? FIRST_CHUNK : Math.min(to - from + 1, MAX_CHUNK)
    const ahead = new ReadAhead(
      async () => {
        const batch = (await it.nextv(chunk)) as [Uint8Array, Uint8Array][]
        chunk = Math.min(chunk * 2, MAX_CHUNK)
        return batch.length === 0 ? undefined : batch
      },
      async (batch) => {
        const records = (await this.db.getMany(
          batch.map(([, h]) => K.entryKey(h)),
          K.BIN,
        )) as (Uint8Array | undefined)[]
        const opened: (Opened | Error | undefined)[] = new Array(records.length)
        /** Records whose entry holds blob references (a byte search, done once per record). */
        const withRefs = new Uint8Array(records.length)
        const refs: string[] = []
        for (let i = 0; i < records.length; i++) {
          const record = records[i]
          if (!record) continue
          try {
            const o = decodeRecord(record)
            opened[i] = o
            if (resolve && mayHaveRefs(o.entryBytes)) {
              withRefs[i] = 1
              for (const r of collectRefs(o.entry)) refs.push(refHash(r))
            }
          } catch (err) {
            opened[i] = err as Error
          }
        }
        return { batch, records, opened, withRefs, blobs: await this.readBlobsRaw(refs) }
      },
    )
    try {
      for (;;) {
        const chunk = await ahead.next()
        if (!chunk) break
        const { batch, records, blobs } = chunk
        const load = (h: string) => checkedBlob(h, blobs.get(h))
        for (let i = 0; i < batch.length; i++) {
          const [key, hashBytes] = batch[i]!
          const { seq } = K.parseSeqKey(key)
          const hash = toHex(hashBytes)
          const record = records[i]
          const where = { sessionId, seq, hash }
          if (seq !== expectedSeq) throw corrupt(`seq ${expectedSeq} is missing from session ${sessionId}`, where)
          if (!record) throw corrupt(`entry ${hash} (session ${sessionId} seq ${seq}) is missing`, where)
          if (verify && toHex(hashRecord(record)) !== hash) throw corrupt(`entry ${hash} does not hash to its key`, where)
          const opened = chunk.opened[i]!
          if (opened instanceof Error) {
            throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `stored entry cannot be read: ${opened.message}; run verify`, where, { cause: opened })
          }
          const prev = toHex(opened.prev)
          if (verify) {
            if (!reverse) {
              const want = seq === 0 ? toHex(ZERO_HASH) : prevHash
              if (want !== undefined && prev !== want) throw corrupt(`entry ${hash} does not link to the entry before it`, where)
            } else if (nextPrev !== undefined && nextPrev !== hash) {
              throw corrupt(`entry after ${hash} does not link to it`, where)
            }
            if (seq === 0 && prev !== toHex(ZERO_HASH)) throw corrupt(`genesis ${hash} has a non-zero prev`, where)
            if ((seq === 0) !== (opened.entry.kind === 'session_start')) throw corrupt(`entry ${hash} is out of place`, where)
            if (opened.entry.kind === 'session_start' && opened.entry.sessionId !== sessionId) {
              throw corrupt(`genesis ${hash} names session ${opened.entry.sessionId}`, where)
            }
          }
          prevHash = hash
          nextPrev = prev
          expectedSeq += reverse ? -1 : 1
          let entry = opened.entry
          if (chunk.withRefs[i]) entry = resolveRefs(entry, load) as Entry
          yield { sessionId, seq, hash, prev, entry, format: opened.format }
        }
      }
    } finally {
      await ahead.settle()
      await it.close()
    }
    const done = reverse ? expectedSeq === from - 1 : expectedSeq === to + 1
    if (!done) throw corrupt(`session ${sessionId} ends at seq ${expectedSeq} before ${reverse ? from : to}`, { sessionId })
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
  async listSessions(options: ListOptions = {}): Promise<SessionInfo[]> {
    this.checkOpen()
    const { order = 'id', limit } = options
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
      throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, `limit must be a non-negative integer, not ${String(limit)}`, { limit })
    }
    if (!['id', 'newest', 'oldest'].includes(order)) {
      throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, `order is "id", "newest" or "oldest", not ${String(order)}`, { order })
    }
    // `M ‖ id` and `P ‖ id` sort alike, so the two scans are merged by id. A metadata row without
    // a head (a session being created or deleted) is left out, as before.
    const heads = this.db.iterator({ ...K.tableRange(K.TAG.head), ...K.BIN })
    const metas = this.db.iterator({ ...K.tableRange(K.TAG.meta), ...K.BIN })
    const out: SessionInfo[] = []
    try {
      let headRows: [Uint8Array, Uint8Array][] = []
      let h = 0
      const nextHead = async (): Promise<[Uint8Array, Uint8Array] | undefined> => {
        if (h >= headRows.length) {
          headRows = (await heads.nextv(1024)) as [Uint8Array, Uint8Array][]
          h = 0
          if (headRows.length === 0) return undefined
        }
        return headRows[h++]
      }
      let head = await nextHead()
      for (;;) {
        const rows = (await metas.nextv(1024)) as [Uint8Array, Uint8Array][]
        if (rows.length === 0) break
        for (const [key, value] of rows) {
          const sessionId = K.sessionIdFromKey(key)
          while (head && K.sessionIdFromKey(head[0]) < sessionId) head = await nextHead()
          if (!head || K.sessionIdFromKey(head[0]) !== sessionId) continue
          const { hash, seq } = K.parseHeadValue(head[1])
          const meta = decodeCbor(value) as SessionMeta
          out.push({ sessionId, head: toHex(hash), length: seq + 1, ...meta })
        }
      }
    } finally {
      await Promise.all([heads.close(), metas.close()])
    }
    if (order !== 'id') {
      const sign = order === 'newest' ? -1 : 1
      out.sort((a, b) => sign * (a.updatedAt - b.updatedAt) || (a.sessionId < b.sessionId ? -1 : 1))
    }
    return limit === undefined ? out : out.slice(0, limit)
  }

  /** Token totals of every session that has any, by one scan of the ledger. */
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

function corrupt(message: string, data: Record<string, unknown>): ChainlogError {
  return new ChainlogError(ErrorCodes.CORRUPT_STORE, `${message}; run verify`, data)
}

/**
 * LevelDB's write buffer (memtable) for stores opened by path: 32 MiB instead of LevelDB's 4 MiB.
 * Fewer, larger level-0 flushes mean fewer compactions and write stalls under a stream of
 * ~20 KB turns (+20% relaxed appends in bench case 1). The cost is at open: LevelDB replays
 * its log into a memtable and writes it out, so a clean close flushes first (flushOnClose).
 */
export const WRITE_BUFFER_BYTES = 32 * 1024 * 1024

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

/** A stored blob's content, unpacked and checked against its hash; CORRUPT_STORE otherwise. */
function checkedBlob(hex: string, raw: Uint8Array | undefined): Uint8Array {
  const b = openStoredBlob(hex, raw)
  if ('bytes' in b) return b.bytes
  if (b.problem === 'missing') throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `blob ${hex} is missing; run verify`, { blob: hex })
  if (b.problem === 'unreadable') throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `blob ${hex} cannot be read; run verify`, { blob: hex }, { cause: b.error })
  throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `blob ${hex} does not hash to its key; run verify`, { blob: hex })
}

