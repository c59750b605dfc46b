// The pure reducer: each entry kind folds into the state a runtime resumes from; applyEntry
// never mutates; replaying a prefix equals folding step by step; forks and snapshots.
import { deepStrictEqual } from 'node:assert/strict'
import { describe, expect, it } from 'vitest'
import { sealEntry, validateEntry } from '../../src/encoding/entry-codec.js'
import { ZERO_HASH, toHex } from '../../src/encoding/hash.js'
import type { Entry, Usage } from '../../src/schema/entry.js'
import { applyEntry, reduceEntries, type ChainedEntry, type SessionState } from '../../src/state/reducer.js'

// --- small entry builders -------------------------------------------------------------------

let clock = 1_700_000_000_000
const ts = () => (clock += 1000)

const start = (sessionId: string, extra: Record<string, unknown> = {}) =>
  ({ kind: 'session_start', ts: ts(), sessionId, config: { model: 'm1' }, history: [], ...extra }) as Entry
const user = (text: string) => ({ kind: 'user_input', ts: ts(), item: { role: 'user', content: text } }) as Entry
const assistant = (...texts: string[]) =>
  ({ kind: 'assistant_items', ts: ts(), items: texts.map((t) => ({ role: 'assistant', content: t })) }) as Entry
const toolResults = (...outputs: string[]) =>
  ({ kind: 'tool_results', ts: ts(), items: outputs.map((o, i) => ({ type: 'function_call_output', call_id: `c${i}`, output: o })) }) as Entry
const hook = (note: string) => ({ kind: 'hook_injected_items', ts: ts(), items: [{ role: 'system', content: note }] }) as Entry
const turnEnd = (turn: number) => ({ kind: 'turn_end', ts: ts(), turn }) as Entry
const outcome = (status: string, message?: string, interrupted = false) =>
  ({ kind: 'run_outcome', ts: ts(), status, interrupted, ...(message === undefined ? {} : { message }) }) as Entry
const usageOf = (model: string, n: number): Usage => ({
  historyLength: n,
  model,
  inputTokens: 100 * n,
  cacheReadTokens: 10 * n,
  cacheWriteTokens: n,
  outputTokens: 20 * n,
  reasoningTokens: 2 * n,
})
const llmUsage = (model: string, n: number) => ({ kind: 'llm_usage', ts: ts(), ...usageOf(model, n) }) as Entry
const lock = (prefixLength: number) => ({ kind: 'cache_locked', ts: ts(), prefixLength }) as Entry
const unlock = () => ({ kind: 'cache_unlocked', ts: ts() }) as Entry
const configChanged = (config: Record<string, unknown>) => ({ kind: 'config_changed', ts: ts(), config }) as Entry
const custom = () => ({ kind: 'custom', ts: ts(), namespace: 'com.example', type: 'note', data: { x: 1 } }) as Entry

/** Seal entries into a chain with real hashes, as the store would hand them to the reducer. */
function chain(...entries: Entry[]): ChainedEntry[] {
  let prev: Uint8Array = ZERO_HASH
  return entries.map((e) => {
    const { hash } = sealEntry(prev, e)
    prev = hash
    return { hash: toHex(hash), entry: validateEntry(e) }
  })
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v)
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k])
  }
  return v
}

const fold = (entries: ChainedEntry[], base?: SessionState): SessionState[] => {
  const out: SessionState[] = []
  let s: SessionState | undefined
  for (const e of entries) out.push((s = applyEntry(s, e, base)))
  return out
}

// --- tests ----------------------------------------------------------------------------------

