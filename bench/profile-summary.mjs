// Summarise V8 CPU profiles (from `npm run bench -- --profile`, or any `node --cpu-prof` run):
// top functions by self time, and optionally by inclusive time.
//   node bench/profile-summary.mjs <file.cpuprofile>... [--top 25] [--inclusive]
// Several files are merged (e.g. all repetitions of one case).
import fs from 'node:fs'
import path from 'node:path'
import { parseArgs } from './lib/util.mjs'

const args = parseArgs()
const files = args._
const top = Number(args.top ?? 25)
if (files.length === 0) {
  console.error('usage: node bench/profile-summary.mjs <file.cpuprofile>... [--top N] [--inclusive]')
  process.exit(2)
}

const self = new Map()
const incl = new Map()
let total = 0
const short = (url) => {
  if (!url) return ''
  const u = url.replace(/^file:\/\//, '')
  const i = u.lastIndexOf('node_modules/')
  if (i !== -1) return u.slice(i + 'node_modules/'.length)
  const d = u.indexOf('/dist/')
  if (d !== -1) return u.slice(d + 1)
  const b = u.indexOf('/bench/')
  if (b !== -1) return u.slice(b + 1)
  return path.basename(u)
}
for (const f of files) {
  const prof = JSON.parse(fs.readFileSync(f, 'utf8'))
  const byId = new Map(prof.nodes.map((n) => [n.id, n]))
  const parent = new Map()
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const key = (n) => {
    const cf = n.callFrame
    return `${cf.functionName || '(anonymous)'}  ${short(cf.url)}${cf.url ? `:${cf.lineNumber + 1}` : ''}`
  }
  const dt = prof.timeDeltas
  for (let i = 0; i < prof.samples.length; i++) {
    const d = (dt[i + 1] ?? dt[i] ?? 0) / 1000 // ms; the delta after a sample is the time spent in it
    total += d
    let n = byId.get(prof.samples[i])
    self.set(key(n), (self.get(key(n)) ?? 0) + d)
    const seen = new Set()
    for (; n; n = byId.get(parent.get(n.id))) {
      const k = key(n)
      if (seen.has(k)) continue
      seen.add(k)
      incl.set(k, (incl.get(k) ?? 0) + d)
    }
  }
}

const print = (title, m) => {
  console.log(`\n${title} (total ${total.toFixed(0)} ms over ${files.length} profile(s))`)
  console.log('   ms      %   function  location')
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${v.toFixed(0).padStart(6)} ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`)
  }
}
print('Top self time', self)
if (args.inclusive) print('Top inclusive time', incl)
