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
//
// On an engine other processes write (PostgreSQL) nothing can watch their commits, so the
// database decides, through the commits' preconditions (gcShared below; docs/storage.md, "Garbage
// collection"). Every commit made there follows one rule (SessionStore.commit): a blob it writes
// loses its gc mark (a `G` row); a blob a record of it references without writing it must be
// there and unmarked, checked in the commit's transaction. The gc then (1) marks, by scanning the
// records, which blobs look unreferenced; (2) commits a mark with its own token on each; (3)
// scans every record again; (4) deletes each blob still unreferenced in a commit that expects
// its mark unchanged. A record committed before (2) is seen by (3); one committed after (2) that
// uses the blob either wrote it (the mark is gone) or found it marked and wrote it back (the same);
// so the sweep of a blob some record uses is refused. Rows of no session go the same way, each
// deleted only if its session still has no head (and its record is still missing).
import { collectRefs, mayHaveRefs, refHash } from '../blobs/blobs.js'
import { decodeRecord } from '../encoding/record.js'
import { fromHex, hashRecord, toHex } from '../encoding/hash.js'
import { PreconditionFailed, type BatchOp, type Precondition } from './engine.js'
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

/** The blobs a commit writes, and those its records reference without writing them (hex). */
export function blobUse(ops: readonly BatchOp[]): { written: Set<string>; used: Set<string> } {
  const written = new Set<string>()
  const used = new Set<string>()
  for (const op of ops) {
    if (op.type !== 'put') continue
    const tag = op.key[0]
    if (tag === K.TAG.blob) written.add(toHex(op.key.subarray(1)))
    else if (tag === K.TAG.record && op.value.length > 32 && mayHaveRefs(op.value.subarray(32))) {
      // A record the store sealed always decodes; one that does not names no blob we could check.
      let refs: ReturnType<typeof collectRefs> = []
      try {
        refs = collectRefs(decodeRecord(op.value).entry)
      } catch {
        continue
      }
      for (const r of refs) used.add(refHash(r))
    }
  }
  for (const hex of written) used.delete(hex)
  return { written, used }
}

/** Whether a refused precondition was one of a commit's blob guards (the blob, or its gc mark). */
export const isBlobGuard = (key: Uint8Array): boolean => key[0] === K.TAG.blob || key[0] === K.TAG.gcMark

const NOTHING: GcResult = { entriesRemoved: 0, blobsRemoved: 0, bytesFreed: 0 }

/** Points where tests let other writers in, between the steps of a gc on a shared engine. */
export interface GcHooks {
  /** After the marks are committed (2), before the second scan (3). */
  marked?: () => Promise<void>
  /** After the second scan (3), before the sweep (4). */
  scanned?: () => Promise<void>
}

