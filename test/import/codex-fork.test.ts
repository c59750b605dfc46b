// A Codex rollout with `forked_from_id` starts with its own session_meta, then its parent's
// lines again, restamped. With the parent in the store it becomes a chainlog fork of it (the
// copies stored as records naming the parent's lines, no items again); without, it is
// imported whole and the report says why.
import { mkdtemp, rm, writeFile, appendFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { importTranscript, regeneratedJsonl, regenerateTranscript, type Store } from '../../src/index.js'
import { closeStores, entriesOf, memStoreOpener } from '../support/stores.js'
import { CODEX_FILE, CODEX_ID, itemsOf, sourceLines } from './support.js'

const opened: Store[] = []
const openMem = memStoreOpener(opened)
afterEach(() => closeStores(opened))

const PARENT = `codex:${CODEX_ID}`
const CHILD_ID = '019b9a00-1111-7222-8333-444455556666'
const CHILD = `codex:${CHILD_ID}`
let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chainlog-codex-fork-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

const ts = (ms: number) => new Date(Date.parse('2026-01-06T09:00:00.000Z') + ms).toISOString()

/** The fork's own session_meta, the parent's first `copied` lines restamped, then `after`. */
function forkRollout(copied: number, after: Record<string, unknown>[]): string[] {
  const parent = sourceLines(CODEX_FILE)
  const meta = { timestamp: ts(0), type: 'session_meta', payload: { id: CHILD_ID, forked_from_id: CODEX_ID, timestamp: ts(0), cwd: '/home/dev/proj', originator: 'codex_cli_rs', cli_version: '0.104.0', source: 'cli', model_provider: 'openai' } }
  // Codex writes the copies with the fork's time; the rest of each line is the parent's, byte for byte.
  const copies = parent.slice(0, copied).map((text, i) => {
    const old = JSON.parse(text).timestamp as string
    return text.replace(`"timestamp":${JSON.stringify(old)}`, `"timestamp":${JSON.stringify(ts(1 + i))}`)
  })
  return [JSON.stringify(meta), ...copies, ...after.map((l) => JSON.stringify(l))]
}

const newTurn = (t0: number, total: number): Record<string, unknown>[] => [
  { timestamp: ts(t0), type: 'event_msg', payload: { type: 'task_started', turn_id: `t-${t0}`, model_context_window: 258400 } },
  { timestamp: ts(t0 + 1), type: 'turn_context', payload: { turn_id: `t-${t0}`, cwd: '/home/dev/proj', model: 'gpt-5.3-codex' } },
  { timestamp: ts(t0 + 2), type: 'response_item', payload: { type: 'message', role: 'user', content: [{ type: 'input_text', text: `fork question ${t0}` }] } },
  { timestamp: ts(t0 + 3), type: 'response_item', payload: { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: `fork answer ${t0}` }] } },
  { timestamp: ts(t0 + 4), type: 'event_msg', payload: { type: 'token_count', info: { total_token_usage: { input_tokens: total, cached_input_tokens: 0, output_tokens: total / 100, reasoning_output_tokens: 0, total_tokens: total + total / 100 }, last_token_usage: { input_tokens: 700, cached_input_tokens: 0, output_tokens: 10, reasoning_output_tokens: 0, total_tokens: 710 } } } },
  { timestamp: ts(t0 + 5), type: 'event_msg', payload: { type: 'task_complete', turn_id: `t-${t0}` } },
]

async function write(name: string, lines: string[]): Promise<string> {
  const file = join(dir, name)
  await writeFile(file, lines.map((l) => `${l}\n`).join(''))
  return file
}

const forkFile = (name: string, copied: number, after = newTurn(1000, 11_000)) => write(`rollout-2026-01-06T09-00-00-${name}.jsonl`, forkRollout(copied, after))