describe('folding each entry kind', () => {
  it('session_start creates the state from the genesis', () => {
    const [g] = chain(start('s1', { systemPrompt: 'be brief', history: [{ role: 'user', content: 'seed' }] }))
    const s = reduceEntries([g!])
    deepStrictEqual(s, {
      sessionId: 's1',
      systemPrompt: 'be brief',
      config: { model: 'm1' },
      history: [{ role: 'user', content: 'seed' }],
      turnCount: 0,
      cacheLockedPrefix: null,
      lastOutcome: null,
      usage: [],
      usageTotals: {},
      head: g!.hash,
      length: 1,
      createdAt: g!.entry.ts,
      updatedAt: g!.entry.ts,
    })
  })

  it('a genesis without systemPrompt leaves it absent', () => {
    expect('systemPrompt' in reduceEntries(chain(start('s1')))).toBe(false)
  })

  it('user_input, assistant_items, tool_results and hook_injected_items append to history in order', () => {
    const s = reduceEntries(chain(start('s1'), user('q'), assistant('a1', 'a2'), toolResults('o1', 'o2'), hook('n')))
    deepStrictEqual(s.history, [
      { role: 'user', content: 'q' },
      { role: 'assistant', content: 'a1' },
      { role: 'assistant', content: 'a2' },
      { type: 'function_call_output', call_id: 'c0', output: 'o1' },
      { type: 'function_call_output', call_id: 'c1', output: 'o2' },
      { role: 'system', content: 'n' },
    ])
  })

  it('turn_end sets the turn count', () => {
    expect(reduceEntries(chain(start('s1'), turnEnd(1), turnEnd(2))).turnCount).toBe(2)
  })

  it('run_outcome records the last outcome, with a message only when given', () => {
    deepStrictEqual(reduceEntries(chain(start('s1'), outcome('error', 'boom', true))).lastOutcome, {
      status: 'error',
      message: 'boom',
      interrupted: true,
    })
    const s = reduceEntries(chain(start('s1'), outcome('error', 'boom'), outcome('finished')))
    deepStrictEqual(s.lastOutcome, { status: 'finished', interrupted: false })
  })

  it('llm_usage appends the usage record and sums totals per model', () => {
    const s = reduceEntries(chain(start('s1'), llmUsage('a', 1), llmUsage('b', 2), llmUsage('a', 3)))
    deepStrictEqual(s.usage, [usageOf('a', 1), usageOf('b', 2), usageOf('a', 3)])
    deepStrictEqual(s.usageTotals, {
      a: { calls: 2, inputTokens: 400, cacheReadTokens: 40, cacheWriteTokens: 4, outputTokens: 80, reasoningTokens: 8 },
      b: { calls: 1, inputTokens: 200, cacheReadTokens: 20, cacheWriteTokens: 2, outputTokens: 40, reasoningTokens: 4 },
    })
  })

  it('cache_locked pins a prefix and cache_unlocked releases it', () => {
    expect(reduceEntries(chain(start('s1'), lock(3))).cacheLockedPrefix).toBe(3)
    expect(reduceEntries(chain(start('s1'), lock(3), unlock())).cacheLockedPrefix).toBeNull()
  })

  it('config_changed replaces the config', () => {
    deepStrictEqual(reduceEntries(chain(start('s1'), configChanged({ model: 'm2', temperature: 0.5 }))).config, { model: 'm2', temperature: 0.5 })
  })

  it('custom entries change nothing but head, length and updatedAt', () => {
    const entries = chain(start('s1'), user('q'), custom())
    const before = reduceEntries(entries.slice(0, 2))
    const after = reduceEntries(entries)
    deepStrictEqual({ ...after, head: before.head, length: before.length, updatedAt: before.updatedAt }, before)
    expect(after.head).toBe(entries[2]!.hash)
    expect(after.length).toBe(3)
    expect(after.updatedAt).toBe(entries[2]!.entry.ts)
  })

  it('every entry advances head, length and updatedAt; createdAt stays the genesis time', () => {
    const entries = chain(start('s1'), user('q'), assistant('a'), turnEnd(1), llmUsage('m', 1), lock(1), unlock(), configChanged({}), custom(), outcome('finished'))
    fold(entries).forEach((s, i) => {
      expect(s.head).toBe(entries[i]!.hash)
      expect(s.length).toBe(i + 1)
      expect(s.updatedAt).toBe(entries[i]!.entry.ts)
      expect(s.createdAt).toBe(entries[0]!.entry.ts)
    })
  })

  it('refuses an entry that comes before any session_start', () => {
    const [, u] = chain(start('s1'), user('q'))
    expect(() => applyEntry(undefined, u!)).toThrow(/before any session_start/)
  })

  it('refuses to reduce no entries', () => {
    expect(() => reduceEntries([])).toThrow()
  })
})

