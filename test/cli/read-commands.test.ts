// The read commands end to end: the built CLI against a seeded store, --json output checked
// against what the library itself says about the same store.
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { StoredEntry } from '../../src/index.js'
import { chainlog, chainlogJson, removeTempDirs, seeded, tempDir, withDir } from './helpers.js'

afterAll(removeTempDirs)

async function allEntries(dir: string, sessionId: string): Promise<StoredEntry[]> {
  return withDir(dir, async (st) => {
    const out: StoredEntry[] = []
    for await (const e of st.entries(sessionId)) out.push(e)
    return out
  })
}

describe.concurrent('init', () => {
  it('creates a store once and is idempotent', async () => {
    const dir = join(await tempDir(), 'nested', 'store')
    expect(await chainlogJson(['--store', dir, 'init'])).toEqual({ path: dir, created: true })
    expect(await chainlogJson(['--store', dir, 'init'])).toEqual({ path: dir, created: false })
    const text = await chainlog(['--store', dir, 'init'])
    expect(text.code).toBe(0)
    expect(text.stdout).toContain('already exists')
    expect((await chainlogJson(['--store', dir, 'ls'])).sessions).toEqual([])
  })

  it('uses $CHAINLOG_STORE, and ./.chainlog when neither it nor --store is given', async () => {
    const s = await seeded()
    const cwd = await tempDir()
    const viaEnv = join(cwd, 'from-env')
    expect(await chainlogJson(['init'], { env: { CHAINLOG_STORE: viaEnv }, cwd })).toEqual({ path: viaEnv, created: true })
    expect(await chainlogJson(['init'], { cwd })).toEqual({ path: join(cwd, '.chainlog'), created: true })
    // --store wins over the environment.
    const ls = await chainlogJson(['--store', s.dir, 'ls'], { env: { CHAINLOG_STORE: viaEnv }, cwd })
    expect(ls.sessions).toHaveLength(4)
  })
})

describe.concurrent('ls', () => {
  it('lists every session with head, length, origin and usage as the library sees them', async () => {
    const s = await seeded()
    const store = ['--store', s.dir]
    const { sessions } = await chainlogJson(['ls', ...store])
    const lib = await withDir(s.dir, async (st) => {
      const infos = await st.listSessions()
      return Promise.all(infos.map(async (i) => ({ ...i, usage: await st.usage(i.sessionId) })))
    })
    expect(sessions.map((r: { sessionId: string }) => r.sessionId).sort()).toEqual(lib.map((i) => i.sessionId).sort())
    for (const info of lib) {
      const row = sessions.find((r: { sessionId: string }) => r.sessionId === info.sessionId)
      expect(row.head).toBe(info.head)
      expect(row.length).toBe(info.length)
      expect(row.updatedAt).toBe(info.updatedAt)
      expect(row.usageTotals).toEqual(info.usage)
      expect(row.firstUserMessage).toBe(info.firstUserMessage ?? null)
    }
    // Most recently updated first.
    const updated = sessions.map((r: { updatedAt: number }) => r.updatedAt)
    expect(updated).toEqual([...updated].sort((a, b) => b - a))
    const fork = sessions.find((r: { sessionId: string }) => r.sessionId === s.fork)
    expect(fork.origin).toEqual({ relation: 'fork', sessionId: s.main, atHash: s.forkPoint, materialized: false })
    const compacted = sessions.find((r: { sessionId: string }) => r.sessionId === s.compacted)
    expect(compacted.origin.relation).toBe('compaction')
    const main = sessions.find((r: { sessionId: string }) => r.sessionId === s.main)
    expect(main.origin).toBeNull()
    expect(Object.keys(main.usageTotals).sort()).toEqual(['claude-sonnet-4-5', 'gpt-5'])
    expect(main.usageTotals['gpt-5']).toMatchObject({ calls: 2, inputTokens: 2500, outputTokens: 60, cacheReadTokens: 1024, reasoningTokens: 16 })
  })

  it('prints a table with a header and one row per session', async () => {
    const s = await seeded()
    const store = ['--store', s.dir]
    const r = await chainlog(['ls', ...store])
    expect(r.code).toBe(0)
    const lines = r.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^SESSION\s+AGE\s+ENTRIES\s+ORIGIN\s+TOKENS\s+FIRST MESSAGE$/)
    expect(lines).toHaveLength(5)
    expect(r.stdout).toContain(`fork@${s.forkPoint.slice(0, 12)}`)
    expect(r.stdout).toContain('"List the files, please."')
    expect(r.stdout).not.toContain('\x1b[')
  })
})

