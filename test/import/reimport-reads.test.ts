// Importing an unchanged file again reads a few stored entries (the main session's first two and
// the last line record of each of the file's sessions), not every entry the file became; a
// file changed in place still goes through the full comparison and is reported.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { importTranscript, type ChainlogStore, type Store } from '../../src/index.js'
import { closeStores, memStoreOpener } from '../support/stores.js'
import { CLAUDE_FILE, CODEX_FILE } from './support.js'

const opened: Store[] = []
const openMem = memStoreOpener(opened)
afterEach(() => closeStores(opened))
let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chainlog-reimport-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

/** Counts the entries the store's `entries()` yields from now on. */
function countReads(store: ChainlogStore): { reads: number } {
  const counter = { reads: 0 }
  const entries = store.entries.bind(store)
  store.entries = async function* (sessionId: string, options?: Parameters<typeof entries>[1]) {
    for await (const e of entries(sessionId, options)) {
      counter.reads++
      yield e
    }
  } as typeof store.entries
  return counter
}

const ts = (i: number) => new Date(Date.parse('2026-02-01T00:00:00.000Z') + i * 1000).toISOString()

/** A Codex rollout of `turns` turns (6 lines each) after its session_meta. */
function rollout(turns: number): string[] {
  const lines = [JSON.stringify({ timestamp: ts(0), type: 'session_meta', payload: { id: 'reads-1', cwd: '/w', cli_version: '0.104.0' } })]
  for (let t = 1; t <= turns; t++) {
    lines.push(
      JSON.stringify({ timestamp: ts(t * 10), type: 'event_msg', payload: { type: 'task_started', turn_id: `t${t}` } }),
      JSON.stringify({ timestamp: ts(t * 10 + 1), type: 'turn_context', payload: { turn_id: `t${t}`, model: 'gpt-x' } }),
      JSON.stringify({ timestamp: ts(t * 10 + 2), type: 'response_item', payload: { type: 'message', role: 'user', content: [{ type: 'input_text', text: `question ${t}` }] } }),
      JSON.stringify({ timestamp: ts(t * 10 + 3), type: 'response_item', payload: { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: `answer ${t}` }] } }),
      JSON.stringify({ timestamp: ts(t * 10 + 4), type: 'event_msg', payload: { type: 'token_count', info: { total_token_usage: { input_tokens: t * 100, cached_input_tokens: 0, output_tokens: t * 10, reasoning_output_tokens: 0, total_tokens: t * 110 } } } }),
      JSON.stringify({ timestamp: ts(t * 10 + 5), type: 'event_msg', payload: { type: 'task_complete', turn_id: `t${t}` } }),
    )
  }
  return lines
}

const write = async (name: string, lines: string[]) => {
  const file = join(dir, name)
  await writeFile(file, lines.map((l) => `${l}\n`).join(''))
  return file
}

describe('re-importing an unchanged file', () => {
  it('reads O(1) stored entries, whatever the file length', async () => {
    const reads: number[] = []
    for (const turns of [10, 400]) {
      const lines = rollout(turns)
      lines.splice(5, 0, '{not json') // damage is still reported on the quick path
      const file = await write(`rollout-reads-${turns}.jsonl`, lines)
      const store = await openMem()
      const first = await importTranscript(store, file, { from: 'codex' })
      expect(first.files[0]!.status).toBe('imported')
      const c = countReads(store)
      const again = await importTranscript(store, file, { from: 'codex' })
      expect(again).toMatchObject({ linesImported: 0, entriesAppended: 0, sessionsCreated: [], sessionsExtended: [] })
      expect(again.files[0]).toMatchObject({ status: 'unchanged', sessions: first.files[0]!.sessions, lines: lines.length })
      expect(again.damaged).toEqual(first.damaged)
      expect(again.damaged.map((d) => d.code)).toEqual(['MALFORMED_LINE'])
      reads.push(c.reads)
    }
    // The main session's genesis and next entry, then back from its head to the last line record.
    expect(reads[0]).toBeLessThanOrEqual(8)
    expect(reads[1]).toBe(reads[0])
  })

  it('a file of several sessions (branch, sidechain, compaction) reads a few entries per session', async () => {
    const store = await openMem()
    const first = await importTranscript(store, CLAUDE_FILE, { from: 'claude-code' })
    const c = countReads(store)
    const again = await importTranscript(store, CLAUDE_FILE, { from: 'claude-code' })
    expect(again.files[0]).toMatchObject({ status: 'unchanged', sessions: first.files[0]!.sessions })
    expect(c.reads).toBeLessThanOrEqual(2 + 5 * first.files[0]!.sessions.length)
    const total = (await store.listSessions()).reduce((n, s) => n + s.length, 0)
    expect(c.reads).toBeLessThan(total / 2)
  })

  it('a line changed in place (same line count) still takes the full comparison and is reported', async () => {
    const lines = rollout(20)
    const file = await write('rollout-reads-changed.jsonl', lines)
    const store = await openMem()
    await importTranscript(store, file, { from: 'codex' })
    lines[28] = lines[28]!.replace('answer', 'ANSWER')
    await write('rollout-reads-changed.jsonl', lines)
    const c = countReads(store)
    const again = await importTranscript(store, file, { from: 'codex' })
    expect(again.files[0]!.status).toBe('changed')
    expect(again.damaged).toEqual([{ file, line: 29, code: 'CHANGED_LINE', message: expect.any(String) }])
    expect(c.reads).toBeGreaterThan(lines.length)
  })

  it('a Codex fork imported as a fork keeps its fork report on the quick path', async () => {
    const store = await openMem()
    await importTranscript(store, CODEX_FILE, { from: 'codex' })
    const parent = (await import('./support.js')).sourceLines(CODEX_FILE)
    const meta = JSON.stringify({ timestamp: ts(0), type: 'session_meta', payload: { id: 'reads-fork', forked_from_id: '019b8f2e-5a10-7c3e-9d41-6e2f0a1b3c4d' } })
    const file = await write('rollout-reads-fork.jsonl', [meta, ...parent.slice(0, 10)])
    const first = await importTranscript(store, file, { from: 'codex' })
    expect(first.files[0]!.fork).toEqual({ from: 'codex:019b8f2e-5a10-7c3e-9d41-6e2f0a1b3c4d', status: 'forked', line: 10 })
    const c = countReads(store)
    const again = await importTranscript(store, file, { from: 'codex' })
    expect(again.files[0]).toMatchObject({ status: 'unchanged', fork: first.files[0]!.fork })
    expect(c.reads).toBeLessThanOrEqual(8)
  })
})
