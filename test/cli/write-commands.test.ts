// fork, compact, export, import and demo end to end, checked against the library's view.
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { chainlog, chainlogJson, removeTempDirs, seeded, tempDir, withDir } from './helpers.js'


function expectOneLineCode(stderr: string, code: string): void {
  expect(stderr).toMatch(new RegExp(`^chainlog: .+ \\(${code}\\)\\n$`))
}
afterAll(removeTempDirs)

describe.concurrent('fork', () => {
  it('forks at an entry given by prefix; the fork restores to the source state there', async () => {
    const s = await seeded()
    const store = ['--store', s.dir]
    const r = await chainlogJson(['fork', s.forkPoint.slice(0, 8), ...store])
    expect(r).toMatchObject({ forkedFrom: { sessionId: s.main, atHash: s.forkPoint }, materialized: false })
    const lib = await withDir(s.dir, async (st) => ({
      fork: await st.restore(r.sessionId),
      source: await st.restore(s.main, { at: s.forkPoint }),
      head: await st.head(r.sessionId),
    }))
    expect(lib.head).toBe(r.head)
    expect(lib.fork.history).toEqual(lib.source.history)
    expect(lib.fork.forkedFrom).toEqual({ sessionId: s.main, atHash: s.forkPoint })
  })

  it('--materialize and --session-id', async () => {
    const s = await seeded()
    const store = ['--store', s.dir]
    const r = await chainlogJson(['fork', s.forkPoint, '--materialize', '--session-id', 'my-fork', ...store])
    expect(r).toMatchObject({ sessionId: 'my-fork', materialized: true })
    const genesis = await withDir(s.dir, (st) => st.getEntry(r.head))
    expect(genesis.entry).toMatchObject({ kind: 'session_start', sessionId: 'my-fork', snapshot: expect.any(Object) })
    const again = await chainlog(['fork', s.forkPoint, '--session-id', 'my-fork', ...store])
    expect(again.code).toBe(2)
    expect(again.stderr).toContain('CHAINLOG_SESSION_EXISTS')
    const text = await chainlog(['fork', s.forkPoint, ...store])
    expect(text.stdout).toMatch(/^forked \S+ from session \S+ at #\d+ [0-9a-f]{12}\nhead [0-9a-f]{64}\n$/)
  })
})

describe.concurrent('compact', () => {
  it('starts a new session from a history file and records the source head', async () => {
    const s = await seeded()
    const store = ['--store', s.dir]
    const dir = await tempDir()
    const file = join(dir, 'history.json')
    await writeFile(file, JSON.stringify([{ role: 'user', content: 'Summary: the user listed files.' }]))
    const sourceHead = await withDir(s.dir, (st) => st.head(s.other))
    const r = await chainlogJson(['compact', s.other, '--history', file, '--summary', 'listed files', ...store])
    expect(r).toMatchObject({ compactedFrom: { sessionId: s.other, atHash: sourceHead }, historyLength: 1 })
    const lib = await withDir(s.dir, async (st) => ({ state: await st.restore(r.sessionId), genesis: await st.getEntry(r.head), sourceHead: await st.head(s.other) }))
    expect(lib.state.history).toEqual([{ role: 'user', content: 'Summary: the user listed files.' }])
    expect(lib.genesis.entry).toMatchObject({ compaction: { summary: 'listed files' } })
    expect(lib.sourceHead).toBe(sourceHead) // the source is untouched

    // From stdin too.
    const viaStdin = await chainlogJson(['compact', s.other, '--history', '-', ...store], { input: '[]' })
    expect(viaStdin.historyLength).toBe(0)
  })

  it('rejects a history that is not a JSON array (exit 2) or a missing file (exit 4)', async () => {
    const s = await seeded()
    const store = ['--store', s.dir]
    const dir = await tempDir()
    const bad = join(dir, 'bad.json')
    await writeFile(bad, '{"history": []}')
    const r = await chainlog(['compact', s.other, '--history', bad, ...store])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^chainlog: .*must hold a JSON array.* \(CHAINLOG_INVALID_INPUT\)\n$/)
    await writeFile(bad, 'not json')
    expect((await chainlog(['compact', s.other, '--history', bad, ...store])).code).toBe(2)
    const missing = await chainlog(['compact', s.other, '--history', join(dir, 'nope.json'), ...store])
    expect(missing.code).toBe(4)
    expect(missing.stderr).toContain('CHAINLOG_FILE_NOT_FOUND')
    const noHistory = await chainlog(['compact', s.other, ...store])
    expect(noHistory.code).toBe(2)
  })
})

