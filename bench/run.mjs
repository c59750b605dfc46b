// chainlog side-by-side benchmark (issue #8): `npm run bench` (full, ~20-30 min, writes
// docs/benchmarks.md) or `npm run bench -- --quick` (smoke run, ~1-2 min, writes
// bench/results/benchmarks-quick.md). Every figure is measured in this run, for chainlog and
// its peers (JSONL, SQLite WAL via better-sqlite3, raw classic-level), on the same seeded
// workload; each measurement runs in its own child process (bench/worker.mjs).
//
// Options:
//   --quick            small counts, 1 repetition
//   --out FILE         report path (default: docs/benchmarks.md, or bench/results/benchmarks-quick.md with --quick)
//   --reps N           repetitions (processes) per figure (default 5; 1 with --quick)
//   --only 1,2,...     run only these cases (the report marks the others "not run")
//   --c13-steps N      steps of the LangGraph thread in case 13a (default 3,000)
//   --data-dir DIR     where stores are written (default <tmpdir>/chainlog-bench/run-<pid>); removed at the end
//   --keep             keep the data directory
//   --profile          run chainlog's workers under `node --cpu-prof` (profiles in bench/results/profiles/)
//   --report-only FILE rebuild the report from a results JSON written by an earlier run
//
// Case 15 (PostgreSQL) starts its own throwaway cluster (bench/lib/pg-cluster.mjs) and stops it at
// the end; without PostgreSQL's server binaries it is skipped, and the report says why.
import { spawn, execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { benchRoot, dirSize, fmt, parseArgs, rmrf, stats } from './lib/util.mjs'
import { renderReport } from './lib/report.mjs'
import { pgUnavailable, serverCpuMs, startBenchCluster } from './lib/pg-cluster.mjs'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const REPO = path.join(HERE, '..')
const RESULTS_DIR = path.join(HERE, 'results')
const args = parseArgs()

if (args['report-only']) {
  const R = JSON.parse(fs.readFileSync(args['report-only'], 'utf8'))
  const out = args.out ?? (R.params.quick ? path.join(RESULTS_DIR, 'benchmarks-quick.md') : path.join(REPO, 'docs', 'benchmarks.md'))
  fs.writeFileSync(out, renderReport(R))
  console.error(`report written to ${out}`)
  process.exit(0)
}

const quick = !!args.quick
const FULL = {
  reps: 5,
  c1Turns: 6000, // 30,000 workload entries per repetition
  c2Turns: 1000, // 5,000 entries, one fsync per turn
  c3Sessions: 16,
  c3Turns: 150, // 16 x 150 turns = 12,000 entries
  big: 100_000,
  medium: 5_000,
  small: 10,
  readReps: 3,
  restoreIters: 7,
  tailIters: 21,
  tailN: 100,
  forkIters: 40,
  jsonlForkIters: 2,
  memSessions: 10,
  memPerSession: 100_000,
  memReps: 2,
  c8Iters: 10, // timed spawns of each command per repetition
  cliWarmup: 1, // untimed rounds in the first repetition of cases 8 and 10 (its output is checked)
  c9Sessions: 10,
  c9PerSession: 10_000, // 10 x 10,000 workload entries (+ 10 genesis entries) in format 1
  c10Sessions: 20_000,
  c10Iters: 2, // timed rounds of the 6 commands per repetition
  c12Files: 4, // synthetic session files per format (~1,500-2,000 lines each, bench/lib/transcripts.mjs)
  c12Turns: null, // turns per file: the format's default (TURNS_PER_FILE)
  c13Steps: 3_000, // LangGraph supersteps (checkpoints) in the thread; the issue's 10,000: --c13-steps 10000 (case 13a took 7.6 min alone at 10,000 against 2.6-4.4 at 3,000, on a loaded machine: the four savers write every step in each repetition)
  c13Gets: 200, // getTuple calls of random checkpoints after the writes
  c13Turns: 200, // Agents SDK turns (4 items each)
  c15aTurns: 1000, // single-session durable appends on PostgreSQL (as case 2)
  c15bProcs: 4, // writer processes of case 15b
  c15bSessions: 64, // sessions in all (16 per process)
  c15bTurns: 40, // turns per session: 2,560 turns (~54 MB of workload) per repetition
  c15cSessions: 10,
  c15cPerSession: 2_000, // 20,000 workload entries to verify
}
const QUICK = {
  reps: 1,
  c1Turns: 300,
  c2Turns: 60,
  c3Sessions: 16,
  c3Turns: 10,
  big: 5_000,
  medium: 1_000,
  small: 10,
  readReps: 1,
  restoreIters: 3,
  tailIters: 5,
  tailN: 100,
  forkIters: 5,
  jsonlForkIters: 1,
  memSessions: 2,
  memPerSession: 10_000,
  memReps: 1,
  c8Iters: 2,
  c9Sessions: 5,
  c9PerSession: 1_000,
  c10Sessions: 500,
  c10Iters: 1,
  cliWarmup: 0,
  c12Files: 1,
  c12Turns: 6,
  c13Steps: 200,
  c13Gets: 20,
  c13Turns: 20,
  c15aTurns: 30,
  c15bProcs: 4,
  c15bSessions: 64,
  c15bTurns: 2,
  c15cSessions: 2,
  c15cPerSession: 100,
}
const P = { ...(quick ? QUICK : FULL), quick }
// Case 13a at another thread length (e.g. `--only 13 --c13-steps 10000`, the issue's length).
if (args['c13-steps']) P.c13Steps = Number(args['c13-steps'])
if (args.reps) {
  P.reps = Number(args.reps)
  P.readReps = Math.min(P.readReps, P.reps)
}
const only = args.only ? new Set(String(args.only).split(',').map(Number)) : null
const want = (c) => !only || only.has(c)
const outPath = path.resolve(args.out ?? (quick ? path.join(RESULTS_DIR, 'benchmarks-quick.md') : path.join(REPO, 'docs', 'benchmarks.md')))
const root = path.resolve(args['data-dir'] ?? path.join(benchRoot(), `run-${process.pid}`))
const profileDir = args.profile ? path.join(RESULTS_DIR, 'profiles') : null

const log = (...a) => console.error(`[bench ${((performance.now() - T0) / 1000).toFixed(0).padStart(4)}s]`, ...a)
const T0 = performance.now()

// ------------------------------------------------------------------------------ dist snapshot
const distSrc = path.join(REPO, 'dist')
if (!fs.existsSync(path.join(distSrc, 'index.js'))) {
  console.error('dist/index.js is missing: run `npm run build` first')
  process.exit(2)
}
fs.mkdirSync(RESULTS_DIR, { recursive: true })
const distSnap = path.join(RESULTS_DIR, `.dist-${process.pid}`)
fs.cpSync(distSrc, distSnap, { recursive: true })

let distNoTree = null
function cleanup() {
  rmrf(distSnap)
  if (distNoTree) rmrf(distNoTree)
  if (!args.keep) rmrf(root)
}
process.on('SIGINT', () => {
  cleanup()
  process.exit(130)
})

// ------------------------------------------------------------------------------ workers
let workerSeq = 0
function runWorker(task, { profile = false, label = task.task, dist = distSnap } = {}) {
  const execArgv = []
  if (profile && profileDir) {
    fs.mkdirSync(profileDir, { recursive: true })
    execArgv.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${label.replace(/[^a-z0-9.-]+/gi, '_')}-${++workerSeq}.cpuprofile`)
  }
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...execArgv, path.join(HERE, 'worker.mjs'), JSON.stringify(task)], {
      env: { ...process.env, CHAINLOG_BENCH_DIST: dist },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 15 * 60_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      const line = out.split('\n').find((l) => l.startsWith('@@RESULT ') || l.startsWith('@@ERROR '))
      if (line?.startsWith('@@RESULT ')) return resolve(JSON.parse(line.slice(9)))
      const msg = line ? JSON.parse(line.slice(8)).message : `worker exited with ${code}: ${err.slice(-2000)}`
      log(`FAILED ${label}: ${msg.split('\n')[0]}`)
      resolve({ error: msg.slice(0, 2000) })
    })
  })
}

/** Run `fn(store, rep)` for every store, every repetition, rotating the order each repetition. */
async function interleaved(stores, reps, fn) {
  const out = Object.fromEntries(stores.map((s) => [s.key, []]))
  for (let r = 0; r < reps; r++) {
    const k = r % stores.length
    for (const s of [...stores.slice(k), ...stores.slice(0, k)]) out[s.key].push(await fn(s, r))
  }
  return out
}

const errorsOf = (runs) => runs.filter((x) => x.error).map((x) => x.error)
const ok = (runs) => runs.filter((x) => !x.error)
function summarise(runs, fields) {
  const good = ok(runs)
  const o = { n: good.length, errors: errorsOf(runs) }
  for (const f of fields) o[f] = stats(good.map((x) => x[f]))
  return o
}

// ------------------------------------------------------------------------------ machine
function sh(cmd, argv) {
  try {
    return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return ''
  }
}
function pkgVersion(name) {
  // chainlog's own dependencies, or the bench's (bench/node_modules: better-sqlite3)
  for (const dir of [path.join(REPO, 'node_modules'), path.join(HERE, 'node_modules')]) {
    try {
      return JSON.parse(fs.readFileSync(path.join(dir, name, 'package.json'), 'utf8')).version
    } catch {}
  }
  return 'n/a'
}
async function machine() {
  fs.mkdirSync(root, { recursive: true })
  const cpuinfo = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : ''
  const flags = /^flags\s*:(.*)$/m.exec(cpuinfo)?.[1] ?? ''
  let sqliteVersion = 'n/a'
  try {
    const { default: Database } = await import('better-sqlite3')
    const db = new Database(':memory:')
    sqliteVersion = db.prepare('select sqlite_version()').pluck().get()
    db.close()
  } catch {}
  const srcNewer = (() => {
    const distTime = fs.statSync(path.join(distSrc, 'index.js')).mtimeMs
    let newer = 0
    const walk = (d) => {
      for (const n of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, n.name)
        if (n.isDirectory()) walk(p)
        else if (n.name.endsWith('.ts') && fs.statSync(p).mtimeMs > distTime) newer++
      }
    }
    walk(path.join(REPO, 'src'))
    return newer
  })()
  return {
    date: new Date().toISOString(),
    node: `${process.version} (V8 ${process.versions.v8}, OpenSSL ${process.versions.openssl})`,
    cpu: `${os.cpus()[0]?.model ?? 'unknown'}; ${os.cpus().length} logical cores (nproc ${sh('nproc', [])}); SHA-NI: ${/\bsha_ni\b/.test(flags) ? 'yes' : 'no'}`,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    kernel: `${os.type()} ${os.release()}`,
    dataDir: root.replace(os.tmpdir(), '<tmpdir>'),
    filesystem: sh('df', ['-T', root]).split('\n')[1]?.replace(/\s+/g, ' ') ?? 'n/a',
    loadStart: os.loadavg().map((x) => x.toFixed(2)).join(' '),
    packages: `classic-level ${pkgVersion('classic-level')}, abstract-level ${pkgVersion('abstract-level')}, better-sqlite3 ${pkgVersion('better-sqlite3')} (SQLite ${sqliteVersion}), cbor-x ${pkgVersion('cbor-x')}, zod ${pkgVersion('zod')}`,
    chainlog: `commit ${sh('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']) || 'n/a'}; working tree ${sh('git', ['-C', REPO, 'status', '--porcelain', '--', 'src']) ? 'has uncommitted changes in src/' : 'clean in src/'}; dist/ built ${new Date(fs.statSync(path.join(distSrc, 'index.js')).mtimeMs).toISOString()}${srcNewer ? ` (${srcNewer} src/ files are newer than the build)` : ''}`,
  }
}

// ------------------------------------------------------------------------------ the run
const R = { params: P, machine: await machine(), cases: {}, started: new Date().toISOString() }
log(`${quick ? 'quick' : 'full'} run; data in ${root}; report -> ${path.relative(process.cwd(), outPath)}`)
const dir = (name) => path.join(root, name)

// Cases 1-3: appends -------------------------------------------------------------------------
async function appendCase(n, stores, { durable, sessions, turns, pairedTo }) {
  log(`case ${n}: ${sessions} session(s) x ${turns} turns, ${durable ? 'durable' : 'relaxed'}; ${stores.length} stores x ${P.reps} reps`)
  const runs = await interleaved(stores, P.reps, (s, r) =>
    runWorker(
      { task: 'append', store: s.store, mode: s.mode, durable, sessions, turns, dir: dir(`c${n}-${s.key}`), ...(s.countTree ? { countTree: true } : {}) },
      { profile: s.store === 'chainlog' && n < 14, label: `c${n}-${s.key}-r${r}`, ...(s.dist ? { dist: s.dist } : {}) },
    ),
  )
  const rows = stores.map((s) => ({
    key: s.key,
    label: s.label,
    floor: !!s.floor,
    ...summarise(runs[s.key], ['turnsPerSec', 'entriesPerSec', 'p50ms', 'p99ms', 'entriesWritten', 'batches', 'bytesWritten', 'opsPerTurn', 'treeRows', 'cpuUsPerTurn', 'mainCpuUsPerTurn']),
    // Case 14, per repetition, against the reference row of the same round: this row's turns/s ÷
    // the reference's (paired), and the reference's CPU time per turn ÷ this row's (pairedCpu).
    ...(pairedTo && s.key !== pairedTo
      ? {
          paired: stats(runs[s.key].map((x, r) => (x.error || runs[pairedTo][r]?.error ? NaN : x.turnsPerSec / runs[pairedTo][r].turnsPerSec))),
          pairedCpu: stats(runs[s.key].map((x, r) => (x.error || runs[pairedTo][r]?.error ? NaN : runs[pairedTo][r].cpuUsPerTurn / x.cpuUsPerTurn))),
          pairedMain: stats(runs[s.key].map((x, r) => (x.error || runs[pairedTo][r]?.error ? NaN : runs[pairedTo][r].mainCpuUsPerTurn / x.mainCpuUsPerTurn))),
        }
      : {}),
  }))
  return { sessions, turns, durable, rows }
}

if (want(1)) {
  R.cases.c1 = await appendCase(
    1,
    [
      { key: 'chainlog', store: 'chainlog', label: 'chainlog `appendTurn`, durability `relaxed`' },
      { key: 'sqlite', store: 'sqlite', label: 'SQLite WAL, synchronous=NORMAL, 1 txn per turn' },
      { key: 'classic', store: 'classic', label: 'classic-level defaults, 1 batch per turn, sync:false' },
      { key: 'jsonl', store: 'jsonl', label: 'JSONL, 1 write per turn, no fsync' },
      { key: 'floor-cpu', store: 'chainlog-mem', floor: true, label: 'floor: chainlog `appendTurn` on memory-level keeping only values ≤ 512 B (its own work, no LevelDB)' },
      { key: 'floor-io', store: 'classic-replay', floor: true, label: "floor: chainlog's recorded batches replayed on classic-level, 1 awaited batch per turn, sync:false" },
    ],
    { durable: false, sessions: 1, turns: P.c1Turns },
  )
}
if (want(2)) {
  R.cases.c2 = await appendCase(
    2,
    [
      { key: 'chainlog', store: 'chainlog', label: 'chainlog `appendTurn`, durability `sync`' },
      { key: 'sqlite', store: 'sqlite', label: 'SQLite WAL, synchronous=FULL, 1 txn per turn' },
      { key: 'classic', store: 'classic', label: 'classic-level defaults, 1 batch per turn, sync:true' },
      { key: 'jsonl', store: 'jsonl', label: 'JSONL, 1 write + fsync per turn' },
      { key: 'floor-io', store: 'classic-replay', floor: true, label: "floor: chainlog's recorded batches replayed on classic-level, 1 awaited batch per turn, sync:true" },
    ],
    { durable: true, sessions: 1, turns: P.c2Turns },
  )
}
if (want(3)) {
  R.cases.c3 = await appendCase(
    3,
    [
      { key: 'chainlog', store: 'chainlog', label: 'chainlog, one store, `appendTurn` durability `sync` (group commit)' },
      { key: 'sqlite', store: 'sqlite', label: 'SQLite WAL, synchronous=FULL, one database, 1 txn per turn' },
      { key: 'classic', store: 'classic', label: 'classic-level defaults, one db, 1 batch per turn, sync:true' },
      { key: 'jsonl-async', store: 'jsonl', mode: 'async', label: 'JSONL file per session, FileHandle write + sync() per turn (async)' },
      { key: 'jsonl', store: 'jsonl', mode: 'sync', label: 'JSONL file per session, writeSync + fsyncSync per turn' },
    ],
    { durable: true, sessions: P.c3Sessions, turns: P.c3Turns },
  )
}

// Cases 8-11 run the CLI as a user does: `node <dist snapshot>/cli/main.js ...` is `chainlog ...`.
const cli = path.join(distSnap, 'cli', 'main.js')
const cliCmd = (key, label, argv, extra = {}) => ({ key, label, args: [cli, ...argv], profile: true, ...extra })
/** Summarise `cli` task results (one per repetition) per command: the median of each process's per-command median. */
function cliRows(cmds, runs) {
  const checks = ok(runs).find((r) => r.checks?.[cmds[0].key])?.checks ?? {}
  return cmds.map((c) => ({ key: c.key, label: c.label, floor: !!c.floor, ...summarise(runs.map((r) => (r.error ? r : { ms: r.ms[c.key] })), ['ms']), check: checks[c.key] }))
}
/** A `cli` task for repetition r: the first repetition warms up and checks the output, the others only time. */
const cliTask = (cmds, iterations, r, label) => ({ task: 'cli', cmds, iterations, warmup: r === 0 ? P.cliWarmup : 0, check: r === 0, profileDir: r === 0 ? profileDir : null, label })

// Cases 10-11: a store of many small sessions, and the same sessions as JSONL files.
async function manySessionCases(bigStore) {
  const n = P.c10Sessions
  const manyDir = dir('many-chainlog')
  const jsonlDir = dir('many-jsonl')
  log(`cases 10-11: building ${n} small sessions (chainlog library, relaxed; and JSONL files)`)
  const build = {
    chainlog: await runWorker({ task: 'buildMany', dir: manyDir, sessions: n }, { label: 'build-many-chainlog' }),
    jsonl: await runWorker({ task: 'buildJsonlDir', dir: jsonlDir, sessions: n }, { label: 'build-many-jsonl' }),
  }
  const failed = Object.entries(build).find(([, b]) => b.error)
  if (failed) {
    const error = `building the many-sessions ${failed[0]} store failed: ${failed[1].error}`
    if (want(10)) R.cases.c10 = { error }
    if (want(11)) R.cases.c11 = { error }
    rmrf(manyDir)
    rmrf(jsonlDir)
    return
  }
  const entries = build.chainlog.entries
  if (want(10)) {
    log(`case 10: ls, stats, tree on ${n} sessions vs a JSONL-directory listing, ${P.readReps} reps x ${P.c10Iters} runs`)
    const store = ['--store', manyDir]
    const cmds = [
      cliCmd('ls', '`chainlog ls` (every session, newest first; table on stdout)', [...store, 'ls']),
      cliCmd('ls-n20', '`chainlog ls -n 20` (the newest 20)', [...store, 'ls', '-n', '20']),
      cliCmd('stats', '`chainlog stats` (whole store)', [...store, 'stats']),
      cliCmd('tree', '`chainlog tree` (the forest of every session)', [...store, 'tree']),
      { key: 'jsonl', label: `JSONL-directory listing: \`node bench/lib/jsonl-ls.mjs\` (first lines of each of the ${fmt.int(n)} files, sort by time, print)`, args: [path.join(HERE, 'lib', 'jsonl-ls.mjs'), jsonlDir] },
      { key: 'node', label: 'floor: `node -e 0` (process start-up alone)', floor: true, args: ['-e', '0'] },
      { key: 'scan', label: 'floor: `node bench/lib/scan-rows.mjs` (the `P` rows `ls` reads, iterated with classic-level alone: 1 row a session in store format 4, nothing decoded)', floor: true, args: [path.join(HERE, 'lib', 'scan-rows.mjs'), manyDir] },
    ]
    const runs = []
    for (let r = 0; r < P.readReps; r++) {
      runs.push(await runWorker(cliTask(cmds, P.c10Iters, r, `c10-r${r}`), { label: `c10-r${r}` }))
    }
    R.cases.c10 = { sessions: n, entries, iterations: P.c10Iters, warmup: P.cliWarmup, build, rows: cliRows(cmds, runs) }
  }
  if (want(11)) {
    log(`case 11: verify --all of the ${n}-session store vs the ${fmt.int(bigStore.total)}-entry verify, ${P.readReps} reps`)
    const modes = [
      { key: 'cli', label: `\`chainlog verify --all --json\` of the ${fmt.int(n)}-session store (process start-up included)` },
      { key: 'many', label: `\`store.verify()\` of the ${fmt.int(n)}-session store, in-process (as case 4 times it)` },
      { key: 'big', label: `\`store.verify()\` of the case-4 store (${fmt.int(bigStore.total)} entries in 3 sessions), in-process: the reference` },
      { key: 'jsonl', label: `JSONL read + verify of the ${fmt.int(n)} files (hash over raw line bytes)` },
    ]
    const verifyCmd = [cliCmd('verify', 'verify --all', ['--store', manyDir, 'verify', '--all', '--json'], { parse: 'verify' })]
    const runs = await interleaved(modes, P.readReps, (m, r) => {
      if (m.key === 'cli') {
        return runWorker({ task: 'cli', cmds: verifyCmd, iterations: 1, warmup: 0, profileDir: r === 0 ? profileDir : null, label: `c11-cli-r${r}` }, { label: `c11-cli-r${r}` }).then((x) =>
          x.error ? x : { ms: x.ms.verify, entries: x.checks.verify.entries, entriesPerSec: (x.checks.verify.entries / x.ms.verify) * 1000 },
        )
      }
      const task = m.key === 'jsonl' ? { task: 'verify', mode: 'jsonl-verify', dir: jsonlDir } : { task: 'verify', mode: 'chainlog-verify', dir: m.key === 'big' ? bigStore.dir : manyDir }
      return runWorker(task, { profile: m.key !== 'jsonl', label: `c11-${m.key}-r${r}` })
    })
    R.cases.c11 = {
      sessions: n,
      entries,
      bigTotal: bigStore.total,
      rows: modes.map((m) => ({ key: m.key, label: m.label, entries: ok(runs[m.key])[0]?.entries, ...summarise(runs[m.key], ['ms', 'entriesPerSec']) })),
    }
  }
  rmrf(manyDir)
  rmrf(jsonlDir)
}

