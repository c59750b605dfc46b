// Migration of a store from format 1 to format 2 (docs/storage.md, section 11). Format 1 keyed
// each record by its hash (`E ‖ hash`) with a sequence index beside it (`S ‖ session ‖ seq ->
// hash`); format 2 keeps a session's records contiguous (`R ‖ session ‖ seq -> record`) and
// drops the store-wide usage rows (their totals are now summed from the session rows). Entry
// bytes, hashes, heads, metadata, blobs, leases and session usage rows are not touched.
//
// Order: the records are read in key order of `E`, which is hash order, merged with the hash
// index `H` (also keyed by hash, and naming each record's session and seq), so that the records,
// most of the store's bytes, are read sequentially instead of by one point read each, in random
// order. A record moves to the position `H` names when the sequence index agrees (`S`
// at that position holds its hash): every record 0.1.0 wrote for a live session. The few others
// (left by a re-root, or damage) are settled after, as before: moved to where an `S` row names
// them, else removed with their `H` row (as format 1's gc would have). The record value is kept
// as it is: it already starts with the hash of the record before it (`prev`).
//
// Crash safety: the first commit sets the format row to `{ version: 2, migrating: 1 }`, so an
// older chainlog refuses the store from then on and this code knows to resume. Each later commit
// moves a chunk of records: it puts their `R` rows, and deletes their `E` rows in the same atomic
// batch, or, on LevelDB, once it has landed, with range deletes (`clear`, which LevelDB runs
// itself: a delete per row in the batch costs the main thread as much as a put). So a record
// is in `E` until its `R` row is written, and once that is written its `E` row goes; a crash in
// between leaves it in both, with the same bytes, and the resumed migration, which simply
// continues with the `E` rows that are left, moves it again. The `S` rows stay until every record
// has moved (they say where a record goes); then they are deleted, and the last commit removes
// the store-wide usage rows and sets `{ version: 2 }`, durably.
import { bytesEqual, encodeCanonical } from '../encoding/cbor.js'
import type { BatchOp, Row, StorageEngine } from './engine.js'
import * as K from './keys.js'
import { LevelEngine } from './level-engine.js'
import { ReadAhead } from './read-ahead.js'
import { storeWideRangeV1 } from './usage-ledger.js'
import { NodeBuffer, compareBytes, latin1 } from '../encoding/bytes.js'

export interface MigrationProgress {
  /** Records moved so far (in this run and any earlier, interrupted one); from format 2, tree rows looked at; from format 3, sessions. */
  done: number
  /** Records the store holds, by its heads (an estimate when the store is damaged); from format 2, its tree rows; from format 3, its sessions. */
  total: number
  /** Format-1 records in no session's sequence index, removed (as `gc` would have); from format 3, metadata and usage rows of no session. */
  orphansRemoved: number
  /** The format this step migrates from, when it is not 1 (format 2 to 3: migrate-v3.ts; 3 to 4: migrate-v4.ts). */
  from?: number
}

/** Records moved per commit. */
export const MIGRATION_CHUNK = 2048

/** Records whose `H` and `S` rows disagree are held (by key) until this many, then settled with one scan of `S`. */
const UNSETTLED_MAX = 65_536

/** Bytes a LevelDB iterator reads ahead per step of the scans of `E` and `H` (classic-level's default is 16 KiB: ~11 records). */
const READ_AHEAD_BYTES = 1 << 20

/**
 * What the migration uses of a LevelDB database directly, under its engine: scans that read ahead
 * further than the engine's, and range deletes (`clear`, done by the database itself, with no
 * operation per row in JavaScript). Only rows of the format-1 tables are deleted this way, which
 * no precondition reads; the engine is told to forget what it remembers anyway.
 */
interface Bulk {
  scan(range: { gte: Uint8Array; lt: Uint8Array }, chunk: number): AsyncIterable<Row[]>
  clear(range: { gte: Uint8Array; lte: Uint8Array } | { gte: Uint8Array; lt: Uint8Array }): Promise<void>
  /** Make every write so far, range deletes included, durable. */
  durable(): Promise<void>
}

