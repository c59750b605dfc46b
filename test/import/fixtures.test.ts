// Every fixture imports, verifies, restores to the source's conversation, keeps its branches,
// compactions and sidechains as chainlog lineage, records usage once per model call, and
// regenerates each of its source lines from the store.
import { afterEach, describe, expect, it } from 'vitest'
import { importNamespace, importTranscript, regeneratedJsonl, regenerateTranscript, type Store, type TranscriptFormat } from '../../src/index.js'
import { closeStores, entriesOf, memStoreOpener } from '../support/stores.js'
import { CLAUDE_AGENT_FILE, CLAUDE_FILE, CLAUDE_ID, CODEX_FILE, CODEX_ID, CODEX_LEGACY, CODEX_LEGACY_ID, PI_FILE, PI_ID, exactJson, itemsOf, lineValue, sha256, sourceLines } from './support.js'

const opened: Store[] = []
const openMem = memStoreOpener(opened)
afterEach(() => closeStores(opened))

async function imported(file: string, from: TranscriptFormat) {
  const store = await openMem()
  const report = await importTranscript(store, file, { from })
  return { store, report }
}

/** Each fixture: the sessions it becomes and, for each, the source lines whose items its history holds. */
const cases: { name: string; file: string; from: TranscriptFormat; key: string; sessions: Record<string, number[]> }[] = [
  {
    name: 'Claude Code (a rewind branch, an in-file sidechain, a compaction)',
    file: CLAUDE_FILE,
    from: 'claude-code',
    key: 'message',
    sessions: {
      [`claude-code:${CLAUDE_ID}`]: [2, 3, 4, 6, 7, 9, 10, 15, 16],
      [`claude-code:${CLAUDE_ID}~s11`]: [11, 12, 13, 14],
      [`claude-code:${CLAUDE_ID}~b17`]: [2, 3, 4, 6, 7, 17, 18],
      [`claude-code:${CLAUDE_ID}~c19`]: [20, 21, 22],
    },
  },
  {
    name: 'Claude Code subagent file',
    file: CLAUDE_AGENT_FILE,
    from: 'claude-code',
    key: 'message',
    sessions: { [`claude-code:${CLAUDE_ID}:agent-a7f3c2e`]: [1, 2] },
  },
  {
    name: 'Codex (a rollback, a compaction with replacement_history)',
    file: CODEX_FILE,
    from: 'codex',
    key: 'payload',
    sessions: {
      [`codex:${CODEX_ID}`]: [2, 3, 7, 10, 11, 13, 16, 22, 23],
      [`codex:${CODEX_ID}~r26`]: [2, 3, 7, 10, 11, 13, 16, 30, 31, 32, 33],
    },
  },
  {
    name: 'Codex, first rollout format (bare items)',
    file: CODEX_LEGACY,
    from: 'codex',
    key: '',
    sessions: { [`codex:${CODEX_LEGACY_ID}`]: [3, 5, 6, 7, 8] },
  },
  {
    name: 'pi (a tree branch with a branch summary, a compaction)',
    file: PI_FILE,
    from: 'pi',
    key: 'message',
    sessions: {
      [`pi:${PI_ID}`]: [4, 5, 6, 7, 8, 9],
    },
  },
]

