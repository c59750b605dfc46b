// The storage-engine contract (engine.ts) on an abstract-level database: classic-level on disk,
// memory-level in tests. LevelDB has no conditional write, and one process holds a LevelDB
// directory, so this engine is the only writer: commits queue here and are applied in order.
// Being the only writer, it also knows what the rows it checks preconditions on hold after its
// own writes: those values are kept (bounded), so a stream of appends to a session checks its
// head without a read per commit. Whoever writes the database behind the engine calls forget().
// Whatever arrives while a batch is being written is checked and merged into the next single
// LevelDB batch (group commit: N durable commits cost one fsync). Each commit's preconditions
// are checked against the rows as the commits before it in the same group leave them; a commit
// whose precondition fails is refused alone, the others of its group still land.
//
// A store opened by path also has a journal (journal.ts, docs/storage.md section 12): a group of
// commits is acknowledged once it is written to the journal file (and fdatasync'ed when a commit
// asked for `sync`), and goes to LevelDB afterwards, off the caller's path, several groups per
// LevelDB batch. Until then reads see it through an overlay of the rows it wrote (point reads)
// or wait for it to land (range scans).
import type { AbstractLevel } from 'abstract-level'
import { PreconditionFailed, sameValue, type BatchOp, type Commit, type EngineStats, type KeyRange, type Row, type StorageEngine } from './engine.js'
import { ChainlogError, ErrorCodes } from '../errors.js'
import type { Journal, JournalRecord } from './journal.js'
import { platform } from '../platform/node.js'
import * as K from './keys.js'
import { latin1 } from '../encoding/bytes.js'
import { storageError } from './open-errors.js'

/** Any abstract-level database (classic-level, memory-level, ...), used with raw byte keys and values. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyLevel = AbstractLevel<any, any, any>

const BIN = { keyEncoding: 'view', valueEncoding: 'view' } as const

interface Pending {
  commit: Commit
  resolve: () => void
  reject: (err: unknown) => void
}

/** At most this many precondition rows are remembered (about a session head and lease each). */
const KNOWN_ROWS = 100_000

const id = latin1

/** Commits whose rows add up to more than this go straight to LevelDB, not through the journal. */
const DIRECT_BYTES = 4 * 1024 * 1024
/** Once everything journalled has landed and the journal holds this much, it is emptied. */
export const JOURNAL_RESET_BYTES = 4 * 1024 * 1024
/**
 * A journal this large is emptied before the next commit is written to it, the commit waiting
 * for LevelDB to catch up: so the journal, the rows waiting in memory and what a power cut can
 * take from a `relaxed` store stay bounded under any load.
 */
export const JOURNAL_MAX_BYTES = 8 * 1024 * 1024
/** At most this many bytes of journal records per LevelDB batch when they are replayed on open. */
const REPLAY_BATCH_BYTES = 16 * 1024 * 1024

const journalRow = (seq: number): BatchOp => ({ type: 'put', key: K.journalKey(), value: K.u64(seq) })

interface Queued {
  seq: number
  ops: BatchOp[]
}

export interface LevelEngineOptions {
  /** The store directory, named in the errors LevelDB's failures are mapped to. */
  path?: string
  /**
   * A bound for commits that do not ask for sync (`relaxed`): the first write of a group made
   * this many milliseconds or more after the last fsync is fsynced too (docs/storage.md, section 5).
   */
  syncEveryMs?: number
}

export class LevelEngine implements StorageEngine {
  #pending: Pending[] = []
  #writing = false
  /** Values of precondition rows as this engine last read or wrote them (undefined: absent). */
  #known = new Map<string, Uint8Array | undefined>()
  /** LevelDB batches written, how many of them fsynced, and the bytes of keys and values. */
  readonly stats: EngineStats = { batches: 0, syncedBatches: 0, bytesWritten: 0, refused: 0 }
  /** One process holds a LevelDB directory, and this engine is its only writer. */
  readonly exclusive = true