export async function gc(store: SessionStore, hooks: GcHooks = {}): Promise<GcResult> {
  if (!store.engine.exclusive) return gcShared(store, hooks)
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

// ---------------------------------------------------------------------------------------------
// gc on an engine other processes write

/** Commits in flight at once (the engine groups them into transactions). */
const WINDOW = 256
/** Marks per commit (each is one key the engine locks). */
const MARKS_PER_COMMIT = 64

/** Run `commits`, at most WINDOW at a time; each one's outcome: true applied, false refused. */
async function settle(store: SessionStore, commits: { ops: BatchOp[]; expect: Precondition[] }[]): Promise<boolean[]> {
  const out: boolean[] = []
  for (let i = 0; i < commits.length; i += WINDOW) {
    const part = await Promise.allSettled(commits.slice(i, i + WINDOW).map((c) => store.commit(c.ops, c.expect)))
    for (const r of part) {
      if (r.status === 'fulfilled') out.push(true)
      else if (r.reason instanceof PreconditionFailed) out.push(false)
      else throw r.reason
    }
  }
  return out
}

interface Marked {
  /** Blobs the records of live sessions reference (hex). */
  referenced: Set<string>
  /** Records of sessions without a head, with their hash-index rows, and hash-index rows without their record. */
  dead: { ops: BatchOp[]; expect: Precondition[]; bytes: number; entries: number }[]
  /** A record could not be read: its references are unknown. */
  unreadable: boolean
}

/** One pass over every record (and, with `rows`, every hash-index row): what is reached, and what belongs to no session. */
async function markShared(store: SessionStore, rows: boolean): Promise<Marked> {
  const referenced = new Set<string>()
  const dead: Marked['dead'] = []
  const heads = new Map<string, boolean>()
  const sessionLive = async (sessionId: string): Promise<boolean> => {
    let v = heads.get(sessionId)
    if (v === undefined) {
      v = (await store.getRaw(K.headKey(sessionId))) !== undefined
      heads.set(sessionId, v)
    }
    return v
  }
  const indexed = new Set<string>()
  for await (const chunk of store.engine.scan(K.tableRange(K.TAG.record), 512)) {
    for (const [key, record] of chunk) {
      const { sessionId } = K.parseRecordKey(key)
      if (!(await sessionLive(sessionId))) {
        if (!rows) continue
        // Deleted only while the session still has no head: one created meanwhile keeps its rows.
        const c = { ops: [{ type: 'del', key }] as BatchOp[], expect: [{ key, value: record }, { key: K.headKey(sessionId), value: undefined }] as Precondition[], bytes: key.length + record.length, entries: 1 }
        if (record.length >= 32) {
          const h = K.hashKey(hashRecord(record))
          const row = await store.getRaw(h)
          if (row) {
            c.ops.push({ type: 'del', key: h })
            c.expect.push({ key: h, value: row })
            c.bytes += h.length + row.length
            c.entries++
            indexed.add(keyId(h))
          }
        }
        dead.push(c)
        continue
      }
      if (record.length > 32 && mayHaveRefs(record.subarray(32))) {
        try {
          for (const ref of collectRefs(decodeRecord(record).entry)) referenced.add(refHash(ref))
        } catch {
          return { referenced, dead: [], unreadable: true }
        }
      }
    }
  }
  if (!rows) return { referenced, dead, unreadable: false }
  for await (const chunk of store.engine.scan(K.tableRange(K.TAG.hash), 512)) {
    const locs = chunk.map(([, v]) => (v.length > 8 ? K.parseHashIndexValue(v) : undefined))
    const named = locs.flatMap((l, i) => (l ? [i] : []))
    const found = await store.engine.getMany(named.map((i) => K.recordKey(locs[i]!.sessionId, locs[i]!.seq)))
    const records = new Map(named.map((i, j) => [i, found[j]]))
    for (let i = 0; i < chunk.length; i++) {
      const [key, value] = chunk[i]!
      if (indexed.has(keyId(key))) continue
      const loc = locs[i]
      const expect: Precondition[] = [{ key, value }]
      if (!loc) {
        // Names no record at all: damage; nothing written later can make it right.
      } else if (records.get(i) === undefined) {
        expect.push({ key: K.recordKey(loc.sessionId, loc.seq), value: undefined })
      } else if (!(await sessionLive(loc.sessionId))) {
        expect.push({ key: K.headKey(loc.sessionId), value: undefined })
      } else continue
      dead.push({ ops: [{ type: 'del', key }], expect, bytes: key.length + value.length, entries: 1 })
    }
  }
  return { referenced, dead, unreadable: false }
}

async function gcShared(store: SessionStore, hooks: GcHooks): Promise<GcResult> {
  const token = globalThis.crypto.getRandomValues(new Uint8Array(16))
  // (1) What looks unreferenced now.
  const first = await markShared(store, false)
  if (first.unreadable) return { ...NOTHING }
  const candidates = new Map<string, { key: Uint8Array; bytes: number }>()
  for await (const chunk of store.engine.scan(K.tableRange(K.TAG.blob), 512)) {
    for (const [key, value] of chunk) {
      const hex = toHex(key.subarray(1))
      if (!first.referenced.has(hex)) candidates.set(hex, { key, bytes: key.length + value.length })
    }
  }
  // Marks a gc left behind (it stopped half way): any but ours only make commits that use the
  // blob write it back; those of blobs this gc will not sweep go.
  const stale: { ops: BatchOp[]; expect: Precondition[] }[] = []
  for await (const chunk of store.engine.scan(K.tableRange(K.TAG.gcMark), 512)) {
    for (const [key, value] of chunk) if (!candidates.has(toHex(key.subarray(1)))) stale.push({ ops: [{ type: 'del', key }], expect: [{ key, value }] })
  }
  await settle(store, stale)
  // (2) Mark them, with this gc's token.
  const hexes = [...candidates.keys()]
  const marks: { ops: BatchOp[]; expect: Precondition[] }[] = []
  for (let i = 0; i < hexes.length; i += MARKS_PER_COMMIT) {
    marks.push({ ops: hexes.slice(i, i + MARKS_PER_COMMIT).map((hex) => ({ type: 'put', key: K.gcMarkKey(fromHex(hex)), value: token })), expect: [] })
  }
  await settle(store, marks)
  const unmark = (list: string[]) => settle(store, list.map((hex) => ({ ops: [{ type: 'del', key: K.gcMarkKey(fromHex(hex)) }], expect: [{ key: K.gcMarkKey(fromHex(hex)), value: token }] })))
  // (3) Every record again: anything committed before the marks is seen now.
  let second: Marked
  try {
    await hooks.marked?.()
    second = await markShared(store, true)
  } catch (err) {
    await unmark(hexes).catch(() => undefined)
    throw err
  }
  if (second.unreadable) {
    await unmark(hexes)
    return { ...NOTHING }
  }
  await hooks.scanned?.()
  const reached = hexes.filter((hex) => second.referenced.has(hex))
  const sweep = hexes.filter((hex) => !second.referenced.has(hex))
  await unmark(reached)
  // (4) Each blob goes only if its mark is still this gc's: no commit has used it since (2).
  const result: GcResult = { ...NOTHING }
  const swept = await settle(
    store,
    sweep.map((hex) => {
      const mark = K.gcMarkKey(fromHex(hex))
      return { ops: [{ type: 'del', key: candidates.get(hex)!.key }, { type: 'del', key: mark }], expect: [{ key: mark, value: token }] }
    }),
  )
  swept.forEach((ok, i) => {
    if (!ok) return
    result.blobsRemoved++
    result.bytesFreed += candidates.get(sweep[i]!)!.bytes
  })
  const removed = await settle(store, second.dead)
  removed.forEach((ok, i) => {
    if (!ok) return
    result.entriesRemoved += second.dead[i]!.entries
    result.bytesFreed += second.dead[i]!.bytes
  })
  store.forgetBlobs()
  return result
}