// Cases 4-7: one data set per store -----------------------------------------------------------
// Case 11 compares with a verify of the case-4 chainlog store, measured alongside it: when cases
// 4-7 are not run, that store alone is built.
const needData = [4, 5, 6, 7].some(want)
if (needData || want(11)) {
  const ids = { big: randomUUID(), medium: randomUUID(), small: randomUUID() }
  const sessions = [
    { id: ids.big, entries: P.big },
    { id: ids.medium, entries: P.medium },
    { id: ids.small, entries: P.small },
  ]
  const total = P.big + P.medium + P.small
  log(`data set: sessions of ${P.big}, ${P.medium} and ${P.small} workload entries (${total} in all) in ${needData ? 'chainlog, SQLite, JSONL, classic-level' : 'chainlog (for case 11)'}`)
  const built = {}
  for (const store of needData ? ['chainlog', 'sqlite', 'jsonl', 'classic'] : ['chainlog']) {
    built[store] = await runWorker({ task: 'build', store, dir: dir(`data-${store}`), sessions }, { label: `build-${store}` })
  }
  R.dataset = { sessions: { big: P.big, medium: P.medium, small: P.small }, total, build: built }
  const heads = built.chainlog.heads ?? {}

  if (want(4)) {
    log(`case 4: full verify of the ${total}-entry store, ${P.readReps} reps`)
    const modes = [
      { key: 'chainlog', mode: 'chainlog-verify', dir: 'chainlog', label: 'chainlog full-store verification' },
      { key: 'chainlog-entries', mode: 'chainlog-entries', dir: 'chainlog', label: 'chainlog `entries(id, {verify:true})` of every session' },
      { key: 'classic-scan', mode: 'classic-scan', dir: 'chainlog', label: "raw classic-level read-only scan of chainlog's own LevelDB data (ceiling)" },
      { key: 'walk-io', mode: 'chainlog-walk-io', dir: 'chainlog', label: "floor: the reads of chainlog's verify walk alone (sequence index, then getMany of records and hash rows per 512), no checks" },
      { key: 'sqlite', mode: 'sqlite-verify', dir: 'sqlite', label: 'SQLite read + verify' },
      { key: 'sqlite-decode', mode: 'sqlite-verify-decode', dir: 'sqlite', label: 'SQLite read + verify + cbor-x decode' },
      { key: 'jsonl', mode: 'jsonl-verify', dir: 'jsonl', label: 'JSONL read + verify (hash over raw line bytes)' },
      { key: 'classic', mode: 'classic-verify', dir: 'classic', label: 'classic-level peer store read + verify' },
    ]
    const runs = await interleaved(modes, P.readReps, (m, r) =>
      runWorker({ task: 'verify', mode: m.mode, dir: dir(`data-${m.dir}`) }, { profile: m.key === 'chainlog', label: `c4-${m.key}-r${r}` }),
    )
    R.cases.c4 = {
      total,
      rows: modes.map((m) => ({ key: m.key, label: m.label, method: ok(runs[m.key])[0]?.method, rows: ok(runs[m.key])[0]?.rows, entries: ok(runs[m.key])[0]?.entries, ...summarise(runs[m.key], ['ms', 'entriesPerSec']) })),
    }
  }

  if (want(5)) {
    log(`case 5: restore of the ${P.medium}-entry session and tail reads, ${P.reps} reps`)
    const stores = [
      { key: 'chainlog', store: 'chainlog', label: 'chainlog `restore(id)` (store open, verifyOnRestore default)' },
      { key: 'jsonl', store: 'jsonl', label: 'JSONL whole-file load: read + split + verify + JSON.parse' },
      { key: 'sqlite', store: 'sqlite', label: 'SQLite select session + verify + cbor-x decode' },
    ]
    const restore = await interleaved(stores, P.reps, (s, r) =>
      runWorker({ task: 'restore', store: s.store, dir: dir(`data-${s.store}`), id: ids.medium, iterations: P.restoreIters }, { profile: s.store === 'chainlog', label: `c5-restore-${s.key}-r${r}` }),
    )
    const tailStores = [
      { key: 'chainlog', store: 'chainlog', label: 'chainlog open + `readHead` + `entries(id, {from, verify:true})` + close' },
      { key: 'sqlite', store: 'sqlite', label: 'SQLite open + max(seq) + range select + verify + decode + close' },
      { key: 'jsonl', store: 'jsonl', label: 'JSONL reverse read in 256 KiB chunks + verify + JSON.parse' },
      { key: 'floor-open', store: 'classic-open', floor: true, label: "floor: raw classic-level open + close of chainlog's directory (no reads)" },
    ]
    const tails = {}
    for (const [which, id, len] of [
      ['medium', ids.medium, P.medium],
      ['big', ids.big, P.big],
    ]) {
      const runs = await interleaved(tailStores, P.reps, (s, r) =>
        runWorker({ task: 'tail', store: s.store, dir: dir(`data-${s.store === 'classic-open' ? 'chainlog' : s.store}`), id, n: P.tailN, iterations: P.tailIters }, { profile: s.store === 'chainlog' && which === 'medium', label: `c5-tail-${which}-${s.key}-r${r}` }),
      )
      tails[which] = { length: len, rows: tailStores.map((s) => ({ key: s.key, label: s.label, floor: !!s.floor, ...summarise(runs[s.key], ['ms']) })) }
    }
    R.cases.c5 = {
      medium: P.medium,
      tailN: P.tailN,
      restore: stores.map((s) => ({ key: s.key, label: s.label, items: ok(restore[s.key])[0]?.items, ...summarise(restore[s.key], ['ms', 'openMs']) })),
      tails,
    }
  }

  // Before case 7 compacts the data set: case 11's reference reads the store as case 4 did.
  if (want(10) || want(11)) await manySessionCases({ dir: dir('data-chainlog'), total })

  if (want(7)) {
    log('case 7: bytes on disk (after compaction and close)')
    const compacted = {}
    for (const store of ['chainlog', 'classic']) compacted[store] = await runWorker({ task: 'compact', dir: dir(`data-${store}`) }, { label: `compact-${store}` })
    const disk = {}
    for (const store of ['chainlog', 'sqlite', 'jsonl', 'classic']) {
      const d = dirSize(dir(`data-${store}`))
      disk[store] = { ...d, asWritten: built[store]?.disk, perEntry: d.apparent / total, allocatedPerEntry: d.allocated / total }
    }
    R.cases.c7disk = { total, disk, compactMs: { chainlog: compacted.chainlog.ms, classic: compacted.classic.ms } }
  }

  if (want(6)) {
    log(`case 6: forks, ${P.reps} reps x ${P.forkIters} forks per target`)
    const targets = [
      { label: 'small', head: heads[ids.small] },
      { label: 'big', head: heads[ids.big] },
    ]
    const forkModes = [
      { key: 'sync', durability: 'sync' },
      { key: 'relaxed', durability: 'relaxed' },
    ]
    const forkRuns = await interleaved(forkModes, P.reps, (m, r) =>
      runWorker({ task: 'fork', dir: dir('data-chainlog'), durability: m.durability, targets, iterations: P.forkIters }, { profile: true, label: `c6-fork-${m.key}-r${r}` }),
    )
    const jsonlRuns = []
    for (let r = 0; r < P.reps; r++) {
      jsonlRuns.push(await runWorker({ task: 'jsonlFork', dir: dir('data-jsonl'), id: ids.big, atHex: built.jsonl.heads?.[ids.big], iterations: P.jsonlForkIters }, { label: `c6-jsonlfork-r${r}` }))
    }
    const forkStats = (key, label) => stats(ok(forkRuns[key]).map((x) => x.ms[label]))
    R.cases.c6 = {
      small: P.small,
      big: P.big,
      chainlog: Object.fromEntries(forkModes.map((m) => [m.key, { small: forkStats(m.key, 'small'), big: forkStats(m.key, 'big'), errors: errorsOf(forkRuns[m.key]) }])),
      jsonl: { ...summarise(jsonlRuns, ['ms']), bytes: ok(jsonlRuns)[0]?.bytes },
    }
  }
}