describe.concurrent('log', () => {
  it('shows entries newest first, --reverse oldest first, -n limits', async () => {
    const s = await seeded()
    const store = ['--store', s.dir]
    const lib = await allEntries(s.dir, s.main)
    const newest = await chainlogJson(['log', s.main, ...store])
    expect(newest.sessionId).toBe(s.main)
    expect(newest.entries.map((e: { hash: string }) => e.hash)).toEqual(lib.map((e) => e.hash).reverse())
    const oldest = await chainlogJson(['log', s.main, '--reverse', ...store])
    expect(oldest.entries.map((e: { hash: string }) => e.hash)).toEqual(lib.map((e) => e.hash))
    expect(oldest.entries[0]).toMatchObject({ seq: 0, kind: 'session_start', prev: '0'.repeat(64), ts: lib[0]!.entry.ts, sessionId: s.main })
    const three = await chainlogJson(['log', s.main, '-n', '3', ...store])
    expect(three.entries.map((e: { seq: number }) => e.seq)).toEqual([lib.length - 1, lib.length - 2, lib.length - 3])
  })

  it('prints one line per entry with a 12-digit hash, seq, kind and summary', async () => {
    const s = await seeded()
    const store = ['--store', s.dir]
    const r = await chainlog(['log', s.main, '--limit', '50', ...store])
    expect(r.code).toBe(0)
    const lines = r.stdout.trimEnd().split('\n')
    const lib = await allEntries(s.dir, s.main)
    expect(lines).toHaveLength(lib.length)
    expect(lines[lines.length - 1]).toMatch(new RegExp(`^${lib[0]!.hash.slice(0, 12)}\\s+#0\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+session_start\\s+new session`))
    expect(r.stdout).toMatch(/function_call|call shell\(\{"cmd":"ls"\}\)/)
    expect(r.stdout).toContain('gpt-5: 1,300 in (1,024 cached) / 20 out')
    expect(r.stdout).toContain('turn 2')
  })

  it('accepts a unique session id prefix', async () => {
    const s = await seeded()
    const store = ['--store', s.dir]
    const r = await chainlogJson(['log', s.fork.slice(0, 30), ...store])
    expect(r.sessionId).toBe(s.fork)
  })

  it('--graph walks down into the source and shows forks branching off at their fork point', async () => {
    const s = await seeded()
    const store = ['--store', s.dir]
    const g = await chainlogJson(['log', s.fork, '--graph', ...store])
    const forkEntries = await allEntries(s.dir, s.fork)
    const mainEntries = await allEntries(s.dir, s.main)
    const at = mainEntries.find((e) => e.hash === s.forkPoint)!
    expect(g.segments.map((x: { sessionId: string }) => x.sessionId)).toEqual([s.fork, s.main])
    expect(g.segments[0].origin).toMatchObject({ relation: 'fork', sessionId: s.main, atHash: s.forkPoint })
    expect(g.segments[1]).toMatchObject({ sessionId: s.main, toSeq: at.seq, origin: null })
    const expected = [...forkEntries.reverse(), ...mainEntries.slice(0, at.seq + 1).reverse()].map((e) => e.hash)
    expect(g.entries.map((e: { hash: string }) => e.hash)).toEqual(expected)

    // From the source's side: the fork and the compaction branch off where they were taken.
    const m = await chainlogJson(['log', s.main, '--graph', ...store])
    const atPoint = m.entries.find((e: { hash: string }) => e.hash === s.forkPoint)
    expect(atPoint.branches).toEqual([expect.objectContaining({ sessionId: s.fork, relation: 'fork', atHash: s.forkPoint, length: forkEntries.length })])
    expect(m.entries[0].branches).toEqual([expect.objectContaining({ sessionId: s.compacted, relation: 'compaction' })])

    const text = await chainlog(['log', s.main, '--graph', ...store])
    expect(text.code).toBe(0)
    expect(text.stdout).toContain(`| * fork ${s.fork}`)
    expect(text.stdout).toContain('|/')
    const down = await chainlog(['log', s.fork, '--graph', ...store])
    expect(down.stdout).toContain(`| forked from session ${s.main}`)
    expect(down.stdout.trimEnd().split('\n').filter((l) => l.startsWith('* '))).toHaveLength(expected.length)
  })
})

describe.concurrent('show', () => {
  it('shows one entry by prefix, decoded, with hash, prev, session and seq', async () => {
    const s = await seeded()
    const store = ['--store', s.dir]
    const lib = await withDir(s.dir, (st) => st.getEntry(s.forkPoint))
    const j = await chainlogJson(['show', s.forkPoint.slice(0, 10), ...store])
    expect(j).toEqual({ hash: lib.hash, prev: lib.prev, sessionId: lib.sessionId, seq: lib.seq, entry: lib.entry })
    const text = await chainlog(['show', s.forkPoint, ...store])
    expect(text.code).toBe(0)
    for (const part of [lib.hash, lib.prev, lib.sessionId, 'tool_results', `seq      ${lib.seq}`, '"function_call_output"']) expect(text.stdout).toContain(part)
  })
})

