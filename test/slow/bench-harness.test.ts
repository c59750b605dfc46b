// Smoke test of the benchmark harness (issue #8): `node bench/run.mjs --quick --out <tmp>` must
// run every case against chainlog and all peers and write a report with numeric ratios. The
// bench's own dependencies (bench/package.json) are installed first, as `npm run bench` does.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '../..')
let dir: string

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
    const timer = setTimeout(() => p.kill('SIGKILL'), 175_000)
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
    ]) {
      expect(md).toContain(h)
    }
    expect(md).not.toContain('_not run_')
    expect(md).not.toMatch(/failed in \d+ repetition/)

    // every target row has a numeric measurement and a verdict
    const targets = md.split('## Targets')[1]!.split('## Machine')[0]!
    const rows = targets.split('\n').filter((l) => /^\| \d[ab]? \|/.test(l))
    expect(rows.map((r) => r.split('|')[1]!.trim())).toEqual(['1a', '1b', '2', '3', '4a', '4b', '5a', '5b', '6a', '6b', '7a', '7b'])
    for (const r of rows) {
      const cells = r.split('|').map((c) => c.trim())
      expect(cells[3], r).toMatch(/^\*\*[\d,.]+(×| MiB)\*\*$/)
      expect(cells[4], r).toMatch(/^(met|\*\*not met\*\*)$/)
    }

    // each peer appears, and every ratio cell in the case tables is a number
    for (const peer of ['SQLite', 'JSONL', 'classic-level']) expect(md).toContain(peer)
    const ratioCells = [...md.matchAll(/\*\*([^*]+)×\*\*/g)].map((m) => m[1]!)
    expect(ratioCells.length).toBeGreaterThan(30)
    for (const c of ratioCells) expect(Number(c.replace(/,/g, '')), c).toBeGreaterThan(0)
    expect(md).not.toMatch(/n\/a×/)

    // the raw results are written next to the report
    const json = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8'))
    expect(Object.keys(json.cases).sort()).toEqual(['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7disk', 'c7mem'])
  }, 180_000)
})
