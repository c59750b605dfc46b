// The peer stores chainlog is measured against, each used the way an application would use it
// (same layouts as the team baseline, shared/baseline-bench/lib/stores.mjs, extended to many
// sessions per store). Every peer stores per entry a SHA-256 chain hash
//   hash_i = SHA-256(hash_{i-1} ‖ encoded_i), hash_{-1} = 32 zero bytes
// and appends one turn (5 workload entries) per write call / transaction / batch.
//
//   jsonl   one file per session, <dir>/<sessionId>.jsonl; line = {"h":"<hex64>","e":<json>}\n,
//           the hash taken over the JSON bytes (at a fixed offset, so verify needs no parse).
//           mode 'sync': fs.writeSync per turn (+ fs.fsyncSync when durable);
//           mode 'async': FileHandle.write per turn (+ FileHandle.sync()), so writes and fsyncs
//           of different sessions can overlap in libuv's thread pool.
//   sqlite  better-sqlite3, one database <dir>/store.db, WAL, synchronous NORMAL | FULL;
//           entries(id INTEGER PRIMARY KEY, session TEXT, seq INTEGER, hash BLOB, body BLOB)
//           + UNIQUE INDEX (session, seq); one transaction per turn; body = cbor-x.
//   classic classic-level with defaults (4 MB write buffer, Snappy); key = sessionId ‖ 0x00 ‖
//           u64be(seq), value = hash ‖ cbor-x body; one batch per turn, sync:false | true.
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { Encoder } from 'cbor-x'
import { ZERO32, chainHash, eq32 } from './util.mjs'

export const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, variableMapSize: true })

const u64 = (n) => {
  const b = Buffer.allocUnsafe(8)
  b.writeBigUInt64BE(BigInt(n))
  return b
}

// ------------------------------------------------------------------------------ JSONL
const H_OFF = 6 // '{"h":"'
const E_OFF = 76 // '{"h":"' + 64 hex + '","e":'

function jsonlLine(hash, body) {
  const line = Buffer.allocUnsafe(E_OFF + body.length + 2)
  line.write('{"h":"', 0, 'latin1')
  line.write(hash.toString('hex'), H_OFF, 'latin1')
  line.write('","e":', 70, 'latin1')
  body.copy(line, E_OFF)
  line[E_OFF + body.length] = 0x7d // }
  line[E_OFF + body.length + 1] = 0x0a // \n
  return line
}
const lineHash = (line) => Buffer.from(line.latin1Slice(H_OFF, H_OFF + 64), 'hex')
const lineBody = (line) => line.subarray(E_OFF, line.length - 1)

/** Forward chunked scan of a file's lines (never holds the whole file). */
function forEachLine(file, onLine) {
  const fd = fs.openSync(file, 'r')
  // Chunks of 4 MiB, or one of the file's size when smaller (a small file, of which case 11
  // reads 20,000, should not cost a 4 MiB allocation).
  const CH = Math.min(4 << 20, fs.fstatSync(fd).size + 1)
  let carry = null
  let n = 0
  try {
    for (;;) {
      const chunk = Buffer.allocUnsafe(CH)
      const got = fs.readSync(fd, chunk, 0, CH, null)
      if (got === 0) break
      let data = chunk.subarray(0, got)
      if (carry) data = Buffer.concat([carry, data])
      let start = 0
      let nl
      while ((nl = data.indexOf(10, start)) !== -1) {
        onLine(data.subarray(start, nl), n++)
        start = nl + 1
      }
      carry = start < data.length ? Buffer.from(data.subarray(start)) : null
    }
  } finally {
    fs.closeSync(fd)
  }
  return n
}

