// compact: a new session whose genesis carries the new history, `compactedFrom { sessionId, atHash }`
// (the source head at the time) and the compaction details; the source is never touched.
import { describe, expect, it } from 'vitest'
import { ErrorCodes } from '../../src/errors.js'
import type { SessionState } from '../../src/state/reducer.js'
import type { Store } from '../../src/store.js'
import { dumpMap } from '../support/rows.js'
import { entriesOf } from '../support/stores.js'
import { eachEngine } from '../support/engines.js'

const TS = 1_700_000_000_000


const idHex = (id: string): string => Buffer.from(id, 'utf8').toString('hex')

/** Every key that belongs to one session: its entries, both indexes, head and meta. */
async function rowsOf(store: Store, sessionId: string): Promise<Map<string, string>> {
  const db = await dumpMap(store)
  const hashes = new Set((await entriesOf(store, sessionId)).map((e) => e.hash))
  const mine = new Map<string, string>()
  for (const [k, v] of db) {
    const tag = k.slice(0, 2)
    const rest = k.slice(2)
    if (tag === '48' && hashes.has(rest)) mine.set(k, v) // H
    else if (tag === '52' && rest.startsWith(idHex(sessionId) + '00')) mine.set(k, v) // R
    else if (tag === '50' && rest === idHex(sessionId)) mine.set(k, v) // P (head ‖ meta)
  }
  return mine
}

/** A source with a system prompt, a config change, usage, a cache lock, an outcome and 3 turns. */
async function makeSource(store: Store, sessionId = 'src'): Promise<void> {
  await store.createSession({ sessionId, systemPrompt: 'You are terse.', config: { model: 'm1' }, history: [{ role: 'user', content: 'ctx' }], ts: TS })
  for (let t = 1; t <= 3; t++) {
    await store.appendTurn(
      sessionId,
      [
        { role: 'user', content: `q${t}` },
        { type: 'function_call', call_id: `c${t}`, name: 'ls', arguments: '{}' },
        { type: 'function_call_output', call_id: `c${t}`, output: 'a.txt' },
        { role: 'assistant', content: `a${t}` },
      ],
      { ts: TS, turnEnd: true, usage: { historyLength: 4 * t, model: 'm1', inputTokens: 100 * t, cacheReadTokens: 0, cacheWriteTokens: 0, outputTokens: 10, reasoningTokens: 0 } },
    )
    if (t === 2) await store.changeConfig(sessionId, { model: 'm2', tools: ['ls'] })
  }
  await store.lockCache(sessionId, 3)
  await store.recordOutcome(sessionId, { status: 'paused', interrupted: false })
}

const SUMMARY = [{ role: 'user', content: 'Summary of the conversation so far: listed files three times.' }]