/** The hash of the last entry written for source line n of the parent (in its main session). */
async function lastEntryOf(store: Store, sessionId: string, n: number): Promise<string> {
  const entries = await entriesOf(store, sessionId)
  const at = entries.findIndex((e) => e.entry.kind === 'custom' && (e.entry.data as { n: number }).n === n)
  let end = at + 1
  while (end < entries.length && !(entries[end]!.entry.kind === 'custom' || entries[end]!.entry.kind === 'turn_end')) end++
  return entries[end - 1]!.hash
}

describe('a forked Codex rollout whose parent is in the store', () => {
  it('becomes a fork after the last copied line, stores no copied items, and regenerates its own file', async () => {
    const file = await forkFile('a', 18)
    const store = await openMem()
    await importTranscript(store, CODEX_FILE, { from: 'codex' })
    const entriesBefore = (await store.listSessions()).reduce((n, s) => n + s.length, 0)
    const r = await importTranscript(store, file, { from: 'codex' })
    expect(r.damaged).toEqual([])
    expect(r.files[0]!.fork).toEqual({ from: PARENT, status: 'forked', line: 18 })
    expect(r.files[0]!.sessions).toEqual([CHILD])
    expect(r.linesImported).toBe(1 + 18 + 6)

    const state = await store.restore(CHILD)
    expect(state.forkedFrom).toEqual({ sessionId: PARENT, atHash: await lastEntryOf(store, PARENT, 18) })
    const after = newTurn(1000, 11_000)
    expect(state.history).toEqual([...itemsOf(CODEX_FILE, 'payload', [2, 3, 7, 10, 11, 13, 16]), after[2]!.payload, after[3]!.payload])
    // The child's own entries: a config_changed, 19 records without items (its session_meta,
    // the copies), then its own turn. No copied item or usage is stored again.
    const own = await entriesOf(store, CHILD)
    expect(own.slice(1, 3).map((e) => e.entry.kind)).toEqual(['config_changed', 'custom'])
    expect(own.filter((e) => e.entry.kind !== 'custom' && e.entry.kind !== 'session_start' && e.entry.kind !== 'config_changed').map((e) => e.entry.kind)).toEqual(['turn_end', 'user_input', 'assistant_items', 'llm_usage'])
    const copies = own.flatMap((e) => (e.entry.kind === 'custom' && (e.entry.data as { copy?: unknown }).copy ? [e.entry.data] : []))
    expect(copies).toHaveLength(18)
    expect(copies[0]).toEqual({ n: 2, sha256: expect.any(String), copy: { session: PARENT, n: 1, timestamp: ts(1) }, chain: expect.any(Uint8Array) })
    const entriesAfter = (await store.listSessions()).reduce((n, s) => n + s.length, 0)
    expect(entriesAfter - entriesBefore).toBe(own.length)
    // Usage: only the fork's own call, the growth of the running total past the copied one.
    expect((await store.usage(CHILD))['gpt-5.3-codex']).toMatchObject({ calls: 1, inputTokens: 11_000 - 10_200, outputTokens: 110 - 100 })
    const turnEnd = own.find((e) => e.entry.kind === 'turn_end')!.entry
    expect(turnEnd.kind === 'turn_end' && turnEnd.turn).toBe(1)

    // Regeneration restamps the parent's lines: the fork's file comes back byte for byte.
    const regen = await regenerateTranscript(store, CHILD)
    expect(regeneratedJsonl(regen)).toBe(sourceLines(file).map((l) => `${l}\n`).join(''))
    expect((await store.verify()).ok).toBe(true)
    const lineage = await store.lineage(PARENT)
    expect(lineage.descendants.map((d) => [d.sessionId, d.relation])).toContainEqual([CHILD, 'fork'])

    // Importing again adds nothing; a grown file appends only its new lines to the fork.
    const again = await importTranscript(store, file, { from: 'codex' })
    expect(again).toMatchObject({ linesImported: 0, entriesAppended: 0, sessionsCreated: [] })
    expect(again.files[0]!.fork).toEqual({ from: PARENT, status: 'forked', line: 18 })
    await appendFile(file, newTurn(2000, 12_000).map((l) => `${JSON.stringify(l)}\n`).join(''))
    const grown = await importTranscript(store, file, { from: 'codex' })
    expect(grown).toMatchObject({ linesImported: 6, sessionsCreated: [], sessionsExtended: [CHILD] })
    expect(regeneratedJsonl(await regenerateTranscript(store, CHILD))).toBe(sourceLines(file).map((l) => `${l}\n`).join(''))
  })

  it('a copy that spans a rollback and a compaction continues in the state the parent had there', async () => {
    const file = await forkFile('b', 43)
    const store = await openMem()
    await importTranscript(store, CODEX_FILE, { from: 'codex' })
    const r = await importTranscript(store, file, { from: 'codex' })
    expect(r.files[0]!.fork).toMatchObject({ status: 'forked', line: 43 })
    expect(r.files[0]!.sessions).toEqual([CHILD])
    const state = await store.restore(CHILD)
    expect(state.forkedFrom?.sessionId).toBe(`${PARENT}~c36`)
    const after = newTurn(1000, 11_000)
    expect(state.history).toEqual([...(await store.restore(`${PARENT}~c36`)).history, after[2]!.payload, after[3]!.payload])
    expect(regeneratedJsonl(await regenerateTranscript(store, CHILD))).toBe(sourceLines(file).map((l) => `${l}\n`).join(''))
  })

  it('the parent later in the same call: the fork waits for it', async () => {
    const file = await forkFile('c', 18)
    const store = await openMem()
    const r = await importTranscript(store, [file, CODEX_FILE], { from: 'codex' })
    expect(r.files.map((f) => f.file)).toEqual([CODEX_FILE, file])
    expect(r.files[1]!.fork).toEqual({ from: PARENT, status: 'forked', line: 18 })
    expect((await store.restore(CHILD)).forkedFrom?.sessionId).toBe(PARENT)
  })
})

