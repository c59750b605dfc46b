// Migration of a store from format 3 to format 4 (docs/storage.md, section 11). Format 4 keeps
// everything the store knows about a session besides its entries in one row: `P ‖ sessionId ->
// hash(32) ‖ seq(u64 BE) ‖ canonical CBOR SessionMeta`, the metadata with the session's usage
// totals by model (`usage`, absent when it has none). Format 3 kept three kinds of row: the head
// (`P`, 40 bytes), the metadata (`M`) and the usage ledger (`U ‖ sessionId ‖ 0x00 ‖ model`).
// Entry bytes, hashes, trees, blobs, leases, tombstones and index rows are not touched.
//
// Order: `P`, `M` and `U` are all keyed by session id first, so the three are scanned together
// in key order and merged by id: no point reads. Each session's new `P` value is its head bytes
// followed by its metadata, with the totals of its `U` rows added as `usage`.
//
// Crash safety: the first commit sets the format row to `{ version: 4, migrating: 3 }`, durably,
// so a chainlog that reads format 3 refuses the store from then on (a newer version) and this
// code knows to resume. Then the sessions are converted `chunk` per commit: each commit puts the
// new `P` values and deletes the `M` and `U` rows of the same sessions, so a session is either
// wholly in format 3 or wholly in format 4 (a `P` value longer than 40 bytes, no `M` row). A
// resumed run (or another process running the same migration beside it, on PostgreSQL) finds
// converted sessions by that and passes over them; converting a session twice from the same rows
// writes the same bytes, and every commit holds only while the format row is still the marker.
// `M` and `U` rows of no session (no `P` row) are deleted. The last commit
// sets `{ version: 4 }`, durably.
import { bytesEqual, decodeCbor, encodeCanonical } from '../encoding/cbor.js'
import { compareBytes } from '../encoding/bytes.js'
import type { UsageTotals } from '../state/reducer.js'
import type { BatchOp, Row, StorageEngine } from './engine.js'
import * as K from './keys.js'
import type { MigrationProgress } from './migrate.js'
import { MigrationMarker } from './migration-marker.js'
import type { SessionMeta } from './session-meta.js'
import { sessionRangeV3 } from './usage-ledger.js'

/** Sessions converted per commit. */
export const SESSION_MIGRATION_CHUNK = 1024

const dec = new TextDecoder()

/** A scan read row by row, with the session id of each key (its bytes after the tag, up to a 0x00). */
class Cursor {
  readonly #it: AsyncIterator<Row[]>
  #rows: Row[] = []
  #at = 0
  #done = false

  constructor(engine: StorageEngine, range: { gte: Uint8Array; lt: Uint8Array }) {
    this.#it = engine.scan(range, 1024, 8192)[Symbol.asyncIterator]()
  }

  async peek(): Promise<Row | undefined> {
    while (this.#at >= this.#rows.length) {
      if (this.#done) return undefined
      const r = await this.#it.next()
      if (r.done) {
        this.#done = true
        return undefined
      }
      this.#rows = r.value
      this.#at = 0
    }
    return this.#rows[this.#at]
  }

  skip(): void {
    this.#at++
  }

  async close(): Promise<void> {
    await this.#it.return?.()
  }
}

/** The session id bytes of a `P`, `M` or `U` key. */
function idOf(key: Uint8Array): Uint8Array {
  const zero = key.indexOf(0, 1)
  return key.subarray(1, zero < 0 ? key.length : zero)
}

/** Migrate a format-3 store to format 4 (or resume an interrupted migration). */
export async function migrateToV4(engine: StorageEngine, onProgress?: (p: MigrationProgress) => void, chunk = SESSION_MIGRATION_CHUNK): Promise<MigrationProgress> {
  // Another process sharing the database (PostgreSQL) may have started the same migration
  // first: this one carries on beside it (it writes the same bytes), or stops once it has finished.
  const step = new MigrationMarker(engine, 3, 4)
  if (!(await step.begin())) return { done: 0, total: 0, orphansRemoved: 0, from: 3 }
  // Progress counts sessions: those looked at, of all the store holds (its `P` rows).
  const progress: MigrationProgress = { done: 0, total: await countRows(engine, K.tableRange(K.TAG.head)), orphansRemoved: 0, from: 3 }
  const report = () => {
    if (progress.total > 0) onProgress?.({ ...progress })
  }
  report()
  const heads = new Cursor(engine, K.tableRange(K.TAG.head))
  const metas = new Cursor(engine, K.tableRange(K.TAG_V3.meta))
  const usages = new Cursor(engine, sessionRangeV3())
  let ops: BatchOp[] = []
  let sessions = 0
  try {
    for (;;) {
      const [p, m, u] = [await heads.peek(), await metas.peek(), await usages.peek()]
      // The smallest session id among the three scans' next rows.
      let id: Uint8Array | undefined
      for (const row of [p, m, u]) {
        if (!row) continue
        const rid = idOf(row[0])
        if (id === undefined || compareBytes(rid, id) < 0) id = rid
      }
      if (id === undefined) break
      const head = p && bytesEqual(idOf(p[0]), id) ? p : undefined
      if (head) heads.skip()
      const meta = m && bytesEqual(idOf(m[0]), id) ? m : undefined
      if (meta) metas.skip()
      const usageRows: Row[] = []
      for (let r = u; r && bytesEqual(idOf(r[0]), id); r = await usages.peek()) {
        usageRows.push(r)
        usages.skip()
      }
      const dels = (): void => {
        if (meta) ops.push({ type: 'del', key: meta[0] })
        for (const [key] of usageRows) ops.push({ type: 'del', key })
      }
      if (!head) {
        // Rows of no session (a session being created or deleted when format 3 stopped): nothing
        // lists or verifies them in format 4.
        dels()
        progress.orphansRemoved += (meta ? 1 : 0) + usageRows.length
      } else {
        progress.done++
        if (meta) {
          const m3 = decodeCbor(meta[1]) as SessionMeta
          const usage: Record<string, UsageTotals> = {}
          for (const [key, value] of usageRows) usage[dec.decode(key.subarray(key.indexOf(0, 1) + 1))] = decodeCbor(value) as UsageTotals
          const m4: SessionMeta = usageRows.length > 0 ? { ...m3, usage } : m3
          ops.push({ type: 'put', key: head[0], value: K.sessionRowValue(head[1].subarray(0, 32), K.readU64(head[1], 32), encodeCanonical(m4)) })
          dels()
          sessions++
        } else if (head[1].length > K.HEAD_BYTES) {
          // Converted already (by an earlier run, or another process beside this one).
          dels()
        }
        // A head without metadata and not converted: damage that format 3's verify reports too
        // (a session with no metadata row); left as it is.
      }
      if (sessions >= chunk) {
        // Only while the migration is under way: once another process has finished it, sessions
        // may have moved on in format 4, and this run's rows are stale.
        if (!(await step.commit(ops))) return progress
        ops = []
        sessions = 0
        report()
      }
    }
  } finally {
    await Promise.all([heads.close(), metas.close(), usages.close()])
  }
  // (Finished by another process first: it converted these sessions too.)
  await step.finish(ops)
  report()
  return progress
}

async function countRows(engine: StorageEngine, range: { gte: Uint8Array; lt: Uint8Array }): Promise<number> {
  let n = 0
  for await (const rows of engine.scan(range, 1024, 65_536)) n += rows.length
  return n
}
