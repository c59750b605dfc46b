// Blob compression profiles on the bench workload: appends (time and CPU per turn of 5 workload
// entries), a verified read of the whole session after a full compaction, and bytes on disk per
// entry, for 'balanced' (brotli for blobs of 32 KiB and more) against 'low-latency' (raw; LevelDB
// compresses blocks with Snappy), twice each, in one process.
//   npm run build && node bench/experiments/blob-profile.mjs [entries=20000]
import { makeWorkload, TURN_SIZE } from '../lib/workload.mjs'
import { chainlog, classify, toEntries } from '../lib/chainlog.mjs'
import { dirSize } from '../lib/util.mjs'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
const N = Number(process.argv[2] ?? 20000)
const { entries } = makeWorkload(N)
const es = toEntries(entries)
for (const profile of ['balanced', 'low-latency', 'balanced', 'low-latency']) {
  const dir = path.join(os.tmpdir(), `chainlog-blob-profile-${process.pid}-${profile}`)
  fs.rmSync(dir, { recursive: true, force: true })
  const s = await chainlog.openStore({ path: dir, exclusive: true, durability: 'relaxed', classify, blobs: { profile } })
  let r = await s.createSession({ sessionId: 's', ts: 1 })
  const c0 = process.cpuUsage(); const t0 = performance.now()
  for (let i = 0; i < es.length; i += TURN_SIZE) r = await s.appendMany('s', es.slice(i, i + TURN_SIZE), { expectedHead: r.head })
  const ms = performance.now() - t0; const c = process.cpuUsage(c0)
  await s.close()
  const { ClassicLevel } = await import('classic-level')
  const db = new ClassicLevel(dir); await db.open(); await db.compactRange(new Uint8Array([0]), new Uint8Array([255])); await db.close()
  const r0 = performance.now()
  const s2 = await chainlog.openStore({ path: dir, exclusive: true, classify })
  let n = 0
  for await (const _ of s2.entries('s', { verify: true })) n++
  const readMs = performance.now() - r0
  await s2.close()
  const size = dirSize(dir).apparent
  fs.rmSync(dir, { recursive: true, force: true })
  console.log(profile.padEnd(12), 'append', (ms * 1000 / (N / 5)).toFixed(0), 'µs/turn cpu', ((c.user + c.system) / (N / 5)).toFixed(0), 'read', readMs.toFixed(0), 'ms', 'B/entry', (size / N).toFixed(0))
}