describe.concurrent('export and import', () => {
  it('round-trips a fork with its source through a bundle file into a fresh store, idempotently', async () => {
    const s = await seeded()
    const store = ['--store', s.dir]
    const dir = await tempDir()
    const file = join(dir, 'fork.bundle')
    const exp = await chainlogJson(['export', s.fork, '-o', file, ...store])
    expect(exp.sessions.map((x: { sessionId: string }) => x.sessionId)).toEqual([s.main, s.fork])

    const bundleReport = await chainlogJson(['verify', '--bundle', file])
    expect(bundleReport.ok).toBe(true)
    expect(bundleReport.checked.entries).toBe(exp.entries)

    const target = join(dir, 'target')
    expect((await chainlog(['--store', target, 'init'])).code).toBe(0)
    const imp = await chainlogJson(['import', file, '--store', target])
    expect(imp).toMatchObject({ ok: true, entriesAdded: exp.entries })
    const [src, dst] = await Promise.all([
      withDir(s.dir, async (st) => st.restore(s.fork)),
      withDir(target, async (st) => st.restore(s.fork)),
    ])
    expect(dst).toEqual(src)
    const again = await chainlogJson(['import', file, '--store', target])
    expect(again.entriesAdded).toBe(0)
    expect((await chainlog(['--store', target, 'verify', '--all'])).code).toBe(0)
  })

  it('writes the bundle to stdout and imports it from stdin', async () => {
    const s = await seeded()
    const store = ['--store', s.dir]
    const out = await chainlog(['export', s.other, ...store])
    expect(out.code).toBe(0)
    expect(out.stderr).toContain(`exported ${s.other}`)
    const target = join(await tempDir(), 'target')
    await chainlog(['--store', target, 'init'])
    const imp = await chainlog(['--store', target, 'import', '-'], { input: out.stdoutBytes })
    expect(imp.code).toBe(0)
    expect(imp.stdout).toContain('imported')
    expect(await withDir(target, (st) => st.head(s.other))).toBe(await withDir(s.dir, (st) => st.head(s.other)))
  })

  it('exports JSONL: a header line, then one line per entry', async () => {
    const s = await seeded()
    const store = ['--store', s.dir]
    const out = await chainlog(['export', s.main, '--format', 'jsonl', ...store])
    expect(out.code).toBe(0)
    const lines = out.stdout.trimEnd().split('\n').map((l) => JSON.parse(l))
    const length = await withDir(s.dir, async (st) => (await st.listSessions()).find((x) => x.sessionId === s.main)!.length)
    expect(lines[0]).toMatchObject({ format: 'chainlog-jsonl', root: s.main })
    expect(lines).toHaveLength(length + 1)
    expect(lines[1]).toMatchObject({ sessionId: s.main, seq: 0, entry: { kind: 'session_start' } })
  })

  it('refuses --json without -o, an unknown format, and a missing input file', async () => {
    const s = await seeded()
    const store = ['--store', s.dir]
    expect((await chainlog(['export', s.main, '--json', ...store])).code).toBe(2)
    expect((await chainlog(['export', s.main, '--format', 'xml', ...store])).code).toBe(2)
    const dir = await tempDir()
    const r = await chainlog(['import', join(dir, 'none.bundle'), ...store])
    expect(r.code).toBe(4)
    expect(r.stderr).toContain('CHAINLOG_FILE_NOT_FOUND')
    // -o into a missing directory, or onto a directory: refused, nothing left behind.
    const noDir = await chainlog(['export', s.main, '-o', join(dir, 'missing', 'x.bundle'), ...store])
    expect(noDir.code).toBe(4)
    expectOneLineCode(noDir.stderr, 'CHAINLOG_FILE_NOT_FOUND')
    const ontoDir = await chainlog(['export', s.main, '-o', dir, ...store])
    expect(ontoDir.code).toBe(2)
    expectOneLineCode(ontoDir.stderr, 'CHAINLOG_USAGE')
    expect(await readdir(dir)).toEqual([])
  })
})

describe.concurrent('demo', () => {
  it('builds a verified store of several sessions with a fork and a compaction, and says what to try', async () => {
    const dir = join(await tempDir(), 'demo')
    const j = await chainlogJson(['demo', '--dir', dir])
    expect(j.dir).toBe(dir)
    expect(j.verify.ok).toBe(true)
    expect(j.sessions.length).toBeGreaterThanOrEqual(4)
    const lib = await withDir(dir, async (st) => {
      const sessions = await st.listSessions()
      const kinds = new Set<string>()
      for (const x of sessions) for await (const e of st.entries(x.sessionId)) kinds.add(e.entry.kind)
      return { sessions, kinds, usage: await st.usage() }
    })
    expect(lib.sessions.map((x) => x.sessionId).sort()).toEqual(j.sessions.map((x: { sessionId: string }) => x.sessionId).sort())
    expect(lib.sessions.some((x) => x.forkedFrom?.atHash === j.forkPoint)).toBe(true)
    expect(lib.sessions.some((x) => x.compactedFrom)).toBe(true)
    for (const k of ['user_input', 'assistant_items', 'tool_results', 'llm_usage', 'turn_end', 'config_changed', 'run_outcome', 'cache_locked']) {
      expect(lib.kinds.has(k)).toBe(true)
    }
    expect(Object.keys(lib.usage).length).toBeGreaterThanOrEqual(2)

    // Text mode: where the store is and commands to try; a non-empty directory is refused.
    const again = await chainlog(['demo', '--dir', dir])
    expect(again.code).toBe(2)
    expect(again.stderr).toContain('not empty')
    const fresh = await chainlog(['demo', '--dir', join(await tempDir(), 'demo2')])
    expect(fresh.code).toBe(0)
    expect(fresh.stdout).toContain('Try next:')
    expect(fresh.stdout).toMatch(/--store \S+demo2 ls/)
    expect(fresh.stdout).toMatch(/: ok\n/)
  })

  it('defaults to a new temporary directory', async () => {
    const r = await chainlog(['demo', '--json'])
    expect(r.code).toBe(0)
    const { dir } = JSON.parse(r.stdout) as { dir: string }
    expect(dir).toMatch(/chainlog-demo-/)
    const { rm } = await import('node:fs/promises')
    await rm(dir, { recursive: true, force: true })
    expect(await readFile(join(dir, 'CURRENT')).catch(() => null)).toBeNull()
  })
})
