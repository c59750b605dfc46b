// Imported subagent and sidechain sessions show under the session that spawned them, in the
// lineage API and in `chainlog tree` (text and --json), at the entry of the line that spawned
// them when the import knew it. The link is the subagent genesis' `config.import`.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { importTranscript, type ChainlogStore, type Store } from '../../src/index.js'
import { buildForest, type TreeNode } from '../../src/cli/commands/tree.js'
import { sessionMap } from '../../src/cli/sessions.js'
import { closeStores, entriesOf, memStoreOpener } from '../support/stores.js'
import { chainlog, chainlogJson, removeTempDirs, tempDir, withDir } from '../cli/helpers.js'
import { CLAUDE_AGENT_FILE, CLAUDE_FILE, CLAUDE_ID } from './support.js'

const opened: Store[] = []
const openMem = memStoreOpener(opened)
afterEach(() => closeStores(opened))
afterAll(removeTempDirs)

const MAIN = `claude-code:${CLAUDE_ID}`
const AGENT = `${MAIN}:agent-a7f3c2e`

/** The hash of the last entry of source line n (in whichever of the file's sessions holds it). */
async function lastEntryOfLine(store: ChainlogStore, sessionId: string, n: number): Promise<string> {
  const entries = await entriesOf(store, sessionId)
  const at = entries.findIndex((e) => e.entry.kind === 'custom' && (e.entry.data as { n: number }).n === n)
  expect(at).toBeGreaterThan(0)
  let end = at + 1
  while (end < entries.length && !(entries[end]!.entry.kind === 'custom' || entries[end]!.entry.kind === 'turn_end')) end++
  return entries[end - 1]!.hash
}

const genesisConfig = async (store: ChainlogStore, id: string) => {
  const g = (await entriesOf(store, id))[0]!.entry
  return g.kind === 'session_start' ? g.config : undefined
}

const find = (nodes: TreeNode[], id: string): TreeNode | undefined => {
  for (const n of nodes) {
    if (n.sessionId === id) return n
    const k = find(n.children, id)
    if (k) return k
  }
  return undefined
}

