// One measurement in its own process: `node bench/worker.mjs '<json task>'`.
// run.mjs spawns one of these per (case, store, repetition) so that stores do not share a heap,
// a page-cache-warm JIT or a LevelDB lock; the result is printed as one `@@RESULT {...}` line.
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { DEFAULT_SEED, makeWorkload, TURN_SIZE } from './lib/workload.mjs'
import { dirSize, now, percentile, rmrf, median } from './lib/util.mjs'
import * as P from './lib/peers.mjs'
import { WRITE_BUFFER_BYTES, chainlog, classify, distModule, keys, localStore, openChainlog, readAllVerified, toEntries, turnItems, verifyMethod, verifyStore } from './lib/chainlog.mjs'
import { smallSession, smallSessionJsonl } from './lib/small-sessions.mjs'
import { writeTranscripts } from './lib/transcripts.mjs'
import { JsonlFileSession, SampleFileSession, agentTurns, langgraphSteps, langgraphWrite } from './lib/adapters.mjs'
import { dropSchema, openPgPeer, pgPeerVerifyAll, schemaBytes } from './lib/pg-peer.mjs'

const task = JSON.parse(process.argv[2])

// ------------------------------------------------------------------------------ adapters
// A writer for the append cases: appendTurn(sessionId, 5 workload entries) -> maybe a promise.
async function openWriter(spec, dir) {
  switch (spec.store) {
    case 'chainlog':
    case 'chainlog-notree':
      // chainlog-notree: the same, on a copy of the build whose append plan computes no tree at
      // all (run.mjs patches it, case 14): no leaf or node hashes, no T rows.
      return chainlogWriter(await openChainlog(dir, { durability: spec.durable ? 'sync' : 'relaxed' }))
    case 'chainlog-notree-rows': {
      // Case 14: chainlog as is, except that every commit is passed on without its Merkle tree
      // rows (T table, docs/storage.md section 1). The tree is still computed (frontier kept in
      // memory, so appends never read the rows back); only its rows are not written.
      const store = await openChainlog(dir, { durability: spec.durable ? 'sync' : 'relaxed' })
      const engine = localStore(store).engine
      const commit = engine.commit.bind(engine)
      engine.commit = (c) => commit({ ...c, ops: c.ops.filter((op) => op.key[0] !== keys.TAG.tree) })
      return chainlogWriter(store)
    }
    case 'chainlog-mem': {
      // Floor: chainlog's own work per turn (validation, canonical encoding, hashing, blobs,
      // batch assembly) with LevelDB taken away: the same calls on a memory-level database that
      // drops values over 512 bytes (entries and blobs, which appends never read back), so that
      // neither an in-memory copy of the data nor the GC work of holding it is counted.
      const { MemoryLevel } = await import('memory-level')
      class SinkLevel extends MemoryLevel {
        async _batch(ops, options) {
          return super._batch(ops.filter((op) => op.type !== 'put' || op.value.length <= 512), options)
        }
      }
      // The blob profile of a store directory (case 1's store), not the default for a db given as is.
      const store = await chainlog.openStore({ db: new SinkLevel(), durability: spec.durable ? 'sync' : 'relaxed', classify, blobs: { profile: 'low-latency' } })
      return chainlogWriter(store)
    }
    case 'classic-replay':
      return replayWriter(spec, dir)
    case 'jsonl':
      return P.openJsonl(dir, { durable: spec.durable, mode: spec.mode ?? 'sync' })
    case 'sqlite':
      return P.openSqlite(dir, { synchronous: spec.durable ? 'FULL' : 'NORMAL' })
    case 'classic':
      return P.openClassic(dir, { sync: !!spec.durable })
    default:
      throw new Error(`unknown store ${spec.store}`)
  }
}

function chainlogWriter(store) {
  const heads = new Map()
  let written = 0
  return {
    store,
    async createSession(id) {
      const r = await store.createSession({ sessionId: id, ts: 1767225600000 })
      heads.set(id, r.head)
    },
    async appendTurn(id, turn) {
      const r = await store.appendTurn(id, turnItems(turn), { ts: turn[0].ts, expectedHead: heads.get(id) })
      heads.set(id, r.head)
      written += r.entries.length
    },
    stats: () => ({ entriesWritten: written, batches: localStore(store).engine?.stats.batches, bytesWritten: localStore(store).engine?.stats.bytesWritten }),
    close: () => store.close(),
  }
}

/**
 * Floor: the storage cost alone. chainlog first appends the same turns to a memory-level store
 * (not timed) and every LevelDB batch it writes is recorded; the timed part replays exactly those
 * batches (same keys, values and op counts), one awaited batch per turn, on a classic-level
 * database opened with chainlog's options.
 */
async function replayWriter(spec, dir) {
  const { MemoryLevel } = await import('memory-level')
  const { entries } = makeWorkload(spec.sessions * spec.turns * TURN_SIZE)
  const mem = await chainlog.openStore({ db: new MemoryLevel(), durability: 'relaxed', classify, blobs: { profile: 'low-latency' } })
  const recorded = []
  const db = localStore(mem).db
  const batch = db.batch.bind(db)
  db.batch = (ops, o) => {
    recorded.push(ops.map((op) => ({ type: op.type, key: Uint8Array.from(op.key), value: op.value && Uint8Array.from(op.value) })))
    return batch(ops, o)
  }
  const w0 = chainlogWriter(mem)
  const id = 'replay'
  await w0.createSession(id)
  const sessionBatches = recorded.length
  for (let i = 0; i < spec.turns; i++) await w0.appendTurn(id, entries.slice(i * TURN_SIZE, (i + 1) * TURN_SIZE))
  await mem.close()
  const { ClassicLevel } = await import('classic-level')
  const cl = new ClassicLevel(dir, { keyEncoding: 'view', valueEncoding: 'view', writeBufferSize: WRITE_BUFFER_BYTES })
  await cl.open()
  let next = 0
  const opts = { sync: !!spec.durable }
  return {
    async createSession() {
      while (next < sessionBatches) await cl.batch(recorded[next++], opts)
    },
    async appendTurn() {
      await cl.batch(recorded[next++], opts)
    },
    stats: () => ({ batches: recorded.length, opsPerTurn: recorded.slice(sessionBatches).reduce((n, b) => n + b.length, 0) / spec.turns }),
    close: () => cl.close(),
  }
}

/**
 * Floor for case 4: the reads chainlog's verify walk makes, in its order, with no checks: the
 * records in key order (each session's records are contiguous: store format 2) in chunks of
 * 512, and for each chunk one getMany of the hash-index rows of the hashes the records give
 * (the prev of each record is the hash of the one before it).
 */
async function walkReads(dir) {
  const { ClassicLevel } = await import('classic-level')
  const BIN = { keyEncoding: 'view', valueEncoding: 'view' }
  const db = new ClassicLevel(dir, { ...BIN, writeBufferSize: WRITE_BUFFER_BYTES })
  await db.open()
  let entries = 0
  const it = db.iterator({ ...BIN, ...keys.tableRange(keys.TAG.record) })
  try {
    for (;;) {
      const rows = await it.nextv(512)
      if (rows.length === 0) break
      const links = rows.map(([, v]) => v.subarray(0, 32))
      await db.getMany(links.map((h) => keys.hashKey(h)), BIN)
      entries += rows.length
    }
  } finally {
    await it.close()
    await db.close()
  }
  return { entries }
}