function bulkOf(engine: StorageEngine): Bulk | undefined {
  if (!(engine instanceof LevelEngine)) return undefined
  const db = engine.db
  return {
    async *scan(range, chunk) {
      const it = db.iterator({ ...range, ...K.BIN, highWaterMarkBytes: READ_AHEAD_BYTES } as never)
      try {
        for (;;) {
          const rows = (await it.nextv(chunk)) as Row[]
          if (rows.length === 0) return
          yield rows
        }
      } finally {
        await it.close()
      }
    },
    async clear(range) {
      // A range delete skips the engine's journal (docs/storage.md section 12): everything the
      // engine has acknowledged goes into LevelDB first, so that LevelDB's own log holds the
      // moved records before the delete of their old rows, and no crash can keep one without the other.
      await engine.flush()
      await db.clear({ ...range, keyEncoding: K.BIN.keyEncoding } as never)
      engine.forget()
    },
    async durable() {
      // Flushed, fsynced in LevelDB, and the journal emptied.
      await engine.emptyJournal()
    },
  }
}

/**
 * Migrate a format-1 store (or resume an interrupted migration). `chunk` is the records moved per
 * commit; `dropChunk` the `S` rows deleted per commit once every record has moved.
 */
export async function migrateToV2(engine: StorageEngine, onProgress?: (p: MigrationProgress) => void, chunk = MIGRATION_CHUNK, dropChunk = chunk * 16): Promise<MigrationProgress> {
  const formatRow = await engine.get(K.formatKey())
  const marker = encodeCanonical({ version: 2, migrating: 1 })
  const resumed = formatRow !== undefined && bytesEqual(formatRow, marker)
  if (!resumed) {
    await engine.commit({ ops: [{ type: 'put', key: K.formatKey(), value: marker }], expect: [{ key: K.formatKey(), value: formatRow }], sync: true })
  }
  const progress: MigrationProgress = { done: 0, total: await countRecords(engine), orphansRemoved: 0 }
  // Records no longer in `E` (moved by an interrupted run) count as done.
  if (resumed) progress.done = Math.max(0, progress.total - (await countRows(engine, K.TAG_V1.entry)))
  onProgress?.({ ...progress })
  const bulk = bulkOf(engine)
  await moveRecords(engine, bulk, chunk, progress, onProgress)
  // Every record has moved: the sequence index goes (on other engines its last rows go with the last commit).
  let drop: BatchOp[] = []
  if (bulk !== undefined) {
    await bulk.clear(K.tableRange(K.TAG_V1.seq))
    // The range deletes are in LevelDB only: durable before the format row says the migration is
    // done (that commit goes through the journal, which a power cut could otherwise keep alone).
    await bulk.durable()
  } else {
    for await (const rows of engine.scan(K.tableRange(K.TAG_V1.seq), 1024, 65_536)) {
      for (const [key] of rows) {
        drop.push({ type: 'del', key })
        if (drop.length >= dropChunk) {
          await engine.commit({ ops: drop, sync: false })
          drop = []
        }
      }
    }
  }
  for await (const rows of engine.scan(storeWideRangeV1(), 1024)) for (const [key] of rows) drop.push({ type: 'del', key })
  drop.push({ type: 'put', key: K.formatKey(), value: encodeCanonical({ version: 2 }) })
  await engine.commit({ ops: drop, expect: [{ key: K.formatKey(), value: marker }], sync: true })
  onProgress?.({ ...progress })
  return progress
}

/** One chunk of `E` rows, each with its `H` row's value (undefined: none). */
interface Chunk {
  entries: Row[]
  positions: (Uint8Array | undefined)[]
}

/** The same chunk once the `S` rows at those positions are read: which records move where. */
interface Moves {
  /** Puts of `R` rows (and, without range deletes, deletes of the moved `E` rows). */
  ops: BatchOp[]
  moved: number
  /** With range deletes: the runs of moved `E` keys, to remove once the commit has landed. */
  runs: { gte: Uint8Array; lte: Uint8Array }[]
  /** `E` keys of records whose `H` and `S` rows disagree (or that have no `H` row). */
  unsettled: Uint8Array[]
}

/**
 * Move every record left in `E` to `R`: a merged scan of `E` and `H` in hash order, the `S` rows
 * at the positions `H` names read per chunk, one commit per chunk putting the `R` rows. The moved
 * `E` rows are deleted in the same commit, or, on LevelDB, by range deletes of the runs of keys
 * they are right after it landed. The next chunks are read while a commit is written.
 */