describe.each(cases)('$name', ({ file, from, key, sessions }) => {
  it('imports every line, verifies, and restores each session to the source conversation', async () => {
    const { store, report } = await imported(file, from)
    expect(report.damaged).toEqual([])
    expect(report.linesImported).toBe(sourceLines(file).length)
    expect(report.files[0]!.status).toBe('imported')
    for (const id of Object.keys(sessions)) expect(report.files[0]!.sessions).toContain(id)
    const v = await store.verify()
    expect(v.findings).toEqual([])
    expect(v.ok).toBe(true)
    for (const [id, lines] of Object.entries(sessions)) {
      const state = await store.restore(id)
      expect(state.history, id).toEqual(itemsOf(file, key, lines))
    }
  })

  it('regenerates every source line from the store, with its SHA-256', async () => {
    const { store, report } = await imported(file, from)
    const regen = await regenerateTranscript(store, report.files[0]!.sessions[0]!, from)
    const src = sourceLines(file)
    expect(regen.map((l) => l.n)).toEqual(src.map((_, i) => i + 1))
    for (const l of regen) {
      const text = src[l.n - 1]!
      expect(l.sha256).toBe(sha256(text))
      // Entry format 2 keeps key order: every line comes back as its exact text.
      expect(l.value, `line ${l.n}`).toEqual(JSON.parse(text))
      expect(l.text ?? exactJson(l.value), `line ${l.n}`).toBe(text)
    }
  })

  it('keeps the exact text of lines JSON.stringify would not give back (4.0, 1.5e-05, spaces)', async () => {
    const { store, report } = await imported(file, from)
    const regen = await regenerateTranscript(store, report.files[0]!.sessions[0]!, from)
    const src = sourceLines(file)
    const inexact = src.flatMap((t, i) => (JSON.stringify(JSON.parse(t)) === t ? [] : [i + 1]))
    expect(regen.filter((l) => l.text !== undefined).map((l) => l.n)).toEqual(inexact)
    for (const l of regen) if (l.text !== undefined) expect(l.text).toBe(src[l.n - 1])
    expect(regeneratedJsonl(regen.filter((l) => l.text !== undefined))).toBe(inexact.map((n) => `${src[n - 1]}\n`).join(''))
  })

  it('importing the same file again adds nothing', async () => {
    const { store, report } = await imported(file, from)
    const heads = await Promise.all(report.files[0]!.sessions.map((s) => store.head(s)))
    const again = await importTranscript(store, file, { from })
    expect(again).toMatchObject({ linesImported: 0, entriesAppended: 0, sessionsCreated: [], sessionsExtended: [], damaged: [] })
    expect(again.files[0]!.status).toBe('unchanged')
    expect(await Promise.all(report.files[0]!.sessions.map((s) => store.head(s)))).toEqual(heads)
  })

  it('each line record names its line and hash in the format namespace', async () => {
    const { store, report } = await imported(file, from)
    const records = []
    for (const s of report.files[0]!.sessions) {
      for (const e of await entriesOf(store, s)) {
        if (e.entry.kind === 'custom' && e.entry.type === 'line') {
          expect(e.entry.namespace).toBe(importNamespace(from))
          records.push(e.entry.data as { n: number; sha256: string })
        }
      }
    }
    expect(records.map((r) => r.n).sort((a, b) => a - b)).toEqual(sourceLines(file).map((_, i) => i + 1))
  })
})

describe('batches', () => {
  it('each turn of a session is one appendMany, even when a sidechain interleaves it', async () => {
    const store = await openMem()
    const calls: [string, number[]][] = []
    const appendMany = store.appendMany.bind(store)
    store.appendMany = (sessionId, entries, options) => {
      calls.push([sessionId, entries.flatMap((e) => (e.kind === 'custom' ? [(e.data as { n: number }).n] : []))])
      return appendMany(sessionId, entries, options)
    }
    await importTranscript(store, CLAUDE_FILE, { from: 'claude-code' })
    const main = `claude-code:${CLAUDE_ID}`
    expect(calls).toEqual([
      [main, [1]], // the file-history snapshot, before the first prompt
      [main, [2, 3, 4, 5, 6, 7, 8]],
      [main, [9, 10, 15, 16]],
      [`${main}~s11`, [11, 12, 13, 14]],
      [`${main}~b17`, [17, 18]],
      [`${main}~c19`, [19, 20]],
      [`${main}~c19`, [21, 22, 23]],
    ])
  })
})