describe('a Claude Code subagent file', () => {
  it('links to the Task call line of its parent, whichever order the files are given in', async () => {
    const store = await openMem()
    // The subagent file first: the import takes subagent files after the others.
    await importTranscript(store, [CLAUDE_AGENT_FILE, CLAUDE_FILE], { from: 'claude-code' })
    // Line 10 is the Task call (toolu_fx02); line 15, its result, names agent a7f3c2e.
    const at = await lastEntryOfLine(store, MAIN, 10)
    expect(await genesisConfig(store, AGENT)).toMatchObject({ import: { role: 'subagent', parent: MAIN, spawnLine: 10, spawnedAt: at } })

    const main = await store.lineage(MAIN)
    expect(main.descendants.find((d) => d.sessionId === AGENT)).toEqual({ sessionId: AGENT, relation: 'subagent', atHash: at, materialized: true, children: [] })
    const agent = await store.lineage(AGENT)
    expect(agent.ancestors).toEqual([{ sessionId: MAIN, relation: 'subagent', atHash: at, present: true }])
    expect(agent.descendants).toEqual([])

    const forest = await buildForest(store, await sessionMap(store))
    expect(forest.map((n) => n.sessionId)).toEqual([MAIN])
    expect(find(forest, AGENT)).toMatchObject({ relation: 'subagent', atHash: at, atSeq: (await store.locate(at))!.seq })
    // Deleting the parent is not refused for it: a subagent does not need its parent to restore.
    expect((await store.lineage(MAIN)).descendants.filter((d) => d.relation === 'fork').map((d) => d.sessionId)).toEqual([`${MAIN}~b17`])
  })

  it('named by agent_progress lines only (the subagent still running): linked to the tool_use they name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chainlog-claude-'))
    try {
      const base = { isSidechain: false, userType: 'external', cwd: '/w', sessionId: 's-run', version: '2.1.40' }
      const parent = [
        { parentUuid: null, ...base, type: 'user', message: { role: 'user', content: 'look it up' }, uuid: 'u1', timestamp: '2026-01-01T00:00:00.000Z' },
        { parentUuid: 'u1', ...base, type: 'assistant', message: { id: 'm1', type: 'message', role: 'assistant', model: 'claude-x', content: [{ type: 'text', text: 'Delegating.' }] }, uuid: 'a0', timestamp: '2026-01-01T00:00:00.500Z' },
        { parentUuid: 'a0', ...base, type: 'assistant', message: { id: 'm1', type: 'message', role: 'assistant', model: 'claude-x', content: [{ type: 'tool_use', id: 'toolu_T', name: 'Task', input: { prompt: 'find it' } }] }, uuid: 'a1', timestamp: '2026-01-01T00:00:01.000Z' },
        { parentUuid: 'a1', ...base, type: 'progress', data: { type: 'agent_progress', agentId: 'b00c', prompt: 'find it', message: { type: 'user' } }, toolUseID: 'agent_msg_1', parentToolUseID: 'toolu_T', uuid: 'p1', timestamp: '2026-01-01T00:00:02.000Z' },
      ]
      const agent = [
        { parentUuid: null, ...base, isSidechain: true, type: 'user', message: { role: 'user', content: 'find it' }, uuid: 'x1', timestamp: '2026-01-01T00:00:01.500Z', agentId: 'b00c' },
      ]
      const file = join(dir, 's-run.jsonl')
      const agentFile = join(dir, 's-run', 'subagents', 'agent-b00c.jsonl')
      const { mkdir } = await import('node:fs/promises')
      await mkdir(join(dir, 's-run', 'subagents'), { recursive: true })
      await writeFile(file, parent.map((l) => `${JSON.stringify(l)}\n`).join(''))
      await writeFile(agentFile, agent.map((l) => `${JSON.stringify(l)}\n`).join(''))
      const store = await openMem()
      const r = await importTranscript(store, dir, { from: 'claude-code' })
      expect(r.files.map((f) => f.sessions[0])).toEqual(['claude-code:s-run', 'claude-code:s-run:agent-b00c'])
      const at = await lastEntryOfLine(store, 'claude-code:s-run', 3)
      expect(await genesisConfig(store, 'claude-code:s-run:agent-b00c')).toMatchObject({ import: { parent: 'claude-code:s-run', spawnLine: 3, spawnedAt: at } })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('imported before its parent: shown under the parent once it is there, at an unknown entry', async () => {
    const store = await openMem()
    await importTranscript(store, CLAUDE_AGENT_FILE, { from: 'claude-code' })
    const config = (await genesisConfig(store, AGENT)) as { import: Record<string, unknown> }
    expect(config.import).toMatchObject({ role: 'subagent', parent: MAIN })
    expect(config.import.spawnedAt).toBeUndefined()
    expect((await store.lineage(AGENT)).ancestors).toEqual([{ sessionId: MAIN, relation: 'subagent', atHash: null, present: false }])
    let forest = await buildForest(store, await sessionMap(store))
    expect(forest[0]).toMatchObject({ sessionId: AGENT, relation: null, missingOrigin: { relation: 'subagent', sessionId: MAIN, atHash: null } })

    await importTranscript(store, CLAUDE_FILE, { from: 'claude-code' })
    forest = await buildForest(store, await sessionMap(store))
    expect(forest.map((n) => n.sessionId)).toEqual([MAIN])
    expect(find(forest, AGENT)).toMatchObject({ relation: 'subagent', atHash: null, atSeq: null })
    expect((await store.lineage(MAIN)).descendants.find((d) => d.sessionId === AGENT)).toMatchObject({ relation: 'subagent', atHash: null })
  })

  it('a subagent genesis written before links existed (sourceSessionId only) still finds its parent', async () => {
    const store = await openMem()
    await importTranscript(store, CLAUDE_FILE, { from: 'claude-code' })
    await store.createSession({ sessionId: AGENT, config: { import: { format: 'claude-code', sourceSessionId: CLAUDE_ID, file: 'agent-a7f3c2e.jsonl', role: 'subagent' } } })
    expect((await store.lineage(AGENT)).ancestors).toEqual([{ sessionId: MAIN, relation: 'subagent', atHash: null, present: true }])
    // A session no import made, with the same kind of id but no import config, is left alone.
    await store.createSession({ sessionId: `${MAIN}:agent-other` })
    expect((await store.lineage(MAIN)).descendants.map((d) => d.sessionId).sort()).toEqual([`${MAIN}:agent-a7f3c2e`, `${MAIN}~b17`, `${MAIN}~s11`].sort())
  })
})

