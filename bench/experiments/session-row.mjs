// What listing sessions would cost with one row per session (head, metadata and usage totals in
// one value), or two (the usage totals in the metadata row), against today's three tables (`P`,
// `M`, `U`), on a store of many small sessions
// (bench case 10's: `node bench/worker.mjs '{"task":"buildMany","dir":DIR,"sessions":20000}'`).
// The one-row table is written from the store's own rows into a scratch database; both listings
// then run through the same engine (LevelEngine.scan), decode with the same decoder and build
// the same rows (id, head, length, metadata, usage by model), newest first, alternating,
// CPU time per session.
//   npm run build && node bench/experiments/session-row.mjs <store dir> [rounds=7]
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ClassicLevel } from 'classic-level'

const dist = path.resolve(import.meta.dirname, '..', '..', 'dist')
const { openStore } = await import(path.join(dist, 'index.js'))
const { LevelEngine } = await import(path.join(dist, 'storage', 'level-engine.js'))
const K = await import(path.join(dist, 'storage', 'keys.js'))
const { decodeCbor, encodeCanonical } = await import(path.join(dist, 'encoding', 'cbor.js'))
const { toHex } = await import(path.join(dist, 'encoding', 'hash.js'))
const { sessionRows } = await import(path.join(dist, 'views', 'rows.js'))
const { forEachSession } = await import(path.join(dist, 'storage', 'list-sessions.js'))

const dir = process.argv[2]
const rounds = Number(process.argv[3] ?? 7)
if (!dir) throw new Error('usage: node bench/experiments/session-row.mjs <store dir> [rounds]')
const store = await openStore({ path: dir, exclusive: true })
const sessions = await store.listSessions()
const usage = await store.usageBySession()

// The one-row layout: P ‖ id -> head hash (32) ‖ u64 seq ‖ CBOR({ ...metadata, usage }); the
// two-row layout: Q ‖ id -> head hash ‖ u64 seq, and N ‖ id -> CBOR({ ...metadata, usage }).
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'session-row-'))
const db = new ClassicLevel(scratch, { keyEncoding: 'view', valueEncoding: 'view' })
await db.open()
const metaRows = new Map()
for await (const rows of store.engine.scan(K.tableRange(K.TAG.meta), 1024)) for (const [k, v] of rows) metaRows.set(K.sessionIdFromKey(k), decodeCbor(v))
let batch = db.batch()
for (const s of sessions) {
  const meta = { ...metaRows.get(s.sessionId), usage: usage[s.sessionId] ?? {} }
  const headValue = K.headValue(Buffer.from(s.head, 'hex'), s.length - 1)
  const value = Buffer.concat([headValue, encodeCanonical(meta)])
  batch.put(K.headKey(s.sessionId), value)
  const id = K.headKey(s.sessionId).subarray(1)
  batch.put(Buffer.concat([Buffer.from('Q'), id]), headValue)
  batch.put(Buffer.concat([Buffer.from('N'), id]), encodeCanonical(meta))
  if (batch.length >= 1000) {
    await batch.write()
    batch = db.batch()
  }
}
await batch.write()
await db.compactRange(new Uint8Array([0]), new Uint8Array([0xff]))
const one = new LevelEngine(db)

async function threeTables() {
  return sessionRows(store)
}
async function oneRow() {
  const out = []
  for await (const rows of one.scan(K.tableRange(K.TAG.head), 1024)) {
    for (const [k, v] of rows) {
      const { hash, seq } = K.parseHeadValue(v)
      const { usage: u, ...meta } = decodeCbor(v.subarray(40))
      out.push({ sessionId: K.sessionIdFromKey(k), head: toHex(hash), length: seq + 1, createdAt: meta.createdAt, updatedAt: meta.updatedAt, firstUserMessage: meta.firstUserMessage ?? null, counts: meta.counts, origin: null, usageTotals: u })
    }
  }
  out.sort((a, b) => b.updatedAt - a.updatedAt || (a.sessionId < b.sessionId ? -1 : 1))
  return out
}

// forEachSession merges the `P` and `M` scans by id; here it reads `Q` and `N` of the scratch database.
const twoTableEngine = (e) => ({ scan: (range, ...rest) => e.scan({ ...range, gte: retag(range.gte), lt: retag(range.lt) }, ...rest) })
const retag = (k) => { const c = Uint8Array.from(k); c[0] = c[0] === K.TAG.head ? 0x51 : c[0] === K.TAG.head + 1 ? 0x52 : c[0] === K.TAG.meta ? 0x4e : c[0] === K.TAG.meta + 1 ? 0x4f : c[0]; return c }
async function twoTables() {
  const out = []
  await forEachSession(twoTableEngine(one), (key, headValue, metaValue) => {
    const { hash, seq } = K.parseHeadValue(headValue)
    const { usage: u, ...meta } = decodeCbor(metaValue)
    out.push({ sessionId: K.sessionIdFromKey(key), head: toHex(hash), length: seq + 1, createdAt: meta.createdAt, updatedAt: meta.updatedAt, firstUserMessage: meta.firstUserMessage ?? null, counts: meta.counts, origin: null, usageTotals: u })
  })
  out.sort((a, b) => b.updatedAt - a.updatedAt || (a.sessionId < b.sessionId ? -1 : 1))
  return out
}

const a = await threeTables()
const a2 = await twoTables()
if (a2.length !== a.length) throw new Error(`two tables listed ${a2.length} sessions`)
const b = await oneRow()
if (a.length !== b.length || JSON.stringify(a.map((r) => [r.sessionId, r.head, r.usageTotals])) !== JSON.stringify(b.map((r) => [r.sessionId, r.head, r.usageTotals]))) throw new Error('the two listings differ')
const cpu = { three: [], two: [], one: [] }
const arms = [['three', threeTables], ['two', twoTables], ['one', oneRow]]
for (let r = 0; r < rounds; r++) {
  for (const [name, f] of r % 2 ? [...arms].reverse() : arms) {
    const c0 = process.cpuUsage()
    await f()
    const c = process.cpuUsage(c0)
    cpu[name].push((c.user + c.system) / sessions.length)
  }
}
const med = (x) => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)]
const pct = (x) => `${((med(x) / med(cpu.three)) * 100).toFixed(0)}%`
console.log(`${sessions.length} sessions, CPU per session, median of ${rounds}: three tables (today) ${med(cpu.three).toFixed(1)} µs; two (usage in the metadata row) ${med(cpu.two).toFixed(1)} µs (${pct(cpu.two)}); one row ${med(cpu.one).toFixed(1)} µs (${pct(cpu.one)})`)
await one.close()
await store.close()
fs.rmSync(scratch, { recursive: true, force: true })
