// A/B of proposed src/ changes, emulated from outside the library (issue #8 follow-up).
// Not part of `npm run bench`: it reaches into internals (store.local.writer) that
// may change, so treat a failure here as "the emulation needs updating", not as a bench failure.
//
//   node bench/experiments/proposals.mjs [--reps 3] [--turns 3000] [--only append,concurrent,read]
//
// Variants (combined with '+'):
//   default   openStore as shipped (blobs: threshold 4096, profile 'balanced' = brotli q1 from 32 KiB)
//   lowlat    blobs: { profile: 'low-latency' }   (no brotli; LevelDB's Snappy still applies)
//   noblob    blobs: { threshold: 0 }             (no blob externalisation at all)
//   pipe      relaxed appends resolve once their ops are queued for the single in-flight
//             LevelDB batch (write-behind, order kept, queued turns merged into one batch)
// Each (variant, repetition) runs in its own process; peers (raw classic-level, SQLite) run
// through bench/worker.mjs in the same loop for reference.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { median, parseArgs } from '../lib/util.mjs'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const args = parseArgs()

if (args.child) {
  await child(JSON.parse(args.child))
} else {
  await main()
}

async function child(t) {
  const { makeWorkload } = await import('../lib/workload.mjs')
  const { chainlog, classify, toEntries } = await import('../lib/chainlog.mjs')
  const v = new Set(t.variant.split('+'))
  const opts = { path: t.dir, durability: t.durability, classify }
  if (v.has('lowlat')) opts.blobs = { profile: 'low-latency' }
  if (v.has('noblob')) opts.blobs = { threshold: 0 }
  const open = async () => {
    const store = await chainlog.openStore(opts)
    const L = store.local ?? store
    if (v.has('pipe')) {
      const pending = []
      let writing = null
      const drain = async () => {
        while (pending.length) {
          const group = pending.splice(0)
          await L.db.batch(group.flat(), { keyEncoding: 'view', valueEncoding: 'view', sync: t.durability === 'sync' })
        }
        writing = null
      }
      L.writer.write = (ops) => {
        if (ops.length) pending.push(ops)
        if (!writing) writing = drain()
        return ops.length ? Promise.resolve() : writing
      }
    }
    return store
  }
  fs.rmSync(t.dir, { recursive: true, force: true })
  const S = t.sessions
  const T = t.turns
  const { entries } = makeWorkload(S * T * 5)
  let store = await open()
  const ids = []
  for (let k = 0; k < S; k++) {
    const r = await store.createSession({ ts: 1767225600000 })
    ids.push([r.sessionId, r.head])
  }
  const out = { variant: t.variant }
  if (t.kind === 'read') {
    // one session of S*T*5 workload entries, then restore and full verify
    const [sid] = ids[0]
    let head = ids[0][1]
    for (let i = 0; i < S * T * 5; i += 5) head = (await store.appendMany(sid, toEntries(entries.slice(i, i + 5)), { expectedHead: head })).head
    await store.close()
    store = await open()
    const restore = []
    for (let i = 0; i < 6; i++) {
      const t0 = performance.now()
      await store.restore(sid)
      if (i) restore.push(performance.now() - t0)
    }
    const t0 = performance.now()
    const rep = await store.verify()
    out.verifyEntriesPerSec = (rep.checked.entries / (performance.now() - t0)) * 1000
    out.restoreMs = median(restore)
    await store.close()
  } else {
    const t0 = performance.now()
    await Promise.all(
      ids.map(async ([sid, head], k) => {
        for (let i = 0; i < T; i++) {
          const b = (k * T + i) * 5
          const turn = entries.slice(b, b + 5)
          head = (await store.appendTurn(sid, turn.map((e) => e.item), { ts: turn[0].ts, expectedHead: head })).head
        }
      }),
    )
    out.turnsPerSec = ((S * T) / (performance.now() - t0)) * 1000
    await store.close()
  }
  fs.rmSync(t.dir, { recursive: true, force: true })
  process.stdout.write(`@@RESULT ${JSON.stringify(out)}\n`)
}