if (want(7)) {
  const memTotal = P.memSessions * P.memPerSession
  log(`case 7: peak RSS while verifying ${memTotal} small entries (${P.memSessions} sessions)`)
  const memDir = dir('mem-chainlog')
  const build = await runWorker({ task: 'buildSmall', dir: memDir, sessions: P.memSessions, perSession: P.memPerSession, per: 100 }, { label: 'build-small' })
  const openOnly = await runWorker({ task: 'memVerify', dir: memDir, mode: 'open' }, { label: 'mem-open' })
  const verifyRuns = []
  for (let r = 0; r < P.memReps; r++) verifyRuns.push(await runWorker({ task: 'memVerify', dir: memDir, mode: 'verify' }, { label: `mem-verify-r${r}` }))
  R.cases.c7mem = {
    entries: build.entries,
    sessions: P.memSessions,
    build: { ms: build.ms, disk: build.disk, error: build.error },
    open: openOnly,
    method: ok(verifyRuns)[0]?.method,
    ...summarise(verifyRuns, ['maxRssBytes', 'peakRssAnonBytes', 'peakRssFileBytes', 'ms']),
  }
  rmrf(memDir)
}

if (want(10) && !(needData || want(11))) await manySessionCases(null)

// Case 8: start-up --------------------------------------------------------------------------
if (want(8)) {
  const demoDir = dir('c8-demo')
  let demo
  try {
    demo = JSON.parse(execFileSync(process.execPath, [cli, 'demo', '--dir', demoDir, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }))
  } catch (err) {
    log(`FAILED chainlog demo: ${String(err.stderr ?? err).split('\n')[0]}`)
    demo = { sessions: [], error: String(err.stderr ?? err).slice(0, 2000) }
  }
  const demoEntries = demo.sessions.reduce((n, x) => n + x.length, 0)
  log(`case 8: start-up, ${P.reps} reps x ${P.c8Iters} runs of each command (demo store: ${demo.sessions.length} sessions, ${demoEntries} entries)`)
  const cmds = [
    { key: 'node', label: 'bare `node -e 0`', args: ['-e', '0'] },
    cliCmd('help', '`chainlog --help`', ['--help']),
    cliCmd('ls', '`chainlog ls` on the demo store', ['--store', demoDir, 'ls']),
    { key: 'import', label: "floor: `node dist/index.js` (the library's modules loaded, nothing run)", floor: true, args: [path.join(distSnap, 'index.js')] },
  ]
  const runs = []
  for (let r = 0; r < P.reps; r++) runs.push(await runWorker(cliTask(cmds, P.c8Iters, r, `c8-r${r}`), { label: `c8-r${r}` }))
  R.cases.c8 = { iterations: P.c8Iters, warmup: P.cliWarmup, demo: { sessions: demo.sessions.length, entries: demoEntries, error: demo.error }, rows: cliRows(cmds, runs) }
  rmrf(demoDir)
}