/**
 * Copy a store directory and write the copy out to disk (fsync of every file), so that the
 * kernel's writeback of the copy does not compete with the timed work that follows; its pages
 * stay in the page cache.
 */
function copyDurably(src, dst) {
  rmrf(dst)
  fs.cpSync(src, dst, { recursive: true })
  for (const name of fs.readdirSync(dst)) {
    const fd = fs.openSync(path.join(dst, name), 'r+')
    fs.fsyncSync(fd)
    fs.closeSync(fd)
  }
  const dfd = fs.openSync(dst, 'r')
  fs.fsyncSync(dfd)
  fs.closeSync(dfd)
}

/** What a spawned command printed, for the report's checks: line count, or a verify report's verdict. */
function checkOutput(c, stdout) {
  const text = String(stdout ?? '')
  if (c.parse === 'verify') {
    const r = JSON.parse(text)
    if (r.ok !== true) throw new Error(`${c.key}: verification failed: ${text.slice(0, 1000)}`)
    return { ok: r.ok, entries: r.checked?.entries, sessions: r.checked?.sessions }
  }
  return { lines: text.length ? text.split('\n').length - (text.endsWith('\n') ? 1 : 0) : 0 }
}

/** The format row and the row counts of the record tables (E, S: format 1; R: format 2) of a store directory. */
async function inspectStore(dir) {
  const { ClassicLevel } = await import('classic-level')
  const { decodeCbor } = await distModule('encoding/cbor.js')
  const db = new ClassicLevel(dir, { keyEncoding: 'view', valueEncoding: 'view' })
  await db.open()
  try {
    const raw = await db.get(keys.formatKey())
    const out = { format: raw === undefined ? null : decodeCbor(raw) }
    for (const [name, tag] of [['E', keys.TAG_V1.entry], ['S', keys.TAG_V1.seq], ['R', keys.TAG.record]]) {
      let n = 0
      for await (const _ of db.keys(keys.tableRange(tag))) n++
      out[name] = n
    }
    return out
  } finally {
    await db.close()
  }
}