async function moveRecords(engine: StorageEngine, bulk: Bulk | undefined, chunk: number, progress: MigrationProgress, onProgress?: (p: MigrationProgress) => void): Promise<void> {
  const scan = (range: { gte: Uint8Array; lt: Uint8Array }) => (bulk !== undefined ? bulk.scan(range, chunk) : engine.scan(range, chunk, chunk))
  const entries = new Chunked(scan(K.tableRange(K.TAG_V1.entry)))
  const hashes = new Chunked(scan(K.tableRange(K.TAG.hash)))
  const read = async (): Promise<Chunk | undefined> => {
    const rows = await entries.take(chunk)
    if (rows.length === 0) return undefined
    const hashRows = await hashes.takeThrough(rows[rows.length - 1]![0])
    const positions: (Uint8Array | undefined)[] = []
    let j = 0
    for (const [key] of rows) {
      while (j < hashRows.length && compareHashes(hashRows[j]![0], key) < 0) j++
      positions.push(j < hashRows.length && compareHashes(hashRows[j]![0], key) === 0 ? hashRows[j]![1] : undefined)
    }
    return { entries: rows, positions }
  }
  const prepare = async ({ entries: rows, positions }: Chunk): Promise<Moves> => {
    const seqKeys: Uint8Array[] = []
    for (const p of positions) if (p !== undefined) seqKeys.push(K.positionKey(K.TAG_V1.seq, p))
    const named = await engine.getMany(seqKeys)
    const moves: Moves = { ops: [], moved: 0, runs: [], unsettled: [] }
    let run: { gte: Uint8Array; lte: Uint8Array } | undefined
    let n = 0
    for (let i = 0; i < rows.length; i++) {
      const [key, record] = rows[i]!
      const position = positions[i]
      if (position !== undefined && sameHash(named[n++], key)) {
        moves.ops.push({ type: 'put', key: K.positionKey(K.TAG.record, position), value: record })
        moves.moved++
        if (bulk === undefined) moves.ops.push({ type: 'del', key })
        else if (run === undefined) moves.runs.push((run = { gte: key, lte: key }))
        else run.lte = key
      } else {
        moves.unsettled.push(key)
        run = undefined
      }
    }
    return moves
  }
  const ahead = new ReadAhead(read, prepare, 2)
  // The last commit made; the range deletes of its chunk's E rows (from when it has landed), and
  // those of the chunk before (which run while the last commit is written). At most one chunk's
  // range deletes are left behind a commit.
  let writing: Promise<void> = Promise.resolve()
  let removing: Promise<void> = Promise.resolve()
  let removingBefore: Promise<void> = Promise.resolve()
  let writingMoved = 0
  let unsettled: Uint8Array[] = []
  const written = async (): Promise<void> => {
    await writing
    if (writingMoved > 0) {
      progress.done += writingMoved
      writingMoved = 0
      onProgress?.({ ...progress })
    }
  }
  try {
    for (;;) {
      const moves = await ahead.next()
      if (moves === undefined) break
      await written()
      await removingBefore
      if (moves.ops.length > 0) {
        const { ops, runs } = moves
        const landed = engine.commit({ ops, sync: false })
        writing = landed
        removingBefore = removing
        // The records are in R once the commit has landed: their E rows go then (a crash before
        // that leaves them in both layouts, and a resumed run moves them again).
        removing = runs.length === 0 ? Promise.resolve() : landed.then(async () => {
          for (const range of runs) await bulk!.clear(range)
        })
        // Both are awaited before a later commit or at the end; this only keeps a failure meanwhile from being unhandled.
        writing.catch(() => undefined)
        removing.catch(() => undefined)
        writingMoved = moves.moved
      }
      unsettled = unsettled.concat(moves.unsettled)
      if (unsettled.length >= UNSETTLED_MAX) {
        await written()
        await removingBefore
        await removing
        await settle(engine, unsettled, chunk, progress)
        unsettled = []
      }
    }
    await written()
    await removingBefore
    await removing
    if (unsettled.length > 0) await settle(engine, unsettled, chunk, progress)
  } finally {
    // A failed commit leaves the reads ahead and a range delete to finish before the iterators close.
    await ahead.settle()
    await writing.catch(() => undefined)
    await removingBefore.catch(() => undefined)
    await removing.catch(() => undefined)
    await entries.close()
    await hashes.close()
  }
}

/**
 * Records the merged scan did not move (their `H` row is missing or names a position whose `S`
 * row holds another hash), settled as format 1 saw them: a record an `S` row names moves there,
 * one no `S` row names is removed with its `H` row. One scan of `S` (still whole: `S` rows are
 * only deleted after every record has moved) finds the names.
 */