// Case 9: migration of a format-1 store -------------------------------------------------------
if (want(9)) {
  const v1Dir = dir('c9-v1')
  const n = P.c9Sessions * (P.c9PerSession + 1)
  log(`case 9: building a format-1 store of ${P.c9Sessions} sessions x ${P.c9PerSession} workload entries (+ genesis each: ${n} entries)`)
  const build = await runWorker({ task: 'buildV1', dir: v1Dir, sessions: P.c9Sessions, perSession: P.c9PerSession }, { label: 'build-v1' })
  log(`case 9: migration on open, ${P.readReps} reps (each on a fresh copy, verified after)`)
  const runs = []
  const verifies = []
  const floors = []
  for (let r = 0; r < (build.error ? 0 : P.readReps); r++) {
    const copy = dir(`c9-migrate-r${r}`)
    runs.push(await runWorker({ task: 'migrate', src: v1Dir, dir: copy, entries: n }, { profile: true, label: `c9-migrate-r${r}` }))
    if (!runs[r].error) verifies.push(await runWorker({ task: 'verify', mode: 'chainlog-verify', dir: copy }, { label: `c9-verify-r${r}` }))
    rmrf(copy)
    floors.push(await runWorker({ task: 'migrateFloor', src: v1Dir, dir: dir(`c9-floor-r${r}`), chunk: 2048 }, { label: `c9-floor-r${r}` }))
  }
  R.cases.c9 = {
    sessions: P.c9Sessions,
    perSession: P.c9PerSession,
    entries: n,
    build,
    checks: ok(runs)[0] ? { before: ok(runs)[0].before, after: ok(runs)[0].after, moved: ok(runs)[0].moved } : null,
    verify: { ...summarise(verifies, ['ms']), runs: verifies.length, entries: ok(verifies)[0]?.entries },
    floor: { ...summarise(floors, ['ms', 'entriesPerSec', 'closeMs']), bytes: ok(floors)[0]?.bytes },
    ...summarise(build.error ? [build] : runs, ['ms', 'entriesPerSec', 'closeMs', 'reopenMs']),
  }
  rmrf(v1Dir)
}