/** CPU time of this process's main thread so far, in µs (Linux: /proc schedstat, ns); NaN elsewhere. */
function mainThreadUs() {
  try {
    return Number(fs.readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1000
  } catch {
    return NaN
  }
}

/** Rows of one table (first key byte) in a store directory. */
async function countRows(dir, tag) {
  const { ClassicLevel } = await import('classic-level')
  const db = new ClassicLevel(dir, { keyEncoding: 'view', valueEncoding: 'view' })
  await db.open()
  let n = 0
  try {
    for await (const _ of db.keys(keys.tableRange(tag))) n++
  } finally {
    await db.close()
  }
  return n
}

/** Case 15b: say we are ready (@@READY on stdout), then wait for run.mjs's start line on stdin. */
function startSignal() {
  process.stdout.write('@@READY\n')
  return new Promise((resolve, reject) => {
    let got = ''
    const onData = (d) => {
      got += d
      if (!got.includes('\n')) return
      process.stdin.off('data', onData)
      process.stdin.off('end', onEnd)
      process.stdin.destroy()
      resolve()
    }
    const onEnd = () => reject(new Error('stdin closed before the start signal'))
    process.stdin.on('data', onData)
    process.stdin.on('end', onEnd)
  })
}

// ------------------------------------------------------------------------------ tasks
const tasks = {
  // Cases 1-3: S sessions, T turns each, appended concurrently (S loops) one turn per call.
  async append(t) {
    const S = t.sessions
    const T = t.turns
    const { entries } = makeWorkload(S * T * TURN_SIZE)
    rmrf(t.dir)
    fs.mkdirSync(t.dir, { recursive: true })
    const w = await openWriter(t, t.dir)
    const ids = Array.from({ length: S }, () => randomUUID())
    for (const id of ids) await w.createSession(id)
    const lat = []
    // CPU time of the whole process (main thread, LevelDB's and libuv's threads) from the first
    // append to the end of the close: the work the appends caused, less moved by other load on
    // the machine than the wall time (case 14 reports both).
    const cpu0 = process.cpuUsage()
    const main0 = mainThreadUs()
    const t0 = now()
    await Promise.all(
      ids.map(async (id, k) => {
        for (let i = 0; i < T; i++) {
          const base = (k * T + i) * TURN_SIZE
          const turn = entries.slice(base, base + TURN_SIZE)
          const ta = now()
          await w.appendTurn(id, turn)
          lat.push(now() - ta)
        }
      }),
    )
    const ms = now() - t0
    const extra = w.stats?.() ?? {}
    const tc = now()
    await w.close()
    const closeMs = now() - tc
    const cpu = process.cpuUsage(cpu0)
    const mainUs = mainThreadUs() - main0
    const disk = dirSize(t.dir)
    // Case 14 checks that each variant wrote (or left out) the tree rows it should, and that the
    // sessions it wrote read back whole and verified (hashes and links), with or without them.
    let treeRows
    if (t.countTree) {
      treeRows = await countRows(t.dir, keys.TAG.tree)
      const store = await openChainlog(t.dir)
      let read = 0
      for (const id of ids) for await (const _ of store.entries(id, { verify: true })) read++
      await store.close()
      if (read !== extra.entriesWritten + S) throw new Error(`read back ${read} entries, wrote ${extra.entriesWritten} + ${S} genesis`)
    }
    rmrf(t.dir)
    const turns = S * T
    return {
      ms,
      closeMs,
      turns,
      entries: turns * TURN_SIZE,
      turnsPerSec: (turns / ms) * 1000,
      entriesPerSec: ((turns * TURN_SIZE) / ms) * 1000,
      p50ms: percentile(lat, 0.5),
      p99ms: percentile(lat, 0.99),
      cpuUsPerTurn: (cpu.user + cpu.system) / turns,
      // The main thread alone (JavaScript, its GC pauses, the synchronous calls into LevelDB), not
      // LevelDB's compaction thread, whose work lands in the window or after it as the bytes fall.
      mainCpuUsPerTurn: mainUs / turns,
      disk,
      treeRows,
      ...extra,
    }
  },

  // Case 15 (PostgreSQL): S sessions x T turns appended concurrently, one turn per call, by
  // chainlog on a PostgreSQL store (schema t.schema) or by the plain-table peer (pg-peer.mjs).
  // With t.barrier the worker sets up (pool, store, sessions), prints @@READY and starts when
  // run.mjs writes a line to its stdin, so that case 15b's 4 processes append at the same time;
  // t0 and t1 are wall-clock times (ms since the epoch) to combine them. Part k of a group takes
  // its workload from seed DEFAULT_SEED + k: the same mix and sizes, not the same bytes (chainlog
  // would share the blobs of equal tool results across processes).
  async pgAppend(t) {
    const S = t.sessions
    const T = t.turns
    const { entries } = makeWorkload(S * T * TURN_SIZE, DEFAULT_SEED + (t.part ?? 0))
    const ids = Array.from({ length: S }, () => randomUUID())
    let w
    let engineStats = () => ({})
    let markStats = () => undefined
    if (t.store === 'chainlog') {
      const store = await chainlog.openStore({ postgres: { connectionString: t.url, schema: t.schema, ...(t.pool ? { pool: t.pool } : {}) }, durability: t.durable ? 'sync' : 'relaxed', classify })
      w = chainlogWriter(store)
      // The engine's counters over the timed appends only (not the sessions' creation).
      const engine = localStore(store).engine
      let base = {}
      const count = () => ({ batches: engine.stats.transactions, syncedBatches: engine.stats.syncedTransactions, refused: engine.stats.refused, bytesWritten: engine.stats.bytesWritten, retries: engine.stats.retries, queries: engine.stats.readQueries + (engine.stats.commitCalls ?? 0) })
      markStats = () => (base = count())
      engineStats = () => Object.fromEntries(Object.entries(count()).map(([k, v]) => [k, v - (base[k] ?? 0)]))
    } else {
      w = await openPgPeer(t.url, { schema: t.schema, connections: S, create: !!t.create })
      const sc = (await w.pool.query('SHOW synchronous_commit')).rows[0].synchronous_commit
      if (t.durable && sc !== 'on') throw new Error(`peer: synchronous_commit is ${sc}, not on`)
    }
    for (const id of ids) await w.createSession(id)
    if (t.barrier) await startSignal()
    markStats()
    const lat = []
    const cpu0 = process.cpuUsage()
    const main0 = mainThreadUs()
    const t0 = now()
    await Promise.all(
      ids.map(async (id, k) => {
        for (let i = 0; i < T; i++) {
          const base = (k * T + i) * TURN_SIZE
          const ta = now()
          await w.appendTurn(id, entries.slice(base, base + TURN_SIZE))
          lat.push(now() - ta)
        }
      }),
    )
    const t1 = now()
    const ms = t1 - t0
    const extra = { ...(w.stats?.() ?? {}), ...engineStats() }
    // What landed: every session holds exactly its T turns (chainlog: 4 entries per turn + the
    // genesis entry; the peer: 5 rows per turn).
    let landed
    if (t.store === 'chainlog') {
      const mine = new Set(ids)
      landed = (await w.store.listSessions()).filter((s) => mine.has(s.sessionId)).reduce((n, s) => n + s.length, 0)
      if (landed !== extra.entriesWritten + S) throw new Error(`chainlog: ${landed} entries in the store, ${extra.entriesWritten} + ${S} genesis appended`)
    } else {
      landed = Number((await w.pool.query(`SELECT count(*) AS n FROM ${t.schema}.entries WHERE session_id = ANY($1)`, [ids])).rows[0].n)
      if (landed !== S * T * TURN_SIZE) throw new Error(`peer: ${landed} rows, ${S * T * TURN_SIZE} appended`)
    }
    await w.close()
    const cpu = process.cpuUsage(cpu0)
    const bytes = t.measureBytes ? await schemaBytes(t.url, t.schema) : undefined
    if (t.drop) await dropSchema(t.url, t.schema)
    const turns = S * T
    return {
      ms,
      t0: performance.timeOrigin + t0,
      t1: performance.timeOrigin + t1,
      turns,
      entries: turns * TURN_SIZE,
      turnsPerSec: (turns / ms) * 1000,
      entriesPerSec: ((turns * TURN_SIZE) / ms) * 1000,
      p50ms: percentile(lat, 0.5),
      p99ms: percentile(lat, 0.99),
      ...(t.keepLatencies ? { lat } : {}),
      cpuUsPerTurn: (cpu.user + cpu.system) / turns,
      // Queries sent to the server per turn (chainlog: the engine's reads and commit calls; the
      // peer makes 4: BEGIN, the read of the last row, the INSERT, COMMIT).
      queriesPerTurn: extra.queries !== undefined ? extra.queries / turns : 4,
      landed,
      bytes,
      ...extra,
    }
  },

  // Case 15b: create a chainlog store on PostgreSQL (schema, tables, format row) before its writer
  // processes open it. Four processes opening a new, empty store at the same moment race on the
  // format row, and the losers' opens fail (store-format.ts takes the refused compare-and-set of
  // that row as an error instead of reading the row again); an existing store opens fine.
  async pgInit(t) {
    const store = await chainlog.openStore({ postgres: { connectionString: t.url, schema: t.schema }, classify })
    await store.close()
    return {}
  },

  // Case 15c: build the store to verify (untimed): sessions of `perSession` workload entries,
  // all sessions at once, one turn per call (chainlog: appendMany, one entry per workload
  // entry, durability relaxed; the peer: its append transaction).
  async pgBuild(t) {
    const total = t.sessions * t.perSession
    const { entries } = makeWorkload(total)
    const ids = Array.from({ length: t.sessions }, (_, i) => `s${String(i).padStart(4, '0')}-${randomUUID()}`)
    const t0 = now()
    if (t.store === 'chainlog') {
      const store = await chainlog.openStore({ postgres: { connectionString: t.url, schema: t.schema }, durability: 'relaxed', classify })
      await Promise.all(
        ids.map(async (id, k) => {
          let r = await store.createSession({ sessionId: id, ts: 1767225600000 })
          for (let i = 0; i < t.perSession; i += TURN_SIZE) {
            const turn = entries.slice(k * t.perSession + i, k * t.perSession + Math.min(i + TURN_SIZE, t.perSession))
            r = await store.appendMany(id, toEntries(turn), { expectedHead: r.head })
          }
        }),
      )
      await store.close()
    } else {
      const w = await openPgPeer(t.url, { schema: t.schema, connections: Math.min(t.sessions, 16), create: true })
      await Promise.all(
        ids.map(async (id, k) => {
          for (let i = 0; i < t.perSession; i += TURN_SIZE) await w.appendTurn(id, entries.slice(k * t.perSession + i, k * t.perSession + Math.min(i + TURN_SIZE, t.perSession)))
        }),
      )
      await w.close()
    }
    return { ms: now() - t0, entries: total, bytes: await schemaBytes(t.url, t.schema) }
  },

  // Case 15c: one full read + verify of a PostgreSQL store (open and close included).
  async pgVerify(t) {
    const t0 = now()
    let r
    if (t.store === 'chainlog') {
      const store = await chainlog.openStore({ postgres: { connectionString: t.url, schema: t.schema }, classify })
      const v = await verifyStore(store)
      await store.close()
      if (!v.ok) throw new Error('chainlog verify reported problems')
      r = { entries: v.entries, method: v.method }
    } else {
      r = await pgPeerVerifyAll(t.url, t.schema)
    }
    const ms = now() - t0
    return { ms, ...r, entriesPerSec: (r.entries / ms) * 1000 }
  },

  // Build a read data set: sessions of workload entries (consecutive slices of one workload).
  async build(t) {
    const total = t.sessions.reduce((n, s) => n + s.entries, 0)
    const { entries } = makeWorkload(total)
    rmrf(t.dir)
    fs.mkdirSync(t.dir, { recursive: true })
    const heads = {}
    const t0 = now()
    let off = 0
    if (t.store === 'chainlog') {
      const store = await openChainlog(t.dir, { durability: 'relaxed' })
      for (const s of t.sessions) {
        let r = await store.createSession({ sessionId: s.id, ts: 1767225600000 })
        for (let i = 0; i < s.entries; i += TURN_SIZE) {
          const turn = entries.slice(off + i, off + Math.min(i + TURN_SIZE, s.entries))
          r = await store.appendMany(s.id, toEntries(turn), { expectedHead: r.head })
        }
        heads[s.id] = r.head
        off += s.entries
      }
      await store.close()
    } else {
      const w = await openWriter({ store: t.store, durable: false }, t.dir)
      for (const s of t.sessions) {
        await w.createSession(s.id)
        for (let i = 0; i < s.entries; i += TURN_SIZE) {
          await w.appendTurn(s.id, entries.slice(off + i, off + Math.min(i + TURN_SIZE, s.entries)))
        }
        off += s.entries
      }
      await w.close()
      if (t.store === 'jsonl') {
        for (const s of t.sessions) {
          const file = P.jsonlFile(t.dir, s.id)
          const size = fs.statSync(file).size
          const fd = fs.openSync(file, 'r')
          const buf = Buffer.alloc(Math.min(size, 512 << 10))
          fs.readSync(fd, buf, 0, buf.length, size - buf.length)
          fs.closeSync(fd)
          const last = buf.lastIndexOf('{"h":"')
          heads[s.id] = buf.latin1Slice(last + 6, last + 70)
        }
      }
    }
    return { ms: now() - t0, entries: total, heads, disk: dirSize(t.dir) }
  },

  // Case 7 (memory): many small entries, appendMany of `per` entries at a time, relaxed.
  async buildSmall(t) {
    rmrf(t.dir)
    const store = await openChainlog(t.dir, { durability: 'relaxed' })
    const words = 'the agent reads the file then edits the function and runs the tests again until they pass '.repeat(4)
    const t0 = now()
    let total = 0
    for (let s = 0; s < t.sessions; s++) {
      const { sessionId } = await store.createSession({ ts: 1767225600000 })
      total++
      for (let i = 0; i < t.perSession; i += t.per) {
        const batch = []
        for (let j = i; j < Math.min(i + t.per, t.perSession); j++) {
          const off = (j * 7) % 200
          batch.push({ kind: 'user_input', ts: 1767225600000 + j, item: { role: 'user', content: [{ type: 'text', text: words.slice(off, off + 60 + (j % 60)) }] } })
        }
        await store.appendMany(sessionId, batch)
        total += batch.length
      }
    }
    await store.close()
    return { ms: now() - t0, entries: total, disk: dirSize(t.dir) }
  },

  // Case 4: one full read + verify (open and close included).
  async verify(t) {
    const t0 = now()
    let r
    switch (t.mode) {
      case 'chainlog-verify':
      case 'chainlog-entries': {
        const store = await openChainlog(t.dir)
        const method = verifyMethod(store)
        const v = t.mode === 'chainlog-verify' ? await verifyStore(store) : await readAllVerified(store)
        await store.close()
        if (!v.ok) throw new Error('chainlog verify reported problems')
        r = { entries: v.entries, method: t.mode === 'chainlog-verify' ? method : 'entries(verify:true) per session' }
        break
      }
      case 'chainlog-walk-io':
        r = await walkReads(t.dir)
        break
      case 'classic-scan':
        r = await P.classicScan(t.dir)
        r.entries = r.rows
        break
      case 'classic-verify':
        r = await P.classicVerifyAll(t.dir)
        break
      case 'sqlite-verify':
        r = await P.sqliteVerifyAll(t.dir)
        break
      case 'sqlite-verify-decode':
        r = await P.sqliteVerifyAll(t.dir, { decode: true })
        break
      case 'jsonl-verify':
        r = P.jsonlVerifyAll(t.dir)
        break
      default:
        throw new Error(`unknown verify mode ${t.mode}`)
    }
    const ms = now() - t0
    return { ms, ...r, entriesPerSec: (r.entries / ms) * 1000 }
  },

  // Case 5: full restore of one session; the first iteration warms up and is not counted.
  async restore(t) {
    const runs = []
    let openMs = NaN
    let items = 0
    if (t.store === 'chainlog') {
      const t0 = now()
      const store = await openChainlog(t.dir)
      openMs = now() - t0
      for (let i = 0; i <= t.iterations; i++) {
        const ta = now()
        const state = await store.restore(t.id)
        if (i > 0) runs.push(now() - ta)
        items = state.history.length
      }
      await store.close()
    } else if (t.store === 'jsonl') {
      for (let i = 0; i <= t.iterations; i++) {
        const ta = now()
        items = P.jsonlRestore(P.jsonlFile(t.dir, t.id)).items
        if (i > 0) runs.push(now() - ta)
      }
    } else if (t.store === 'sqlite') {
      const { default: Database } = await import('better-sqlite3')
      const t0 = now()
      const db = new Database(path.join(t.dir, 'store.db'))
      openMs = now() - t0
      for (let i = 0; i <= t.iterations; i++) {
        const ta = now()
        items = (await P.sqliteRestore(db, t.id)).items
        if (i > 0) runs.push(now() - ta)
      }
      db.close()
    }
    return { ms: median(runs), runs, openMs, items }
  },

  // Case 5: open + last n entries (+1 anchor for the first link) + verify + decode + close.
  async tail(t) {
    const runs = []
    let got = 0
    for (let i = 0; i <= t.iterations; i++) {
      const ta = now()
      if (t.store === 'chainlog') {
        const store = await openChainlog(t.dir)
        const head = await store.readHead(t.id)
        got = 0
        for await (const _ of store.entries(t.id, { from: Math.max(0, head.seq - t.n), verify: true })) got++
        got -= 1 // the anchor
        await store.close()
      } else if (t.store === 'classic-open') {
        const { ClassicLevel } = await import('classic-level')
        const db = new ClassicLevel(t.dir, { keyEncoding: 'view', valueEncoding: 'view', writeBufferSize: WRITE_BUFFER_BYTES })
        await db.open()
        await db.close()
        got = t.n
      } else if (t.store === 'sqlite') {
        got = await P.sqliteTail(t.dir, t.id, t.n)
      } else if (t.store === 'jsonl') {
        got = P.jsonlTail(P.jsonlFile(t.dir, t.id), t.n)
      }
      if (i > 0) runs.push(now() - ta)
    }
    if (got !== t.n) throw new Error(`tail got ${got} entries, wanted ${t.n}`)
    return { ms: median(runs), runs }
  },

  // Case 6: forkAt the head of each target session, alternating targets; first round warms up.
  async fork(t) {
    const store = await openChainlog(t.dir, { durability: t.durability })
    const runs = Object.fromEntries(t.targets.map((x) => [x.label, []]))
    for (let i = 0; i <= t.iterations; i++) {
      const order = i % 2 ? [...t.targets].reverse() : t.targets
      for (const x of order) {
        const ta = now()
        await store.forkAt(x.head)
        if (i > 0) runs[x.label].push(now() - ta)
      }
    }
    await store.close()
    return { ms: Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, median(v)])), runs }
  },

  // Case 6: JSONL copy-fork of a whole session (prefix up to its last entry), fsynced.
  async jsonlFork(t) {
    const runs = []
    let bytes = 0
    for (let i = 0; i <= t.iterations; i++) {
      const dst = path.join(t.dir, `fork-${i}.jsonl.tmp`)
      const ta = now()
      bytes = P.jsonlCopyFork(P.jsonlFile(t.dir, t.id), dst, t.atHex, { durable: true })
      if (i > 0) runs.push(now() - ta)
      fs.rmSync(dst)
    }
    return { ms: median(runs), runs, bytes }
  },

  // Case 8, 10, 11: spawn commands (`node <args>`) as a user runs them and time each process from
  // spawn to exit. Every iteration runs each command once, the order rotating per iteration;
  // the first `warmup` iterations are not timed. With `check`, the first iteration's stdout is
  // kept (piped) to check what the command printed; otherwise stdout goes to /dev/null. A
  // command that exits non-zero fails the task. With `profileDir`, one more untimed run per
  // command marked `profile` runs under `node --cpu-prof`.
  async cli(t) {
    const runs = Object.fromEntries(t.cmds.map((c) => [c.key, []]))
    const checks = {}
    const warmup = t.warmup ?? 1
    for (let i = 0; i < warmup + t.iterations; i++) {
      const k = i % t.cmds.length
      for (const c of [...t.cmds.slice(k), ...t.cmds.slice(0, k)]) {
        const first = i === 0 && t.check !== false
        const ta = now()
        const r = spawnSync(process.execPath, c.args, { stdio: ['ignore', first ? 'pipe' : 'ignore', 'pipe'], maxBuffer: 1 << 30 })
        const ms = now() - ta
        if (r.error) throw r.error
        if (r.status !== 0) throw new Error(`${c.key} (node ${c.args.join(' ')}) exited with ${r.status ?? r.signal}: ${String(r.stderr).slice(-1000)}`)
        if (first) checks[c.key] = checkOutput(c, r.stdout)
        if (i >= warmup) runs[c.key].push(ms)
      }
    }
    if (t.profileDir) {
      for (const c of t.cmds.filter((x) => x.profile)) {
        const name = `${t.label}-${c.key}.cpuprofile`.replace(/[^a-z0-9.-]+/gi, '_')
        spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${t.profileDir}`, `--cpu-prof-name=${name}`, ...c.args], { stdio: 'ignore' })
      }
    }
    return { ms: Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, median(v)])), runs, checks }
  },

  // Cases 10-11: a store of many small sessions, each a genesis and one turn (user message,
  // assistant reply, token usage, turn end: appendTurn with usage and turnEnd), written with the
  // library, durability relaxed, `concurrency` sessions at a time.
  async buildMany(t) {
    rmrf(t.dir)
    const store = await openChainlog(t.dir, { durability: 'relaxed' })
    const t0 = now()
    let next = 0
    let entries = 0
    const loop = async () => {
      for (let i = next++; i < t.sessions; i = next++) {
        const s = smallSession(i)
        const g = await store.createSession({ sessionId: s.id, ts: s.ts })
        const r = await store.appendTurn(s.id, [s.user, s.assistant], { ts: s.entryTs[2], expectedHead: g.head, usage: s.usage, turnEnd: true })
        entries += 1 + r.entries.length
      }
    }
    await Promise.all(Array.from({ length: t.concurrency ?? 16 }, loop))
    const ms = now() - t0
    await store.close()
    return { ms, sessions: t.sessions, entries, disk: dirSize(t.dir) }
  },

  // Case 10: the same sessions as JSONL files (one per session, the peer layout of peers.mjs).
  async buildJsonlDir(t) {
    rmrf(t.dir)
    const t0 = now()
    let entries = 0
    for (let i = 0; i < t.sessions; i++) {
      const s = smallSessionJsonl(i)
      const w = await P.openJsonl(t.dir, { durable: false, mode: 'sync' })
      await w.createSession(s.id)
      w.appendTurn(s.id, s.entries)
      await w.close()
      entries += s.entries.length
    }
    return { ms: now() - t0, sessions: t.sessions, entries, disk: dirSize(t.dir) }
  },

  // Case 9: a store of format 1, as chainlog 0.1.0 laid it out, written row by row with
  // classic-level (the code under test writes only format 2): docs/storage.md sections 1, 2 and
  // 11 and TAG_V1 in src/storage/keys.ts. `sessions` sessions of `perSession` workload entries
  // (after a genesis each), entry format 1 (the bare canonical map with sorted keys, as 0.1.0
  // wrote), large strings moved to blobs as the store does (threshold 4096 bytes, profile
  // balanced). Rows: F -> {version: 1}; E ‖ hash -> record; S ‖ id ‖ 0x00 ‖ u64 seq -> hash;
  // H ‖ hash -> u64 seq ‖ id; P ‖ id -> hash ‖ u64 seq; M ‖ id -> meta; B ‖ sha256 -> blob.
  async buildV1(t) {
    const { ClassicLevel } = await import('classic-level')
    const { encodeCanonical } = await distModule('encoding/cbor.js')
    const { validateEntry } = await distModule('encoding/entry-codec.js')
    const { hashRecord, HASH_BYTES } = await distModule('encoding/hash.js')
    const { externalize, packBlob } = await distModule('blobs/blobs.js')
    const { emptyCounts, countItems, itemsOf } = await distModule('storage/session-meta.js')
    const { entries: workload } = makeWorkload(t.sessions * t.perSession)
    rmrf(t.dir)
    const db = new ClassicLevel(t.dir, { keyEncoding: 'view', valueEncoding: 'view', writeBufferSize: WRITE_BUFFER_BYTES })
    await db.open()
    const t0 = now()
    const v1 = (value) => encodeCanonical(value, 1)
    const seqKeyV1 = (id, seq) => Buffer.concat([Buffer.from([keys.TAG_V1.seq]), Buffer.from(id), Buffer.from([0]), keys.u64(seq)])
    let ops = [{ type: 'put', key: keys.formatKey(), value: v1({ version: 1 }) }]
    const flush = async (force) => {
      if (ops.length >= 4096 || (force && ops.length)) {
        await db.batch(ops)
        ops = []
      }
    }
    const written = new Set()
    let entries = 0
    let blobs = 0
    for (let s = 0; s < t.sessions; s++) {
      const id = `v1-session-${String(s).padStart(4, '0')}`
      const genesisTs = 1767225600000 + s
      const meta = { createdAt: genesisTs, updatedAt: genesisTs, counts: emptyCounts() }
      let prev = new Uint8Array(HASH_BYTES)
      const list = [{ kind: 'session_start', ts: genesisTs, sessionId: id, config: {}, history: [] }, ...toEntries(workload.slice(s * t.perSession, (s + 1) * t.perSession))]
      for (let seq = 0; seq < list.length; seq++) {
        const e = list[seq]
        countItems(meta, itemsOf(e), classify)
        meta.updatedAt = e.ts
        const onNew = (b) => {
          if (written.has(b.hex)) return
          written.add(b.hex)
          ops.push({ type: 'put', key: keys.blobKey(b.hash), value: packBlob(b.bytes, 'balanced') })
          blobs++
        }
        const stored = e.item ? { ...e, item: externalize(e.item, 4096, onNew, () => {}, ['item']) } : e.items ? { ...e, items: externalize(e.items, 4096, onNew, () => {}, ['items']) } : e
        const body = v1(validateEntry(stored))
        const record = new Uint8Array(HASH_BYTES + body.length)
        record.set(prev)
        record.set(body, HASH_BYTES)
        const hash = hashRecord(record)
        ops.push(
          { type: 'put', key: keys.entryKeyV1(hash), value: record },
          { type: 'put', key: seqKeyV1(id, seq), value: hash },
          { type: 'put', key: keys.hashKey(hash), value: keys.hashIndexValue(id, seq) },
        )
        prev = hash
        entries++
        await flush(false)
      }
      ops.push({ type: 'put', key: keys.headKey(id), value: keys.headValue(prev, list.length - 1) }, { type: 'put', key: (keys.metaKeyV3 ?? keys.metaKey)(id), value: v1(meta) })
    }
    await flush(true)
    const ms = now() - t0
    // Leave it settled, as a store at rest is: writing it this fast leaves LevelDB a backlog of
    // compactions (hundreds of MB), which the timed open would otherwise pay for. Compacting
    // the whole key range also writes out the memtable, so the open replays no log.
    const tc = now()
    await db.compactRange(Uint8Array.of(0x00), Uint8Array.of(0xff))
    const compactMs = now() - tc
    await db.close()
    return { ms, compactMs, entries, blobs, disk: dirSize(t.dir) }
  },

  // Case 9: copy the format-1 store (not timed, written out), check it is format 1, then time openStore,
  // which migrates it (to format 2, then 3) before it resolves. Then: close, check the rows (the current format,
  // every record in `R`, no `E` or `S` row left), and time a second open of the migrated store
  // (what an open costs without a migration). Verification runs in its own process after.
  async migrate(t) {
    copyDurably(t.src, t.dir)
    const before = await inspectStore(t.dir)
    if (before.format?.version !== 1 || before.E !== t.entries || before.S !== t.entries || before.R !== 0) {
      throw new Error(`the copy is not the format-1 store expected: ${JSON.stringify(before)}`)
    }
    let progress
    let calls = 0
    const t0 = now()
    const store = await chainlog.openStore({ path: t.dir, exclusive: true, onMigrate: (p) => ((progress = p), calls++) })
    const ms = now() - t0
    const tc = now()
    await store.close()
    const closeMs = now() - tc
    const after = await inspectStore(t.dir)
    if (after.format?.version !== chainlog.STORE_FORMAT_VERSION || after.format.migrating !== undefined || after.R !== t.entries || after.E !== 0 || after.S !== 0) {
      throw new Error(`the store is not format ${chainlog.STORE_FORMAT_VERSION} after the open: ${JSON.stringify(after)}`)
    }
    const t1 = now()
    const again = await chainlog.openStore({ path: t.dir, exclusive: true })
    const reopenMs = now() - t1
    await again.close()
    return { ms, closeMs, reopenMs, entries: t.entries, moved: progress?.done, progressCalls: calls, entriesPerSec: (t.entries / ms) * 1000, before, after }
  },

  // Case 9 floor: what writing the migrated data costs with nothing else: the records of a copy
  // of the format-1 store are read into memory (not timed), then written as `R` rows into a
  // fresh classic-level database with chainlog's options, in key order, 2,048 per awaited batch
  // (the migration's chunk), with nothing read or deleted; close (with its memtable flush) timed
  // apart.
  async migrateFloor(t) {
    const { ClassicLevel } = await import('classic-level')
    const BIN = { keyEncoding: 'view', valueEncoding: 'view' }
    const copy = `${t.dir}-src`
    copyDurably(t.src, copy)
    const src = new ClassicLevel(copy, { ...BIN, writeBufferSize: WRITE_BUFFER_BYTES })
    await src.open()
    const rows = []
    for await (const [k, hash] of src.iterator({ ...BIN, ...keys.tableRange(keys.TAG_V1.seq) })) rows.push([k, hash])
    const records = await src.getMany(rows.map(([, hash]) => keys.entryKeyV1(hash)), BIN)
    await src.close()
    rmrf(copy)
    rmrf(t.dir)
    const db = new ClassicLevel(t.dir, { ...BIN, writeBufferSize: WRITE_BUFFER_BYTES })
    await db.open()
    const t0 = now()
    for (let i = 0; i < rows.length; i += t.chunk) {
      const ops = []
      for (let j = i; j < Math.min(i + t.chunk, rows.length); j++) {
        const { sessionId, seq } = keys.parseRecordKey(rows[j][0])
        ops.push({ type: 'put', key: keys.recordKey(sessionId, seq), value: records[j] })
      }
      await db.batch(ops, BIN)
    }
    const ms = now() - t0
    const tc = now()
    await db.compactRange(Uint8Array.of(0x01), Uint8Array.of(0x01, 0x00))
    await db.close()
    const closeMs = now() - tc
    rmrf(t.dir)
    return { ms, closeMs, entries: rows.length, bytes: records.reduce((n, r) => n + r.length, 0), entriesPerSec: (rows.length / ms) * 1000 }
  },

  async compact(t) {
    const t0 = now()
    await P.classicCompact(t.dir)
    return { ms: now() - t0, disk: dirSize(t.dir) }
  },

  // Case 7: peak RSS of a process that opens the store and verifies it all (or only opens it).
  // Besides maxRSS, samples /proc/self/status (Linux) to split the peak into anonymous memory
  // and file-backed pages (the node binary, and LevelDB's mmap'd table files).
  async memVerify(t) {
    const peak = {}
    const sample = () => {
      try {
        const st = fs.readFileSync('/proc/self/status', 'utf8')
        for (const k of ['RssAnon', 'RssFile']) {
          const v = Number(new RegExp(`${k}:\\s+(\\d+)`).exec(st)?.[1] ?? NaN) * 1024
          if (!(v <= peak[k])) peak[k] = v
        }
      } catch {}
    }
    const timer = setInterval(sample, 20)
    const t0 = now()
    const store = await openChainlog(t.dir)
    let entries = 0
    let method = 'open + listSessions only'
    if (t.mode === 'verify') {
      const v = await verifyStore(store)
      if (!v.ok) throw new Error('verify reported problems')
      entries = v.entries
      method = v.method
    } else {
      entries = (await store.listSessions()).length
    }
    const ms = now() - t0
    sample()
    await store.close()
    clearInterval(timer)
    const ru = process.resourceUsage()
    return { ms, entries, method, maxRssBytes: ru.maxRSS * 1024, peakRssAnonBytes: peak.RssAnon ?? NaN, peakRssFileBytes: peak.RssFile ?? NaN, heapUsed: process.memoryUsage().heapUsed }
  },
  // Case 14: the tree's own work per turn, in process and alone: the call an append makes for it
  // (appendTree over the turn's entry hashes: hashes, new frontier, T rows), for `turns` turns of
  // `perTurn` entries (random hashes), after a warm-up of as many. No store, no I/O. Also the bytes
  // it allocates per turn (the young generation's growth over short runs without a collection).
  async treeWork(t) {
    const { randomBytes } = await import('node:crypto')
    const v8 = await import('node:v8')
    const { leafHash } = await distModule('proofs/merkle.js')
    const { appendTree } = await distModule('storage/tree.js')
    const hashes = Array.from({ length: t.turns * t.perTurn }, () => new Uint8Array(randomBytes(32)))
    const sid = '019b8f2e-5a10-7c3e-9d41-6e2f0a1b3c4d'
    let rows = 0
    let rowBytes = 0
    const turn = (tree, i, count) => {
      const r = appendTree(sid, tree, hashes.slice(i * t.perTurn, (i + 1) * t.perTurn))
      if (count) {
        for (const op of r.ops) {
          rows++
          rowBytes += op.key.length + op.value.length
        }
      }
      return r.state
    }
    const run = (count) => {
      let tree = { size: 1, frontier: [leafHash(new Uint8Array(32))] }
      for (let i = 0; i < t.turns; i++) tree = turn(tree, i, count)
    }
    run(false)
    const cpu0 = process.cpuUsage()
    const t0 = now()
    run(true)
    const ms = now() - t0
    const cpu = process.cpuUsage(cpu0)
    const young = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_used_size ?? NaN
    const alloc = []
    let tree = { size: 1, frontier: [leafHash(new Uint8Array(32))] }
    for (let k = 0, i = 0; k < 200 && i + 50 <= t.turns; k++) {
      const a = young()
      for (let j = 0; j < 50; j++) tree = turn(tree, i++, false)
      const b = young()
      if (b > a) alloc.push((b - a) / 50)
    }
    return { ms, usPerTurn: (ms * 1000) / t.turns, cpuUsPerTurn: (cpu.user + cpu.system) / t.turns, rows, rowBytesPerTurn: rowBytes / t.turns, allocBytesPerTurn: median(alloc) }
  },

  // Case 12: write the synthetic session files of one format (not timed; run.mjs reuses them).
  async writeTranscripts(t) {
    rmrf(t.dir)
    return writeTranscripts(t.dir, t.format, { files: t.files, turns: t.turns })
  },

  // Case 12: import every file of one format into a fresh store with importTranscript, the
  // library call behind `chainlog import --from <format>` (which opens its store with
  // durability sync). Checks that every line was imported, one session per file, no damage.
  // Bytes on disk: as the close leaves them, and after a full compaction (untimed).
  async importTranscripts(t) {
    rmrf(t.dir)
    const store = await chainlog.openStore({ path: t.dir, durability: t.durability })
    const t0 = now()
    const r = await chainlog.importTranscript(store, t.src, { from: t.format })
    const ms = now() - t0
    const tc = now()
    await store.close()
    const closeMs = now() - tc
    if (r.linesImported !== t.lines) throw new Error(`imported ${r.linesImported} lines of ${t.lines}`)
    if (r.damaged.length) throw new Error(`the import reported damage: ${JSON.stringify(r.damaged[0])}`)
    if (r.sessionsCreated.length !== t.files) throw new Error(`${r.sessionsCreated.length} sessions created for ${t.files} files`)
    const disk = dirSize(t.dir)
    await P.classicCompact(t.dir)
    const compacted = dirSize(t.dir)
    rmrf(t.dir)
    return { ms, closeMs, lines: r.linesImported, entries: r.entriesAppended, sessions: r.sessionsCreated.length, linesPerSec: (r.linesImported / ms) * 1000, bytesPerSec: (t.bytes / ms) * 1000, disk, compacted }
  },

  // Case 12 floor: what any importer does at least: read each file, split it into lines, SHA-256
  // of each line's bytes and JSON.parse of each line. Nothing stored.
  async importFloor(t) {
    const { createHash } = await import('node:crypto')
    const files = []
    const walk = (d) => {
      for (const n of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, n.name)
        if (n.isDirectory()) walk(p)
        else if (n.name.endsWith('.jsonl')) files.push(p)
      }
    }
    const t0 = now()
    walk(t.src)
    let lines = 0
    let keys = 0
    for (const f of files) {
      const buf = fs.readFileSync(f)
      let start = 0
      for (let nl = buf.indexOf(10); nl !== -1; nl = buf.indexOf(10, start)) {
        const line = buf.subarray(start, nl)
        createHash('sha256').update(line).digest('hex')
        keys += Object.keys(JSON.parse(line.toString('utf8'))).length
        lines++
        start = nl + 1
      }
    }
    const ms = now() - t0
    if (lines !== t.lines) throw new Error(`read ${lines} lines of ${t.lines}`)
    return { ms, lines, keys, linesPerSec: (lines / ms) * 1000, bytesPerSec: (t.bytes / ms) * 1000 }
  },

  // Case 13a: a LangGraph thread of `steps` supersteps on one saver (bench/lib/adapters.mjs):
  // the writes timed per step; then the saver is closed and opened again (a new process would
  // do the same) and the reads are timed: the first getTuple of the latest checkpoint (what a
  // resume does, open included), getTuple of `gets` checkpoints picked at random, list of the
  // whole thread and list with limit 10. Checks: every read returns the checkpoint asked for.
  async langgraph(t) {
    const cp = await import('@langchain/langgraph-checkpoint')
    const work = langgraphSteps(t.steps)
    rmrf(t.dir)
    fs.mkdirSync(t.dir, { recursive: true })
    let store
    const open = async () => {
      switch (t.store) {
        case 'chainlog':
        case 'chainlog-relaxed': {
          const { ChainlogSaver } = await distModule('adapters/langgraph.js')
          store = await chainlog.openStore({ path: t.dir, durability: t.store === 'chainlog' ? 'sync' : 'relaxed' })
          return new ChainlogSaver(store)
        }
        case 'sqlite': {
          const { SqliteSaver } = await import('@langchain/langgraph-checkpoint-sqlite')
          const saver = SqliteSaver.fromConnString(path.join(t.dir, 'checkpoints.db'))
          store = { close: async () => saver.db.close() }
          // What it runs with, as measured, not assumed (better-sqlite3 builds SQLite with WAL's default synchronous NORMAL).
          await saver.setup?.()
          sqliteMode = { journal: saver.db.pragma('journal_mode', { simple: true }), synchronous: ['OFF', 'NORMAL', 'FULL', 'EXTRA'][saver.db.pragma('synchronous', { simple: true })] }
          return saver
        }
        case 'memory':
          store = { close: async () => {} }
          return (t.memSaver ??= new cp.MemorySaver())
        default:
          throw new Error(`unknown saver ${t.store}`)
      }
    }
    const thread = 'bench-thread'
    let sqliteMode
    let saver = await open()
    const t0 = now()
    const cw = process.cpuUsage()
    const { ids, lat } = await langgraphWrite(saver, thread, work, cp, now)
    const writeMs = now() - t0
    const writeCpu = process.cpuUsage(cw)
    const tc = now()
    await store.close()
    const closeMs = now() - tc
    const disk = t.store === 'memory' ? undefined : dirSize(t.dir)
    const cfg = (id) => ({ configurable: { thread_id: thread, checkpoint_ns: '', ...(id ? { checkpoint_id: id } : {}) } })
    const stepOf = (tuple) => tuple?.checkpoint?.channel_values?.step
    // Resume: open again, read the latest checkpoint.
    const tr = now()
    saver = await open()
    const latest = await saver.getTuple(cfg())
    const resumeMs = now() - tr
    if (latest?.checkpoint.id !== ids[ids.length - 1] || stepOf(latest) !== ids.length - 1) throw new Error(`getTuple(latest) returned ${latest?.checkpoint.id}`)
    // Random checkpoints by id (seeded picks).
    let x = 0x2545f491
    const pick = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0), x % ids.length)
    const gets = []
    const cg = process.cpuUsage()
    for (let k = 0; k < t.gets; k++) {
      const i = pick()
      const ta = now()
      const tuple = await saver.getTuple(cfg(ids[i]))
      gets.push(now() - ta)
      if (stepOf(tuple) !== i) throw new Error(`getTuple(${ids[i]}) returned step ${stepOf(tuple)}, not ${i}`)
      if (i > 0 && i < ids.length - 1 && tuple.pendingWrites.length !== 2) throw new Error(`checkpoint ${i} has ${tuple.pendingWrites.length} pending writes, not 2`)
    }
    const getCpu = process.cpuUsage(cg)
    const tl = now()
    const cl = process.cpuUsage()
    let listed = 0
    let prev = null
    for await (const tuple of saver.list(cfg())) {
      if (prev !== null && !(tuple.checkpoint.id < prev)) throw new Error('list is not newest first')
      prev = tuple.checkpoint.id
      listed++
    }
    const listMs = now() - tl
    const listCpu = process.cpuUsage(cl)
    if (listed !== ids.length) throw new Error(`list returned ${listed} checkpoints of ${ids.length}`)
    const t10 = now()
    let n10 = 0
    for await (const _ of saver.list(cfg(), { limit: 10 })) n10++
    const list10Ms = now() - t10
    if (n10 !== 10) throw new Error(`list(limit 10) returned ${n10}`)
    await store.close()
    rmrf(t.dir)
    const steps = ids.length
    return {
      steps,
      writeMs,
      stepsPerSec: (steps / writeMs) * 1000,
      p50ms: percentile(lat, 0.5),
      p99ms: percentile(lat, 0.99),
      closeMs,
      resumeMs,
      getMs: median(gets),
      getsPerSec: 1000 / median(gets),
      listMs,
      listPerSec: (listed / listMs) * 1000,
      list10Ms,
      // CPU of this process (all its threads) per step, per getTuple and per checkpoint listed: on a
      // shared machine, steadier than the wall-clock rates.
      cpuUsPerStep: (writeCpu.user + writeCpu.system) / steps,
      cpuUsPerGet: (getCpu.user + getCpu.system) / t.gets,
      cpuUsPerListed: (listCpu.user + listCpu.system) / listed,
      disk,
      ...(sqliteMode ? { sqliteMode } : {}),
    }
  },

  // Case 13b: `turns` turns of the Agents SDK runner's calls on one session (bench/lib/adapters.mjs),
  // each timed: getItems() of the whole history, addItems(input), addItems(output). Then a new
  // session object on a reopened store (a new process would do the same): getItems() of the
  // whole history and getItems(20), timed, and checked against what was written.
  async agentsSession(t) {
    const turns = agentTurns(t.turns)
    rmrf(t.dir)
    fs.mkdirSync(t.dir, { recursive: true })
    const sdk = await import('@openai/agents')
    const sessionId = 'bench-agent-session'
    let store
    const open = async () => {
      switch (t.store) {
        case 'chainlog':
        case 'chainlog-sync': {
          const { ChainlogSession } = await distModule('adapters/openai-agents.js')
          store = await chainlog.openStore({ path: t.dir, durability: t.store === 'chainlog-sync' ? 'sync' : 'relaxed' })
          return new ChainlogSession({ store, sessionId })
        }
        case 'file': {
          const s = new SampleFileSession({ dir: t.dir, sessionId, protocol: sdk.protocol })
          store = s
          return s
        }
        case 'jsonl': {
          const s = new JsonlFileSession({ dir: t.dir, sessionId })
          store = s
          return s
        }
        case 'memory': {
          const s = (t.memSession ??= new sdk.MemorySession({ sessionId }))
          store = { close: async () => {} }
          return s
        }
        default:
          throw new Error(`unknown session ${t.store}`)
      }
    }
    let session = await open()
    const lat = []
    let items = 0
    const t0 = now()
    for (const turn of turns) {
      const ta = now()
      const history = await session.getItems()
      if (history.length !== items) throw new Error(`getItems returned ${history.length} items, not ${items}`)
      await session.addItems(turn.input)
      await session.addItems(turn.output)
      lat.push(now() - ta)
      items += turn.input.length + turn.output.length
    }
    const ms = now() - t0
    await store.close()
    const disk = t.store === 'memory' ? undefined : dirSize(t.dir)
    const tr = now()
    session = await open()
    const all = await session.getItems()
    const resumeMs = now() - tr
    const t20 = now()
    const last20 = await session.getItems(20)
    const tail20Ms = now() - t20
    const lastItem = turns[turns.length - 1].output[2]
    if (all.length !== items || last20.length !== 20) throw new Error(`after reopening: ${all.length} items (of ${items}), ${last20.length} of the last 20`)
    if (JSON.stringify(last20[19].content) !== JSON.stringify(lastItem.content)) throw new Error('the last item read back differs from the one written')
    await store.close()
    rmrf(t.dir)
    return { turns: turns.length, items, ms, turnsPerSec: (turns.length / ms) * 1000, p50ms: percentile(lat, 0.5), p99ms: percentile(lat, 0.99), lastMs: lat[lat.length - 1], resumeMs, tail20Ms, disk }
  },
}

try {
  const fn = tasks[task.task]
  if (!fn) throw new Error(`unknown task ${task.task}`)
  const result = await fn(task)
  process.stdout.write(`@@RESULT ${JSON.stringify(result)}\n`)
} catch (err) {
  process.stdout.write(`@@ERROR ${JSON.stringify({ message: String(err?.stack ?? err) })}\n`)
  process.exitCode = 1
}