describe('purity', () => {
  const entries = chain(
    start('s1', { systemPrompt: 'p', history: [{ role: 'user', content: 'seed' }] }),
    user('q'),
    assistant('a'),
    toolResults('o'),
    hook('n'),
    turnEnd(1),
    outcome('paused'),
    llmUsage('m', 1),
    lock(2),
    unlock(),
    configChanged({ model: 'm2' }),
    custom(),
    outcome('error', 'bad'),
  )

  it('applyEntry does not mutate its input state or entry (deep-frozen inputs, snapshot compared)', () => {
    let state: SessionState | undefined
    for (const e of entries) {
      const entrySnapshot = structuredClone(e)
      const stateSnapshot = state === undefined ? undefined : structuredClone(state)
      deepFreeze(e)
      if (state) deepFreeze(state)
      const next = applyEntry(state, e)
      expect(next).not.toBe(state)
      deepStrictEqual(e, entrySnapshot)
      if (state) deepStrictEqual(state, stateSnapshot)
      state = next
    }
  })

  it('applyEntry on the same state twice gives equal results', () => {
    const s = reduceEntries(entries.slice(0, 5))
    deepStrictEqual(applyEntry(s, entries[5]!), applyEntry(s, entries[5]!))
  })

  it('reduceEntries over every prefix equals folding step by step', () => {
    const fresh = chain(start('s2'), user('q'), assistant('a', 'b'), llmUsage('m', 2), turnEnd(1), lock(2), outcome('finished'), unlock(), custom())
    const steps = fold(fresh)
    for (let k = 1; k <= fresh.length; k++) deepStrictEqual(reduceEntries(fresh.slice(0, k)), steps[k - 1])
  })
})

