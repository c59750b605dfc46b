// docs/storage.md section 5 says in numbers how much a `relaxed` store can lose on a power cut
// (issue 18, item 12a). The numbers come from the code's constants (the journal's bound) and from the bytes a turn
// like the benchmark's writes; this test recomputes them, so the paragraph cannot drift.
import { readFileSync } from 'node:fs'
import { MemoryLevel } from 'memory-level'
import { describe, expect, it } from 'vitest'
import { openStore } from '../../src/index.js'
import { JOURNAL_MAX_BYTES } from '../../src/storage/level-engine.js'
import { prng } from '../support/random.js'

const doc = readFileSync(new URL('../../docs/storage.md', import.meta.url), 'utf8')
const section5 = doc.slice(doc.indexOf('## 5.'), doc.indexOf('## 6.'))
const start = section5.indexOf('**How much `relaxed` can lose.**')
const paragraph = start < 0 ? '' : section5.slice(start, section5.indexOf('\n\n', start)).replace(/\s+/g, ' ')
const num = (s: string) => Number(s.replace(/,/g, ''))

/** A turn shaped like the benchmark's (~20 KB): a user message, a tool call and its 16 KB output, a reply. */
function turnOf(i: number, rand: () => number): unknown[] {
  const text = (n: number) => {
    let s = ''
    while (s.length < n) s += `${Math.floor(rand() * 36 ** 5).toString(36)} `
    return s.slice(0, n)
  }
  return [
    { role: 'user', content: text(300) },
    { type: 'function_call', call_id: `c${i}`, name: 'shell', arguments: JSON.stringify({ cmd: text(80) }) },
    { type: 'function_call_output', call_id: `c${i}`, output: text(16_000) },
    { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: text(1_500) }] },
  ]
}

describe('docs/storage.md: how much `relaxed` can lose', () => {
  it('has the paragraph, in section 5', () => {
    expect(paragraph.length).toBeGreaterThan(200)
  })

  it('states the journal bound as the code sets it', () => {
    expect(paragraph).toContain(`up to ${JOURNAL_MAX_BYTES / 2 ** 20} MiB of commits`)
    expect(paragraph).toContain(`when the journal reaches ${JOURNAL_MAX_BYTES / 2 ** 20} MiB`)
  })

  it('states bytes per turn, turns at risk and hours of work as measured on a bench-like turn', async () => {
    const store = await openStore({ db: new MemoryLevel(), durability: 'relaxed' })
    const { sessionId } = await store.createSession({ ts: 1 })
    const rand = prng(18)
    const before = store.engine.stats.bytesWritten
    const N = 40
    for (let i = 0; i < N; i++) await store.appendTurn(sessionId, turnOf(i, rand), { ts: 2 + i })
    const perTurn = (store.engine.stats.bytesWritten - before) / N
    await store.close()

    const m = /about ([\d.]+) KB of keys and values per turn.*?about ([\d,]+) turns.*?one turn every (\d+) s.*?about ([\d.]+) hours/s.exec(paragraph)
    expect(m, 'the paragraph names KB per turn, turns, the pace and hours').not.toBeNull()
    const [kb, turns, pace, hours] = [num(m![1]!), num(m![2]!), num(m![3]!), num(m![4]!)]
    expect(kb * 1000).toBeGreaterThan(perTurn * 0.9)
    expect(kb * 1000).toBeLessThan(perTurn * 1.1)
    const atRisk = JOURNAL_MAX_BYTES / perTurn
    expect(turns).toBeGreaterThan(atRisk * 0.9)
    expect(turns).toBeLessThan(atRisk * 1.1)
    expect(hours).toBeCloseTo((turns * pace) / 3600, 0)
  })
})