  readonly #journal: Journal | undefined
  /** Seq of the last journal record written, and of the last one LevelDB holds. */
  #seq: number
  #applied: number
  /** Journalled groups not yet in LevelDB, oldest first. */
  #queue: Queued[] = []
  /** What the rows written by `#queue` hold, for point reads until they land. */
  #overlay = new Map<string, { value: Uint8Array | undefined; seq: number }>()
  #applying: Promise<void> | undefined
  /** Waiting for LevelDB to hold the journal up to `seq`. */
  #settling: { seq: number; resolve: () => void; reject: (err: unknown) => void }[] = []
  /** A journalled group failed to land in LevelDB: nothing more is accepted until the store is opened again. */
  #failed: unknown

  readonly #path: string | undefined
  readonly #syncEveryMs: number | undefined
  /** When the last fsync that made every acknowledged commit durable began (Date.now()). */
  #lastSync = Date.now()

  constructor(
    readonly db: AnyLevel,
    journal?: { journal: Journal; seq: number },
    options: LevelEngineOptions = {},
  ) {
    this.#journal = journal?.journal
    this.#seq = this.#applied = journal?.seq ?? 0
    this.#path = options.path
    this.#syncEveryMs = options.syncEveryMs
    if ((db as { supports?: { getSync?: boolean } }).supports?.getSync === true) this.getSync = (key) => this.#getSync(key)
  }

  readonly getSync?: (key: Uint8Array) => Uint8Array | undefined

  /** Bytes of records in the journal (0 without one): what an open after a crash would read. */
  get journalBytes(): number {
    return this.#journal?.size ?? 0
  }

