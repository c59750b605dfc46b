// Results that must agree with each other and with docs/cli.md (issue 18, items 8-11): ls and
// tree on materialisation, JSON on stdout for every failure of a --json command, the docs'
// import example, and the small ones (empty arguments, deep nesting, JSONL import, id case).
import { readFileSync, writeFileSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { chainlog, chainlogJson, removeTempDirs, ROOT, seeded, tempDir, withDir } from './helpers.js'

afterAll(removeTempDirs)

interface Node {
  sessionId: string
  relation: string | null
  materialized: boolean
  children: Node[]
}

describe('ls and tree agree', () => {
  it('a compaction is materialised in tree --json as in ls --json (and a plain fork is not)', async () => {
    const s = await seeded()
    const ls = await chainlogJson(['--store', s.dir, 'ls'])
    const tree = await chainlogJson(['--store', s.dir, 'tree'])
    const nodes: Node[] = []
    const walk = (n: Node): void => {
      nodes.push(n)
      n.children.forEach(walk)
    }
    ;(tree.roots ?? tree.sessions ?? tree).forEach(walk)
    expect(nodes).toHaveLength(ls.sessions.length)
    for (const row of ls.sessions as { sessionId: string; origin: { materialized: boolean } | null }[]) {
      const node = nodes.find((n) => n.sessionId === row.sessionId)!
      expect(node.materialized, row.sessionId).toBe(row.origin?.materialized ?? false)
    }
    expect(nodes.find((n) => n.sessionId === s.compacted)!.materialized).toBe(true)
    expect(nodes.find((n) => n.sessionId === s.fork)!.materialized).toBe(false)
  })
})

describe('--json prints JSON on stdout when the command fails', () => {
  it('import --json of a session that diverged: { ok: false, error } with CHAINLOG_HEAD_CONFLICT, exit 5', async () => {
    const cwd = await tempDir()
    const a = join(cwd, 'a')
    const b = join(cwd, 'b')
    const turn = (text: string) => [{ role: 'user', content: text }]
    const head0 = await withDir(a, async (st) => {
      const { head } = await st.createSession({ sessionId: 'shared', ts: 1 })
      return (await st.appendTurn('shared', turn('one'), { expectedHead: head, ts: 2 })).head
    })
    expect((await chainlog(['--store', a, 'export', 'shared', '-o', join(cwd, '1.bundle')])).code).toBe(0)
    expect((await chainlog(['--store', b, 'init'])).code).toBe(0)
    expect((await chainlog(['--store', b, 'import', join(cwd, '1.bundle')])).code).toBe(0)
    await withDir(a, (st) => st.appendTurn('shared', turn('two in a'), { expectedHead: head0, ts: 3 }))
    await withDir(b, (st) => st.appendTurn('shared', turn('two in b'), { expectedHead: head0, ts: 3 }))
    expect((await chainlog(['--store', a, 'export', 'shared', '-o', join(cwd, '2.bundle')])).code).toBe(0)

    const r = await chainlog(['--store', b, 'import', join(cwd, '2.bundle'), '--json'])
    expect(r.code).toBe(5)
    const doc = JSON.parse(r.stdout)
    expect(doc).toMatchObject({ ok: false, error: { code: 'CHAINLOG_HEAD_CONFLICT', data: { sessionId: 'shared' } } })
    expect(r.stderr).toContain('(CHAINLOG_HEAD_CONFLICT)')
  })

  it('a missing store, a missing session and a bad option each give one JSON document', async () => {
    const s = await seeded()
    const cases: [string[], number, string][] = [
      [['--store', join(await tempDir(), 'none'), 'ls', '--json'], 4, 'CHAINLOG_STORE_NOT_FOUND'],
      [['--store', s.dir, 'log', 'no-such-session', '--json'], 4, 'CHAINLOG_SESSION_NOT_FOUND'],
      [['--store', s.dir, 'ls', '--json', '--bogus'], 2, 'CHAINLOG_USAGE'],
    ]
    for (const [args, code, errCode] of cases) {
      const r = await chainlog(args)
      expect(r.code, args.join(' ')).toBe(code)
      expect(JSON.parse(r.stdout), args.join(' ')).toMatchObject({ ok: false, error: { code: errCode } })
    }
  })

  it('a --json command that printed its own failure JSON prints only that one', async () => {
    const s = await seeded()
    const bad = join(await tempDir(), 'bad.bundle')
    writeFileSync(bad, Buffer.from([0x41, 0x00]))
    const r = await chainlog(['--store', s.dir, 'import', bad, '--json'])
    expect(r.code).toBe(1)
    const doc = JSON.parse(r.stdout) // one document: parse fails on two
    expect(doc).toMatchObject({ ok: false, error: { code: 'CHAINLOG_INVALID_BUNDLE' } })
    expect(doc.findings.length).toBeGreaterThan(0)
  })
})

describe("docs/cli.md's import example", () => {
  it('runs as written in a fresh directory', async () => {
    const s = await seeded()
    const cwd = await tempDir()
    expect((await chainlog(['--store', s.dir, 'export', s.fork, '-o', join(cwd, 'fork.bundle')])).code).toBe(0)
    const doc = readFileSync(join(ROOT, 'docs/cli.md'), 'utf8')
    // The bundle import's example (the transcript import, `#### import --from`, follows it).
    const section = doc.slice(doc.indexOf('### import'), doc.indexOf('#### import --from'))
    const commands = [...section.matchAll(/^\$ chainlog (.+)$/gm)].map((m) => m[1]!.split(' '))
    expect(commands.length).toBeGreaterThan(0)
    expect(commands.at(-1)).toEqual(['--store', './other', 'import', 'fork.bundle'])
    for (const args of commands) {
      const r = await chainlog(args, { cwd })
      expect(r.code, `chainlog ${args.join(' ')}: ${r.stderr}`).toBe(0)
    }
    expect((await chainlogJson(['--store', join(cwd, 'other'), 'ls'], { cwd })).sessions).toHaveLength(2)
  })
})

describe('small ones', () => {
  it('empty --store, demo --dir, export -o and session arguments are usage errors (exit 2)', async () => {
    const s = await seeded()
    const cwd = await tempDir()
    for (const args of [
      ['--store', '', 'init'],
      ['--store', '', 'ls'],
      ['demo', '--dir', ''],
      ['--store', s.dir, 'export', s.main, '-o', ''],
      ['--store', s.dir, 'log', ''],
      ['--store', s.dir, 'state', ''],
    ]) {
      const r = await chainlog(args, { cwd })
      expect(r.code, `${JSON.stringify(args)}: ${r.stderr}`).toBe(2)
      expect(r.stderr).toMatch(/empty string \(CHAINLOG_USAGE\)/)
    }
    // and nothing was created in the current directory
    expect((await chainlog(['--store', cwd, 'ls'], { cwd })).code).toBe(4)
  })

  it('a store URL other than postgres:// is a usage error (exit 2), never a directory to create', async () => {
    const cwd = await tempDir()
    for (const [args, env] of [
      [['--store', 'mysql://u:secret@db/x', 'ls'], {}],
      [['--store', 'postgress://db/x', 'init'], {}],
      [['ls'], { CHAINLOG_STORE: 'sqlite:///tmp/x.db' }],
    ] as const) {
      const r = await chainlog([...args], { cwd, env })
      expect(r.code, `${JSON.stringify(args)}: ${r.stderr}`).toBe(2)
      expect(r.stderr).toMatch(/a directory or a postgres:\/\/ URL, not [a-z]+:\/\/… \(CHAINLOG_USAGE\)/)
      expect(r.stderr).not.toContain('secret')
    }
    expect(await readdir(cwd)).toEqual([])
  })

  it('importing a JSONL export says JSONL is for reading (exit 2, CHAINLOG_INVALID_INPUT)', async () => {
    const s = await seeded()
    const jsonl = join(await tempDir(), 'main.jsonl')
    expect((await chainlog(['--store', s.dir, 'export', s.main, '--format', 'jsonl', '-o', jsonl])).code).toBe(0)
    for (const input of [jsonl, '-']) {
      const r = await chainlog(['--store', s.dir, 'import', input], { input: input === '-' ? readFileSync(jsonl) : '' })
      expect(r.code, r.stderr).toBe(2)
      expect(r.stderr).toMatch(/JSONL export, which is for reading.*\(CHAINLOG_INVALID_INPUT\)/)
    }
  })

  it('an uppercase session-id prefix finds the session, as an uppercase hash prefix finds the entry', async () => {
    const s = await seeded()
    // (UUIDv7 ids share their leading time digits: take enough of it to be unique)
    for (const arg of [s.main.slice(0, 28).toUpperCase(), s.main.toUpperCase()]) {
      expect(arg).not.toBe(arg.toLowerCase()) // the seeded ids have hex letters
      const r = await chainlog(['--store', s.dir, 'log', arg])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toBe((await chainlog(['--store', s.dir, 'log', s.main])).stdout)
    }
    const show = await chainlog(['--store', s.dir, 'show', s.forkPoint.slice(0, 12).toUpperCase()])
    expect(show.code, show.stderr).toBe(0)
  })

  it('the error for a value nested 10,000 deep names a short path', async () => {
    const s = await seeded()
    const history = join(await tempDir(), 'deep.json')
    writeFileSync(history, `[{"role":"user","content":${'['.repeat(10_000)}"x"${']'.repeat(10_000)}}]`)
    const r = await chainlog(['--store', s.dir, 'compact', s.other, '--history', history])
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toContain('nested deeper than 512')
    expect(r.stderr.length).toBeLessThan(300)
    expect(r.stderr).toMatch(/…\(\+\d+\)…/)
  })
})
