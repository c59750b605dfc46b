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
import type { AbstractLevel } from 'abstract-level'
import { PreconditionFailed, sameValue, type BatchOp, type Commit, type EngineStats, type KeyRange, type Row, type StorageEngine } from './engine.js'

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

const id = (key: Uint8Array): string => Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1')

export class LevelEngine implements StorageEngine {
  #pending: Pending[] = []
  #writing = false
  /** Values of precondition rows as this engine last read or wrote them (undefined: absent). */
  #known = new Map<string, Uint8Array | undefined>()
  /** LevelDB batches written, how many of them fsynced, and the bytes of keys and values. */
  readonly stats: EngineStats = { batches: 0, syncedBatches: 0, bytesWritten: 0, refused: 0 }
  /** One process holds a LevelDB directory, and this engine is its only writer. */
  readonly exclusive = true

  constructor(readonly db: AnyLevel) {}

  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.db.get(key, BIN) as Promise<Uint8Array | undefined>
  }

  getMany(keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    return this.db.getMany(keys as Uint8Array[], BIN) as Promise<(Uint8Array | undefined)[]>
  }

  async *scan(range: KeyRange, chunk = 256, maxChunk = chunk): AsyncIterable<Row[]> {
    const it = this.db.iterator({ gte: range.gte, lt: range.lt, reverse: range.reverse ?? false, limit: range.limit ?? -1, ...BIN })
    try {
      for (let n = chunk; ; n = Math.min(n * 2, maxChunk)) {
        const rows = (await it.nextv(n)) as Row[]
        if (rows.length === 0) return
        yield rows
      }
    } finally {
      await it.close()
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
      const sync = accepted.some((p) => p.commit.sync === true)
      let bytes = 0
      for (const op of ops) bytes += op.key.length + (op.type === 'put' ? op.value.length : 0)
      try {
        await this.db.batch(ops as never, { ...BIN, sync } as never)
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
        for (const p of accepted) p.reject(err)
      }
    }
    this.#writing = false
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

  /** Resolves once every commit queued so far has been written or refused. */
  flush(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (!this.#writing && this.#pending.length === 0) return resolve()
      // An empty commit queued last resolves after the ones before it.
      this.#pending.push({ commit: { ops: [] }, resolve, reject: () => resolve() })
      if (!this.#writing) void this.#drain()
    })
  }

  async close(): Promise<void> {
    await this.flush()
    await this.db.close()
  }
}