  /** get() without the thread pool: what is journalled but not yet in LevelDB comes from the overlay, as for get(). */
  #getSync(key: Uint8Array): Uint8Array | undefined {
    if (this.#overlay.size > 0) {
      const o = this.#overlay.get(id(key))
      if (o) return o.value && new Uint8Array(o.value)
    }
    try {
      return (this.db as unknown as { getSync(key: Uint8Array, options: typeof BIN): Uint8Array | undefined }).getSync(key, BIN)
    } catch (err) {
      return this.#readFailed(err)
    }
  }

  /** Whether a group that did not ask for sync is fsynced anyway, by the `syncEveryMs` bound. */
  #syncDue(): boolean {
    return this.#syncEveryMs !== undefined && Date.now() - this.#lastSync >= this.#syncEveryMs
  }

  /**
   * What LevelDB (or the file system) threw, as the ChainlogError a library caller matches on:
   * CHAINLOG_CORRUPT_STORE for damaged files, CHAINLOG_IO with the reason otherwise, the original
   * as `cause` (open-errors.ts). ChainlogErrors pass through.
   */
  readonly #readFailed = (err: unknown): never => {
    throw storageError(err, 'read', this.#path)
  }

  /**
   * An engine over the LevelDB of the store directory `dir` with its journal: records the
   * database lacks (after a crash) are applied first, durably, and the journal emptied.
   */
  static async withJournal(db: AnyLevel, dir: string, options: LevelEngineOptions = {}): Promise<LevelEngine> {
    const { journal, records } = await platform.openJournal(dir)
    try {
      const row = (await db.get(K.journalKey(), BIN)) as Uint8Array | undefined
      let applied = row ? K.readU64(row) : 0
      const todo = records.filter((r) => r.seq > applied)
      if (todo.length > 0 && todo[0]!.seq !== applied + 1) {
        // The journal is emptied only once LevelDB holds all of it durably, so this cannot
        // follow a crash; the files were changed behind the store. Nothing is applied.
        throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `the store's journal starts at record ${todo[0]!.seq}, but the database holds records up to ${applied} only`, {
          journalFrom: todo[0]!.seq,
          applied,
        })
      }
      if (journal.size > 0) {
        // Apply what LevelDB lacks; the last batch is fsynced, so that what LevelDB held
        // unsynced from the crashed process is durable too before the journal goes.
        const groups = replayGroups(todo)
        if (groups.length === 0) groups.push([])
        for (let i = 0; i < groups.length; i++) {
          const g = groups[i]!
          if (g.length > 0) applied = g[g.length - 1]!.seq
          const ops = g.flatMap((r) => r.ops)
          ops.push(journalRow(applied))
          await db.batch(ops as never, { ...BIN, sync: i === groups.length - 1 } as never)
        }
        journal.reset()
      }
      return new LevelEngine(db, { journal, seq: applied }, { path: dir, ...options })
    } catch (err) {
      journal.close()
      throw err
    }
  }

  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    if (this.#overlay.size > 0) {
      const o = this.#overlay.get(id(key))
      if (o) return Promise.resolve(o.value && new Uint8Array(o.value))
    }
    return (this.db.get(key, BIN) as Promise<Uint8Array | undefined>).catch(this.#readFailed)
  }

  async getMany(keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    if (this.#overlay.size === 0) return (this.db.getMany(keys as Uint8Array[], BIN) as Promise<(Uint8Array | undefined)[]>).catch(this.#readFailed)
    const out: (Uint8Array | undefined)[] = new Array(keys.length)
    const rest: number[] = []
    keys.forEach((key, i) => {
      const o = this.#overlay.get(id(key))
      if (o) out[i] = o.value && new Uint8Array(o.value)
      else rest.push(i)
    })
    if (rest.length > 0) {
      const got = (await this.db.getMany(rest.map((i) => keys[i]!) as Uint8Array[], BIN).catch(this.#readFailed)) as (Uint8Array | undefined)[]
      rest.forEach((i, j) => (out[i] = got[j]))
    }
    return out
  }

  async *scan(range: KeyRange, chunk = 256, maxChunk = chunk): AsyncIterable<Row[]> {
    // An iterator reads a snapshot of LevelDB: what is journalled lands first.
    if (this.#applied < this.#seq) await this.#settle()
    const it = this.db.iterator({ gte: range.gte, lt: range.lt, reverse: range.reverse ?? false, limit: range.limit ?? -1, ...BIN })
    try {
      let left = range.limit === undefined || range.limit < 0 ? Infinity : range.limit
      for (let n = chunk; left > 0; n = Math.min(n * 2, maxChunk)) {
        const rows = (await it.nextv(Math.min(n, left)).catch(this.#readFailed)) as Row[]
        if (rows.length === 0) return
        left -= rows.length
        yield rows
      }
    } finally {
      await it.close().catch(this.#readFailed)
    }
  }

  commit(commit: Commit): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ commit, resolve, reject })
      if (!this.#writing) void this.#drain()
    })
  }

  async #drain(): Promise<void> {
    this.#writing = true
    while (this.#pending.length > 0) {
      const group = this.#pending.splice(0)
      let accepted: Pending[]
      try {
        accepted = await this.#check(group)
      } catch (err) {
        for (const p of group) p.reject(err)
        continue
      }
      if (accepted.length === 0) continue
      const ops: BatchOp[] = accepted.length === 1 ? accepted[0]!.commit.ops : accepted.flatMap((p) => p.commit.ops)
      const sync = accepted.some((p) => p.commit.sync === true) || this.#syncDue()
      let bytes = 0
      for (const op of ops) bytes += op.key.length + (op.type === 'put' ? op.value.length : 0)
      if (this.#failed !== undefined) {
        for (const p of accepted) p.reject(this.#failed)
        continue
      }
      if (this.#journal && bytes <= DIRECT_BYTES) {
        await this.#journalled(accepted, ops, bytes, sync)
        continue
      }
      try {
        // Past the journal (a large commit, such as an import): everything journalled lands first.
        if (this.#applied < this.#seq) await this.#settle()
        const started = Date.now()
        await this.db.batch(ops as never, { ...BIN, sync } as never)
        // Without a journal, a synced batch makes every commit before it durable too.
        if (sync && !this.#journal) this.#lastSync = started
        for (const op of ops) {
          const k = id(op.key)
          if (this.#known.has(k)) this.#known.set(k, op.type === 'put' ? op.value : undefined)
        }
        this.stats.batches++
        if (sync) this.stats.syncedBatches++
        this.stats.bytesWritten += bytes
        for (const p of accepted) p.resolve()
      } catch (err) {
        // What the failed batch did is unknown: read the rows again next time.
        this.#known.clear()
        const failure = storageError(err, 'write', this.#path)
        for (const p of accepted) p.reject(failure)
      }
    }
    this.#writing = false
  }

  /** Write a group to the journal, acknowledge it, and queue it for LevelDB. */
  async #journalled(accepted: Pending[], ops: BatchOp[], bytes: number, sync: boolean): Promise<void> {
    const journal = this.#journal!
    if (journal.size >= JOURNAL_MAX_BYTES) await this.#quiesce().catch(() => undefined)
    if (this.#failed !== undefined) {
      for (const p of accepted) p.reject(this.#failed)
      return
    }
    const seq = this.#seq + 1
    try {
      journal.appendRecord(seq, ops)
    } catch (err) {
      // Nothing of the group is in the journal (a torn write is cut off again).
      const failure = storageError(err, 'write', this.#path)
      for (const p of accepted) p.reject(failure)
      return
    }
    this.#seq = seq
    for (const op of ops) {
      const k = id(op.key)
      const value = op.type === 'put' ? op.value : undefined
      this.#overlay.set(k, { value, seq })
      if (this.#known.has(k)) this.#known.set(k, value)
    }
    this.#queue.push({ seq, ops })
    this.stats.batches++
    this.stats.bytesWritten += bytes
    this.#applying ??= this.#apply()
    if (sync) {
      try {
        const started = Date.now()
        await journal.sync()
        this.#lastSync = started
        this.stats.syncedBatches++
      } catch (err) {
        // The group is in the journal and will land; whether it would survive a power loss is
        // not known, so the callers are told it failed (a retry is idempotent).
        const failure = storageError(err, 'write', this.#path)
        for (const p of accepted) p.reject(failure)
        return
      }
    }
    for (const p of accepted) p.resolve()
  }

  /** Move journalled groups into LevelDB, all that are queued in one batch, until none are left. */
  async #apply(): Promise<void> {
    const journal = this.#journal!
    try {
      while (this.#queue.length > 0) {
        const groups = this.#queue.splice(0)
        const last = groups[groups.length - 1]!.seq
        const ops = groups.length === 1 ? [...groups[0]!.ops, journalRow(last)] : [...groups.flatMap((g) => g.ops), journalRow(last)]
        await this.db.batch(ops as never, { ...BIN, sync: false } as never)
        this.#applied = last
        for (const g of groups) {
          for (const op of g.ops) {
            const k = id(op.key)
            if ((this.#overlay.get(k)?.seq ?? Infinity) <= last) this.#overlay.delete(k)
          }
        }
        this.#wake()
        if (this.#queue.length === 0 && journal.size >= JOURNAL_RESET_BYTES) {
          // Empty the journal once LevelDB holds all of it durably. Always durably, also when
          // every record was relaxed: after a power cut the journal must continue from what
          // LevelDB holds, never skip over batches it lost.
          await this.db.batch([journalRow(last)] as never, { ...BIN, sync: true } as never)
          if (this.#queue.length === 0) journal.reset()
        }
      }
    } catch (err) {
      // The groups are in the journal: opening the store again applies them.
      this.#failed = storageError(err, 'write', this.#path)
      this.#wake()
    } finally {
      this.#applying = undefined
    }
  }

  /** Resolves once LevelDB holds everything journalled so far. */
  #settle(): Promise<void> {
    if (this.#failed !== undefined) return Promise.reject(this.#failed)
    if (this.#applied >= this.#seq) return Promise.resolve()
    return new Promise((resolve, reject) => {
      this.#settling.push({ seq: this.#seq, resolve, reject })
      this.#applying ??= this.#apply()
    })
  }

  #wake(): void {
    const waiting = this.#settling
    this.#settling = []
    for (const w of waiting) {
      if (this.#failed !== undefined) w.reject(this.#failed)
      else if (w.seq <= this.#applied) w.resolve()
      else this.#settling.push(w)
    }
  }

  /** Forget what the rows hold (after writes made behind the engine, straight to the database). */
  forget(): void {
    this.#known.clear()
  }

  /** Check each commit's preconditions in order, seeing the writes of those accepted before it. */
  async #check(group: Pending[]): Promise<Pending[]> {
    const wanted = new Map<string, Uint8Array>()
    for (const p of group) for (const e of p.commit.expect ?? []) wanted.set(id(e.key), e.key)
    if (wanted.size === 0) return group
    // The rows as the accepted commits so far leave them (undefined: absent).
    const rows = new Map<string, Uint8Array | undefined>()
    const unknown: Uint8Array[] = []
    for (const [k, key] of wanted) {
      if (this.#known.has(k)) rows.set(k, this.#known.get(k))
      else unknown.push(key)
    }
    if (unknown.length > 0) {
      const values = await this.getMany(unknown)
      if (this.#known.size + unknown.length > KNOWN_ROWS) this.#known.clear()
      unknown.forEach((key, i) => {
        rows.set(id(key), values[i])
        this.#known.set(id(key), values[i])
      })
    }
    const accepted: Pending[] = []
    for (const p of group) {
      const expect = p.commit.expect ?? []
      const failed = expect.findIndex((e) => !sameValue(rows.get(id(e.key)), e.value))
      if (failed >= 0) {
        const e = expect[failed]!
        this.stats.refused++
        p.reject(new PreconditionFailed(failed, e.key, rows.get(id(e.key))))
        continue
      }
      accepted.push(p)
      for (const op of p.commit.ops) {
        const k = id(op.key)
        if (rows.has(k)) rows.set(k, op.type === 'put' ? op.value : undefined)
      }
    }
    return accepted
  }

  /**
   * Resolves once every commit queued so far has been written or refused, and is in LevelDB
   * (unless moving it there failed: it stays in the journal, and the next commit says so).
   */
  async flush(): Promise<void> {
    await new Promise<void>((resolve) => {
      if (!this.#writing && this.#pending.length === 0) return resolve()
      // An empty commit queued last resolves after the ones before it.
      this.#pending.push({ commit: { ops: [] }, resolve, reject: () => resolve() })
      if (!this.#writing) void this.#drain()
    })
    if (this.#journal) await this.#settle().catch(() => undefined)
  }

  /**
   * Flush, then make LevelDB's copy durable and empty the journal (on close, before the
   * memtable is flushed to a table, so that nothing is left for the next open to replay).
   */
  async emptyJournal(): Promise<void> {
    await this.flush()
    await this.#quiesce().catch(() => undefined)
  }

  /**
   * Once LevelDB holds every journal record, make that durable and empty the journal. Called
   * where no commit can be journalled meanwhile (from #drain, or after flush on close).
   */
  async #quiesce(): Promise<void> {
    const journal = this.#journal
    if (!journal) return
    await this.#settle()
    while (this.#applying) await this.#applying
    if (journal.size === 0 || this.#failed !== undefined) return
    await this.db.batch([journalRow(this.#applied)] as never, { ...BIN, sync: true } as never)
    // Only if nothing was journalled meanwhile (the applier takes care of it then).
    if (this.#applied === this.#seq) journal.reset()
  }

  async close(): Promise<void> {
    try {
      await this.emptyJournal()
    } finally {
      this.#journal?.close()
      await this.db.close()
    }
  }
}

/** Journal records to replay, in LevelDB batches of about REPLAY_BATCH_BYTES. */
function replayGroups(records: JournalRecord[]): JournalRecord[][] {
  const groups: JournalRecord[][] = []
  let bytes = Infinity
  for (const r of records) {
    if (bytes >= REPLAY_BATCH_BYTES) {
      groups.push([])
      bytes = 0
    }
    groups[groups.length - 1]!.push(r)
    for (const op of r.ops) bytes += op.key.length + (op.type === 'put' ? op.value.length : 0)
  }
  return groups
}
