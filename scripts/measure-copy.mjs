// How fast copyStore moves a store, and that its memory does not grow with the store: builds a
// LevelDB store of S sessions x T turns (each turn 6 entries with usage; every third tool output
// a 6 KB blob) in a child process, then, in this process, copies it to PostgreSQL (a throwaway
// cluster, test/support/pg-cluster.ts, fsync on) and from there to a new directory, timing each
// phase (copy, read back, verify) and sampling this process's RSS and heap every 20 ms.
//
// Usage: npm run build && node scripts/measure-copy.mjs [--sessions 200] [--turns 10] [--chunk 1024]
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : fallback
}

if (process.argv.includes('--build')) {
  const { openStore } = await import('../dist/index.js')
  const [dir, sessions, turns] = [arg('build'), Number(arg('sessions')), Number(arg('turns'))]
  const store = await openStore({ path: dir, exclusive: true, durability: 'relaxed' })
  const blob = (tag) => Array.from({ length: 100 }, (_, i) => createHash('sha256').update(`${tag}/${i}`).digest('hex')).join('').slice(0, 6000)
  for (let s = 0; s < sessions; s++) {
    const id = `s${String(s).padStart(6, '0')}`
    await store.createSession({ sessionId: id, ts: 1 })
    for (let t = 0; t < turns; t++) {
      await store.appendTurn(
        id,
        [
          { role: 'user', content: `question ${t} of ${id}` },
          { type: 'function_call', call_id: `c${t}`, name: 'cat', arguments: '{}' },
          { type: 'function_call_output', call_id: `c${t}`, output: t % 3 === 0 ? blob(`${id}/${t}`) : `short ${t}` },
          { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: `answer ${t}` }] },
        ],
        { ts: 2 + t, turnEnd: true, usage: { historyLength: t, model: 'm', inputTokens: 100, cacheReadTokens: 0, cacheWriteTokens: 0, outputTokens: 10, reasoningTokens: 0 } },
      )
    }
  }
  await store.close()
  process.exit(0)
}

const SESSIONS = Number(arg('sessions', '200'))
const TURNS = Number(arg('turns', '10'))
const CHUNK = Number(arg('chunk', '1024'))
const tmp = mkdtempSync(join(tmpdir(), 'chainlog-measure-copy-'))
const { buildSync } = await import('esbuild')
const clusterModule = join(tmp, 'pg-cluster.mjs')
buildSync({ entryPoints: [new URL('../test/support/pg-cluster.ts', import.meta.url).pathname], outfile: clusterModule, format: 'esm', platform: 'node', logLevel: 'error' })
const { startPgCluster } = await import(clusterModule)
const cluster = startPgCluster()

try {
  const source = join(tmp, 'source')
  let t = performance.now()
  const built = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--build', source, '--sessions', String(SESSIONS), '--turns', String(TURNS)], { stdio: 'inherit' })
  if (built.status !== 0) throw new Error('building the store failed')
  console.log(`built ${SESSIONS} sessions x ${TURNS} turns in ${((performance.now() - t) / 1000).toFixed(1)} s`)

  const { copyStore } = await import('../dist/index.js')
  global.gc?.()
  const base = process.memoryUsage()
  for (const [from, to, label] of [
    [source, { postgres: { connectionString: cluster.connectionString, schema: 'copied' } }, 'LevelDB -> PostgreSQL'],
    [{ postgres: { connectionString: cluster.connectionString, schema: 'copied' } }, join(tmp, 'back'), 'PostgreSQL -> LevelDB'],
  ]) {
    let peakRss = 0
    let peakHeap = 0
    const peaks = {}
    const sample = setInterval(() => {
      const m = process.memoryUsage()
      peakRss = Math.max(peakRss, m.rss)
      peakHeap = Math.max(peakHeap, m.heapUsed)
      if (phase) {
        const p = (peaks[phase] ??= { rss: 0, heap: 0 })
        p.rss = Math.max(p.rss, m.rss)
        p.heap = Math.max(p.heap, m.heapUsed)
      }
    }, 20)
    const phases = {}
    let phase
    t = performance.now()
    let last = t
    const r = await copyStore(from, to, {
      chunk: CHUNK,
      onProgress: (p) => {
        if (p.phase !== phase) {
          const now = performance.now()
          if (phase) phases[phase] = now - last
          last = now
          phase = p.phase
        }
      },
    })
    phases[phase] = performance.now() - last
    clearInterval(sample)
    const ms = performance.now() - t
    const mb = (n) => (n / 2 ** 20).toFixed(1)
    console.log(
      `${label}: ${r.ok ? 'ok' : 'NOT OK'}, ${r.sessions} sessions, ${r.entries} entries, ${r.blobs} blobs, ${r.rows} rows, ${mb(r.bytes)} MiB in ${(ms / 1000).toFixed(2)} s ` +
        `(copy ${(phases.copy / 1000).toFixed(2)} s = ${Math.round(r.rows / (phases.copy / 1000))} rows/s, read back ${(phases.check / 1000).toFixed(2)} s, verify ${(phases.verify / 1000).toFixed(2)} s); ` +
        `peak RSS ${mb(peakRss)} MiB (+${mb(peakRss - base.rss)}), peak heap ${mb(peakHeap)} MiB (+${mb(peakHeap - base.heapUsed)}); ` +
        `by phase (RSS/heap MiB): ${Object.entries(peaks).map(([k, v]) => `${k} ${mb(v.rss)}/${mb(v.heap)}`).join(', ')}`,
    )
  }
} finally {
  cluster.destroy()
  rmSync(tmp, { recursive: true, force: true })
}
