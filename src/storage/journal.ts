// The write-ahead journal of a store opened by path (docs/storage.md, section 12). A commit is
// acknowledged once its rows are in this file, written synchronously (`relaxed`: in the
// kernel, so a process crash cannot lose it) or also fdatasync'ed (`sync`: on the disk); the
// rows go to LevelDB afterwards, in groups, off the caller's path. The LevelDB batch that
// applies a group also writes the `J` row (the seq of the last record it holds), so replaying
// the journal on open applies exactly the records LevelDB lacks, whatever reached the disk.
//
// File: records back to back, each
//   u32 BE body length ‖ u32 BE CRC-32 of the body ‖ body
//   body = u64 BE seq ‖ u32 BE op count ‖ ops
//   op   = 0x01 (put) ‖ u32 BE key length ‖ key ‖ u32 BE value length ‖ value
//        | 0x02 (del) ‖ u32 BE key length ‖ key
// Seqs rise by one from record to record. Reading stops at the first record that is cut short,
// fails its CRC or breaks the sequence: that is where the last write was torn, or where bytes
// of an older, already applied run of the file begin, or where the zeros written ahead begin.
//
// The file is grown ahead of the records, zeros written in steps (64 KiB, doubling up to a MiB),
// and records overwrite those zeros: an fdatasync of a record then flushes its data blocks only,
// where a write past the end of the file would also make the filesystem commit the file's new
// size (on ext4 a second journal write and flush per acknowledgement). Emptying the journal
// (reset) does not shrink the file: the next records overwrite the applied ones from the start,
// and reading stops where the new run ends (the old run's seqs are all lower). Closing an empty
// journal truncates it, so a store at rest holds no journal bytes and an open reads none.
import { closeSync, constants, fdatasync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import type { BatchOp } from './engine.js'

/** The journal's file name inside the store directory. LevelDB ignores names it did not make. */
export const JOURNAL_FILE = 'chainlog.journal'

const HEAD = 8
/** The file is grown ahead of the records by zeros: first this much, then doubling... */
const GROW_MIN = 64 * 1024
/** ...up to this much at a time. */
export const GROW_MAX = 1024 * 1024
const ZEROS = new Uint8Array(GROW_MIN)
const PUT = 1
const DEL = 2
/** A record larger than this is not one (a torn length field). */
const MAX_BODY = 0x7fff_ffff

export interface JournalRecord {
  seq: number
  ops: BatchOp[]
}

/** The bytes of one record. */
export function encodeRecord(seq: number, ops: readonly BatchOp[]): Buffer {
  let size = HEAD + 12
  for (const op of ops) size += 5 + op.key.length + (op.type === 'put' ? 4 + op.value.length : 0)
  const buf = Buffer.allocUnsafe(size)
  let o = HEAD
  buf.writeUInt32BE(Math.floor(seq / 0x1_0000_0000), o)
  buf.writeUInt32BE(seq >>> 0, o + 4)
  buf.writeUInt32BE(ops.length, o + 8)
  o += 12
  for (const op of ops) {
    buf[o] = op.type === 'put' ? PUT : DEL
    buf.writeUInt32BE(op.key.length, o + 1)
    buf.set(op.key, o + 5)
    o += 5 + op.key.length
    if (op.type === 'put') {
      buf.writeUInt32BE(op.value.length, o)
      buf.set(op.value, o + 4)
      o += 4 + op.value.length
    }
  }
  buf.writeUInt32BE(size - HEAD, 0)
  buf.writeUInt32BE(crc32(buf.subarray(HEAD)), 4)
  return buf
}

/** The records at the start of `buf` that are whole, intact and in sequence, and where they end. */
export function decodeRecords(buf: Uint8Array): { records: JournalRecord[]; end: number } {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
  const records: JournalRecord[] = []
  let o = 0
  while (o + HEAD <= b.length) {
    const len = b.readUInt32BE(o)
    if (len < 12 || len > MAX_BODY || o + HEAD + len > b.length) break
    const body = b.subarray(o + HEAD, o + HEAD + len)
    if (crc32(body) !== b.readUInt32BE(o + 4)) break
    const seq = body.readUInt32BE(0) * 0x1_0000_0000 + body.readUInt32BE(4)
    if (records.length > 0 && seq !== records[records.length - 1]!.seq + 1) break
    const ops = parseOps(body)
    if (!ops) break
    records.push({ seq, ops })
    o += HEAD + len
  }
  return { records, end: o }
}

function parseOps(body: Buffer): BatchOp[] | undefined {
  const n = body.readUInt32BE(8)
  const ops: BatchOp[] = []
  let o = 12
  const take = (): Uint8Array | undefined => {
    if (o + 4 > body.length) return undefined
    const len = body.readUInt32BE(o)
    if (o + 4 + len > body.length) return undefined
    // A copy: the rows outlive the file buffer they were read from.
    const v = new Uint8Array(body.subarray(o + 4, o + 4 + len))
    o += 4 + len
    return v
  }
  for (let i = 0; i < n; i++) {
    const type = body[o++]
    const key = take()
    if (!key) return undefined
    if (type === PUT) {
      const value = take()
      if (!value) return undefined
      ops.push({ type: 'put', key, value })
    } else if (type === DEL) ops.push({ type: 'del', key })
    else return undefined
  }
  return o === body.length ? ops : undefined
}

/** The journal file of one store directory, held open by the process that holds the store. */
export class Journal {
  #fd: number
  /** End of the intact records: where the next one is written. */
  #size: number
  /** Length of the file: records, then zeros (or bytes of an older run) up to here. */
  #length: number

  private constructor(fd: number, size: number, length: number) {
    this.#fd = fd
    this.#size = size
    this.#length = length
  }

  /** Open (or create) the journal of the store in `dir` and read the records it holds. */
  static open(dir: string): { journal: Journal; records: JournalRecord[] } {
    // Not O_APPEND: writes go to explicit offsets (after reset(), from 0 again).
    const fd = openSync(join(dir, JOURNAL_FILE), constants.O_RDWR | constants.O_CREAT, 0o644)
    try {
      const size = fstatSync(fd).size
      const buf = Buffer.allocUnsafe(size)
      let got = 0
      while (got < size) {
        const n = readSync(fd, buf, got, size - got, got)
        if (n === 0) break
        got += n
      }
      const { records, end } = decodeRecords(buf.subarray(0, got))
      return { journal: new Journal(fd, end, size), records }
    } catch (err) {
      closeSync(fd)
      throw err
    }
  }

  /** Bytes of intact records in the file. */
  get size(): number {
    return this.#size
  }

  /** Bytes of the file: the records and the zeros written ahead of them. */
  get length(): number {
    return this.#length
  }

  /** Encode a group's ops as record `seq` and append it (encodeRecord, then append). */
  appendRecord(seq: number, ops: readonly BatchOp[]): void {
    this.append(encodeRecord(seq, ops))
  }

  /**
   * Write a record (synchronously: once this returns, a process crash cannot lose it). A write
   * that fails is cut off again, so no torn record sits before the next one.
   */
  append(record: Buffer): void {
    try {
      if (this.#size + record.length > this.#length) this.#grow(this.#size + record.length)
      let done = 0
      while (done < record.length) done += writeSync(this.#fd, record, done, record.length - done, this.#size + done)
    } catch (err) {
      ftruncateSync(this.#fd, this.#size)
      this.#length = this.#size
      throw err
    }
    this.#size += record.length
  }

  /** Write zeros from the end of the file to at least `end`: a step of GROW_MIN, doubling up to GROW_MAX. */
  #grow(end: number): void {
    const step = Math.min(Math.max(this.#length, GROW_MIN), GROW_MAX)
    const target = Math.ceil(Math.max(end, this.#length + step) / GROW_MIN) * GROW_MIN
    let at = this.#length
    while (at < target) at += writeSync(this.#fd, ZEROS, 0, Math.min(ZEROS.length, target - at), at)
    this.#length = target
  }

  /** Make everything written so far durable. */
  sync(): Promise<void> {
    return new Promise((resolve, reject) => fdatasync(this.#fd, (err) => (err ? reject(err) : resolve())))
  }

  /**
   * Empty the journal: every record in it has been applied, and LevelDB holds that durably. The
   * next record is written at the start; the file keeps its length, its first bytes zeroed so
   * that an open after a crash reads no applied records (were they read, their seqs would be at
   * most what LevelDB holds, and they would be skipped).
   */
  reset(): void {
    this.#size = 0
    if (this.#length > 0) writeSync(this.#fd, ZEROS, 0, HEAD, 0)
  }

  /** Close the file; an empty journal is truncated first, so that the next open reads nothing. */
  close(): void {
    try {
      if (this.#size === 0 && this.#length > 0) ftruncateSync(this.#fd, 0)
    } finally {
      closeSync(this.#fd)
    }
  }
}
