// Smoke test of the benchmark harness (issue #8): `node bench/run.mjs --quick --out <tmp>` must
// run every case against chainlog and all peers and write a report with numeric ratios. The
// bench's own dependencies (bench/package.json) are installed first, as `npm run bench` does.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findPgBin } from '../support/pg-cluster.js'
import { STORE_FORMAT_VERSION } from '../../src/storage/store-format.js'

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '../..')
let dir: string
// Case 15 (PostgreSQL) runs when the server binaries are installed (CI installs them); without
// them the bench skips it with a printed reason, and so does this test's check of it.
const pgMissing = (() => {
  try {
    findPgBin()
    return null
  } catch (err) {
    return String((err as Error).message)
  }
})()

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chainlog-bench-test-'))
  // first run only: `npm ci --prefix bench` (better-sqlite3 may compile for a few minutes)
  const install = spawnSync(process.execPath, [join(root, 'bench', 'install-deps.mjs')], { cwd: root, encoding: 'utf8' })
  if (install.status !== 0) throw new Error(`bench/install-deps.mjs failed:\n${install.stderr}`)
}, 600_000)

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

function runQuick(out: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, [join(root, 'bench', 'run.mjs'), '--quick', '--out', out, '--data-dir', join(dir, 'data')], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    p.stderr.on('data', (d) => (stderr += d))
    // Quick mode took 154 s in CI once cases 8-11 joined (about 90 s on a quiet machine); cases
    // 12-14 add about 95 s on a loaded 2-core machine (318 s in all at load 9). The limit
    // catches a hang, not a slow machine.
    const timer = setTimeout(() => p.kill('SIGKILL'), 600_000)
    p.on('error', rej)
    p.on('close', (code) => {
      clearTimeout(timer)
      res({ code, stderr })
    })
  })
}

