// Damaged sources: every finding has its file, line and a stable code; the rest of the file is
// still imported (malformed lines kept as raw text); strict mode fails before writing the file.
import { afterEach, describe, expect, it } from 'vitest'
import { importTranscript, regenerateTranscript, type Store, type TranscriptFormat } from '../../src/index.js'
import { closeStores, memStoreOpener } from '../support/stores.js'
import { CLAUDE_DAMAGED, CLAUDE_FILE, CODEX_DAMAGED, PI_DAMAGED, sha256, sourceLines } from './support.js'

const opened: Store[] = []
const openMem = memStoreOpener(opened)
afterEach(() => closeStores(opened))

const cases: [TranscriptFormat, string, [number, string][]][] = [
  ['claude-code', CLAUDE_DAMAGED, [[3, 'MALFORMED_LINE'], [4, 'NOT_AN_OBJECT'], [5, 'MISSING_PARENT'], [7, 'TORN_LAST_LINE']]],
  ['codex', CODEX_DAMAGED, [[4, 'MALFORMED_LINE'], [6, 'TORN_LAST_LINE']]],
  ['pi', PI_DAMAGED, [[2, 'MISSING_PARENT'], [3, 'MALFORMED_LINE'], [4, 'MISSING_PARENT'], [5, 'TORN_LAST_LINE']]],
]

describe.each(cases)('%s damaged fixture', (from, file, expected) => {
  it('reports each damaged line with its code, imports every whole line, and verifies', async () => {
    const store = await openMem()
    const r = await importTranscript(store, file, { from })
    expect(r.damaged.map((d) => [d.line, d.code])).toEqual(expected)
    for (const d of r.damaged) expect(d.file).toBe(file)
    const whole = sourceLines(file)
    expect(r.linesImported).toBe(whole.length)
    expect((await store.verify()).ok).toBe(true)
    const regen = await regenerateTranscript(store, r.files[0]!.sessions[0]!, from)
    expect(regen).toHaveLength(whole.length)
    for (const l of regen) {
      const text = whole[l.n - 1]!
      expect(l.sha256).toBe(sha256(text))
      if (l.text !== undefined) expect(l.text).toBe(text)
      if (l.value !== undefined) expect(l.value).toEqual(JSON.parse(text))
    }
    expect(regen.filter((l) => l.value === undefined).map((l) => l.n)).toEqual(expected.filter(([, c]) => c === 'MALFORMED_LINE').map(([n]) => n))
  })

  it('strict: fails with CHAINLOG_IMPORT_DAMAGED and writes nothing of the file', async () => {
    const store = await openMem()
    await expect(importTranscript(store, file, { from, strict: true })).rejects.toMatchObject({
      code: 'CHAINLOG_IMPORT_DAMAGED',
      data: { file, damaged: expect.arrayContaining([expect.objectContaining({ line: expected[0]![0], code: expected[0]![1] })]) },
    })
    expect(await store.listSessions()).toEqual([])
  })
})

describe('strict', () => {
  it('imports a clean file as usual', async () => {
    const store = await openMem()
    const r = await importTranscript(store, CLAUDE_FILE, { from: 'claude-code', strict: true })
    expect(r.damaged).toEqual([])
    expect(r.linesImported).toBe(sourceLines(CLAUDE_FILE).length)
  })
})

describe('odd but whole lines', () => {
  it('CRLF line ends and blank lines are kept byte for byte, without findings', async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const dir = await mkdtemp(join(tmpdir(), 'chainlog-odd-'))
    try {
      const src = sourceLines(CLAUDE_FILE).slice(0, 4)
      const texts = [`${src[0]}\r`, `${src[1]}\r`, '', '   ', src[2]!, src[3]!]
      const file = join(dir, 'odd.jsonl')
      await writeFile(file, texts.map((t) => `${t}\n`).join(''))
      const store = await openMem()
      const r = await importTranscript(store, file, { from: 'claude-code' })
      expect(r.damaged).toEqual([])
      expect(r.linesImported).toBe(6)
      const regen = await regenerateTranscript(store, r.files[0]!.sessions[0]!)
      expect(regen.map((l) => l.text ?? JSON.stringify(JSON.parse(texts[l.n - 1]!)))).toEqual(texts)
      expect(regen.map((l) => l.sha256)).toEqual(texts.map(sha256))
      expect((await store.restore(r.files[0]!.sessions[0]!)).history).toEqual([JSON.parse(src[1]!).message, JSON.parse(src[2]!).message, JSON.parse(src[3]!).message])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
