// Garbage collection: removes blobs and entries that no remaining session reaches. Marks by
// walking every session's entries (memory grows with the number of distinct blobs, not with
// entries), then sweeps in one batch. Appends during a gc always write their blobs, so a blob
// an append starts using while the sweep runs is written again after it.
import { collectRefs, mayHaveRefs, refHash } from '../blobs/blobs.js'
import { decodeRecord } from '../encoding/entry-codec.js'
import { toHex } from '../encoding/hash.js'
import type { BatchOp } from './group-writer.js'
import * as K from './keys.js'
import type { SessionStore } from './session-store.js'

const BIN = { keyEncoding: 'view', valueEncoding: 'view' } as const

export interface GcResult {
  entriesRemoved: number
  blobsRemoved: number
  /** Stored bytes (keys and values) removed. */
  bytesFreed: number
}

export async function gc(store: SessionStore): Promise<GcResult> {
  store.gcActive++
  try {
    const referenced = new Set<string>()
    const ops: BatchOp[] = []
    const result: GcResult = { entriesRemoved: 0, blobsRemoved: 0, bytesFreed: 0 }
    // Entries: an entry is reached when its hash index row names a live session and that
    // session's sequence index has it at that seq. Mark blob references of reached entries.
    const heads = new Map<string, boolean>()
    const it = store.db.iterator({ ...K.tableRange(K.TAG.entry), ...BIN })
    try {
      for (;;) {
        const batch = (await it.nextv(256)) as [Uint8Array, Uint8Array][]
        if (batch.length === 0) break
        const rows = (await store.db.getMany(batch.map(([k]) => K.hashKey(k.subarray(1))), BIN)) as (Uint8Array | undefined)[]
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
            ops.push({ type: 'del', key: new Uint8Array(key) })
            if (row) ops.push({ type: 'del', key: K.hashKey(hash) })
            result.entriesRemoved++
            result.bytesFreed += key.length + record.length
            continue
          }
          if (record.length > 32 && mayHaveRefs(record.subarray(32))) {
            try {
              for (const ref of collectRefs(decodeRecord(record).entry)) referenced.add(refHash(ref))
            } catch {
              // An unreadable entry is verify's business; keep every blob rather than guess.
              return { entriesRemoved: 0, blobsRemoved: 0, bytesFreed: 0 }
            }
          }
        }
      }
    } finally {
      await it.close()
    }
    for await (const [key, value] of store.db.iterator({ ...K.tableRange(K.TAG.blob), ...BIN })) {
      const k = key as Uint8Array
      if (referenced.has(toHex(k.subarray(1)))) continue
      ops.push({ type: 'del', key: new Uint8Array(k) })
      result.blobsRemoved++
      result.bytesFreed += k.length + (value as Uint8Array).length
    }
    if (ops.length > 0) await store.writer.write(ops)
    store.forgetBlobs()
    return result
  } finally {
    store.gcActive--
  }
}