describe('a forked Codex rollout whose parent is not in the store', () => {
  it('is imported whole, as before, and the report says why; later imports keep it so', async () => {
    const file = await forkFile('d', 18)
    const store = await openMem()
    const r = await importTranscript(store, file, { from: 'codex' })
    expect(r.files[0]!.fork).toEqual({ from: PARENT, status: 'whole', reason: `its parent session ${PARENT} is not in the store` })
    const state = await store.restore(CHILD)
    expect(state.forkedFrom).toBeUndefined()
    const after = newTurn(1000, 11_000)
    expect(state.history).toEqual([...itemsOf(CODEX_FILE, 'payload', [2, 3, 7, 10, 11, 13, 16]), after[2]!.payload, after[3]!.payload])
    const genesis = (await entriesOf(store, CHILD))[0]!.entry
    expect(genesis.kind === 'session_start' && genesis.config).toMatchObject({ import: { forkedFromSourceSession: CODEX_ID } })

    await importTranscript(store, CODEX_FILE, { from: 'codex' })
    const again = await importTranscript(store, file, { from: 'codex' })
    expect(again).toMatchObject({ linesImported: 0, entriesAppended: 0 })
    expect(again.files[0]!.fork).toMatchObject({ status: 'whole', reason: 'imported whole before (its parent was not in the store then)' })
    expect(regeneratedJsonl(await regenerateTranscript(store, CHILD))).toBe(sourceLines(file).map((l) => `${l}\n`).join(''))
  })

  it('lines that are not a copy of the parent: imported whole, with that reason', async () => {
    const lines = forkRollout(3, newTurn(1000, 11_000))
    lines[1] = lines[1]!.replace('codex_cli_rs', 'codex_other') // the parent's session_meta, altered
    const file = await write('rollout-2026-01-06T09-00-00-e.jsonl', lines)
    const store = await openMem()
    await importTranscript(store, CODEX_FILE, { from: 'codex' })
    const r = await importTranscript(store, file, { from: 'codex' })
    expect(r.files[0]!.fork).toEqual({ from: PARENT, status: 'whole', reason: `its lines after the session_meta are not a copy of the lines of ${PARENT}` })
    expect((await store.restore(CHILD)).forkedFrom).toBeUndefined()
  })
})