function run(file, argv) {
  const r = spawnSync(process.execPath, [file, ...argv], { encoding: 'utf8', maxBuffer: 1 << 24 })
  const line = r.stdout.split('\n').find((l) => l.startsWith('@@RESULT '))
  if (!line) throw new Error(`${path.basename(file)} failed: ${r.stderr.slice(-1000)}`)
  return JSON.parse(line.slice(9))
}

async function main() {
  const reps = Number(args.reps ?? 3)
  const turns = Number(args.turns ?? 3000)
  const only = new Set(String(args.only ?? 'append,concurrent,read').split(','))
  const root = path.join((await import('node:os')).tmpdir(), 'chainlog-bench', `proposals-${process.pid}`)
  const peer = (spec) => run(path.join(HERE, '..', 'worker.mjs'), [JSON.stringify({ task: 'append', dir: path.join(root, 'peer'), ...spec })])
  const self = (t) => run(fileURLToPath(import.meta.url), ['--child', JSON.stringify({ dir: path.join(root, 'chainlog'), ...t })])
  const table = (title, rows, unit) => {
    console.log(`\n${title}`)
    for (const [k, xs] of Object.entries(rows)) console.log(`  ${k.padEnd(28)} ${unit} median ${Math.round(median(xs)).toLocaleString('en-US').padStart(7)}  runs ${xs.map((x) => Math.round(x)).join(', ')}`)
  }
  if (only.has('append')) {
    const rows = {}
    for (let r = 0; r < reps; r++) {
      for (const variant of ['default', 'lowlat', 'noblob', 'pipe', 'lowlat+pipe']) {
        ;(rows[`chainlog ${variant}`] ??= []).push(self({ variant, durability: 'relaxed', sessions: 1, turns }).turnsPerSec)
      }
      ;(rows['classic-level, no sync'] ??= []).push(peer({ store: 'classic', durable: false, sessions: 1, turns }).turnsPerSec)
      ;(rows['SQLite NORMAL'] ??= []).push(peer({ store: 'sqlite', durable: false, sessions: 1, turns }).turnsPerSec)
    }
    table(`case 1 shape: one session, relaxed, ${turns} turns`, rows, 'turns/s')
  }
  if (only.has('concurrent')) {
    const rows = {}
    const T = Math.max(20, Math.round(turns / 20))
    for (let r = 0; r < reps; r++) {
      for (const variant of ['default', 'lowlat', 'noblob']) {
        ;(rows[`chainlog ${variant}`] ??= []).push(self({ variant, durability: 'sync', sessions: 16, turns: T }).turnsPerSec)
      }
      ;(rows['classic-level, sync'] ??= []).push(peer({ store: 'classic', durable: true, sessions: 16, turns: T }).turnsPerSec)
      ;(rows['JSONL async + fsync'] ??= []).push(peer({ store: 'jsonl', mode: 'async', durable: true, sessions: 16, turns: T }).turnsPerSec)
    }
    table(`case 3 shape: 16 sessions x ${T} turns, durable`, rows, 'turns/s')
  }
  if (only.has('read')) {
    const restore = {}
    const verify = {}
    for (let r = 0; r < reps; r++) {
      for (const variant of ['default', 'lowlat', 'noblob']) {
        const x = self({ kind: 'read', variant, durability: 'relaxed', sessions: 1, turns: 1000 })
        ;(restore[variant] ??= []).push(x.restoreMs)
        ;(verify[variant] ??= []).push(x.verifyEntriesPerSec)
      }
    }
    table('restore of a 5,000-entry session, data written with each blob setting', restore, 'ms')
    table('store.verify() of that store', verify, 'entries/s')
  }
  fs.rmSync(root, { recursive: true, force: true })
}
