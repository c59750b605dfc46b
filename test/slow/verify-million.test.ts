// Slow suite: verify a classic-level store of 1,000,000 entries in a child process and check that
// its memory stays bounded (under 256 MB, and not growing with the entries verified): verify streams
// the store in chunks instead of loading it.
//
// What is measured: LevelDB reads table files through mmap, and the pages of a mapped file that
// a scan touches count towards the process's RSS (as file-backed RSS, "RssFile" in
// /proc/self/status) although they are the kernel's page cache, shared and dropped under memory
// pressure. A full scan therefore pushes process.resourceUsage().maxRSS up towards the size of
// the store whatever verify does. The bound is asserted on the process's own memory: the peak
// of anonymous RSS ("RssAnon": JS heap, native allocations, LevelDB's block cache and
// buffers), sampled after every chunk. maxRSS is reported alongside. Where /proc is not
// available, the assertion falls back to maxRSS.
import { spawn } from 'node:child_process'
import { cp, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EntryInput } from '../../src/storage/session-store.js'
import { Store } from '../../src/store.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const DIST = join(ROOT, 'dist', 'index.js')
const ENTRIES = 1_000_000
const SESSIONS = 4
const CHUNK = 500
const TS = 1_700_000_000_000
const MB = 1024 * 1024

async function sizeOnDisk(dir: string): Promise<number> {
  let total = 0
  for (const d of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, d.name)
    total += d.isDirectory() ? await sizeOnDisk(p) : (await stat(p)).size
  }
  return total
}

/** A small entry of a few kinds, so the store looks like sessions rather than one repeated record. */
function entry(n: number): EntryInput {
  const ts = TS + n
  switch (n % 5) {
    case 0:
      return { kind: 'user_input', ts, item: { role: 'user', content: `question ${n}` } }
    case 1:
      return { kind: 'assistant_items', ts, items: [{ type: 'function_call', call_id: `c${n}`, name: 'ls', arguments: '{}' }] }
    case 2:
      return { kind: 'tool_results', ts, items: [{ type: 'function_call_output', call_id: `c${n - 1}`, output: `a.txt b${n}.txt` }] }
    case 3:
      return { kind: 'assistant_items', ts, items: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: `answer ${n}` }] }] }
    default:
      return { kind: 'turn_end', ts, turn: Math.floor(n / 5) + 1 }
  }
}

const CHILD = `
import { readFileSync } from 'node:fs'
const [distUrl, path, sessionId] = process.argv.slice(2)
let peakAnonKb = null
let peakFileKb = null
function sample() {
  let status
  try { status = readFileSync('/proc/self/status', 'utf8') } catch { return }
  const anon = /RssAnon:\\s+(\\d+) kB/.exec(status)
  const file = /RssFile:\\s+(\\d+) kB/.exec(status)
  if (anon) peakAnonKb = Math.max(peakAnonKb ?? 0, Number(anon[1]))
  if (file) peakFileKb = Math.max(peakFileKb ?? 0, Number(file[1]))
}
const timer = setInterval(sample, 50)
const { Store } = await import(distUrl)
const store = await Store.open({ path, durability: 'relaxed' })
const t0 = Date.now()
// The same worker threads in both runs (a session alone would default to none).
const report = await store.verify(sessionId ? { sessionId, threads: 1, onProgress: sample } : { threads: 1, onProgress: sample })
const ms = Date.now() - t0
sample()
await store.close()
clearInterval(timer)
process.stdout.write(JSON.stringify({
  ok: report.ok,
  checked: report.checked,
  findings: report.findings.slice(0, 5),
  findingCount: report.findings.length,
  ms,
  maxRssKb: process.resourceUsage().maxRSS,
  peakAnonKb,
  peakFileKb,
}))
`

function runChild(script: string, args: string[]): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.on('error', reject)
    child.on('close', (code) => (code === 0 ? resolvePromise(out) : reject(new Error(`verify child exited with ${code}: ${err}`))))
  })
}

