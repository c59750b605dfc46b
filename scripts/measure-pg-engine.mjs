// Rough throughput of PgEngine until bench/ gains PostgreSQL rows: N commits, each one new row
// plus a compare-and-set of its writer's head row (an append, as the store will make them), by
// 1, 16 and 64 concurrent writers (each its own head), through one engine with group commit on
// and off, through one engine per writer (as many processes would: each its own connection,
// no grouping between them), and the same work written the obvious way in plain SQL (one
// transaction per commit: SELECT ... FOR UPDATE the head, INSERT, UPDATE) on a pool of up to 32
// connections. Starts its own throwaway cluster (test/support/pg-cluster.ts; fsync on) unless
// --url is given.
//
// Usage: npm run build && node scripts/measure-pg-engine.mjs [--n 2000] [--repeat 3] [--sync true|false] [--url postgres://...]
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildSync } from 'esbuild'
import pg from 'pg'
import { openPgEngine } from '../dist/storage/pg-engine.js'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : fallback
}
const N = Number(arg('n', '2000'))
const SYNC = arg('sync', 'true') === 'true'
const REPEAT = Number(arg('repeat', '3'))
const VALUE_BYTES = 200

let cluster
let url = arg('url')
const tmp = mkdtempSync(join(tmpdir(), 'chainlog-measure-pg-'))
if (!url) {
  // The test helper is TypeScript; esbuild (a devDependency) turns it into a module to import.
  const out = join(tmp, 'pg-cluster.mjs')
  buildSync({ entryPoints: [new URL('../test/support/pg-cluster.ts', import.meta.url).pathname], outfile: out, format: 'esm', platform: 'node', logLevel: 'error' })
  const { startPgCluster } = await import(out)
  cluster = startPgCluster({ settings: { max_connections: 200 } })
  url = cluster.connectionString
}

const enc = (s) => new TextEncoder().encode(s)
let schemas = 0

/** `writers` loops of N/writers appends; `engineFor(w)` gives writer w its engine. */
async function appends(writers, engineFor) {
  const per = Math.floor(N / writers)
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const e = engineFor(w)
      const head = enc(`head/${String(w).padStart(3, '0')}`)
      let prev
      for (let i = 0; i < per; i++) {
        const value = enc(`${w}:${i}`)
        await e.commit({
          ops: [{ type: 'put', key: enc(`entry/${String(w).padStart(3, '0')}/${String(i).padStart(8, '0')}`), value: randomBytes(VALUE_BYTES) }, { type: 'put', key: head, value }],
          expect: [{ key: head, value: prev }],
          sync: SYNC,
        })
        prev = value
      }
    }),
  )
  return per * writers
}

async function engineRun(writers, { group, enginesPerWriter }) {
  const schema = `m${++schemas}`
  const count = enginesPerWriter ? writers : 1
  const engines = await Promise.all(Array.from({ length: count }, () => openPgEngine({ connectionString: url, schema, group, pool: { max: 2 } })))
  const t = performance.now()
  const n = await appends(writers, (w) => engines[enginesPerWriter ? w : 0])
  const ms = performance.now() - t
  const transactions = engines.reduce((a, e) => a + e.stats.transactions, 0)
  await Promise.all(engines.map((e) => e.close()))
  return { n, ms, transactions }
}

async function plainRun(writers) {
  const schema = `p${++schemas}`
  const pool = new pg.Pool({ connectionString: url, max: Math.min(writers, 32) })
  await pool.query(`CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.heads (session text PRIMARY KEY, head bytea NOT NULL); CREATE TABLE ${schema}.entries (session text, seq integer, body bytea NOT NULL, PRIMARY KEY (session, seq))`)
  const per = Math.floor(N / writers)
  const t = performance.now()
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const session = `s${w}`
      await pool.query(`INSERT INTO ${schema}.heads VALUES ($1, '\\x')`, [session])
      let prev = Buffer.alloc(0)
      for (let i = 0; i < per; i++) {
        const c = await pool.connect()
        try {
          await c.query(SYNC ? 'BEGIN' : 'BEGIN; SET LOCAL synchronous_commit = off')
          const h = await c.query(`SELECT head FROM ${schema}.heads WHERE session = $1 FOR UPDATE`, [session])
          if (!h.rows[0].head.equals(prev)) throw new Error('head moved')
          await c.query(`INSERT INTO ${schema}.entries VALUES ($1, $2, $3)`, [session, i, randomBytes(VALUE_BYTES)])
          const next = Buffer.from(`${w}:${i}`)
          await c.query(`UPDATE ${schema}.heads SET head = $2 WHERE session = $1`, [session, next])
          await c.query('COMMIT')
          prev = next
        } finally {
          c.release()
        }
      }
    }),
  )
  const ms = performance.now() - t
  await pool.end()
  return { n: per * writers, ms, transactions: per * writers }
}

const configs = []
for (const writers of [1, 16, 64]) {
  configs.push(['one engine, grouped', writers, () => engineRun(writers, { group: true })])
  configs.push(['one engine, not grouped', writers, () => engineRun(writers, { group: false })])
  if (writers > 1) configs.push(['an engine per writer', writers, () => engineRun(writers, { group: true, enginesPerWriter: true })])
  configs.push(['plain SQL, pool', writers, () => plainRun(writers)])
}
const results = configs.map(() => [])
try {
  // Warm-up (not reported): the first run on a new cluster pays for its cold start.
  await engineRun(16, { group: false })
  await plainRun(16)
  // Every configuration once per round, REPEAT rounds; the median round of each is reported
  // (a shared machine's fsync latency drifts, so runs of one configuration are spread out).
  for (let round = 0; round < REPEAT; round++) {
    for (const [i, [name, writers, run]] of configs.entries()) {
      const r = await run()
      results[i].push(r)
      console.error(`round ${round + 1}: ${name} x${writers}: ${Math.round((r.n / r.ms) * 1000)} commits/s`)
    }
  }
  const rows = configs.map(([name, writers], i) => {
    const r = [...results[i]].sort((a, b) => b.n / b.ms - a.n / a.ms)[Math.floor(REPEAT / 2)]
    return { mode: name, writers, commits: r.n, 'commits/s': Math.round((r.n / r.ms) * 1000), 'ms/commit': +(r.ms / r.n).toFixed(3), 'commits/txn': +(r.n / r.transactions).toFixed(1) }
  })
  console.log(`PgEngine: ${N} appends (a ${VALUE_BYTES}-byte row + head compare-and-set), sync: ${SYNC}, median of ${REPEAT} rounds, PostgreSQL ${cluster ? cluster.version : '(given)'}`)
  console.table(rows)
} finally {
  cluster?.destroy()
  rmSync(tmp, { recursive: true, force: true })
}
