// Imports are incremental and idempotent: a grown file appends only its new lines (landing on the
// same heads as importing the whole file at once), a file rewritten in place is reported and
// its stored history kept, and a torn last line waits until it is whole.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { importTranscript, regenerateTranscript, type Store, type TranscriptFormat } from '../../src/index.js'
import { closeStores, memStoreOpener } from '../support/stores.js'
import { CLAUDE_FILE, CODEX_FILE, PI_FILE, sourceLines } from './support.js'

const opened: Store[] = []
const dirs: string[] = []
const openMem = memStoreOpener(opened)
afterEach(() => closeStores(opened, dirs))

/** A copy of `file` under the same name in a temp dir, holding `text`. */
async function copyWith(file: string, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'chainlog-import-'))
  dirs.push(dir)
  const path = join(dir, basename(file))
  await writeFile(path, text)
  return path
}

const linesText = (lines: string[]) => lines.map((l) => `${l}\n`).join('')

async function headsOf(store: Store, sessions: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const s of sessions) out[s] = await store.head(s)
  return out
}

const formats: [TranscriptFormat, string, number[]][] = [
  // Claude Code: a split inside one message's run of lines (2-3 of msg_fx01) would record that
  // message's usage from the lines seen so far; every other split lands on the same heads.
  ['claude-code', CLAUDE_FILE, [1, 2, 4, 5, 8, 10, 12, 15, 16, 17, 18, 19, 20, 22]],
  ['codex', CODEX_FILE, [1, 5, 12, 13, 18, 25, 26, 30, 35, 36, 37, 42]],
  ['pi', PI_FILE, [1, 3, 6, 8, 9, 10, 12, 16, 17, 18]],
]

describe.each(formats)('%s', (from, file, splits) => {
  it.each(splits)('a file grown after line %i appends only the new lines and ends on the heads of a one-shot import', async (k) => {
    const lines = sourceLines(file)
    const whole = await openMem()
    const one = await importTranscript(whole, file, { from })
    const want = await headsOf(whole, one.files[0]!.sessions)

    const store = await openMem()
    const path = await copyWith(file, linesText(lines.slice(0, k)))
    const first = await importTranscript(store, path, { from })
    expect(first.linesImported).toBe(k)
    await writeFile(path, linesText(lines))
    const second = await importTranscript(store, path, { from })
    expect(second.linesImported).toBe(lines.length - k)
    expect(second.damaged).toEqual([])
    expect(second.sessionsExtended.length + second.sessionsCreated.length).toBeGreaterThan(0)
    expect(await headsOf(store, second.files[0]!.sessions)).toEqual(want)
    expect((await store.verify()).ok).toBe(true)
  })

  it('a file rewritten in place is reported (CHANGED_LINE), nothing is added, stored history is kept', async () => {
    const lines = sourceLines(file)
    const store = await openMem()
    const path = await copyWith(file, linesText(lines))
    const first = await importTranscript(store, path, { from })
    const heads = await headsOf(store, first.files[0]!.sessions)
    const edited = [...lines]
    const v = JSON.parse(edited[2]!)
    v.timestamp = '2030-01-01T00:00:00.000Z'
    edited[2] = JSON.stringify(v)
    await writeFile(path, linesText([...edited, lines[lines.length - 1]!]))
    const r = await importTranscript(store, path, { from })
    expect(r.files[0]!.status).toBe('changed')
    expect(r.linesImported).toBe(0)
    expect(r.damaged).toEqual([{ file: path, line: 3, code: 'CHANGED_LINE', message: expect.any(String) }])
    expect(await headsOf(store, first.files[0]!.sessions)).toEqual(heads)
    const regen = await regenerateTranscript(store, first.files[0]!.sessions[0]!, from)
    expect(regen[2]!.value).toEqual(JSON.parse(lines[2]!))
  })

  it('a file that lost lines is reported (VANISHED_LINES) and nothing is added', async () => {
    const lines = sourceLines(file)
    const store = await openMem()
    const path = await copyWith(file, linesText(lines))
    const first = await importTranscript(store, path, { from })
    const heads = await headsOf(store, first.files[0]!.sessions)
    await writeFile(path, linesText(lines.slice(0, 3)))
    const r = await importTranscript(store, path, { from })
    expect(r.files[0]!.status).toBe('changed')
    expect(r.damaged.map((d) => [d.line, d.code])).toEqual([[0, 'VANISHED_LINES']])
    expect(await headsOf(store, first.files[0]!.sessions)).toEqual(heads)
  })

  it('a torn last line is left for later and imported once it is whole', async () => {
    const lines = sourceLines(file)
    const store = await openMem()
    const last = lines[lines.length - 1]!
    const path = await copyWith(file, linesText(lines.slice(0, -1)) + last.slice(0, 20))
    const first = await importTranscript(store, path, { from })
    expect(first.damaged.map((d) => [d.line, d.code])).toEqual([[lines.length, 'TORN_LAST_LINE']])
    expect(first.linesImported).toBe(lines.length - 1)
    await writeFile(path, linesText(lines))
    const second = await importTranscript(store, path, { from })
    expect(second.damaged).toEqual([])
    expect(second.linesImported).toBe(1)
  })
})