export async function openJsonl(dir, { durable = false, mode = 'sync' } = {}) {
  fs.mkdirSync(dir, { recursive: true })
  const sessions = new Map() // id -> { fd | fh, prev }
  const file = (id) => path.join(dir, `${id}.jsonl`)
  return {
    name: 'jsonl',
    async createSession(id) {
      const s = { prev: ZERO32 }
      if (mode === 'async') s.fh = await fsp.open(file(id), 'a')
      else s.fd = fs.openSync(file(id), 'a')
      sessions.set(id, s)
    },
    appendTurn(id, entries) {
      const s = sessions.get(id)
      const lines = new Array(entries.length)
      let prev = s.prev
      for (let i = 0; i < entries.length; i++) {
        const body = Buffer.from(JSON.stringify(entries[i]))
        prev = chainHash(prev, body)
        lines[i] = jsonlLine(prev, body)
      }
      s.prev = prev
      const buf = Buffer.concat(lines)
      if (mode === 'async') {
        return s.fh.write(buf).then(() => (durable ? s.fh.sync() : undefined))
      }
      fs.writeSync(s.fd, buf)
      if (durable) fs.fsyncSync(s.fd)
      return undefined
    },
    async close() {
      for (const s of sessions.values()) {
        if (s.fh) await s.fh.close()
        else fs.closeSync(s.fd)
      }
      sessions.clear()
    },
  }
}

export const jsonlFile = (dir, id) => path.join(dir, `${id}.jsonl`)

/** Read + verify every session file of a JSONL store (hash over the raw JSON bytes; no parse). */
export function jsonlVerifyAll(dir) {
  let entries = 0
  let bytes = 0
  for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('.jsonl')).sort()) {
    let prev = ZERO32
    forEachLine(path.join(dir, name), (line) => {
      const body = lineBody(line)
      const h = lineHash(line)
      if (!eq32(chainHash(prev, body), h)) throw new Error(`jsonl ${name}: bad hash at line ${entries}`)
      prev = h
      entries++
      bytes += body.length
    })
  }
  return { entries, bytes }
}

/** Whole-file load: read the file, split lines, verify every hash, JSON.parse every entry. */
export function jsonlRestore(file) {
  const data = fs.readFileSync(file)
  const history = []
  let prev = ZERO32
  let start = 0
  let nl
  while ((nl = data.indexOf(10, start)) !== -1) {
    const line = data.subarray(start, nl)
    start = nl + 1
    const body = lineBody(line)
    const h = lineHash(line)
    if (!eq32(chainHash(prev, body), h)) throw new Error('jsonl restore: bad hash')
    prev = h
    history.push(JSON.parse(body.toString()).item)
  }
  return { items: history.length, head: prev }
}

/** Tail: read backwards in 256 KiB chunks until n+1 lines are in hand; verify links; parse n. */
export function jsonlTail(file, n) {
  const fd = fs.openSync(file, 'r')
  try {
    const size = fs.fstatSync(fd).size
    const CH = 256 << 10
    let pos = size
    let buf = Buffer.alloc(0)
    const want = n + 1
    for (;;) {
      const len = Math.min(CH, pos)
      pos -= len
      const chunk = Buffer.allocUnsafe(len)
      fs.readSync(fd, chunk, 0, len, pos)
      buf = buf.length ? Buffer.concat([chunk, buf]) : chunk
      let count = 0
      for (let i = buf.indexOf(10); i !== -1 && count <= want; i = buf.indexOf(10, i + 1)) count++
      if (count > want || pos === 0) break
    }
    const lines = []
    let end = buf.length - 1
    while (lines.length < want) {
      const p = buf.lastIndexOf(10, end - 1)
      if (p === -1 && pos > 0) break
      lines.push(buf.subarray(p + 1, end))
      if (p === -1) break
      end = p
    }
    lines.reverse()
    const out = []
    for (let j = 1; j < lines.length; j++) {
      const body = lineBody(lines[j])
      if (!eq32(chainHash(lineHash(lines[j - 1]), body), lineHash(lines[j]))) throw new Error('jsonl tail: bad link')
      out.push(JSON.parse(body.toString()))
    }
    return out.length
  } finally {
    fs.closeSync(fd)
  }
}

/**
 * Copy-fork: a new file holding the source's lines up to and including the line whose hash is
 * `atHex` (scan for it chunk by chunk, copy as we go), fsynced when durable.
 */
