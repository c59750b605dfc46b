// Where an append's garbage comes from: case 1's turns appended to a store on a memory database
// that drops large values (the chainlog-mem floor of bench/worker.mjs), with V8's sampling heap
// profiler keeping the samples of objects that were collected too, so the profile shows every
// allocation of the measured turns, live or not. Prints bytes allocated per turn by function
// (self) and by stack frame (inclusive), top N.
//   node bench/experiments/append-alloc.mjs [turns=3000] [top=30] [store directory | postgres]
import { Session } from 'node:inspector/promises'
import { PerformanceObserver, constants } from 'node:perf_hooks'
import { MemoryLevel } from 'memory-level'
import { chainlog, classify, turnItems } from '../lib/chainlog.mjs'
import { makeWorkload, TURN_SIZE } from '../lib/workload.mjs'

const turns = Number(process.argv[2] ?? 3000)
const top = Number(process.argv[3] ?? 30)
class SinkLevel extends MemoryLevel {
  async _batch(ops, options) {
    return super._batch(ops.filter((op) => op.type !== 'put' || op.value.length <= 512), options)
  }
}
// A third argument: a real store directory (classic-level, relaxed), or `postgres` for a store on
// a throwaway PostgreSQL cluster (bench/lib/pg-cluster.mjs; durability sync, as case 15a).
const where = process.argv[4]
let cluster
if (where === 'postgres') cluster = await (await import('../lib/pg-cluster.mjs')).startBenchCluster()
const store = cluster
  ? await chainlog.openStore({ postgres: { connectionString: cluster.connectionString }, durability: 'sync', classify })
  : where
    ? await chainlog.openStore({ path: where, durability: 'relaxed', classify })
    : await chainlog.openStore({ db: new SinkLevel(), durability: 'relaxed', classify, blobs: { profile: 'low-latency' } })
const { entries } = makeWorkload(3 * turns * TURN_SIZE)
const { head: h0 } = await store.createSession({ sessionId: 's', ts: 1767225600000 })
let head = h0
let t = 0
async function run(n) {
  for (let i = 0; i < n; i++, t++) {
    const turn = entries.slice(t * TURN_SIZE, (t + 1) * TURN_SIZE)
    head = (await store.appendTurn('s', turnItems(turn), { ts: turn[0].ts, expectedHead: head })).head
  }
}
await run(turns) // warm up: JIT, caches
// Collections during a second, unprofiled run of as many turns: count and pause time by kind.
const gcs = {}
const obs = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = { [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge', [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact', [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental', [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak' }[e.detail.kind] ?? String(e.detail.kind)
    const g = (gcs[kind] ??= { count: 0, ms: 0 })
    g.count++
    g.ms += e.duration
  }
})
obs.observe({ entryTypes: ['gc'] })
const cpu0 = process.cpuUsage()
await run(turns)
const cpu = process.cpuUsage(cpu0)
await new Promise((r) => setTimeout(r, 50))
obs.disconnect()
console.log(`process CPU per turn: ${((cpu.user + cpu.system) / turns).toFixed(0)} us; collections over ${turns} turns:`, Object.entries(gcs).map(([k, g]) => `${k} ${g.count} (${(g.ms * 1000 / turns).toFixed(0)} us/turn)`).join(', '))
const session = new Session()
session.connect()
await session.post('HeapProfiler.enable')
await session.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
await run(turns)
const { profile } = await session.post('HeapProfiler.stopSampling')
await store.close()
await cluster?.destroy()

const self = new Map()
const incl = new Map()
let total = 0
function walk(node, stack) {
  const name = `${node.callFrame.functionName || '(anon)'} ${node.callFrame.url.split('/').slice(-2).join('/')}:${node.callFrame.lineNumber + 1}`
  const size = node.selfSize
  total += size
  self.set(name, (self.get(name) ?? 0) + size)
  const here = stack.includes(name) ? stack : [...stack, name]
  let sub = size
  for (const c of node.children) sub += walk(c, here)
  if (!stack.includes(name)) incl.set(name, (incl.get(name) ?? 0) + sub)
  return sub
}
walk(profile.head, [])
const perTurn = (b) => (b / turns / 1024).toFixed(2).padStart(8) + ' KiB'
console.log(`allocated per turn (sampled, ${TURN_SIZE} entries): ${perTurn(total)}`)
console.log('\nself:')
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(perTurn(v), k)
console.log('\ninclusive:')
for (const [k, v] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(perTurn(v), k)
