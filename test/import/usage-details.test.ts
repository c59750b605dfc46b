// llm_usage entries carry, in `details`, the usage record as each tool wrote it (costs, cache
// writes by TTL, service tier, the provider's totals, ids), with the required fields as before.
import { afterEach, describe, expect, it } from 'vitest'
import { importTranscript, type Store, type TranscriptFormat } from '../../src/index.js'
import { closeStores, entriesOf, memStoreOpener } from '../support/stores.js'
import { CLAUDE_FILE, CODEX_FILE, PI_FILE, lineValue } from './support.js'

const opened: Store[] = []
const openMem = memStoreOpener(opened)
afterEach(() => closeStores(opened))

/** Each llm_usage entry of a file's sessions with the source line it was recorded after. */
async function usages(file: string, from: TranscriptFormat) {
  const store = await openMem()
  const r = await importTranscript(store, file, { from })
  const out: { n: number; usage: Record<string, unknown> }[] = []
  for (const s of r.files[0]!.sessions) {
    let n = 0
    for (const e of await entriesOf(store, s)) {
      if (e.entry.kind === 'custom' && e.entry.type === 'line') n = (e.entry.data as { n: number }).n
      if (e.entry.kind === 'llm_usage') out.push({ n, usage: e.entry as unknown as Record<string, unknown> })
    }
  }
  return out.sort((a, b) => a.n - b.n)
}

describe('llm_usage details', () => {
  it('Claude Code: the message usage (cache_creation by TTL, service_tier), message id and request id', async () => {
    const found = await usages(CLAUDE_FILE, 'claude-code')
    expect(found).toHaveLength(8)
    for (const { n, usage } of found) {
      const line = lineValue(CLAUDE_FILE, n)
      expect(usage.details, `line ${n}`).toEqual({ usage: line.message.usage, messageId: line.message.id, requestId: line.requestId })
      expect(usage.cacheWriteTokens).toBe(line.message.usage.cache_creation_input_tokens)
    }
    expect((found[0]!.usage.details as any).usage).toMatchObject({ cache_creation: { ephemeral_5m_input_tokens: expect.any(Number), ephemeral_1h_input_tokens: expect.any(Number) }, service_tier: 'standard' })
  })

  it('Codex: the token_count snapshot (running totals, last call, context window) and its rate limits', async () => {
    const found = await usages(CODEX_FILE, 'codex')
    expect(found).toHaveLength(5)
    for (const { n, usage } of found) {
      const p = lineValue(CODEX_FILE, n).payload
      expect(p.type).toBe('token_count')
      expect(usage.details, `line ${n}`).toEqual(p.rate_limits ? { info: p.info, rate_limits: p.rate_limits } : { info: p.info })
    }
    expect((found[0]!.usage.details as any).info.total_token_usage.total_tokens).toBe(5080)
  })

  it('pi: the usage record with its costs and totalTokens, and the provider and api', async () => {
    const found = await usages(PI_FILE, 'pi')
    expect(found).toHaveLength(5)
    for (const { n, usage } of found) {
      const m = lineValue(PI_FILE, n).message
      const expected: Record<string, unknown> = { usage: m.usage }
      if (m.provider !== undefined) expected.provider = m.provider
      if (m.api !== undefined) expected.api = m.api
      expect(usage.details, `line ${n}`).toEqual(expected)
    }
    expect((found[0]!.usage.details as any).usage.cost.total).toBeGreaterThan(0)
  })
})