describe('bench harness (--quick)', () => {
  it('runs every case and reports numeric ratios to the peers', async () => {
    const out = join(dir, 'report.md')
    const { code, stderr } = await runQuick(out)
    expect(code, stderr).toBe(0)
    expect(stderr).not.toMatch(/FAILED/)
    const md = await readFile(out, 'utf8')

    // every case has its section, and none was skipped
    for (const h of [
      '## Targets',
      '## Machine',
      '## Workload',
      '## 1. Single session, relaxed append per turn',
      '## 2. Single session, durable append per turn',
      '## 3. 16 sessions appending concurrently, durable',
      '## 4. Full verify of the store',
      '## 5. Restore and tail read',
      '## 6. Fork at the head',
      '## 7. Bytes on disk and memory',
      '## 8. Start-up',
      '## 9. Migrating a store of format 1',
      '## 10. Many small sessions: ls, stats, tree',
      '## 11. verify --all of many small sessions',
      '## 12. Importing agent transcripts',
      '### claude-code: ',
      '### codex: ',
      '### pi: ',
      '## 13. Framework adapters: LangGraph.js checkpointer and OpenAI Agents SDK session',
      '### 13a. LangGraph.js: `ChainlogSaver` against `SqliteSaver`',
      '### 13b. OpenAI Agents SDK: `ChainlogSession` against a file session',
      '## 14. Cost of the Merkle tree on appends',
      '### 14a. Case 1: ',
      '### 14b. Case 2: ',
      '## 15. PostgreSQL: appends and verify against a plain table',
      ...(pgMissing ? [] : ['### 15a. One session, durable append per turn', '### 15b. 64 sessions from 4 processes, durable', '### 15c. Full verify of a store']),
    ]) {
      expect(md).toContain(h)
    }
    if (pgMissing) {
      console.warn(`bench harness: case 15 skipped: ${pgMissing}`)
      expect(md).toContain('_skipped: PostgreSQL server binaries not found')
      expect(stderr).toContain('case 15: skipped: ')
    }
    expect(md).not.toContain('_not run_')
    expect(md).not.toMatch(/failed in \d+ repetition/)

    // every target row has a numeric measurement and a verdict
    const targets = md.split('## Targets')[1]!.split('## Machine')[0]!
    const rows = targets.split('\n').filter((l) => /^\| \d+[a-d]? \|/.test(l))
    expect(rows.map((r) => r.split('|')[1]!.trim())).toEqual(['1a', '1b', '2', '3', '4a', '4b', '5a', '5b', '6a', '6b', '7a', '7b', '8a', '8b', '9', '10a', '10b', '10c', '11', '13a', '13b', '13c', '13d', '14a', '14b', ...(pgMissing ? [] : ['15a', '15b', '15c'])])
    for (const r of rows) {
      const cells = r.split('|').map((c) => c.trim())
      // the tree's cost (14a, 14b) is a percentage, negative when the noise is larger than the cost
      expect(cells[3], r).toMatch(/^\*\*(-?[\d.]+%|[\d,.]+(×| MiB| entries\/s))\*\*$/)
      // 15c is reported without a target
      expect(cells[4], r).toMatch(cells[1] === '15c' ? /^reported$/ : /^(met|\*\*not met\*\*)$/)
    }

    // each peer appears, and every ratio cell in the case tables is a number
    for (const peer of ['SQLite', 'JSONL', 'classic-level']) expect(md).toContain(peer)
    const ratioCells = [...md.matchAll(/\*\*([^*]+)×\*\*/g)].map((m) => m[1]!)
    expect(ratioCells.length).toBeGreaterThan(30)
    for (const c of ratioCells) expect(Number(c.replace(/,/g, '')), c).toBeGreaterThan(0)
    expect(md).not.toMatch(/n\/a×/)

    // the raw results are written next to the report
    const json = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8'))
    expect(Object.keys(json.cases).sort()).toEqual(['c1', 'c10', 'c11', 'c12', 'c13', 'c14', 'c15', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7disk', 'c7mem', 'c8', 'c9'])
    // the migration case checked the store was format 1 before the open, the current format (3) after, and verified it
    expect(json.cases.c9.checks.before.format).toEqual({ version: 1 })
    expect(json.cases.c9.checks.after.format).toEqual({ version: STORE_FORMAT_VERSION })
    expect(json.cases.c9.verify.n).toBe(json.cases.c9.verify.runs)
    // the CLI printed a line per session (+ a header for chainlog's table)
    const c10 = Object.fromEntries(json.cases.c10.rows.map((r: { key: string; check: { lines: number } }) => [r.key, r.check.lines]))
    expect(c10.jsonl).toBe(json.cases.c10.sessions)
    expect(c10.ls).toBe(json.cases.c10.sessions + 1)
    expect(c10['ls-n20']).toBe(21)

    // case 12: every format imported (each run checks every line landed, one session per file, no damage)
    for (const format of ['claude-code', 'codex', 'pi']) {
      const f = json.cases.c12.formats[format]
      expect(f.error, format).toBeUndefined()
      expect(f.lines, format).toBeGreaterThan(0)
      for (const r of f.rows) expect([r.key, r.n, r.errors], format).toEqual([r.key, 1, []])
      const relaxed = f.rows.find((r: { key: string }) => r.key === 'relaxed')
      expect(relaxed.entries).toBeGreaterThanOrEqual(f.lines)
      expect(relaxed.disk.apparent).toBeGreaterThan(0)
    }
    // case 13: every saver and session ran and read back what it wrote (the worker checks each read)
    for (const r of [...json.cases.c13.langgraph, ...json.cases.c13.agents]) expect([r.key, r.n, r.errors]).toEqual([r.key, 1, []])
    // case 15: each store ran every part once, without errors, and everything appended landed
    // (each worker checks its sessions hold exactly what it appended; landed counts it again)
    if (!pgMissing) {
      const c15 = json.cases.c15
      expect(c15.error).toBeUndefined()
      expect(c15.server.settings.fsync).toBe('on')
      expect(c15.server.settings.synchronous_commit).toBe('on')
      for (const part of ['a', 'b', 'c']) {
        expect(c15[part].rows.map((r: { key: string; n: number; errors: string[] }) => [r.key, r.n, r.errors])).toEqual([
          ['chainlog', 1, []],
          ['peer', 1, []],
        ])
      }
      // chainlog: 4 entries per turn (appendTurn makes the two adjacent assistant items one
      // entry) + a genesis entry per session; the peer: 5 rows per turn
      for (const part of ['a', 'b']) {
        const { sessions, turns } = c15[part]
        const landed = Object.fromEntries(c15[part].rows.map((r: { key: string; landed: { median: number } }) => [r.key, r.landed.median]))
        expect(landed, part).toEqual({ chainlog: sessions * turns * 4 + sessions, peer: sessions * turns * 5 })
      }
      // 15b's four processes all took part, and chainlog grouped some of its commits
      expect(c15.b.processes).toBe(4)
      expect(c15.b.rows[0].turnsPerBatch.median).toBeGreaterThanOrEqual(1)
      for (const r of c15.c.rows) expect(r.entries, r.key).toBe(c15.c.sessions * c15.c.perSession + (r.key === 'chainlog' ? c15.c.sessions : 0))
    }
    // case 14: the tree rows are there with the tree, and absent in both variants without it
    for (const which of ['relaxed', 'durable']) {
      const rows = Object.fromEntries(json.cases.c14[which].rows.map((r: { key: string; treeRows: { median: number }; n: number }) => [r.key, r]))
      expect(Object.keys(rows).sort()).toEqual(['chainlog', 'notree', 'notree-rows'])
      expect(rows.chainlog.treeRows.median).toBeGreaterThan(0)
      expect(rows['notree-rows'].treeRows.median).toBe(0)
      expect(rows.notree.treeRows.median).toBe(0)
      expect(rows.notree.entriesWritten.median).toBe(rows.chainlog.entriesWritten.median)
      expect(rows['notree-rows'].entriesWritten.median).toBe(rows.chainlog.entriesWritten.median)
    }
  }, 630_000)
})