describe('verify a store of 1,000,000 entries', () => {
  let dir: string
  let dbPath: string
  let quarterPath: string
  const timings: Record<string, number> = {}

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chainlog-million-'))
    dbPath = join(dir, 'db')
    quarterPath = join(dir, 'quarter')
    const t0 = Date.now()
    let store = await Store.open({ path: dbPath, durability: 'relaxed' })
    try {
      const per = ENTRIES / SESSIONS
      for (let s = 0; s < SESSIONS; s++) {
        const id = `million-${s}`
        await store.createSession({ sessionId: id, systemPrompt: 'bulk', config: { model: 'model-a' }, ts: TS })
        for (let from = 0; from < per; from += CHUNK) {
          const batch: EntryInput[] = []
          for (let n = from; n < Math.min(per, from + CHUNK); n++) batch.push(entry(n))
          await store.appendMany(id, batch)
        }
        if (s === 0) {
          // A copy of the store as it is with one session: a quarter of the entries, the same walk.
          await store.close()
          await cp(dbPath, quarterPath, { recursive: true })
          store = await Store.open({ path: dbPath, durability: 'relaxed' })
        }
      }
    } finally {
      await store.close()
    }
    timings.buildStoreMs = Date.now() - t0
  }, 600_000)

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('verifies ok in a child process whose peak memory stays under 256 MB and does not grow with the entries it verifies', async () => {
    const disk = await sizeOnDisk(dbPath)
    const script = join(dir, 'verify-child.mjs')
    await writeFile(script, CHILD)
    // The store as it was with one session first (a quarter of the entries): the same whole-store
    // walk, process, code and caches, 4x fewer entries.
    const one = JSON.parse(await runChild(script, [pathToFileURL(DIST).href, quarterPath])) as { ok: boolean; checked: { entries: number }; peakAnonKb: number | null; maxRssKb: number }
    expect(one.ok).toBe(true)
    expect(one.checked.entries).toBe(ENTRIES / SESSIONS + 1)
    const t0 = Date.now()
    const result = JSON.parse(await runChild(script, [pathToFileURL(DIST).href, dbPath])) as {
      ok: boolean
      checked: { sessions: number; entries: number; bytes: number }
      findings: unknown[]
      findingCount: number
      ms: number
      maxRssKb: number
      peakAnonKb: number | null
      peakFileKb: number | null
    }
    timings.childMs = Date.now() - t0
    timings.verifyMs = result.ms
    const maxRss = result.maxRssKb * 1024
    const own = result.peakAnonKb !== null ? result.peakAnonKb * 1024 : maxRss
    const kb = (n: number | null) => (n === null ? 'n/a' : `${(n / 1024).toFixed(1)} MB`)
    console.log(
      `[verify-million] store ${(disk / MB).toFixed(1)} MB on disk, ${result.checked.entries} entries (${(result.checked.bytes / MB).toFixed(1)} MB of records); ` +
        `peak anonymous RSS ${kb(result.peakAnonKb)}, peak file-backed RSS ${kb(result.peakFileKb)}, maxRSS ${kb(result.maxRssKb)}; timings ${JSON.stringify(timings)}`,
    )
    expect(result.findings).toEqual([])
    expect(result.ok).toBe(true)
    expect(result.checked.sessions).toBe(SESSIONS)
    expect(result.checked.entries).toBe(ENTRIES + SESSIONS) // plus one genesis per session
    expect(own).toBeLessThan(256 * MB)
    // Memory does not grow with the entries: verifying the store of four sessions peaks within
    // 32 MB of verifying the same store when it held one. (Not a single-session verify of the big
    // store: that reads by point reads, the whole-store walk by merged scans, and their fixed
    // costs differ by 30-47 MB.) A walk that kept anything per entry (a hash is 32 bytes, 64+ as a JS value)
    // would need more than that for the 750,000 more entries; V8's heap sizing alone moves the
    // peak by about 17 MB between the two runs.
    const ownOne = one.peakAnonKb !== null ? one.peakAnonKb * 1024 : one.maxRssKb * 1024
    console.log(`[verify-million] the store with one session (${one.checked.entries} entries): peak anonymous RSS ${(ownOne / MB).toFixed(1)} MB`)
    expect(own).toBeLessThan(ownOne + 32 * MB)
  }, 600_000)
})
