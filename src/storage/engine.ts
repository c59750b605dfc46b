// The storage-engine contract: the little a database must give the session store, so that a
// store can run on LevelDB (level-engine.ts) today and on a SQL engine next without the rest of
// the store changing. Three things: point reads, ordered range reads, and an atomic multi-row
// commit whose preconditions (a row holds exactly this value, or is absent) the engine checks
// in the same step as the write. The compare-and-set of a session head is such a precondition,
// so correctness never rests on a lock held in one process's memory (docs/storage.md, section 10).
import { platform } from '../platform/node.js'

export type BatchOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array }

/**
 * Commits made inside `syncRequested.run(true, fn)` are made durable even on a relaxed store: a
 * process that holds the store serves other processes' calls this way when they asked for `sync`,
 * so a caller always gets at least the durability it opened the store with.
 */
export const syncRequested = platform.asyncContext<boolean>()

/**
 * A row that must hold exactly `value` (or be absent, when `value` is undefined; or hold any
 * value, when `value` is PRESENT) for a commit to apply.
 */
export interface Precondition {
  key: Uint8Array
  value: Uint8Array | undefined
}

/**
 * As a precondition's value: the row must be there, whatever it holds. The engine takes the row's
 * lock as for any precondition; only its presence is compared (gc.ts: an append that uses a
 * stored blob without writing it expects the blob present).
 */
export const PRESENT: Uint8Array = new Uint8Array(0)

/** One atomic unit of writes. */
export interface Commit {
  /** Puts and deletes, applied all or none. */
  ops: BatchOp[]
  /** Checked against the rows as they are when the commit applies; any mismatch refuses it whole. */
  expect?: Precondition[]
  /** Make the commit durable (fsync, or the engine's equivalent) before resolving. */
  sync?: boolean
}

/** A key range: `gte <= key < lt`, in key order unless `reverse`. */
export interface KeyRange {
  gte: Uint8Array
  lt: Uint8Array
  reverse?: boolean
  /** At most this many rows in all. */
  limit?: number
}

export type Row = [key: Uint8Array, value: Uint8Array]

/** A commit was refused because a row did not hold what it expected; nothing was written. */
export class PreconditionFailed extends Error {
  constructor(
    /** Index in `expect` of the first precondition that failed. */
    readonly index: number,
    readonly key: Uint8Array,
    /** What the row held (undefined: absent). */
    readonly actual: Uint8Array | undefined,
  ) {
    super('a precondition of the commit did not hold')
    this.name = 'PreconditionFailed'
  }
}

/** What an engine has written since it opened (for tests and stats). */
export interface EngineStats {
  /** Transactions (batches) written, and how many of them were made durable. */
  batches: number
  syncedBatches: number
  /** Bytes of keys and values written. */
  bytesWritten: number
  /** Commits refused because a precondition did not hold. */
  refused: number
}

export interface StorageEngine {
  readonly stats: EngineStats
  /**
   * True when this engine is the only writer of its database (LevelDB: one process holds the
   * directory). The store then caches heads, metadata and leases between calls; on an engine
   * others write too, it reads them every time (the commit's preconditions keep writes correct
   * either way).
   */
  readonly exclusive: boolean
  get(key: Uint8Array): Promise<Uint8Array | undefined>
  getMany(keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]>
  /**
   * A point read on the calling thread, without a round trip through a thread pool or a server,
   * where the engine can (LevelDB's getSync: small rows a caller has just located, mostly in the
   * block cache); absent where it cannot. It blocks for the read, so readers use it only for a
   * few small rows (session index rows, store.entriesAt).
   */
  readonly getSync?: (key: Uint8Array) => Uint8Array | undefined
  /**
   * The rows of a range in order, in chunks: the first of at most `chunk` rows, each next one up
   * to twice as large, up to `maxChunk` (default `chunk`). Chunk sizes are a hint for how far to
   * read ahead; a reader that stops early wastes less with small first chunks.
   */
  scan(range: KeyRange, chunk?: number, maxChunk?: number): AsyncIterable<Row[]>
  /**
   * Apply `commit.ops` atomically if every precondition holds, else write nothing and reject
   * with PreconditionFailed. Commits that race are applied as if one after another, in the
   * order they were made; an engine may write several in one transaction (group commit) as long
   * as each one's preconditions see the writes of those before it.
   */
  commit(commit: Commit): Promise<void>
  /** Resolves once every commit queued so far has been applied or refused. */
  flush(): Promise<void>
  /** Drop anything remembered about rows (after writes made behind the engine). */
  forget(): void
  close(): Promise<void>
}

/** Byte equality of two optional values; PRESENT on either side equals any value that is there. */
export function sameValue(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === PRESENT || b === PRESENT) return (a === PRESENT ? b : a) !== undefined
  if (a === undefined || b === undefined) return a === b
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
