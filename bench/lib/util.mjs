// Small helpers shared by the bench orchestrator (run.mjs) and its workers (worker.mjs).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createHash } from 'node:crypto'

export const now = () => performance.now() // ms, monotonic

export function median(xs) {
  const s = xs.filter((x) => typeof x === 'number' && !Number.isNaN(x)).sort((a, b) => a - b)
  if (s.length === 0) return NaN
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

export function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b)
  if (s.length === 0) return NaN
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]
}

/** { median, min, max, n, runs } of a list of numbers. */
export function stats(xs) {
  const v = xs.filter((x) => typeof x === 'number' && !Number.isNaN(x))
  return { median: median(v), min: v.length ? Math.min(...v) : NaN, max: v.length ? Math.max(...v) : NaN, n: v.length, runs: v }
}

export function parseArgs(argv = process.argv.slice(2)) {
  const out = { _: [] }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (!a.startsWith('--')) {
      out._.push(a)
      continue
    }
    const eq = a.indexOf('=')
    if (eq !== -1) {
      out[a.slice(2, eq)] = a.slice(eq + 1)
      continue
    }
    const k = a.slice(2)
    const v = argv[i + 1]
    if (v === undefined || v.startsWith('--')) out[k] = true
    else {
      out[k] = v
      i++
    }
  }
  return out
}

export const ZERO32 = Buffer.alloc(32)

/** The peers' chain hash (as in the baseline): SHA-256(prev ‖ encoded entry), node:crypto. */
export const chainHash = (prev, body) => createHash('sha256').update(prev).update(body).digest()

export function eq32(a, b) {
  for (let i = 0; i < 32; i++) if (a[i] !== b[i]) return false
  return true
}

export function dirSize(p) {
  let apparent = 0
  let allocated = 0
  let files = 0
  const walk = (q) => {
    const st = fs.lstatSync(q)
    if (st.isDirectory()) {
      for (const n of fs.readdirSync(q)) walk(path.join(q, n))
    } else {
      apparent += st.size
      allocated += st.blocks * 512
      files++
    }
  }
  if (fs.existsSync(p)) walk(p)
  return { apparent, allocated, files }
}

export function rmrf(p) {
  fs.rmSync(p, { recursive: true, force: true })
}

export function benchRoot() {
  return path.join(os.tmpdir(), 'chainlog-bench')
}

export const fmt = {
  int: (x) => (x == null || Number.isNaN(x) ? 'n/a' : Math.round(x).toLocaleString('en-US')),
  f1: (x) => (x == null || Number.isNaN(x) ? 'n/a' : x.toFixed(1)),
  f2: (x) => (x == null || Number.isNaN(x) ? 'n/a' : x.toFixed(2)),
  f3: (x) => (x == null || Number.isNaN(x) ? 'n/a' : x.toFixed(3)),
  /** A time in ms with sensible precision. */
  ms: (x) => {
    if (x == null || Number.isNaN(x)) return 'n/a'
    if (x >= 100) return Math.round(x).toLocaleString('en-US')
    if (x >= 10) return x.toFixed(1)
    if (x >= 1) return x.toFixed(2)
    return x.toFixed(3)
  },
  /** Significant figures for any positive number. */
  sig: (x, n = 3) => {
    if (x == null || Number.isNaN(x)) return 'n/a'
    if (Math.abs(x) >= 10 ** n) return Math.round(x).toLocaleString('en-US')
    return Number(x.toPrecision(n)).toString()
  },
}