// Case 12: importing agent transcripts (issue 14) --------------------------------------------
if (want(12)) {
  R.cases.c12 = { files: P.c12Files, formats: {} }
  for (const format of ['claude-code', 'codex', 'pi']) {
    const src = dir(`c12-src-${format}`)
    const w = await runWorker({ task: 'writeTranscripts', dir: src, format, files: P.c12Files, ...(P.c12Turns ? { turns: P.c12Turns } : {}) }, { label: `c12-write-${format}` })
    if (w.error) {
      R.cases.c12.formats[format] = { error: w.error }
      continue
    }
    log(`case 12: import of ${P.c12Files} ${format} file(s), ${fmt.int(w.lines)} lines, ${fmt.f1(w.bytes / 1e6)} MB; ${P.reps} reps`)
    const modes = [
      { key: 'sync', durability: 'sync', label: '`importTranscript`, store durability `sync` (as `chainlog import` opens it)' },
      { key: 'relaxed', durability: 'relaxed', label: '`importTranscript`, store durability `relaxed`' },
      { key: 'floor', floor: true, label: 'floor: read, split into lines, SHA-256 and `JSON.parse` of every line, nothing stored' },
    ]
    const runs = await interleaved(modes, P.reps, (m, r) =>
      m.floor
        ? runWorker({ task: 'importFloor', src, lines: w.lines, bytes: w.bytes }, { label: `c12-${format}-floor-r${r}` })
        : runWorker(
            { task: 'importTranscripts', src, format, dir: dir(`c12-${format}-${m.key}`), durability: m.durability, lines: w.lines, bytes: w.bytes, files: P.c12Files },
            { profile: m.key === 'relaxed' && r === 0, label: `c12-${format}-${m.key}-r${r}` },
          ),
    )
    R.cases.c12.formats[format] = {
      files: P.c12Files,
      lines: w.lines,
      bytes: w.bytes,
      rows: modes.map((m) => {
        const first = ok(runs[m.key])[0]
        return { key: m.key, label: m.label, floor: !!m.floor, entries: first?.entries, disk: first?.disk, compacted: first?.compacted, ...summarise(runs[m.key], ['ms', 'linesPerSec', 'bytesPerSec', 'closeMs']) }
      }),
    }
    rmrf(src)
  }
}