describe.concurrent('state', () => {
  it('prints the restored state, at the head or --at an entry', async () => {
    const s = await seeded()
    const store = ['--store', s.dir]
    const { head, at } = await withDir(s.dir, async (st) => ({ head: await st.restore(s.fork), at: await st.restore(s.main, { at: s.forkPoint }) }))
    expect(await chainlogJson(['state', s.fork, ...store])).toEqual(JSON.parse(JSON.stringify(head)))
    expect(await chainlogJson(['state', s.main, '--at', s.forkPoint.slice(0, 8), ...store])).toEqual(JSON.parse(JSON.stringify(at)))
    const text = await chainlog(['state', s.main, ...store])
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(/turns\s+2/)
    expect(text.stdout).toMatch(/cache lock\s+first 5 history items/)
    expect(text.stdout).toMatch(/last outcome\s+finished/)
    expect(text.stdout).toContain('history (7 items)')
  })

  it('refuses --at an entry of another session (exit 4)', async () => {
    const s = await seeded()
    const store = ['--store', s.dir]
    const other = (await allEntries(s.dir, s.other))[0]!.hash
    const r = await chainlog(['state', s.main, '--at', other, ...store])
    expect(r.code).toBe(4)
    expect(r.stderr).toContain('CHAINLOG_ENTRY_NOT_FOUND')
  })
})

describe.concurrent('tree', () => {
  it('shows the forest of all sessions', async () => {
    const s = await seeded()
    const store = ['--store', s.dir]
    const { roots } = await chainlogJson(['tree', ...store])
    expect(roots.map((r: { sessionId: string }) => r.sessionId).sort()).toEqual([s.main, s.other].sort())
    const main = roots.find((r: { sessionId: string }) => r.sessionId === s.main)
    expect(main.children.map((c: { sessionId: string; relation: string }) => [c.sessionId, c.relation])).toEqual([
      [s.fork, 'fork'],
      [s.compacted, 'compaction'],
    ])
    const text = await chainlog(['tree', ...store])
    expect(text.stdout).toMatch(new RegExp(`├── fork\\s+${s.fork}`))
    expect(text.stdout).toMatch(new RegExp(`└── compaction\\s+${s.compacted}`))
  })

  it("shows one session's lineage as the library reports it", async () => {
    const s = await seeded()
    const store = ['--store', s.dir]
    const lib = await withDir(s.dir, (st) => st.lineage(s.fork))
    expect(await chainlogJson(['tree', s.fork, ...store])).toEqual(JSON.parse(JSON.stringify(lib)))
    const text = await chainlog(['tree', s.fork, ...store])
    expect(text.stdout.split('\n')[0]).toContain(s.main)
    expect(text.stdout).toContain('<- this session')
  })
})

describe.concurrent('stats', () => {
  it('adds up entries, bytes by kind and token usage by model', async () => {
    const s = await seeded()
    const store = ['--store', s.dir]
    const j = await chainlogJson(['stats', ...store])
    const lib = await withDir(s.dir, async (st) => ({ sessions: await st.listSessions(), usage: await st.usage() }))
    expect(j.scope).toBe('store')
    expect(j.sessions).toBe(lib.sessions.length)
    expect(j.entries).toBe(lib.sessions.reduce((n, x) => n + x.length, 0))
    expect(j.usageByModel).toEqual(lib.usage)
    expect(j.usageTotal.calls).toBe(4)
    expect(j.byKind.llm_usage.entries).toBe(4)
    expect(Object.values(j.byKind as Record<string, { entries: number }>).reduce((n, k) => n + k.entries, 0)).toBe(j.entries)
    expect(Object.values(j.byKind as Record<string, { bytes: number }>).reduce((n, k) => n + k.bytes, 0)).toBe(j.bytes)

    const one = await chainlogJson(['stats', s.fork, ...store])
    expect(one).toMatchObject({ scope: 'session', sessionId: s.fork, sessions: 1 })
    expect(one.usageByModel).toEqual({ 'gpt-5': expect.objectContaining({ calls: 1, inputTokens: 700, outputTokens: 9 }) })

    const text = await chainlog(['stats', ...store])
    expect(text.stdout).toMatch(/MODEL\s+CALLS\s+INPUT\s+CACHE READ\s+CACHE WRITE\s+OUTPUT\s+REASONING/)
    expect(text.stdout).toMatch(/claude-sonnet-4-5\s+1\s+900\s+0\s+800\s+12\s+0/)
  })
})

describe.concurrent('an empty store', () => {
  it('lists nothing and says so on stderr', async () => {
    const dir = join(await tempDir(), 'empty')
    await mkdir(dir)
    expect((await chainlog(['--store', dir, 'init'])).code).toBe(0)
    const r = await chainlog(['--store', dir, 'ls'])
    expect(r).toMatchObject({ code: 0, stdout: '' })
    expect(r.stderr).toContain('no sessions')
  })
})