eachEngine((_engine, newStore) => {
  describe('compaction leaves the source untouched', () => {
    it('head, every row (key and value bytes) and restore of the source are unchanged', async () => {
      const store = await newStore()
      await makeSource(store)
      const headBefore = await store.head('src')
      const entriesBefore = await entriesOf(store, 'src')
      const rowsBefore = await rowsOf(store, 'src')
      const stateBefore = await store.restore('src')
      const dbBefore = await dumpMap(store)

      const c = await store.compact('src', { history: SUMMARY, summary: 'listed files', sessionId: 'cmp', ts: TS + 5 })

      expect(await store.head('src')).toBe(headBefore)
      expect(await entriesOf(store, 'src')).toStrictEqual(entriesBefore)
      expect(await rowsOf(store, 'src')).toStrictEqual(rowsBefore)
      expect(await store.restore('src')).toStrictEqual(stateBefore)
      // Nothing that existed was changed or removed; the only new keys are the compacted session's
      // own rows and one dependant row (D ‖ src ‖ 0x00 ‖ cmp).
      const dbAfter = await dumpMap(store)
      for (const [k, v] of dbBefore) expect(dbAfter.get(k)).toBe(v)
      const added = [...dbAfter.keys()].filter((k) => !dbBefore.has(k)).sort()
      const cmpRows = await rowsOf(store, 'cmp')
      const dependantRow = '44' + idHex('src') + '00' + idHex('cmp')
      expect(added).toStrictEqual([...cmpRows.keys(), dependantRow].sort())
      expect(cmpRows.size).toBe(3) // genesis record, hash index, session row (head ‖ meta)
      expect(c).toStrictEqual({ sessionId: 'cmp', head: await store.head('cmp') })
    })

    it('the source can go on after compaction; neither session sees the other', async () => {
      const store = await newStore()
      await makeSource(store)
      const atCompaction = await store.head('src')
      await store.compact('src', { history: SUMMARY, sessionId: 'cmp', ts: TS })
      const cmpBefore = await store.restore('cmp')
      await store.appendTurn('src', [{ role: 'user', content: 'SRC-AFTER' }], { ts: TS })
      await store.appendTurn('cmp', [{ role: 'user', content: 'CMP-AFTER' }], { ts: TS, turnEnd: true })
      const src = await store.restore('src')
      const cmp = await store.restore('cmp')
      expect(JSON.stringify(src.history)).not.toContain('CMP-AFTER')
      expect(JSON.stringify(cmp.history)).not.toContain('SRC-AFTER')
      expect(cmp.history).toStrictEqual([...cmpBefore.history, { role: 'user', content: 'CMP-AFTER' }])
      // The provenance names the head at the time of the compaction, not the source's head now.
      expect(cmp.compactedFrom).toStrictEqual({ sessionId: 'src', atHash: atCompaction })
      expect(await store.head('src')).not.toBe(atCompaction)
      // A compacted session starts its own turn count.
      expect(cmp.turnCount).toBe(1)
    })
  })

  describe('the compacted session records its provenance', () => {
    it('genesis carries compactedFrom { sessionId, atHash: source head } and the compaction details', async () => {
      const store = await newStore()
      await makeSource(store)
      const head = await store.head('src')
      const length = (await store.readHead('src'))!.seq + 1
      const details = { summariser: { model: 'sum-1', prompt: 'v2' }, range: { fromSeq: 0, toSeq: length - 1 }, note: 'kept verbatim', n: 42 }
      const c = await store.compact('src', { history: SUMMARY, summary: 'listed files three times', details, sessionId: 'cmp', ts: TS + 9 })
      const genesis = await store.getEntry(c.head)
      expect(genesis.sessionId).toBe('cmp')
      expect(genesis.seq).toBe(0)
      expect(genesis.entry).toStrictEqual({
        kind: 'session_start',
        ts: TS + 9,
        sessionId: 'cmp',
        systemPrompt: 'You are terse.',
        config: { model: 'm2', tools: ['ls'] },
        history: SUMMARY,
        compactedFrom: { sessionId: 'src', atHash: head },
        compaction: { ...details, summary: 'listed files three times', sourceLength: length },
      })
      expect(length).toBe((await entriesOf(store, 'src')).length) // sourceLength: the source's entry count at the time
      expect(length).toBe(22) // genesis; 3 turns of user_input, assistant_items, tool_results, assistant_items, llm_usage, turn_end; config, lock, outcome
      // The store's metadata and listing carry the provenance too.
      const info = (await store.listSessions()).find((s) => s.sessionId === 'cmp')!
      expect(info.compactedFrom).toStrictEqual({ sessionId: 'src', atHash: head })
      expect(info.forkedFrom).toBeUndefined()
      expect(info.length).toBe(1)
      // The source's dependants index records the compaction.
      const lin = await store.lineage('src')
      expect(lin.descendants).toStrictEqual([{ sessionId: 'cmp', relation: 'compaction', atHash: head, materialized: true, children: [] }])
    })

    it('without a summary or details, the compaction record still says how long the source was', async () => {
      const store = await newStore()
      const { head } = await store.createSession({ sessionId: 'src', ts: TS })
      const c = await store.compact('src', { history: [], sessionId: 'cmp', ts: TS })
      const g = (await store.getEntry(c.head)).entry
      expect(g).toStrictEqual({ kind: 'session_start', ts: TS, sessionId: 'cmp', config: {}, history: [], compactedFrom: { sessionId: 'src', atHash: head }, compaction: { sourceLength: 1 } })
    })

    it('the compaction of a fork records the fork and its own length, and takes its inherited state', async () => {
      const store = await newStore()
      await makeSource(store)
      const entries = await entriesOf(store, 'src')
      await store.forkAt(entries[5]!.hash, { sessionId: 'fork', ts: TS })
      await store.appendTurn('fork', [{ role: 'user', content: 'in fork' }], { ts: TS })
      const forkHead = await store.head('fork')
      const forkState = await store.restore('fork')
      const c = await store.compact('fork', { history: SUMMARY, sessionId: 'cmp', ts: TS })
      const g = (await store.getEntry(c.head)).entry
      if (g.kind !== 'session_start') throw new Error('not a genesis')
      expect(g.compactedFrom).toStrictEqual({ sessionId: 'fork', atHash: forkHead })
      expect(g.compaction).toStrictEqual({ sourceLength: 2 }) // the fork's own entries: genesis + one
      expect(g.systemPrompt).toBe(forkState.systemPrompt) // inherited from the root through the fork
      expect(g.config).toStrictEqual(forkState.config)
      const state = await store.restore('cmp')
      expect(state.forkedFrom).toBeUndefined()
      expect(state.compactedFrom).toStrictEqual({ sessionId: 'fork', atHash: forkHead })
    })
  })

  describe('restoring a compacted session', () => {
    function fresh(s: SessionState) {
      return { turnCount: s.turnCount, cacheLockedPrefix: s.cacheLockedPrefix, lastOutcome: s.lastOutcome, usage: s.usage, usageTotals: s.usageTotals }
    }

    it('starts from the given history; config and system prompt default to the source current ones', async () => {
      const store = await newStore()
      await makeSource(store)
      const source = await store.restore('src')
      expect(source.config).toStrictEqual({ model: 'm2', tools: ['ls'] }) // changed mid-way: the current one is the default
      await store.compact('src', { history: SUMMARY, sessionId: 'cmp', ts: TS + 1 })
      const s = await store.restore('cmp')
      expect(s.history).toStrictEqual(SUMMARY)
      expect(s.config).toStrictEqual(source.config)
      expect(s.systemPrompt).toBe('You are terse.')
      // Nothing else of the source is carried over: the compacted session starts fresh.
      expect(fresh(s)).toStrictEqual({ turnCount: 0, cacheLockedPrefix: null, lastOutcome: null, usage: [], usageTotals: {} })
      expect(s.sessionId).toBe('cmp')
      expect(s.length).toBe(1)
      expect(s.head).toBe(await store.head('cmp'))
      expect(s.createdAt).toBe(TS + 1)
    })

    it('explicit config and system prompt win, each independently of the other', async () => {
      const store = await newStore()
      await makeSource(store)
      await store.compact('src', { history: SUMMARY, config: { model: 'small' }, sessionId: 'c1', ts: TS })
      await store.compact('src', { history: SUMMARY, systemPrompt: 'New prompt.', sessionId: 'c2', ts: TS })
      await store.compact('src', { history: [], systemPrompt: '', config: {}, sessionId: 'c3', ts: TS })
      const c1 = await store.restore('c1')
      const c2 = await store.restore('c2')
      const c3 = await store.restore('c3')
      expect([c1.config, c1.systemPrompt]).toStrictEqual([{ model: 'small' }, 'You are terse.'])
      expect([c2.config, c2.systemPrompt]).toStrictEqual([{ model: 'm2', tools: ['ls'] }, 'New prompt.'])
      expect([c3.config, c3.systemPrompt, c3.history]).toStrictEqual([{}, '', []])
    })

    it('a source without a system prompt gives a compacted session without one', async () => {
      const store = await newStore()
      await store.createSession({ sessionId: 'src', config: { model: 'x' }, ts: TS })
      await store.compact('src', { history: SUMMARY, sessionId: 'cmp', ts: TS })
      const s = await store.restore('cmp')
      expect(s.systemPrompt).toBeUndefined()
      expect('systemPrompt' in (await store.getEntry(await store.head('cmp'))).entry).toBe(false)
      expect(s.config).toStrictEqual({ model: 'x' })
    })

    it('a compaction of a compaction chains its provenance and restores from its own history', async () => {
      const store = await newStore()
      await makeSource(store)
      await store.compact('src', { history: SUMMARY, sessionId: 'c1', ts: TS })
      await store.appendTurn('c1', [{ role: 'user', content: 'more' }], { ts: TS })
      const c1Head = await store.head('c1')
      await store.compact('c1', { history: [{ role: 'user', content: 'shorter' }], sessionId: 'c2', ts: TS })
      const s = await store.restore('c2')
      expect(s.history).toStrictEqual([{ role: 'user', content: 'shorter' }])
      expect(s.compactedFrom).toStrictEqual({ sessionId: 'c1', atHash: c1Head })
      expect((await store.lineage('c2')).ancestors.map((a) => [a.sessionId, a.relation])).toStrictEqual([
        ['c1', 'compaction'],
        ['src', 'compaction'],
      ])
    })
  })

  describe('compaction rejects bad calls before writing anything', () => {
    it('unknown source, missing history, taken id, the source id itself', async () => {
      const store = await newStore()
      await makeSource(store)
      await store.createSession({ sessionId: 'taken', ts: TS })
      const before = await dumpMap(store)
      await expect(store.compact('nope', { history: [] })).rejects.toMatchObject({ code: ErrorCodes.SESSION_NOT_FOUND })
      await expect(store.compact('src', {} as never)).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT })
      await expect(store.compact('src', { history: 'x' } as never)).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT })
      await expect(store.compact('src', { history: [], sessionId: 'taken' })).rejects.toMatchObject({ code: ErrorCodes.SESSION_EXISTS })
      await expect(store.compact('src', { history: [undefined] })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ENTRY })
      // The source's own id: refused (it used to wait forever on the source's own lock).
      const own = await Promise.race([
        store.compact('src', { history: [], sessionId: 'src' }).then(
          () => 'resolved',
          (e: { code?: string }) => e.code,
        ),
        new Promise((res) => setTimeout(() => res('hung'), 2000)),
      ])
      expect(own).toBe(ErrorCodes.SESSION_EXISTS)
      expect(await dumpMap(store)).toStrictEqual(before)
      await store.appendTurn('src', [{ role: 'user', content: 'the source lock is free' }], { ts: TS })
    })
  })
})