// Case 13: the framework adapters (issue 19) -------------------------------------------------
if (want(13)) {
  log(`case 13a: LangGraph thread of ${fmt.int(P.c13Steps)} steps (putWrites + put each), then getTuple x ${P.c13Gets} and list; ${P.readReps} reps`)
  const savers = [
    { key: 'chainlog', store: 'chainlog', label: '`ChainlogSaver`, store durability `sync` (the default)' },
    { key: 'chainlog-relaxed', store: 'chainlog-relaxed', label: '`ChainlogSaver`, store durability `relaxed`' },
    { key: 'sqlite', store: 'sqlite', label: '`SqliteSaver` (@langchain/langgraph-checkpoint-sqlite as shipped)' },
    { key: 'memory', store: 'memory', floor: true, label: 'floor: `MemorySaver` (@langchain/langgraph-checkpoint, in memory)' },
  ]
  const lg = await interleaved(savers, P.readReps, (s, r) =>
    runWorker({ task: 'langgraph', store: s.store, steps: P.c13Steps, gets: P.c13Gets, dir: dir(`c13-lg-${s.key}`) }, { profile: s.key === 'chainlog' && r === 0, label: `c13-lg-${s.key}-r${r}` }),
  )
  log(`case 13b: Agents SDK session, ${P.c13Turns} turns (getItems + 2 addItems each); ${P.readReps} reps`)
  const sessions = [
    { key: 'chainlog', store: 'chainlog', label: '`ChainlogSession`, store durability `relaxed`' },
    { key: 'chainlog-sync', store: 'chainlog-sync', label: '`ChainlogSession`, store durability `sync`' },
    { key: 'file', store: 'file', label: "the SDK examples' `FileSession`: one pretty-printed JSON array per session, read and rewritten whole by every `addItems`, no fsync (written here from the example's description)" },
    { key: 'jsonl', store: 'jsonl', label: 'JSONL session file: one line per item appended through an open handle, no fsync; `getItems` parses every line' },
    { key: 'memory', store: 'memory', floor: true, label: "floor: the SDK's `MemorySession` (in memory)" },
  ]
  const ag = await interleaved(sessions, P.readReps, (s, r) =>
    runWorker({ task: 'agentsSession', store: s.store, turns: P.c13Turns, dir: dir(`c13-ag-${s.key}`) }, { profile: s.key === 'chainlog' && r === 0, label: `c13-ag-${s.key}-r${r}` }),
  )
  // SQLite's durability as the worker measured it (PRAGMA synchronous): the chainlog row to compare
  // it with is the one with the same promise (NORMAL in WAL: no sync per commit, like `relaxed`).
  const sqliteMode = ok(lg.sqlite)[0]?.sqliteMode
  if (sqliteMode) savers.find((s) => s.key === 'sqlite').label = `\`SqliteSaver\` (@langchain/langgraph-checkpoint-sqlite as shipped: journal ${sqliteMode.journal}, synchronous ${sqliteMode.synchronous}, as measured)`
  R.cases.c13 = {
    like: sqliteMode && sqliteMode.synchronous !== 'FULL' && sqliteMode.synchronous !== 'EXTRA' ? 'chainlog-relaxed' : 'chainlog',
    sqliteMode,
    steps: P.c13Steps,
    gets: P.c13Gets,
    turns: P.c13Turns,
    langgraph: savers.map((s) => ({
      key: s.key,
      label: s.label,
      floor: !!s.floor,
      disk: ok(lg[s.key])[0]?.disk,
      ...summarise(lg[s.key], ['stepsPerSec', 'p50ms', 'p99ms', 'resumeMs', 'getMs', 'getsPerSec', 'listMs', 'listPerSec', 'list10Ms', 'cpuUsPerStep', 'cpuUsPerGet', 'cpuUsPerListed']),
    })),
    agents: sessions.map((s) => ({
      key: s.key,
      label: s.label,
      floor: !!s.floor,
      items: ok(ag[s.key])[0]?.items,
      disk: ok(ag[s.key])[0]?.disk,
      ...summarise(ag[s.key], ['turnsPerSec', 'p50ms', 'p99ms', 'lastMs', 'resumeMs', 'tail20Ms']),
    })),
  }
}

