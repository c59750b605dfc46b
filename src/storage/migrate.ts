// Migration of a store from format 1 to format 2 (docs/storage.md, section 11). Format 1 keyed
// each record by its hash (`E ‖ hash`) with a sequence index beside it (`S ‖ session ‖ seq ->
// hash`); format 2 keeps a session's records contiguous (`R ‖ session ‖ seq -> record`) and
// drops the store-wide usage rows (their totals are now summed from the session rows). Entry
// bytes, hashes, heads, metadata, blobs, leases and session usage rows are not touched.
//
// Crash safety: the first commit sets the format row to `{ version: 2, migrating: 1 }`, so an
// older chainlog refuses the store from then on and this code knows to resume. Each later commit
// moves a chunk of records: it puts their `R` rows and deletes their `S` and `E` rows in one
// atomic batch, so every record is in exactly one of the two layouts at any time, and a resumed
// migration simply continues with the `S` rows that are left. The last commit removes the
// store-wide usage rows and sets `{ version: 2 }`, durably.
import { encodeCanonical } from '../encoding/cbor.js'
import type { BatchOp, StorageEngine } from './engine.js'
import * as K from './keys.js'
import { storeWideRangeV1 } from './usage-ledger.js'

export interface MigrationProgress {
  /** Records moved so far (in this run and any earlier, interrupted one). */
  done: number
  /** Records the store holds, by its heads (an estimate when the store is damaged). */
  total: number
  /** Format-1 records in no session's sequence index, removed (as `gc` would have). */
  orphansRemoved: number
}

/** Records moved per commit. */
export const MIGRATION_CHUNK = 2048

export async function migrateToV2(engine: StorageEngine, onProgress?: (p: MigrationProgress) => void, chunk = MIGRATION_CHUNK): Promise<MigrationProgress> {
  const formatRow = await engine.get(K.formatKey())
  const marker = encodeCanonical({ version: 2, migrating: 1 })
  if (formatRow === undefined || !bytesEqual(formatRow, marker)) {
    await engine.commit({ ops: [{ type: 'put', key: K.formatKey(), value: marker }], expect: [{ key: K.formatKey(), value: formatRow }], sync: true })
  }
  const progress: MigrationProgress = { done: 0, total: await countRecords(engine), orphansRemoved: 0 }
  // Records already in `R` (an interrupted run) count as done.
  progress.done = Math.max(0, progress.total - (await countRows(engine, K.TAG_V1.seq)))
  onProgress?.({ ...progress })
  const seqTable = K.tableRange(K.TAG_V1.seq)
  for (;;) {
    let rows: [Uint8Array, Uint8Array][] = []
    for await (const got of engine.scan({ ...seqTable, limit: chunk }, chunk)) rows = rows.concat(got)
    if (rows.length === 0) break
    const records = await engine.getMany(rows.map(([, hash]) => K.entryKeyV1(hash)))
    const ops: BatchOp[] = []
    for (let i = 0; i < rows.length; i++) {
      const [seqKey, hash] = rows[i]!
      const record = records[i]
      // A sequence row without its record was already damage in format 1 (verify reported it);
      // it stays damage, as a gap in the session's records that verify reports.
      if (record !== undefined) {
        const { sessionId, seq } = K.parseRecordKey(seqKey)
        ops.push({ type: 'put', key: K.recordKey(sessionId, seq), value: record })
        ops.push({ type: 'del', key: K.entryKeyV1(hash) })
      }
      ops.push({ type: 'del', key: seqKey })
    }
    await engine.commit({ ops, sync: false })
    progress.done += rows.length
    onProgress?.({ ...progress })
  }
  // Entries no session indexed (format 1 kept them until a gc): removed with their hash rows.
  for (;;) {
    let keys: Uint8Array[] = []
    for await (const got of engine.scan({ ...K.tableRange(K.TAG_V1.entry), limit: chunk }, chunk)) keys = keys.concat(got.map(([k]) => k))
    if (keys.length === 0) break
    const hashRows = await engine.getMany(keys.map((k) => K.hashKey(k.subarray(1))))
    const ops: BatchOp[] = []
    for (let i = 0; i < keys.length; i++) {
      ops.push({ type: 'del', key: keys[i]! })
      if (hashRows[i] !== undefined) ops.push({ type: 'del', key: K.hashKey(keys[i]!.subarray(1)) })
    }
    await engine.commit({ ops, sync: false })
    progress.orphansRemoved += keys.length
  }
  const last: BatchOp[] = []
  for await (const chunk of engine.scan(storeWideRangeV1(), 1024)) for (const [key] of chunk) last.push({ type: 'del', key })
  last.push({ type: 'put', key: K.formatKey(), value: encodeCanonical({ version: 2 }) })
  await engine.commit({ ops: last, expect: [{ key: K.formatKey(), value: marker }], sync: true })
  onProgress?.({ ...progress })
  return progress
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

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}