describe('a sidechain inside a file', () => {
  it('whose first line names the Task call: under the session holding that line, at its entry; with no parent line: under the main session', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chainlog-claude-'))
    try {
      const base = { userType: 'external', cwd: '/w', sessionId: 's-side', version: '2.1.40' }
      const lines: Record<string, unknown>[] = [
        { parentUuid: null, isSidechain: false, ...base, type: 'user', message: { role: 'user', content: 'delegate' }, uuid: 'u1', timestamp: '2026-01-01T00:00:00.000Z' },
        { parentUuid: 'u1', isSidechain: false, ...base, type: 'assistant', message: { id: 'm1', type: 'message', role: 'assistant', model: 'claude-x', content: [{ type: 'tool_use', id: 't1', name: 'Task', input: {} }] }, uuid: 'a1', timestamp: '2026-01-01T00:00:01.000Z' },
        { parentUuid: 'a1', isSidechain: true, ...base, type: 'user', message: { role: 'user', content: 'sub task' }, uuid: 's1', timestamp: '2026-01-01T00:00:02.000Z' },
        { parentUuid: 's1', isSidechain: true, ...base, type: 'assistant', message: { id: 'm2', type: 'message', role: 'assistant', model: 'claude-x', content: [{ type: 'text', text: 'done' }] }, uuid: 's2', timestamp: '2026-01-01T00:00:03.000Z' },
        { parentUuid: 'a1', isSidechain: false, ...base, type: 'user', message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'done' }] }, uuid: 'u2', timestamp: '2026-01-01T00:00:04.000Z' },
      ]
      const file = join(dir, 's-side.jsonl')
      await writeFile(file, lines.map((l) => `${JSON.stringify(l)}\n`).join(''))
      const store = await openMem()
      await importTranscript(store, file, { from: 'claude-code' })
      const at = await lastEntryOfLine(store, 'claude-code:s-side', 2)
      expect(await genesisConfig(store, 'claude-code:s-side~s3')).toMatchObject({ import: { role: 'sidechain', parent: 'claude-code:s-side', spawnLine: 2, spawnedAt: at, line: 3 } })
      expect((await store.lineage('claude-code:s-side')).descendants).toEqual([{ sessionId: 'claude-code:s-side~s3', relation: 'subagent', atHash: at, materialized: true, children: [] }])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }

    // The fixture's sidechain (line 11) starts with parentUuid null: its spawning line is not known.
    const store = await openMem()
    await importTranscript(store, CLAUDE_FILE, { from: 'claude-code' })
    const side = await store.lineage(`${MAIN}~s11`)
    expect(side.ancestors).toEqual([{ sessionId: MAIN, relation: 'subagent', atHash: null, present: true }])
  })
})

describe('chainlog tree', () => {
  it('shows subagents under their parent, in text and --json, for the forest and for one session', async () => {
    const dir = await tempDir()
    await withDir(dir, async () => {})
    const store = ['--store', dir]
    const r = await chainlogJson(['import', '--from', 'claude-code', CLAUDE_AGENT_FILE, CLAUDE_FILE, ...store])
    expect(r.ok).toBe(true)
    const text = await chainlog(['tree', ...store])
    expect(text.code).toBe(0)
    const lines = text.stdout.split('\n')
    expect(lines[0]).toMatch(new RegExp(`^claude-code:${CLAUDE_ID}\\s`))
    expect(text.stdout).toMatch(new RegExp(`[├└]── subagent\\s+claude-code:${CLAUDE_ID}:agent-a7f3c2e\\s+at #\\d+ [0-9a-f]+`))
    expect(text.stdout).toMatch(new RegExp(`[├└]── subagent\\s+claude-code:${CLAUDE_ID}~s11\\s+at an unknown entry`))
    const json = await chainlogJson(['tree', '--json', ...store])
    expect(json.roots.map((n: TreeNode) => n.sessionId)).toEqual([MAIN])
    expect(find(json.roots, AGENT)).toMatchObject({ relation: 'subagent', materialized: true })
    expect(find(json.roots, AGENT)!.atHash).toMatch(/^[0-9a-f]{64}$/)

    const one = await chainlog(['tree', AGENT, ...store])
    expect(one.stdout.split('\n')[0]).toMatch(new RegExp(`^claude-code:${CLAUDE_ID}\\s`))
    expect(one.stdout).toMatch(new RegExp(`└── subagent\\s+claude-code:${CLAUDE_ID}:agent-a7f3c2e\\s+at #\\d+ .*<- this session`))
    const oneJson = await chainlogJson(['tree', AGENT, '--json', ...store])
    expect(oneJson.ancestors).toEqual([{ sessionId: MAIN, relation: 'subagent', atHash: find(json.roots, AGENT)!.atHash, present: true }])
  })
})
