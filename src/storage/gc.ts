// Garbage collection: removes blobs and entries that no remaining session reaches. Marks by
// walking every session's entries (memory grows with the number of distinct blobs, not with
// entries), then sweeps in one batch.
//
// The walk reads a snapshot, so writes that land while it runs are not in it. Every write goes
// through the store's group writer, so the gc watches it from its start: a blob put, or
// referenced by an entry put, while the gc runs is never swept, and neither is an entry put
// again. The sweep is filtered by what was watched and queued in the same tick, so every write
// queued before it was seen; appends that prepare their blobs while a gc runs write them even if
// they seem stored, so one queued after the sweep puts back any blob it uses. Not covered: a
// write that checked a blob exists before the sweep without writing it (a caller-given
// reference, an import) and is queued only after the sweep.
import { collectRefs, mayHaveRefs, refHash } from '../blobs/blobs.js'
import { decodeRecord } from '../encoding/entry-codec.js'
import { toHex } from '../encoding/hash.js'
import type { BatchOp, GroupWriter } from './group-writer.js'
import * as K from './keys.js'
import type { SessionStore } from './session-store.js'


export interface GcResult {
  entriesRemoved: number
  blobsRemoved: number
  /** Stored bytes (keys and values) removed. */
  bytesFreed: number
}

/** What was written through a store's writer while a gc ran. */
interface WriteLog {
  /** Blobs put, or referenced by an entry put (hex). */
  blobs: Set<string>
  /** Entries put (hex). */
  entries: Set<string>
  /** An entry put could not be read, so its references are unknown. */
  unreadable: boolean
}

const watchers = new WeakMap<GroupWriter, Set<WriteLog>>()

function note(ops: readonly BatchOp[], logs: Set<WriteLog>): void {
  for (const op of ops) {
    if (op.type !== 'put' || op.key.length !== 33) continue
    const tag = op.key[0]
    if (tag === K.TAG.blob) {
      const hex = toHex(op.key.subarray(1))
      for (const log of logs) log.blobs.add(hex)
    } else if (tag === K.TAG.entry) {
      const hex = toHex(op.key.subarray(1))
      let refs: string[] = []
      let unreadable = false
      if (op.value.length > 32 && mayHaveRefs(op.value.subarray(32))) {
        try {
          refs = collectRefs(decodeRecord(op.value).entry).map(refHash)
        } catch {
          unreadable = true
        }
      }
      for (const log of logs) {
        log.entries.add(hex)
        for (const r of refs) log.blobs.add(r)
        if (unreadable) log.unreadable = true
      }
    }
  }
}

/** Record every write made through `writer` until `stop` is called. */
function watchWrites(writer: GroupWriter): { log: WriteLog; stop: () => void } {
  let logs = watchers.get(writer)
  if (!logs) {
    const set = new Set<WriteLog>()
    logs = set
    watchers.set(writer, set)
    const write = writer.write.bind(writer)
    writer.write = (...args: Parameters<GroupWriter['write']>) => {
      if (set.size > 0) note(args[0], set)
      return write(...args)
    }
  }
  const log: WriteLog = { blobs: new Set(), entries: new Set(), unreadable: false }
  logs.add(log)
  return { log, stop: () => void logs.delete(log) }
}

const NOTHING: GcResult = { entriesRemoved: 0, blobsRemoved: 0, bytesFreed: 0 }

export async function gc(store: SessionStore): Promise<GcResult> {
  store.gcActive++
  const watch = watchWrites(store.writer)
  try {
    // Writes queued before the gc began land before its snapshot is taken.
    await store.writer.write([])
    const referenced = new Set<string>()
    /** Unreached entries: hex hash, ops that remove them, bytes. */
    const deadEntries: { hex: string; ops: BatchOp[]; bytes: number }[] = []
    // Entries: an entry is reached when its hash index row names a live session and that
    // session's sequence index has it at that seq. Mark blob references of reached entries.
    const heads = new Map<string, boolean>()
    const it = store.db.iterator({ ...K.tableRange(K.TAG.entry), ...K.BIN })
    try {
      for (;;) {
        const batch = (await it.nextv(256)) as [Uint8Array, Uint8Array][]
        if (batch.length === 0) break
        const rows = (await store.db.getMany(batch.map(([k]) => K.hashKey(k.subarray(1))), K.BIN)) as (Uint8Array | undefined)[]
        for (let i = 0; i < batch.length; i++) {
          const [key, record] = batch[i]!
          const hash = key.subarray(1)
          let reached = false
          const row = rows[i]
          if (row) {
            const loc = K.parseHashIndexValue(row)
            let live = heads.get(loc.sessionId)
            if (live === undefined) {
              live = (await store.getRaw(K.headKey(loc.sessionId))) !== undefined
              heads.set(loc.sessionId, live)
            }
            if (live) {
              const s = await store.getRaw(K.seqKey(loc.sessionId, loc.seq))
              reached = s !== undefined && toHex(s) === toHex(hash)
            }
          }
          if (!reached) {
            const ops: BatchOp[] = [{ type: 'del', key: new Uint8Array(key) }]
            if (row) ops.push({ type: 'del', key: K.hashKey(hash) })
            deadEntries.push({ hex: toHex(hash), ops, bytes: key.length + record.length })
            continue
          }
          if (record.length > 32 && mayHaveRefs(record.subarray(32))) {
            try {
              for (const ref of collectRefs(decodeRecord(record).entry)) referenced.add(refHash(ref))
            } catch {
              // An unreadable entry is verify's business; keep every blob rather than guess.
              return { ...NOTHING }
            }
          }
        }
      }
    } finally {
      await it.close()
    }
    const deadBlobs: { hex: string; key: Uint8Array; bytes: number }[] = []
    for await (const [key, value] of store.db.iterator({ ...K.tableRange(K.TAG.blob), ...K.BIN })) {
      const k = key as Uint8Array
      const hex = toHex(k.subarray(1))
      if (referenced.has(hex)) continue
      deadBlobs.push({ hex, key: new Uint8Array(k), bytes: k.length + (value as Uint8Array).length })
    }
    // From here to the write, synchronously: every write queued before the sweep has been seen.
    const { log } = watch
    if (log.unreadable) return { ...NOTHING }
    const result: GcResult = { ...NOTHING }
    const ops: BatchOp[] = []
    for (const e of deadEntries) {
      if (log.entries.has(e.hex)) continue
      ops.push(...e.ops)
      result.entriesRemoved++
      result.bytesFreed += e.bytes
    }
    for (const b of deadBlobs) {
      if (log.blobs.has(b.hex)) continue
      ops.push({ type: 'del', key: b.key })
      result.blobsRemoved++
      result.bytesFreed += b.bytes
    }
    if (ops.length > 0) await store.writer.write(ops)
    store.forgetBlobs()
    return result
  } finally {
    watch.stop()
    store.gcActive--
  }
}