describe('structure', () => {
  it('Claude Code: a rewind forks at the earlier line, the compaction names the branch tip, the sidechain links to its parent', async () => {
    const { store } = await imported(CLAUDE_FILE, 'claude-code')
    const main = `claude-code:${CLAUDE_ID}`
    const mainEntries = await entriesOf(store, main)
    // Line 8 (turn_duration, uuid …0007) is the parent of the edited prompt on line 17.
    const line8 = mainEntries.find((e) => e.entry.kind === 'custom' && (e.entry.data as { n: number }).n === 8)!
    const fork = await store.restore(`${main}~b17`)
    expect(fork.forkedFrom).toEqual({ sessionId: main, atHash: line8.hash })
    const compaction = (await entriesOf(store, `${main}~c19`))[0]!.entry
    const branchEntries = await entriesOf(store, `${main}~b17`)
    expect(compaction).toMatchObject({ kind: 'session_start', compactedFrom: { sessionId: `${main}~b17`, atHash: branchEntries.at(-1)!.hash } })
    expect(compaction.kind === 'session_start' && compaction.compaction).toMatchObject({ trigger: 'compact_boundary', line: 19, compactMetadata: { trigger: 'manual', preTokens: 9300 } })
    const side = (await entriesOf(store, `${main}~s11`))[0]!.entry
    expect(side.kind === 'session_start' && side.config).toMatchObject({ import: { role: 'sidechain', parent: main, format: 'claude-code' } })
    const lineage = await store.lineage(main)
    // The sidechain shows under the main session (its first line has no parent: spawned at an unknown entry).
    expect(lineage.descendants.map((d) => [d.sessionId, d.relation, d.atHash])).toEqual([[`${main}~b17`, 'fork', line8.hash], [`${main}~s11`, 'subagent', null]])
    expect(lineage.descendants[0]!.children.map((d) => [d.sessionId, d.relation])).toEqual([[`${main}~c19`, 'compaction']])
  })

  it('Claude Code: the subagent file (same session id as its parent) becomes its own session', async () => {
    const store = await openMem()
    const r = await importTranscript(store, [CLAUDE_FILE, CLAUDE_AGENT_FILE], { from: 'claude-code' })
    const agent = `claude-code:${CLAUDE_ID}:agent-a7f3c2e`
    expect(r.files[1]!.sessions).toEqual([agent])
    const genesis = (await entriesOf(store, agent))[0]!.entry
    expect(genesis.kind === 'session_start' && genesis.config).toMatchObject({ import: { role: 'subagent', sourceSessionId: CLAUDE_ID } })
  })

  it('Codex: thread_rolled_back forks before the rolled-back turn; compacted starts from replacement_history', async () => {
    const { store } = await imported(CODEX_FILE, 'codex')
    const main = `codex:${CODEX_ID}`
    const mainEntries = await entriesOf(store, main)
    const line18 = mainEntries.filter((e) => e.entry.kind === 'custom' && (e.entry.data as { n: number }).n === 18)
    const rolled = await store.restore(`${main}~r26`)
    expect(rolled.forkedFrom).toEqual({ sessionId: main, atHash: line18[0]!.hash })
    const compacted = await store.restore(`${main}~c36`)
    expect(compacted.compactedFrom?.sessionId).toBe(`${main}~r26`)
    expect(compacted.history).toEqual([...lineValue(CODEX_FILE, 36).payload.replacement_history, ...itemsOf(CODEX_FILE, 'payload', [40, 41])])
  })

  it('pi: a branch_summary on an earlier entry forks there; a compaction keeps the summary and the entries from firstKeptEntryId', async () => {
    const { store } = await imported(PI_FILE, 'pi')
    const main = `pi:${PI_ID}`
    const branch = await store.restore(`${main}~b10`)
    // Line 7 (the first answer) is the branch point: the fork starts after its last entry, its usage.
    const mainEntries = await entriesOf(store, main)
    const at = mainEntries.findIndex((e) => e.entry.kind === 'custom' && (e.entry.data as { n: number }).n === 7)
    expect(mainEntries.slice(at, at + 3).map((e) => e.entry.kind)).toEqual(['custom', 'assistant_items', 'llm_usage'])
    expect(branch.forkedFrom).toEqual({ sessionId: main, atHash: mainEntries[at + 2]!.hash })
    const summary = lineValue(PI_FILE, 10)
    expect(branch.history.slice(4)).toEqual([
      { role: 'branchSummary', summary: summary.summary, fromId: summary.fromId, timestamp: Date.parse(summary.timestamp) },
      ...itemsOf(PI_FILE, 'message', [11, 12]),
      { role: 'custom', customType: 'todo-ext', content: 'Reminder: one todo is open.', display: true, timestamp: Date.parse(lineValue(PI_FILE, 16).timestamp) },
    ])
    const compacted = await store.restore(`${main}~c17`)
    expect(compacted.compactedFrom?.sessionId).toBe(`${main}~b10`)
    const c = lineValue(PI_FILE, 17)
    expect(compacted.history).toEqual([
      { role: 'compactionSummary', summary: c.summary, tokensBefore: 3300, timestamp: Date.parse(c.timestamp) },
      ...itemsOf(PI_FILE, 'message', [11, 12]),
      { role: 'custom', customType: 'todo-ext', content: 'Reminder: one todo is open.', display: true, timestamp: Date.parse(lineValue(PI_FILE, 16).timestamp) },
      ...itemsOf(PI_FILE, 'message', [18, 19]),
    ])
  })
})