// Case 14: the cost of the Merkle tree on appends (issue 16) --------------------------------
if (want(14)) {
  // A copy of the build under test whose append plan computes no tree: the call that hashes the
  // new leaves and nodes and builds their T rows (appendTree) gives the size grown, the frontier
  // as it was and no rows. Bench-side only; if the built code no longer has that line, the row
  // reports it.
  let noTreeError
  try {
    const d = path.join(RESULTS_DIR, `.dist-notree-${process.pid}`)
    fs.cpSync(distSnap, d, { recursive: true })
    const f = path.join(d, 'storage', 'append-plan.js')
    const src = fs.readFileSync(f, 'utf8')
    const call = /appendTree\(sessionId, input\.tree, hashes\)/
    if (!call.test(src)) throw new Error('dist/storage/append-plan.js no longer calls appendTree(sessionId, input.tree, hashes): update case 14')
    fs.writeFileSync(f, src.replace(call, '({ state: { size: input.tree.size + sealed.length, frontier: input.tree.frontier }, ops: [] }) /* bench case 14: no tree */'))
    distNoTree = d
  } catch (err) {
    noTreeError = String(err.message ?? err)
    log(`case 14: no build without the tree: ${noTreeError}`)
  }
  const variants = (durable) => [
    { key: 'chainlog', store: 'chainlog', countTree: true, label: `chainlog \`appendTurn\`, durability \`${durable ? 'sync' : 'relaxed'}\` (as in case ${durable ? 2 : 1})` },
    { key: 'notree-rows', store: 'chainlog-notree-rows', countTree: true, label: 'the same, each commit passed on without its tree rows (the tree still computed in memory)' },
    ...(distNoTree ? [{ key: 'notree', store: 'chainlog-notree', dist: distNoTree, countTree: true, label: 'the same build with the tree taken out of the append plan (no leaf or node hashes, no tree rows)' }] : []),
  ]
  // The tree's own work alone (hashing and row building for turns of 4 entries, as appendTurn
  // writes the workload's turns), no store: a bound that a busy machine does not blur.
  const treeWork = []
  for (let r = 0; r < P.reps; r++) treeWork.push(await runWorker({ task: 'treeWork', turns: 20_000, perTurn: 4 }, { label: `c14-work-r${r}` }))
  R.cases.c14 = {
    relaxed: await appendCase(14, variants(false), { durable: false, sessions: 1, turns: P.c1Turns, pairedTo: 'chainlog' }),
    durable: await appendCase(14, variants(true), { durable: true, sessions: 1, turns: P.c2Turns, pairedTo: 'chainlog' }),
    work: summarise(treeWork, ['usPerTurn', 'cpuUsPerTurn', 'rowBytesPerTurn', 'allocBytesPerTurn']),
    ...(noTreeError ? { noTreeError } : {}),
  }
}

// Case 15: the PostgreSQL engine (issue 17) ----------------------------------------------------
/**
 * Case 15b: `tasks` as one group of worker processes that append at the same time: each sets up
 * (pool, store, sessions) and prints @@READY; once all have, each gets its start line on stdin.
 * Resolves to the workers' results in order (an { error } for a failed one; a failure before the
 * start kills the others).
 */
