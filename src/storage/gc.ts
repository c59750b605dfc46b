// Garbage collection: removes blobs no remaining session reaches, and rows that belong to no
// session (records of a session without a head, hash-index rows without their record: damage
// that only an interrupted tool or a hand edit leaves, since every write is one atomic commit).
// Marks by scanning every record once, in key order (memory grows with the number of distinct
// blobs, not with entries), then sweeps in one commit.
//
// The scan reads a snapshot, so writes that land while it runs are not in it. Every write goes
// through the store's commit, so the gc watches it from its start: a blob put, or referenced by
// a record put, while the gc runs is never swept, and neither is a row put again. The sweep is
// filtered by what was watched and queued in the same tick, so every write queued before it was
// seen; appends that prepare their blobs while a gc runs write them even if they seem stored, so
// one queued after the sweep puts back any blob it uses. Not covered: a write that checked a blob
// exists before the sweep without writing it (a caller-given reference, an import) and is queued
// only after the sweep.
import { collectRefs, mayHaveRefs, refHash } from '../blobs/blobs.js'
import { decodeRecord } from '../encoding/record.js'
import { hashRecord, toHex } from '../encoding/hash.js'
import { ChainlogError, ErrorCodes } from '../errors.js'
import type { BatchOp } from './engine.js'
import * as K from './keys.js'
import type { SessionStore } from './session-store.js'
import { latin1 } from '../encoding/bytes.js'

export interface GcResult {
  /** Records and hash-index rows that belonged to no session. */
  entriesRemoved: number
  blobsRemoved: number
  /** Stored bytes (keys and values) removed. */
  bytesFreed: number
}

/** What was committed while a gc ran. */
interface WriteLog {
  /** Blobs put, or referenced by a record put (hex). */
  blobs: Set<string>
  /** Keys put (as latin1 strings). */
  keys: Set<string>
  /** A record put could not be read, so its references are unknown. */
  unreadable: boolean
}

const keyId = latin1

function note(ops: readonly BatchOp[], log: WriteLog): void {
  for (const op of ops) {
    if (op.type !== 'put') continue
    log.keys.add(keyId(op.key))
    const tag = op.key[0]
    if (tag === K.TAG.blob) {
      log.blobs.add(toHex(op.key.subarray(1)))
    } else if (tag === K.TAG.record && op.value.length > 32 && mayHaveRefs(op.value.subarray(32))) {
      try {
        for (const r of collectRefs(decodeRecord(op.value).entry)) log.blobs.add(refHash(r))
      } catch {
        log.unreadable = true
      }
    }
  }
}

const NOTHING: GcResult = { entriesRemoved: 0, blobsRemoved: 0, bytesFreed: 0 }

export async function gc(store: SessionStore): Promise<GcResult> {
  // The sweep is made safe by watching every commit from this process; writers in other
  // processes (an engine shared by many) are not watched, so their blob puts could be swept.
  if (!store.engine.exclusive) {
    throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'gc is not available on a store that other processes write (PostgreSQL) yet: it could sweep a blob another writer is about to use', {})
  }
  store.gcActive++
  const log: WriteLog = { blobs: new Set(), keys: new Set(), unreadable: false }
  const stop = store.watchCommits((ops) => note(ops, log))
  try {
    // Writes queued before the gc began land before its snapshot is taken.
    await store.engine.flush()
    const referenced = new Set<string>()
    const dead: { key: Uint8Array; bytes: number }[] = []
    const live = new Map<string, boolean>()
    const sessionLive = async (sessionId: string): Promise<boolean> => {
      let v = live.get(sessionId)
      if (v === undefined) {
        v = (await store.getRaw(K.headKey(sessionId))) !== undefined
        live.set(sessionId, v)
      }
      return v
    }
    // Records: those of a live session are reached; mark the blobs they reference.
    for await (const rows of store.engine.scan(K.tableRange(K.TAG.record), 512)) {
      for (const [key, record] of rows) {
        const { sessionId } = K.parseRecordKey(key)
        if (!(await sessionLive(sessionId))) {
          dead.push({ key, bytes: key.length + record.length })
          if (record.length >= 32) {
            const h = K.hashKey(hashRecord(record))
            const row = await store.getRaw(h)
            if (row) dead.push({ key: h, bytes: h.length + row.length })
          }
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
    // Hash-index rows whose record is not there.
    const deadKeys = new Set(dead.map((d) => keyId(d.key)))
    for await (const rows of store.engine.scan(K.tableRange(K.TAG.hash), 512)) {
      const locs = rows.map(([, v]) => (v.length > 8 ? K.parseHashIndexValue(v) : undefined))
      const named = locs.flatMap((l, i) => (l ? [i] : []))
      const found = await store.engine.getMany(named.map((i) => K.recordKey(locs[i]!.sessionId, locs[i]!.seq)))
      const hasRecord = new Set(named.filter((_, j) => found[j] !== undefined))
      for (let i = 0; i < rows.length; i++) {
        const [key, value] = rows[i]!
        if (hasRecord.has(i) && (await sessionLive(locs[i]!.sessionId))) continue
        if (!deadKeys.has(keyId(key))) dead.push({ key, bytes: key.length + value.length })
      }
    }
    const deadBlobs: { hex: string; key: Uint8Array; bytes: number }[] = []
    for await (const rows of store.engine.scan(K.tableRange(K.TAG.blob), 512)) {
      for (const [key, value] of rows) {
        const hex = toHex(key.subarray(1))
        if (referenced.has(hex)) continue
        deadBlobs.push({ hex, key, bytes: key.length + value.length })
      }
    }
    // From here to the commit, synchronously: every write queued before the sweep has been seen.
    if (log.unreadable) return { ...NOTHING }
    const result: GcResult = { ...NOTHING }
    const ops: BatchOp[] = []
    for (const e of dead) {
      if (log.keys.has(keyId(e.key))) continue
      ops.push({ type: 'del', key: e.key })
      result.entriesRemoved++
      result.bytesFreed += e.bytes
    }
    for (const b of deadBlobs) {
      if (log.blobs.has(b.hex)) continue
      ops.push({ type: 'del', key: b.key })
      result.blobsRemoved++
      result.bytesFreed += b.bytes
    }
    if (ops.length > 0) await store.commit(ops)
    store.forgetBlobs()
    return result
  } finally {
    stop()
    store.gcActive--
  }
}