describe('usage', () => {
  it('Claude Code: one llm_usage per message id, from its last line (output grows), cache tokens counted in input', async () => {
    const { store } = await imported(CLAUDE_FILE, 'claude-code')
    expect(await store.usage()).toEqual({
      'claude-opus-4-6': { calls: 8, inputTokens: 49131, cacheReadTokens: 9200 + 8000 + 9300 + 0 + 500 + 9400 + 9200 + 1500, cacheWriteTokens: 1200 + 90 + 40 + 500 + 20 + 60 + 70 + 30, outputTokens: 200, reasoningTokens: 0 },
    })
  })

  it('historyLength counts the items sent to the model: those before the call\'s own output', async () => {
    const claude = await imported(CLAUDE_FILE, 'claude-code')
    const lengths = async (store: Store, s: string) =>
      (await entriesOf(store, s)).flatMap((e) => (e.entry.kind === 'llm_usage' ? [e.entry.historyLength] : []))
    expect(await lengths(claude.store, `claude-code:${CLAUDE_ID}`)).toEqual([1, 4, 6, 8])
    expect(await lengths(claude.store, `claude-code:${CLAUDE_ID}~s11`)).toEqual([1, 3])
    const pi = await imported(PI_FILE, 'pi')
    expect(await lengths(pi.store, `pi:${PI_ID}`)).toEqual([1, 3, 5])
  })

  it('Codex: cumulative token_count snapshots become per-call deltas; repeats add nothing; a drop starts over', async () => {
    const { store } = await imported(CODEX_FILE, 'codex')
    expect(await store.usage()).toEqual({
      'gpt-5.3-codex': { calls: 5, inputTokens: 25000, cacheReadTokens: 16000, cacheWriteTokens: 0, outputTokens: 220, reasoningTokens: 70 },
    })
  })

  it('pi: each assistant message usage once, input including cache reads and writes', async () => {
    const { store } = await imported(PI_FILE, 'pi')
    expect(await store.usage()).toEqual({
      'claude-sonnet-4-5': { calls: 5, inputTokens: 12553, cacheReadTokens: 9140, cacheWriteTokens: 3090, outputTokens: 91, reasoningTokens: 0 },
    })
  })
})

describe('regenerateTranscript', () => {
  it('finds the format in the main session genesis when not given; refuses a session no import made', async () => {
    const { store, report } = await imported(PI_FILE, 'pi')
    expect(await regenerateTranscript(store, report.files[0]!.sessions[0]!)).toEqual(await regenerateTranscript(store, report.files[0]!.sessions[0]!, 'pi'))
    const { sessionId } = await store.createSession({})
    await expect(regenerateTranscript(store, sessionId)).rejects.toMatchObject({ code: 'CHAINLOG_INVALID_ARGUMENT' })
  })
})