function runWorkerGroup(tasks, { label, profile = false }) {
  const kids = tasks.map((task, i) => {
    const execArgv = []
    if (profile && profileDir) {
      fs.mkdirSync(profileDir, { recursive: true })
      execArgv.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${label.replace(/[^a-z0-9.-]+/gi, '_')}-p${i}-${++workerSeq}.cpuprofile`)
    }
    const child = spawn(process.execPath, [...execArgv, path.join(HERE, 'worker.mjs'), JSON.stringify({ ...task, barrier: true })], {
      env: { ...process.env, CHAINLOG_BENCH_DIST: distSnap },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    child.stdin.on('error', () => undefined)
    return { child, out: '', err: '', ready: false }
  })
  let started = false
  const start = () => {
    if (started || !kids.every((k) => k.ready)) return
    started = true
    for (const k of kids) k.child.stdin.end('go\n')
  }
  const timer = setTimeout(() => kids.forEach((k) => k.child.kill('SIGKILL')), 15 * 60_000)
  return Promise.all(
    kids.map(
      (k, i) =>
        new Promise((resolve) => {
          k.child.stdout.on('data', (d) => {
            k.out += d
            if (!k.ready && k.out.includes('@@READY\n')) {
              k.ready = true
              start()
            }
          })
          k.child.stderr.on('data', (d) => (k.err += d))
          k.child.on('close', (code) => {
            const line = k.out.split('\n').find((l) => l.startsWith('@@RESULT ') || l.startsWith('@@ERROR '))
            if (line?.startsWith('@@RESULT ')) return resolve(JSON.parse(line.slice(9)))
            const msg = line ? JSON.parse(line.slice(8)).message : `worker exited with ${code}: ${k.err.slice(-2000)}`
            log(`FAILED ${label}-p${i}: ${msg.split('\n')[0]}`)
            // The others would wait for a start that never comes.
            if (!started) for (const o of kids) if (o !== k) o.child.kill('SIGKILL')
            resolve({ error: msg.slice(0, 2000) })
          })
        }),
    ),
  ).finally(() => clearTimeout(timer))
}

/** One figure of case 15b from a group's results: turns over the span from the first start to the last end. */
function groupRun(parts) {
  const bad = parts.find((x) => x.error)
  if (bad) return { error: bad.error }
  const turns = parts.reduce((n, x) => n + x.turns, 0)
  const ms = Math.max(...parts.map((x) => x.t1)) - Math.min(...parts.map((x) => x.t0))
  const lat = parts.flatMap((x) => x.lat ?? [])
  const sum = (f) => parts.reduce((n, x) => n + (x[f] ?? 0), 0)
  lat.sort((a, b) => a - b)
  const pick = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : NaN)
  return {
    ms,
    turns,
    turnsPerSec: (turns / ms) * 1000,
    entriesPerSec: ((turns * 5) / ms) * 1000,
    p50ms: pick(0.5),
    p99ms: pick(0.99),
    // How far apart the processes started (ms): the barrier's slack.
    startSpreadMs: Math.max(...parts.map((x) => x.t0)) - Math.min(...parts.map((x) => x.t0)),
    batches: sum('batches'),
    turnsPerBatch: turns / sum('batches'),
    refused: sum('refused'),
    cpuUsPerTurn: sum('cpuUsPerTurn') / parts.length,
    queriesPerTurn: parts.reduce((n, x) => n + x.queriesPerTurn * x.turns, 0) / turns,
    landed: sum('landed'),
  }
}

if (want(15)) {
  const skip = await pgUnavailable()
  if (skip) {
    log(`case 15: skipped: ${skip}`)
    R.cases.c15 = { skipped: skip }
  } else {
    let cluster
    const c15 = (R.cases.c15 = {})
    try {
      cluster = await startBenchCluster()
      const url = cluster.connectionString
      const pg = (await import('pg')).default
      const { createPeerSchema } = await import('./lib/pg-peer.mjs')
      const admin = new pg.Pool({ connectionString: url, max: 1 })
      try {
        const setting = async (name) => (await admin.query(`SELECT current_setting('${name}') AS v`)).rows[0].v
        c15.server = {
          version: (await admin.query('SELECT version() AS v')).rows[0].v,
          pg: `pg ${pkgVersion('pg')}`,
          settings: Object.fromEntries(await Promise.all(['fsync', 'synchronous_commit', 'wal_sync_method', 'shared_buffers', 'max_wal_size', 'checkpoint_timeout', 'max_connections'].map(async (n) => [n, await setting(n)]))),
          socket: 'unix socket in the cluster directory (no TCP)',
        }
        log(`case 15: ${c15.server.version.split(',')[0]}, fsync ${c15.server.settings.fsync}, synchronous_commit ${c15.server.settings.synchronous_commit}`)

        const stores = [
          { key: 'chainlog', store: 'chainlog', label: 'chainlog `appendTurn` on `openStore({ postgres })`, durability `sync`' },
          { key: 'peer', store: 'peer', label: 'plain table `entries(session_id, seq, prev_hash, hash, body bytea)`, PK (session_id, seq): 1 transaction per turn (BEGIN, read the last row, INSERT 5 rows, COMMIT), synchronous_commit on' },
        ]
        const rowOf = (s, runs, fields) => ({ key: s.key, label: s.label, ...summarise(runs[s.key], fields) })
        const appendFields = ['turnsPerSec', 'entriesPerSec', 'p50ms', 'p99ms', 'batches', 'turnsPerBatch', 'cpuUsPerTurn', 'serverCpuUsPerTurn', 'refused', 'startSpreadMs', 'bytes', 'landed', 'queriesPerTurn']

        // 15a: one session, durable, one awaited turn at a time.
        log(`case 15a: 1 session x ${P.c15aTurns} turns, durable; ${stores.length} stores x ${P.reps} reps`)
        // The server's CPU time over each run (its setup included), per turn: the work the
        // client's own CPU time does not show.
        const withServerCpu = async (run) => {
          const c0 = serverCpuMs(cluster)
          const x = await run()
          return x.error ? x : { ...x, serverCpuUsPerTurn: ((serverCpuMs(cluster) - c0) * 1000) / x.turns }
        }
        const a = await interleaved(stores, P.reps, (s, r) =>
          withServerCpu(() =>
            runWorker(
              { task: 'pgAppend', store: s.store, url, schema: `c15a_${s.key}_r${r}`, create: true, drop: true, measureBytes: r === 0, durable: true, sessions: 1, turns: P.c15aTurns },
              { profile: s.store === 'chainlog', label: `c15a-${s.key}-r${r}` },
            ),
          ).then((x) => (x.error ? x : { ...x, turnsPerBatch: x.turns / x.batches })),
        )
        c15.a = { sessions: 1, turns: P.c15aTurns, rows: stores.map((s) => rowOf(s, a, appendFields)) }

        // 15b: 64 sessions from 4 processes (16 each, all at once), durable.
        const per = P.c15bSessions / P.c15bProcs
        log(`case 15b: ${P.c15bSessions} sessions from ${P.c15bProcs} processes x ${P.c15bTurns} turns, durable; ${stores.length} stores x ${P.reps} reps`)
        const b = await interleaved(stores, P.reps, (s, r) => withServerCpu(async () => {
          const schema = `c15b_${s.key}_r${r}`
          if (s.store === 'peer') await createPeerSchema(admin, schema)
          else {
            // Created by one process first, so that creating the schema and store is not timed.
            const init = await runWorker({ task: 'pgInit', url, schema }, { label: `c15b-init-r${r}` })
            if (init.error) return init
          }
          const parts = await runWorkerGroup(
            Array.from({ length: P.c15bProcs }, (_, k) => ({ task: 'pgAppend', store: s.store, url, schema, part: k, durable: true, sessions: per, turns: P.c15bTurns, keepLatencies: true })),
            { label: `c15b-${s.key}-r${r}`, profile: s.store === 'chainlog' && r === 0 },
          )
          const run = groupRun(parts)
          await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
          return run
        }))
        c15.b = { sessions: P.c15bSessions, processes: P.c15bProcs, turns: P.c15bTurns, rows: stores.map((s) => rowOf(s, b, appendFields)) }

        // 15c: build one store each (untimed), then full verify, repeated.
        log(`case 15c: full verify of ${P.c15cSessions} sessions x ${P.c15cPerSession} workload entries; ${P.reps} reps`)
        const built = {}
        for (const s of stores) built[s.key] = await runWorker({ task: 'pgBuild', store: s.store, url, schema: `c15c_${s.key}`, sessions: P.c15cSessions, perSession: P.c15cPerSession }, { label: `c15c-build-${s.key}` })
        const v = await interleaved(stores, P.reps, (s, r) =>
          built[s.key].error ? built[s.key] : runWorker({ task: 'pgVerify', store: s.store, url, schema: `c15c_${s.key}` }, { profile: s.store === 'chainlog' && r === 0, label: `c15c-verify-${s.key}-r${r}` }),
        )
        c15.c = {
          sessions: P.c15cSessions,
          perSession: P.c15cPerSession,
          rows: stores.map((s) => ({
            ...rowOf(s, v, ['ms', 'entriesPerSec']),
            label: s.key === 'chainlog' ? '`store.verify()` on the PostgreSQL store (every record re-hashed, links, sequence, canonical encoding, tree, heads)' : 'the peer: read every row in (session_id, seq) order, 1,000 per query, re-hash SHA-256(prev_hash ‖ body), check links and seq',
            entries: ok(v[s.key])[0]?.entries,
            build: { ms: built[s.key].ms, bytes: built[s.key].bytes, error: built[s.key].error },
          })),
        }
      } finally {
        await admin.end()
      }
    } catch (err) {
      c15.error = String(err?.stack ?? err).slice(0, 2000)
      log(`FAILED case 15: ${String(err?.message ?? err).split('\n')[0]}`)
    } finally {
      try {
        cluster?.destroy()
      } catch (err) {
        log(`case 15: stopping the cluster: ${String(err?.message ?? err).split('\n')[0]}`)
      }
    }
  }
}

R.machine.loadEnd = os.loadavg().map((x) => x.toFixed(2)).join(' ')
R.durationMin = (performance.now() - T0) / 60000
cleanup()

fs.mkdirSync(path.dirname(outPath), { recursive: true })
fs.writeFileSync(outPath, renderReport(R))
const jsonPath = args.out ? outPath.replace(/(\.md)?$/, '.json') : path.join(RESULTS_DIR, `${quick ? 'quick' : 'full'}-${R.started.replace(/[:.]/g, '-')}.json`)
fs.writeFileSync(jsonPath, JSON.stringify(R, null, 2))
log(`done in ${R.durationMin.toFixed(1)} min; report: ${outPath}; raw results: ${path.relative(process.cwd(), jsonPath)}`)
