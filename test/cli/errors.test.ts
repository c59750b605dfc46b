// Failures of the CLI: each gives its documented exit status and one line on stderr naming the
// error code, never a stack trace.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openStore } from '../../src/index.js'
import { chainlog, chainlogJson, openDir, removeTempDirs, seeded, tempDir, withDir } from './helpers.js'

afterAll(removeTempDirs)

/** One line, `chainlog: <message> (<CODE>)`. */
function expectOneLine(stderr: string, code: string): void {
  expect(stderr).toMatch(new RegExp(`^chainlog: .+ \\(${code}\\)\\n$`))
  expect(stderr).not.toMatch(/\n\s+at /)
}

describe.concurrent('not found (exit 4)', () => {
  it('an unknown hash', async () => {
    const s = await seeded()
    const store = ['--store', s.dir]
    // One at a time: each command holds the store while it runs.
    for (const args of [['show', 'deadbeef'], ['fork', 'deadbeef'], ['show', 'f'.repeat(64)]]) {
      const r = await chainlog([...args, ...store])
      expect(r.code).toBe(4)
      expectOneLine(r.stderr, 'CHAINLOG_ENTRY_NOT_FOUND')
    }
  })

  it('an unknown session', async () => {
    const s = await seeded()
    const store = ['--store', s.dir]
    for (const cmd of ['log', 'state', 'export', 'stats', 'tree', 'verify']) {
      const r = await chainlog([cmd, 'no-such-session', ...store])
      expect(r.code, cmd).toBe(4)
      expectOneLine(r.stderr, 'CHAINLOG_SESSION_NOT_FOUND')
    }
  })

  it('a directory without a store, which is left untouched', async () => {
    const dir = join(await tempDir(), 'nothing-here')
    const r = await chainlog(['--store', dir, 'ls'])
    expect(r.code).toBe(4)
    expectOneLine(r.stderr, 'CHAINLOG_STORE_NOT_FOUND')
    expect(existsSync(dir)).toBe(false)
  })
})

describe.concurrent('usage errors (exit 2)', () => {
  it('an ambiguous hash prefix', async () => {
    // Entries with fixed content hash the same every run: append until two share 4 hex digits.
    const dir = await tempDir()
    const prefix = await withDir(dir, async (st) => {
      const { sessionId, head } = await st.createSession({ sessionId: 'collide', ts: 1 })
      const seen = new Map<string, string>([[head.slice(0, 4), head]])
      for (let i = 0; ; i++) {
        const { hash } = await st.append(sessionId, { kind: 'custom', namespace: 'test', type: 'n', data: i, ts: 1 })
        const p = hash.slice(0, 4)
        if (seen.has(p)) return p
        seen.set(p, hash)
      }
    })
    const r = await chainlog(['show', prefix, '--store', dir])
    expect(r.code).toBe(2)
    expectOneLine(r.stderr, 'CHAINLOG_AMBIGUOUS_PREFIX')
  })

  it('bad arguments and options, refused before the store is opened', async () => {
    const s = await seeded()
    const store = ['--store', s.dir]
    const cases: string[][] = [
      ['bogus'],
      ['ls', '--bogus'],
      ['log'],
      ['log', s.main, '-n', '0'],
      ['log', s.main, '-n', 'ten'],
      ['log', s.main, '--graph', '--reverse'],
      ['show', 'not-hex'],
      ['show', 'abc'],
      ['verify', s.main, '--all'],
      ['verify', '--lineage'],
      ['verify', '--trusted-head', 'abcd'],
      ['verify', '--bundle', 'x.bundle', '--all'],
      ['state', s.main, 'extra'],
      ['state', s.main, '--at', 'xyz'],
      ['fork', '12'],
      ['export', s.main, '--json'],
    ]
    const results = await Promise.all(cases.map((args) => chainlog([...args, ...store])))
    results.forEach((r, i) => {
      const what = cases[i]!.join(' ')
      expect(r.code, what).toBe(2)
      expect(r.stderr, what).toMatch(/^chainlog: .+ \(CHAINLOG_USAGE\)\n$/)
    })
  })

  it('no command prints the usage on stderr; --help and --version succeed', async () => {
    const [none, help, version] = await Promise.all([chainlog([]), chainlog(['--help']), chainlog(['--version'])])
    expect(none.code).toBe(2)
    expect(none.stderr).toContain('Usage: chainlog')
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('Exit status: 0 ok, 1 verification failed, 2 usage error, 3 store locked, 4 not found, 5 other error')
    expect(version.code).toBe(0)
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/)
  })
})

describe.concurrent('a store another process holds', () => {
  it('held without sharing (exclusive): exit 3 after a short wait, CHAINLOG_STORE_LOCKED', async () => {
    const s = await seeded()
    const store = ['--store', s.dir]
    const held = await openDir(s.dir) // exclusive: true
    try {
      const cases = [['ls'], ['verify', '--all'], ['fork', s.forkPoint]]
      const results = await Promise.all(cases.map((args) => chainlog([...args, ...store])))
      results.forEach((r, i) => {
        expect(r.code, cases[i]!.join(' ')).toBe(3)
        expectOneLine(r.stderr, 'CHAINLOG_STORE_LOCKED')
      })
    } finally {
      await held.close()
    }
    expect((await chainlog(['ls', ...store])).code).toBe(0)
  })

  it('held by a process that shares it (openStore(path)): commands run through that process', async () => {
    const s = await seeded()
    const store = ['--store', s.dir]
    const holder = await openStore(s.dir)
    try {
      const ls = await chainlogJson(['ls', ...store])
      expect(ls.sessions).toHaveLength(4)
      const fork = await chainlogJson(['fork', s.forkPoint.slice(0, 8), ...store])
      // The write went through the holder: it sees the new session at once.
      expect(await holder.head(fork.sessionId)).toBe(fork.head)
      expect((await chainlog(['verify', '--all', ...store])).code).toBe(0)
      expect((await chainlog(['log', fork.sessionId, '--graph', ...store])).code).toBe(0)
    } finally {
      await holder.close()
    }
  })
})