describe('importTranscript arguments', () => {
  it('rejects a path that does not exist, before importing anything', async () => {
    const store = await openMem()
    await expect(importTranscript(store, [PI_FILE, `${PI_FILE}.missing`], { from: 'pi' })).rejects.toMatchObject({ code: 'CHAINLOG_INVALID_ARGUMENT', data: { path: `${PI_FILE}.missing` } })
    expect(await store.listSessions()).toEqual([])
  })

  it('rejects an unknown format', async () => {
    const store = await openMem()
    await expect(importTranscript(store, CLAUDE_FILE, { from: 'gemini' as TranscriptFormat })).rejects.toMatchObject({ code: 'CHAINLOG_INVALID_ARGUMENT' })
  })

  it('walks directories recursively and reports progress per file', async () => {
    const store = await openMem()
    const seen: { files: string; lines: number }[] = []
    const r = await importTranscript(store, [CODEX_FILE.split('/2026/')[0]!], {
      from: 'codex',
      onProgress: (p) => seen.push({ files: `${p.filesDone}/${p.filesTotal}`, lines: p.linesImported }),
    })
    expect(r.files.map((f) => f.file.split('/').at(-1))).toEqual([CODEX_FILE.split('/').at(-1), 'rollout-torn.jsonl', CODEX_LEGACY.split('/').at(-1)])
    // After each batch (one turn) and after each file; counts only grow.
    expect([...new Set(seen.map((p) => p.files))]).toEqual(['0/3', '1/3', '2/3', '3/3'])
    expect(seen.at(-1)).toEqual({ files: '3/3', lines: r.linesImported })
    expect(seen.map((p) => p.lines)).toEqual([...seen.map((p) => p.lines)].sort((a, b) => a - b))
  })
})

describe('Claude Code branches', () => {
  it('a sidechain whose first line links to a main-conversation line still gets a session of its own', async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
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
      const { store, report } = await imported(file, 'claude-code')
      expect(report.files[0]!.sessions).toEqual(['claude-code:s-side', 'claude-code:s-side~s3'])
      expect((await store.restore('claude-code:s-side')).history).toEqual([lines[0]!.message, lines[1]!.message, lines[4]!.message])
      expect((await store.restore('claude-code:s-side~s3')).history).toEqual([lines[2]!.message, lines[3]!.message])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('a prompt whose parent was followed only by hook progress lines continues the session (no branch)', async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const dir = await mkdtemp(join(tmpdir(), 'chainlog-claude-'))
    try {
      const base = { isSidechain: false, userType: 'external', cwd: '/w', sessionId: 's-progress', version: '2.1.40' }
      const lines: Record<string, unknown>[] = [
        { parentUuid: null, ...base, type: 'user', message: { role: 'user', content: 'hi' }, uuid: 'u1', timestamp: '2026-01-01T00:00:00.000Z' },
        { parentUuid: 'u1', ...base, type: 'assistant', message: { id: 'm1', type: 'message', role: 'assistant', model: 'claude-x', content: [{ type: 'text', text: 'hello' }] }, uuid: 'a1', timestamp: '2026-01-01T00:00:01.000Z' },
        { parentUuid: 'a1', ...base, type: 'progress', data: { type: 'hook_progress', hookEvent: 'Stop' }, uuid: 'p1', timestamp: '2026-01-01T00:00:02.000Z' },
        { parentUuid: 'a1', ...base, type: 'user', message: { role: 'user', content: 'again' }, uuid: 'u2', timestamp: '2026-01-01T00:00:03.000Z' },
      ]
      const file = join(dir, 's-progress.jsonl')
      await writeFile(file, lines.map((l) => `${JSON.stringify(l)}\n`).join(''))
      const { store, report } = await imported(file, 'claude-code')
      expect(report.files[0]!.sessions).toEqual(['claude-code:s-progress'])
      expect((await store.restore('claude-code:s-progress')).history).toEqual([lines[0]!.message, lines[1]!.message, lines[3]!.message])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
