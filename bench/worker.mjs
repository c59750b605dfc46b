// One measurement in its own process: `node bench/worker.mjs '<json task>'`.
// run.mjs spawns one of these per (case, store, repetition) so that stores do not share a heap,
// a page-cache-warm JIT or a LevelDB lock; the result is printed as one `@@RESULT {...}` line.
import fs from 'node:fs'
import path from 'node:path'
import { randomUUID } from 'node:crypto'
import { makeWorkload, TURN_SIZE } from './lib/workload.mjs'
import { dirSize, now, percentile, rmrf, median } from './lib/util.mjs'
import * as P from './lib/peers.mjs'
import { WRITE_BUFFER_BYTES, chainlog, classify, keys, localStore, openChainlog, readAllVerified, toEntries, turnItems, verifyMethod, verifyStore } from './lib/chainlog.mjs'

const task = JSON.parse(process.argv[2])

// ------------------------------------------------------------------------------ adapters
// A writer for the append cases: appendTurn(sessionId, 5 workload entries) -> maybe a promise.
async function openWriter(spec, dir) {
  switch (spec.store) {
    case 'chainlog':
      return chainlogWriter(await openChainlog(dir, { durability: spec.durable ? 'sync' : 'relaxed' }))
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
      const store = await chainlog.openStore({ db: new SinkLevel(), durability: spec.durable ? 'sync' : 'relaxed', classify })
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
    stats: () => ({ entriesWritten: written, batches: localStore(store).engine?.stats.batches }),
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
  const mem = await chainlog.openStore({ db: new MemoryLevel(), durability: 'relaxed', classify })
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
    const disk = dirSize(t.dir)
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
      disk,
      ...extra,
    }
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