export function jsonlCopyFork(srcFile, dstFile, atHex, { durable = true } = {}) {
  const needle = Buffer.from(`{"h":"${atHex}"`, 'latin1')
  const rfd = fs.openSync(srcFile, 'r')
  const wfd = fs.openSync(dstFile, 'w')
  const CH = 4 << 20
  let copied = 0
  let carry = Buffer.alloc(0) // last needle.length-1 bytes of the previous chunk, not yet searched across
  try {
    for (;;) {
      const chunk = Buffer.allocUnsafe(CH)
      const got = fs.readSync(rfd, chunk, 0, CH, null)
      if (got === 0) throw new Error('fork point not found')
      const data = carry.length ? Buffer.concat([carry, chunk.subarray(0, got)]) : chunk.subarray(0, got)
      const at = data.indexOf(needle)
      if (at !== -1) {
        // the line's end: next newline after the match (the line may continue into later chunks)
        let nl = data.indexOf(10, at)
        if (nl !== -1) {
          fs.writeSync(wfd, data, 0, nl + 1)
          copied += nl + 1
        } else {
          fs.writeSync(wfd, data)
          copied += data.length
          for (;;) {
            const more = Buffer.allocUnsafe(CH)
            const g = fs.readSync(rfd, more, 0, CH, null)
            if (g === 0) break
            nl = more.subarray(0, g).indexOf(10)
            const upto = nl === -1 ? g : nl + 1
            fs.writeSync(wfd, more, 0, upto)
            copied += upto
            if (nl !== -1) break
          }
        }
        break
      }
      const keep = Math.min(needle.length - 1, data.length)
      fs.writeSync(wfd, data, 0, data.length - keep)
      copied += data.length - keep
      carry = Buffer.from(data.subarray(data.length - keep))
    }
    if (durable) fs.fsyncSync(wfd)
  } finally {
    fs.closeSync(rfd)
    fs.closeSync(wfd)
  }
  return copied
}

// ------------------------------------------------------------------------------ SQLite
export async function openSqlite(dir, { synchronous = 'NORMAL' } = {}) {
  const { default: Database } = await import('better-sqlite3')
  fs.mkdirSync(dir, { recursive: true })
  const db = new Database(path.join(dir, 'store.db'))
  db.pragma('journal_mode = WAL')
  db.pragma(`synchronous = ${synchronous}`)
  db.exec(
    'CREATE TABLE IF NOT EXISTS entries (id INTEGER PRIMARY KEY, session TEXT NOT NULL, seq INTEGER NOT NULL, hash BLOB NOT NULL, body BLOB NOT NULL);' +
      'CREATE UNIQUE INDEX IF NOT EXISTS entries_session_seq ON entries (session, seq);',
  )
  const ins = db.prepare('INSERT INTO entries (session, seq, hash, body) VALUES (?, ?, ?, ?)')
  const insTurn = db.transaction((id, recs) => {
    for (const r of recs) ins.run(id, r.seq, r.hash, r.body)
  })
  const sessions = new Map()
  return {
    name: 'sqlite',
    db,
    createSession(id) {
      sessions.set(id, { prev: ZERO32, seq: 0 })
    },
    appendTurn(id, entries) {
      const s = sessions.get(id)
      const recs = new Array(entries.length)
      let prev = s.prev
      for (let i = 0; i < entries.length; i++) {
        const body = cbor.encode(entries[i])
        prev = chainHash(prev, body)
        recs[i] = { seq: s.seq++, hash: prev, body }
      }
      s.prev = prev
      insTurn(id, recs)
      return undefined
    },
    close() {
      db.close()
    },
  }
}

function openSqliteRead(dir) {
  return import('better-sqlite3').then(({ default: Database }) => {
    const db = new Database(path.join(dir, 'store.db'))
    db.pragma('journal_mode = WAL')
    return db
  })
}

/** Full read + verify (+ decode) of every session: one scan in rowid order, a prev per session. */
export async function sqliteVerifyAll(dir, { decode = false } = {}) {
  const db = await openSqliteRead(dir)
  const prevs = new Map()
  let entries = 0
  let bytes = 0
  for (const [session, , hash, body] of db.prepare('SELECT session, seq, hash, body FROM entries ORDER BY id').raw(true).iterate()) {
    const prev = prevs.get(session) ?? ZERO32
    if (!eq32(chainHash(prev, body), hash)) throw new Error('sqlite: bad hash')
    prevs.set(session, hash)
    if (decode) cbor.decode(body)
    entries++
    bytes += body.length
  }
  db.close()
  return { entries, bytes }
}