async function settle(engine: StorageEngine, keys: Uint8Array[], chunk: number, progress: MigrationProgress): Promise<void> {
  const seqKeyOf = new Map<string, Uint8Array | null>()
  for (const key of keys) seqKeyOf.set(latin1(key.subarray(1)), null)
  for await (const rows of engine.scan(K.tableRange(K.TAG_V1.seq), 1024, 65_536)) {
    for (const [seqKey, hash] of rows) {
      const id = latin1(hash)
      if (seqKeyOf.get(id) === null) seqKeyOf.set(id, seqKey)
    }
  }
  for (let i = 0; i < keys.length; i += chunk) {
    const part = keys.slice(i, i + chunk)
    const named = part.filter((key) => seqKeyOf.get(latin1(key.subarray(1))))
    const records = await engine.getMany(named)
    const ops: BatchOp[] = []
    named.forEach((key, j) => {
      const record = records[j]
      if (record === undefined) return
      const recordKey = new Uint8Array(seqKeyOf.get(latin1(key.subarray(1)))!)
      recordKey[0] = K.TAG.record
      ops.push({ type: 'put', key: recordKey, value: record }, { type: 'del', key })
      progress.done++
    })
    for (const key of part) {
      if (seqKeyOf.get(latin1(key.subarray(1)))) continue
      ops.push({ type: 'del', key }, { type: 'del', key: K.hashKey(key.subarray(1)) })
      progress.orphansRemoved++
    }
    if (ops.length > 0) await engine.commit({ ops, sync: false })
  }
}

/** A scan read in runs of a given number of rows (the engine's chunks are cut by bytes too). */
class Chunked {
  readonly #it: AsyncIterator<Row[]>
  #rows: Row[] = []
  #at = 0
  #ended = false

  constructor(scan: AsyncIterable<Row[]>) {
    this.#it = scan[Symbol.asyncIterator]()
  }

  /** The engine's next chunk, once the rows before it are used up. */
  async #more(): Promise<boolean> {
    if (this.#ended) return false
    const r = await this.#it.next()
    if (r.done === true) {
      this.#ended = true
      return false
    }
    this.#rows = r.value
    this.#at = 0
    return true
  }

  /** The next `n` rows (fewer at the end). */
  async take(n: number): Promise<Row[]> {
    const out: Row[] = []
    while (out.length < n) {
      if (this.#at >= this.#rows.length && !(await this.#more())) break
      const end = Math.min(this.#rows.length, this.#at + n - out.length)
      while (this.#at < end) out.push(this.#rows[this.#at++]!)
    }
    return out
  }

  /** The next rows whose hash (the key after its tag) is at most that of `key`. */
  async takeThrough(key: Uint8Array): Promise<Row[]> {
    const out: Row[] = []
    for (;;) {
      if (this.#at >= this.#rows.length && !(await this.#more())) break
      while (this.#at < this.#rows.length && compareHashes(this.#rows[this.#at]![0], key) <= 0) out.push(this.#rows[this.#at++]!)
      if (this.#at < this.#rows.length) break
    }
    return out
  }

  async close(): Promise<void> {
    await this.#it.return?.()
  }
}

// Buffer's ranged compare saves a view per comparison (the merge compares every key); the fallback slices.
const rangedCompare = (NodeBuffer as unknown as { prototype?: { compare(this: Uint8Array, b: Uint8Array, ts: number, te: number, ss: number, se: number): number } } | undefined)?.prototype?.compare

/** Order of two keys of hash-keyed tables (`E`, `H`) by what follows the tag. */
function compareHashes(a: Uint8Array, b: Uint8Array): number {
  return rangedCompare ? rangedCompare.call(a, b, 1, b.length, 1, a.length) : compareBytes(a.subarray(1), b.subarray(1))
}

/** Whether an `S` value (a hash) is the hash of the `E` key. */
function sameHash(hash: Uint8Array | undefined, entryKey: Uint8Array): boolean {
  return hash !== undefined && hash.length === entryKey.length - 1 && (rangedCompare ? rangedCompare.call(entryKey, hash, 0, hash.length, 1, entryKey.length) : compareBytes(entryKey.subarray(1), hash)) === 0
}


/** Entries the store holds by its heads (head seq + 1 per session). */
async function countRecords(engine: StorageEngine): Promise<number> {
  let n = 0
  for await (const rows of engine.scan(K.tableRange(K.TAG.head), 1024)) {
    for (const [, value] of rows) if (value.length === 40) n += K.parseHeadValue(value).seq + 1
  }
  return n
}

async function countRows(engine: StorageEngine, tag: number): Promise<number> {
  let n = 0
  for await (const rows of engine.scan(K.tableRange(tag), 1024)) n += rows.length
  return n
}
