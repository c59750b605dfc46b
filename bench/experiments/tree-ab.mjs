// The Merkle tree's cost on appends, A/B in ONE process and ONE store (bench case 14's question,
// measured so that other load on the machine falls on both arms alike):
//   node bench/experiments/tree-ab.mjs [--turns 6000] [--block 50] [--durable]
// One session gets case 1's (or, with --durable, case 2's) turns; blocks of `block` turns
// alternate between the tree on (the build as is) and off (a copy of dist/ whose append plan skips
// appendTree, as case 14's no-tree build does). Per block: the main thread's CPU (schedstat),
// the process's CPU, the wall time and the collections. Between blocks, untimed, the tree is
// caught up over the turns appended with it off, so each on-block grows a complete frontier.
// The T rows of off-blocks are never written (the store's tree stays incomplete; nothing here
// reads it). Reported: per-turn sums per arm and the median of the paired ratios over
// consecutive block pairs (the first quarter of the blocks skipped as warm-up).
// Read the paired medians: a young-generation collection here costs tens of ms and comes every
// few hundred turns, so it lands in one block of a pair, and where it lands follows the block
// pattern (the untimed catch-up after each off-block allocates too), not the arm that made the
// garbage; the sums per arm carry that placement. On a 2-core machine at load 7-10 (December),
// the paired medians of three 6,000-turn runs were +3.4% to +10.1% of the main thread's CPU and
// -1.5% to +4.0% of the process's; the tree's garbage is what bench case 14's treeWork reports.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { PerformanceObserver } from 'node:perf_hooks'
import { fileURLToPath, pathToFileURL } from 'node:url'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const REPO = path.join(HERE, '..', '..')
const argv = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`)
  return i === -1 ? dflt : Number(argv[i + 1])
}
const turns = opt('turns', 6000)
const block = opt('block', 50)
const durable = argv.includes('--durable')

// A copy of dist/ whose append plan asks a switch in globalThis (bench-side only).
const dist = fs.mkdtempSync(path.join(REPO, 'bench', 'results', '.dist-tree-ab-'))
fs.cpSync(path.join(REPO, 'dist'), dist, { recursive: true })
const planFile = path.join(dist, 'storage', 'append-plan.js')
const src = fs.readFileSync(planFile, 'utf8')
const call = 'const grown = appendTree(sessionId, input.tree, hashes);'
if (!src.includes(call)) throw new Error('dist/storage/append-plan.js no longer has `' + call + '`: update this experiment')
fs.writeFileSync(
  planFile,
  `const AB = (globalThis[Symbol.for('chainlog.bench.treeAB')] ??= { off: false, base: new Map(), pending: new Map(), fixed: new Map() });\n` +
    src.replace(
      call,
      `let grown;
    if (AB.off) {
        if (!AB.base.has(sessionId)) {
            const fixed = AB.fixed.get(sessionId);
            AB.fixed.delete(sessionId);
            AB.base.set(sessionId, fixed && fixed.size === input.tree.size ? fixed : input.tree);
            AB.pending.set(sessionId, []);
        }
        AB.pending.get(sessionId).push(...hashes);
        grown = { state: { size: input.tree.size + hashes.length, frontier: input.tree.frontier }, ops: [] };
    } else {
        const fixed = AB.fixed.get(sessionId);
        if (fixed) AB.fixed.delete(sessionId);
        grown = appendTree(sessionId, fixed && fixed.size === input.tree.size ? fixed : input.tree, hashes);
    }`,
    ),
)
process.env.CHAINLOG_BENCH_DIST = dist
const AB = (globalThis[Symbol.for('chainlog.bench.treeAB')] ??= { off: false, base: new Map(), pending: new Map(), fixed: new Map() })
const { openChainlog, turnItems } = await import('../lib/chainlog.mjs')
const { appendTree } = await import(pathToFileURL(path.join(dist, 'storage', 'tree.js')).href)
const { makeWorkload, TURN_SIZE } = await import('../lib/workload.mjs')

const mainNs = () => Number(fs.readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0])
let collections = 0
const obs = new PerformanceObserver((list) => void (collections += list.getEntries().length))
obs.observe({ entryTypes: ['gc'] })

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chainlog-tree-ab-'))
const store = await openChainlog(dir, { durability: durable ? 'sync' : 'relaxed' })
const { entries } = makeWorkload(turns * TURN_SIZE)
const id = '019b8f2e-5a10-7c3e-9d41-6e2f0a1b3c4d'
let head = (await store.createSession({ sessionId: id, ts: 1767225600000 })).head
const blocks = []
let next = 0
async function runBlock(on) {
  AB.off = !on
  const g0 = collections
  const m0 = mainNs()
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  for (let j = 0; j < block; j++, next++) {
    const turn = entries.slice(next * TURN_SIZE, (next + 1) * TURN_SIZE)
    head = (await store.appendTurn(id, turnItems(turn), { ts: turn[0].ts, expectedHead: head })).head
  }
  const ms = performance.now() - t0
  const c = process.cpuUsage(c0)
  blocks.push({ on, mainUs: (mainNs() - m0) / 1000 / block, cpuUs: (c.user + c.system) / block, wallUs: (ms * 1000) / block, gcs: collections - g0 })
  if (!on) {
    // Catch the tree up (untimed) so that the next on-block starts from a complete frontier.
    const base = AB.base.get(id)
    AB.fixed.set(id, appendTree(id, base, AB.pending.get(id)).state)
    AB.base.delete(id)
    AB.pending.delete(id)
  }
}
for (let b = 0; next + 2 * block <= turns; b++) {
  // ABBA order, so that neither arm always runs first after a switch.
  const first = b % 2 === 0
  await runBlock(first)
  await runBlock(!first)
}
await store.close()
obs.disconnect()
fs.rmSync(dir, { recursive: true, force: true })
fs.rmSync(dist, { recursive: true, force: true })

const med = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? s[s.length >> 1] : NaN
}
// Skip the first quarter (JIT warm-up), then pair consecutive blocks.
const kept = blocks.slice(Math.floor(blocks.length / 4) & ~1)
const pairs = []
for (let i = 0; i + 1 < kept.length; i += 2) {
  const on = kept[i].on ? kept[i] : kept[i + 1]
  const off = kept[i].on ? kept[i + 1] : kept[i]
  pairs.push({ main: on.mainUs / off.mainUs - 1, cpu: on.cpuUs / off.cpuUs - 1, wall: on.wallUs / off.wallUs - 1 })
}
const sum = (arm, k) => kept.filter((b) => b.on === arm).reduce((s, b) => s + b[k], 0)
const n = kept.length / 2
const pct = (x) => `${(x * 100).toFixed(1)}%`
console.log(
  JSON.stringify({
    durable,
    turns,
    block,
    pairs: pairs.length,
    mainUsPerTurn: { on: +(sum(true, 'mainUs') / n).toFixed(1), off: +(sum(false, 'mainUs') / n).toFixed(1) },
    cpuUsPerTurn: { on: +(sum(true, 'cpuUs') / n).toFixed(1), off: +(sum(false, 'cpuUs') / n).toFixed(1) },
    wallUsPerTurn: { on: +(sum(true, 'wallUs') / n).toFixed(1), off: +(sum(false, 'wallUs') / n).toFixed(1) },
    collections: { on: sum(true, 'gcs'), off: sum(false, 'gcs') },
    treeAdds: {
      mainMeanRatio: pct(sum(true, 'mainUs') / sum(false, 'mainUs') - 1),
      mainPairedMedian: pct(med(pairs.map((p) => p.main))),
      cpuMeanRatio: pct(sum(true, 'cpuUs') / sum(false, 'cpuUs') - 1),
      cpuPairedMedian: pct(med(pairs.map((p) => p.cpu))),
      wallMeanRatio: pct(sum(true, 'wallUs') / sum(false, 'wallUs') - 1),
      wallPairedMedian: pct(med(pairs.map((p) => p.wall))),
    },
  }),
)