/** Restore one session: read it in seq order, verify, decode, collect the items. */
export async function sqliteRestore(db, id) {
  const history = []
  let prev = ZERO32
  for (const [hash, body] of db.prepare('SELECT hash, body FROM entries WHERE session = ? ORDER BY seq').raw(true).iterate(id)) {
    if (!eq32(chainHash(prev, body), hash)) throw new Error('sqlite restore: bad hash')
    prev = hash
    history.push(cbor.decode(body).item)
  }
  return { items: history.length }
}

/** Tail: open, max(seq), range read of the last n (+1 anchor), verify links, decode, close. */
export async function sqliteTail(dir, id, n) {
  const db = await openSqliteRead(dir)
  const last = db.prepare('SELECT max(seq) FROM entries WHERE session = ?').pluck().get(id)
  const rows = db.prepare('SELECT hash, body FROM entries WHERE session = ? AND seq >= ? ORDER BY seq').raw(true).all(id, Math.max(0, last - n))
  let count = 0
  for (let j = 1; j < rows.length; j++) {
    if (!eq32(chainHash(rows[j - 1][0], rows[j][1]), rows[j][0])) throw new Error('sqlite tail: bad link')
    cbor.decode(rows[j][1])
    count++
  }
  db.close()
  return count
}

// ------------------------------------------------------------------------------ classic-level
export async function openClassic(dir, { sync = false } = {}) {
  const { ClassicLevel } = await import('classic-level')
  const db = new ClassicLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  await db.open()
  const sessions = new Map()
  return {
    name: 'classic-level',
    db,
    createSession(id) {
      sessions.set(id, { prev: ZERO32, seq: 0, prefix: Buffer.from(id + '\0') })
    },
    appendTurn(id, entries) {
      const s = sessions.get(id)
      const ops = new Array(entries.length)
      let prev = s.prev
      for (let i = 0; i < entries.length; i++) {
        const body = cbor.encode(entries[i])
        prev = chainHash(prev, body)
        ops[i] = { type: 'put', key: Buffer.concat([s.prefix, u64(s.seq++)]), value: Buffer.concat([prev, body]) }
      }
      s.prev = prev
      return db.batch(ops, { sync })
    },
    close: () => db.close(),
  }
}

async function classicIterate(dir, onRow) {
  const { ClassicLevel } = await import('classic-level')
  const db = new ClassicLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  await db.open()
  const it = db.iterator({ highWaterMarkBytes: 8 << 20, fillCache: false })
  let batch
  let n = 0
  try {
    while ((batch = await it.nextv(1000)).length) {
      for (let i = 0; i < batch.length; i++) onRow(batch[i][0], batch[i][1])
      n += batch.length
    }
  } finally {
    await it.close()
    await db.close()
  }
  return n
}

/** Read-only scan of every key and value of any classic-level directory (no verify, no decode). */
export async function classicScan(dir) {
  let bytes = 0
  const rows = await classicIterate(dir, (k, v) => {
    bytes += k.length + v.length
  })
  return { rows, bytes }
}

/** Read + verify every session of the classic-level peer store. */
export async function classicVerifyAll(dir) {
  let entries = 0
  let bytes = 0
  let session = null
  let prev = ZERO32
  await classicIterate(dir, (k, v) => {
    const sid = k.subarray(0, k.length - 8)
    if (session === null || !sid.equals(session)) {
      session = Buffer.from(sid)
      prev = ZERO32
    }
    const hash = v.subarray(0, 32)
    const body = v.subarray(32)
    if (!eq32(chainHash(prev, body), hash)) throw new Error('classic: bad hash')
    prev = hash
    entries++
    bytes += body.length
  })
  return { entries, bytes }
}

/** Compact the whole key range of a classic-level directory (for on-disk size). */
export async function classicCompact(dir) {
  const { ClassicLevel } = await import('classic-level')
  const db = new ClassicLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  await db.open()
  await db.compactRange(Buffer.alloc(0), Buffer.alloc(64, 0xff))
  await db.close()
}