describe('forks, compactions and snapshots', () => {
  const source = chain(
    start('src', { systemPrompt: 'sys', config: { model: 'm1', tools: ['ls'] } }),
    user('q1'),
    assistant('a1'),
    llmUsage('m1', 1),
    lock(2),
    turnEnd(1),
    outcome('paused', undefined, true),
    user('q2'), // after the fork point: must not reach the fork
  )
  const atIndex = 6
  const at = source[atIndex]!
  const base = reduceEntries(source.slice(0, atIndex + 1))

  it('a fork genesis without snapshot starts from the base state and records where it came from', () => {
    const baseCopy = structuredClone(base)
    const fork = chain(start('fork', { config: {}, forkedFrom: { sessionId: 'src', atHash: at.hash } }), user('q-fork'))
    const s = reduceEntries(fork, base)
    deepStrictEqual(base, baseCopy) // the base is not changed
    expect(s.sessionId).toBe('fork')
    expect(s.systemPrompt).toBe('sys')
    deepStrictEqual(s.config, { model: 'm1', tools: ['ls'] })
    deepStrictEqual(s.history, [...base.history, { role: 'user', content: 'q-fork' }])
    expect(s.history).not.toContainEqual({ role: 'user', content: 'q2' })
    expect(s.turnCount).toBe(1)
    expect(s.cacheLockedPrefix).toBe(2)
    deepStrictEqual(s.lastOutcome, { status: 'paused', interrupted: true })
    deepStrictEqual(s.usage, base.usage)
    deepStrictEqual(s.usageTotals, base.usageTotals)
    deepStrictEqual(s.forkedFrom, { sessionId: 'src', atHash: at.hash })
    expect(s.head).toBe(fork[1]!.hash)
    expect(s.length).toBe(2)
    expect(s.createdAt).toBe(fork[0]!.entry.ts)
  })

  it('a fork genesis without snapshot refuses to run without the base state', () => {
    const [g] = chain(start('fork', { config: {}, forkedFrom: { sessionId: 'src', atHash: at.hash } }))
    expect(() => reduceEntries([g!])).toThrow(/needs its source state/)
  })

  it('a fork of a compacted session does not inherit compactedFrom', () => {
    const compacted = chain(start('cmp', { history: [{ role: 'user', content: 'summary' }], compactedFrom: { sessionId: 'src', atHash: at.hash } }))
    const cbase = reduceEntries(compacted)
    expect(cbase.compactedFrom).toBeDefined()
    const fork = chain(start('fork2', { config: {}, forkedFrom: { sessionId: 'cmp', atHash: compacted[0]!.hash } }))
    const s = reduceEntries(fork, cbase)
    expect(s.compactedFrom).toBeUndefined()
    deepStrictEqual(s.forkedFrom, { sessionId: 'cmp', atHash: compacted[0]!.hash })
  })

  it('a compaction genesis starts from its summary history and records compactedFrom', () => {
    const head = source[source.length - 1]!.hash
    const [g] = chain(
      start('cmp', { history: [{ role: 'user', content: 'summary' }], compactedFrom: { sessionId: 'src', atHash: head }, compaction: { by: 'm1' } }),
    )
    const s = reduceEntries([g!])
    deepStrictEqual(s.history, [{ role: 'user', content: 'summary' }])
    deepStrictEqual(s.compactedFrom, { sessionId: 'src', atHash: head })
    expect(s.forkedFrom).toBeUndefined()
    expect(s.turnCount).toBe(0)
  })

  it('a materialised fork genesis restores turnCount, cacheLockedPrefix, lastOutcome and usage from its snapshot', () => {
    const snapshot = {
      turnCount: base.turnCount,
      cacheLockedPrefix: base.cacheLockedPrefix!,
      lastOutcome: base.lastOutcome!,
      usage: [usageOf('m1', 1), usageOf('m2', 4)],
    }
    const [g] = chain(
      start('mat', {
        systemPrompt: 'sys',
        config: { model: 'm1' },
        history: base.history,
        forkedFrom: { sessionId: 'src', atHash: at.hash },
        snapshot,
      }),
    )
    const s = reduceEntries([g!]) // no base needed
    expect(s.turnCount).toBe(1)
    expect(s.cacheLockedPrefix).toBe(2)
    deepStrictEqual(s.lastOutcome, { status: 'paused', interrupted: true })
    deepStrictEqual(s.usage, snapshot.usage)
    deepStrictEqual(s.usageTotals, {
      m1: { calls: 1, inputTokens: 100, cacheReadTokens: 10, cacheWriteTokens: 1, outputTokens: 20, reasoningTokens: 2 },
      m2: { calls: 1, inputTokens: 400, cacheReadTokens: 40, cacheWriteTokens: 4, outputTokens: 80, reasoningTokens: 8 },
    })
    deepStrictEqual(s.history, base.history)
    expect(s.length).toBe(1)
    // A base, when given anyway, is ignored for a materialised fork.
    deepStrictEqual(reduceEntries([g!], reduceEntries(chain(start('other')))), s)
  })

  it('a snapshot without its optional fields restores null lock and outcome', () => {
    const [g] = chain(start('mat2', { forkedFrom: { sessionId: 'src', atHash: at.hash }, snapshot: { turnCount: 5, usage: [] } }))
    const s = reduceEntries([g!])
    expect(s.turnCount).toBe(5)
    expect(s.cacheLockedPrefix).toBeNull()
    expect(s.lastOutcome).toBeNull()
  })
})