describe('session ids', () => {
  it('a second file claiming the same source session id gets an id of its own, from its file name', async () => {
    const store = await openMem()
    const a = await importTranscript(store, CODEX_FILE, { from: 'codex' })
    const copy = await copyWith(join('x', 'rollout-copy.jsonl'), linesText(sourceLines(CODEX_FILE).slice(0, 10)))
    const b = await importTranscript(store, copy, { from: 'codex' })
    expect(b.files[0]!.sessions[0]).toMatch(new RegExp(`^${a.files[0]!.sessions[0]}@[0-9a-f]{8}$`))
    expect(b.linesImported).toBe(10)
    const again = await importTranscript(store, copy, { from: 'codex' })
    expect(again.files[0]!.sessions[0]).toBe(b.files[0]!.sessions[0])
    expect(again.linesImported).toBe(0)
  })
})

describe('concurrent imports', () => {
  it.each([
    ['claude-code', CLAUDE_FILE],
    ['codex', CODEX_FILE],
    ['pi', PI_FILE],
  ] as [TranscriptFormat, string][])('%s: two imports of one file at once write it once', async (from, file) => {
    const whole = await openMem()
    const one = await importTranscript(whole, file, { from })
    const want = await headsOf(whole, one.files[0]!.sessions)
    const lengths = Object.fromEntries((await whole.listSessions()).map((s) => [s.sessionId, s.length]))

    const store = await openMem()
    const [a, b] = await Promise.all([importTranscript(store, file, { from }), importTranscript(store, file, { from })])
    expect(a.damaged).toEqual([])
    expect(b.damaged).toEqual([])
    expect(await headsOf(store, one.files[0]!.sessions)).toEqual(want)
    expect(Object.fromEntries((await store.listSessions()).map((s) => [s.sessionId, s.length]))).toEqual(lengths)
    expect((await store.verify()).ok).toBe(true)
  })
})

describe('foreign sessions', () => {
  it('a session of the main id that no import made is left alone; the file gets an id of its own', async () => {
    const store = await openMem()
    const { head } = await store.createSession({ sessionId: `codex:019b8f2e-5a10-7c3e-9d41-6e2f0a1b3c4d`, config: { mine: true } })
    const r = await importTranscript(store, CODEX_FILE, { from: 'codex' })
    expect(r.files[0]!.sessions[0]).toMatch(/^codex:019b8f2e-5a10-7c3e-9d41-6e2f0a1b3c4d@[0-9a-f]{8}$/)
    expect(await store.head('codex:019b8f2e-5a10-7c3e-9d41-6e2f0a1b3c4d')).toBe(head)
  })
})
