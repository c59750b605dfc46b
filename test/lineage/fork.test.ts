// forkAt: a fork restores to exactly its source's state at the fork point (plain or materialised,
// at every position, forks of forks), is isolated from its source afterwards, is addressed by hash
// or unique prefix, writes nothing when it fails, and costs the same whatever the source's length.
import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'
import { ErrorCodes } from '../../src/errors.js'
import type { Usage } from '../../src/schema/entry.js'
import { reduceEntries, type ChainedEntry, type SessionState } from '../../src/state/reducer.js'
import type { EntryInput, StoredEntry } from '../../src/storage/session-store.js'
import type { Store } from '../../src/store.js'
import { dump } from '../support/rows.js'
import { restorable } from '../support/session-state.js'
import { entriesOf } from '../support/stores.js'
import { eachEngine, runsOn } from '../support/engines.js'

const TS = 1_700_000_000_000

eachEngine((engine, newStore) => {

  const chained = (es: StoredEntry[]): ChainedEntry[] => es.map((e) => ({ hash: e.hash, entry: e.entry }))

  // ---- random sessions ---------------------------------------------------------------------------

  const text = fc.string({ maxLength: 12 })
  const callId = fc.stringMatching(/^c[0-9]{1,3}$/)
  const userMsg = text.map((t) => ({ role: 'user', content: t }))
  const assistantMsg = text.map((t) => ({ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: t }] }))
  const toolCall = fc
    .record({ call_id: callId, name: fc.constantFrom('ls', 'cat', 'grep'), arguments: text })
    .map((r) => ({ type: 'function_call', ...r }))
  const toolResult = fc.record({ call_id: callId, output: text }).map((r) => ({ type: 'function_call_output', ...r }))
  const reasoning = text.map((t) => ({ type: 'reasoning', summary: [{ type: 'summary_text', text: t }] }))
  const other = fc
    .record({ note: text, n: fc.integer(), x: fc.double({ noNaN: true, noDefaultInfinity: true }), ok: fc.boolean(), nil: fc.constant(null) })
    .map((r) => ({ type: 'system_note', ...r }))
  const item = fc.oneof(userMsg, assistantMsg, toolCall, toolResult, reasoning, other)
  const usage: fc.Arbitrary<Usage> = fc.record({
    historyLength: fc.nat(500),
    model: fc.constantFrom('model-a', 'model-b', 'model-c'),
    inputTokens: fc.nat(100_000),
    cacheReadTokens: fc.nat(100_000),
    cacheWriteTokens: fc.nat(10_000),
    outputTokens: fc.nat(10_000),
    reasoningTokens: fc.nat(10_000),
  })
  const config = fc.record(
    {
      model: fc.constantFrom('model-a', 'model-b'),
      temperature: fc.double({ min: 0, max: 2, noNaN: true }),
      tools: fc.array(fc.constantFrom('ls', 'cat', 'grep'), { maxLength: 3 }),
      extra: fc.dictionary(fc.string({ minLength: 1, maxLength: 4 }), fc.oneof(fc.integer(), text, fc.boolean())),
    },
    { requiredKeys: ['model'] },
  )

  type Op =
    | { t: 'turn'; items: unknown[]; usage: Usage[]; turnEnd: boolean }
    | { t: 'config'; config: Record<string, unknown> }
    | { t: 'lock'; n: number }
    | { t: 'unlock' }
    | { t: 'outcome'; status: 'finished' | 'paused' | 'limit_reached' | 'yielded' | 'error'; message?: string; interrupted: boolean }
    | { t: 'usage'; usage: Usage }
    | { t: 'turnEnd'; turn: number }
    | { t: 'custom'; data: unknown }

  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ t: fc.constant('turn' as const), items: fc.array(item, { minLength: 1, maxLength: 5 }), usage: fc.array(usage, { maxLength: 2 }), turnEnd: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('config' as const), config }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('lock' as const), n: fc.nat(40) }) },
    { weight: 1, arbitrary: fc.constant({ t: 'unlock' as const }) },
    {
      weight: 1,
      arbitrary: fc
        .record({ status: fc.constantFrom('finished', 'paused', 'limit_reached', 'yielded', 'error'), message: fc.option(text, { nil: undefined }), interrupted: fc.boolean() })
        .map((o) => ({ t: 'outcome' as const, ...o, ...(o.status === 'error' ? { message: o.message ?? 'boom' } : {}) })),
    },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('usage' as const), usage }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('turnEnd' as const), turn: fc.nat(50) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('custom' as const), data: fc.oneof(text, fc.integer()) }) },
  )

  async function applyOp(store: Store, sessionId: string, o: Op): Promise<void> {
    switch (o.t) {
      case 'turn':
        await store.appendTurn(sessionId, o.items, { ts: TS, usage: o.usage, ...(o.turnEnd ? { turnEnd: true as const } : {}) })
        return
      case 'config':
        await store.changeConfig(sessionId, o.config)
        return
      case 'lock':
        await store.lockCache(sessionId, o.n)
        return
      case 'unlock':
        await store.unlockCache(sessionId)
        return
      case 'outcome': {
        const outcome: { status: typeof o.status; interrupted: boolean; message?: string } = { status: o.status, interrupted: o.interrupted }
        if (o.message !== undefined) outcome.message = o.message
        await store.recordOutcome(sessionId, outcome)
        return
      }
      case 'usage':
        await store.appendUsage(sessionId, o.usage)
        return
      case 'turnEnd':
        await store.appendTurnEnd(sessionId, o.turn)
        return
      case 'custom':
        await store.appendCustom(sessionId, 'com.example.test', 'event', o.data)
        return
    }
  }

  const genesis = fc.record({
    systemPrompt: fc.option(text, { nil: undefined }),
    config,
    history: fc.array(item, { maxLength: 3 }),
  })

  // ---- tests -------------------------------------------------------------------------------------

  describe('forkAt restores the source state at the fork point', () => {
    it('at every position of a random source, plain and materialised (property)', async () => {
      await fc.assert(
        fc.asyncProperty(
          genesis,
          fc.array(op, { minLength: 1, maxLength: 14 }),
          // Sometimes the source is itself a fork (plain or materialised) of a random root session.
          fc.option(fc.record({ ops: fc.array(op, { minLength: 1, maxLength: 6 }), at: fc.nat(), materialize: fc.boolean() }), { nil: undefined }),
          async (g, ops, origin) => {
            const store = await newStore()
            // The entries whose replay gives the source's state before its own non-genesis entries.
            let prefix: ChainedEntry[]
            if (origin) {
              await store.createSession({ sessionId: 'root', ...g, ts: TS })
              for (const o of origin.ops) await applyOp(store, 'root', o)
              const rootEntries = await entriesOf(store, 'root')
              const at = origin.at % rootEntries.length
              await store.forkAt(rootEntries[at]!.hash, { sessionId: 'src', materialize: origin.materialize, ts: TS })
              prefix = chained(rootEntries.slice(0, at + 1))
            } else {
              await store.createSession({ sessionId: 'src', ...g, ts: TS })
              prefix = []
            }
            for (const o of ops) await applyOp(store, 'src', o)
            const src = await entriesOf(store, 'src')
            const own = prefix.length > 0 ? src.slice(1) : src // a fork's genesis adds no state

            for (let i = 0; i < src.length; i++) {
              const h = src[i]!.hash
              const atH = await store.restore('src', { at: h })
              // The source's state at h is the replay of everything up to h (independent oracle).
              const oracle = reduceEntries([...prefix, ...chained(own.slice(0, prefix.length > 0 ? i : i + 1))])
              expect(restorable(atH)).toStrictEqual(restorable(oracle))

              for (const materialize of [false, true]) {
                const forkId = `${materialize ? 'm' : 'f'}${i}`
                const fork = await store.forkAt(h, { sessionId: forkId, materialize, ts: TS + 1 })
                expect(fork.sessionId).toBe(forkId)
                const state = await store.restore(forkId)
                expect(restorable(state)).toStrictEqual(restorable(atH))
                expect(state.sessionId).toBe(forkId)
                expect(state.head).toBe(fork.head)
                expect(await store.head(forkId)).toBe(fork.head)
                expect(state.length).toBe(1)
                expect(state.forkedFrom).toStrictEqual({ sessionId: 'src', atHash: h })
                expect(state.compactedFrom).toBeUndefined()
                const g0 = (await store.getEntry(fork.head)).entry
                expect(g0.kind).toBe('session_start')
                if (g0.kind !== 'session_start') return
                expect(g0.forkedFrom).toStrictEqual({ sessionId: 'src', atHash: h })
                if (materialize) {
                  expect(g0.snapshot).toBeDefined()
                  expect(g0.history).toStrictEqual(atH.history)
                } else {
                  // A plain fork copies nothing.
                  expect(g0).toStrictEqual({ kind: 'session_start', ts: TS + 1, sessionId: forkId, config: {}, history: [], forkedFrom: { sessionId: 'src', atHash: h } })
                }
                const info = (await store.listSessions()).find((s) => s.sessionId === forkId)!
                expect(info.length).toBe(1)
                expect(info.forkedFrom).toStrictEqual({ sessionId: 'src', atHash: h })
                expect(info.materialized === true).toBe(materialize)
              }
            }
          },
        ),
        { numRuns: runsOn(engine, 30) },
      )
    })
  })

  describe('a fork and its source are isolated after the fork point', () => {
    it.each([
      ['a middle entry', false],
      ['a middle entry (materialised)', true],
    ])('fork at %s', async (_name, materialize) => {
      const store = await newStore()
      await store.createSession({ sessionId: 'src', systemPrompt: 'be brief', config: { model: 'm' }, ts: TS })
      for (let t = 1; t <= 4; t++) {
        await store.appendTurn('src', [{ role: 'user', content: `q${t}` }, { role: 'assistant', content: `a${t}` }], { ts: TS, turnEnd: true })
      }
      const before = await entriesOf(store, 'src')
      const forkPoint = before[6]! // the turn_end of turn 2 of 4
      await store.forkAt(forkPoint.hash, { sessionId: 'fork', materialize, ts: TS })
      // The source's head moved on already before the fork, and moves on again after it.
      const expectedForkBase = await store.restore('src', { at: forkPoint.hash })
      const srcBefore = await store.restore('src')

      await store.appendTurn('src', [{ role: 'user', content: 'SRC-ONLY q' }, { role: 'assistant', content: 'SRC-ONLY a' }], { ts: TS, turnEnd: true })
      await store.changeConfig('src', { model: 'src-only' })
      await store.appendTurn('fork', [{ role: 'user', content: 'FORK-ONLY q' }, { type: 'function_call', call_id: 'c1', name: 'ls', arguments: '{}' }], {
        ts: TS,
        turnEnd: true,
        usage: { historyLength: 3, model: 'm', inputTokens: 10, cacheReadTokens: 0, cacheWriteTokens: 0, outputTokens: 5, reasoningTokens: 0 },
      })
      await store.changeConfig('fork', { model: 'fork-only' })

      const srcAfter = await entriesOf(store, 'src')
      const forkAfter = await entriesOf(store, 'fork')
      const srcHashes = new Set(srcAfter.map((e) => e.hash))
      const forkHashes = new Set(forkAfter.map((e) => e.hash))

      // The source's old entries are untouched and it only gained its own appends.
      expect(srcAfter.slice(0, before.length)).toStrictEqual(before)
      expect(srcAfter.length).toBe(before.length + 3 + 1)
      // The fork holds its genesis and its own appends only: nothing copied, nothing shared.
      expect(forkAfter.length).toBe(1 + 4 + 1) // genesis; user_input, assistant_items, llm_usage, turn_end; config_changed
      for (const e of forkAfter) {
        expect(srcHashes.has(e.hash)).toBe(false)
        expect(e.sessionId).toBe('fork')
        expect((await store.getEntry(e.hash)).sessionId).toBe('fork')
      }
      for (const e of srcAfter) {
        expect(forkHashes.has(e.hash)).toBe(false)
        expect((await store.getEntry(e.hash)).sessionId).toBe('src')
      }

      const src = await store.restore('src')
      const fork = await store.restore('fork')
      const texts = (s: SessionState): string => JSON.stringify(s.history)
      expect(texts(src)).not.toContain('FORK-ONLY')
      expect(texts(fork)).not.toContain('SRC-ONLY')
      expect(texts(fork)).not.toContain('q3') // entries of the source after the fork point
      expect(src.history).toStrictEqual([...srcBefore.history, { role: 'user', content: 'SRC-ONLY q' }, { role: 'assistant', content: 'SRC-ONLY a' }])
      expect(fork.history).toStrictEqual([
        ...expectedForkBase.history,
        { role: 'user', content: 'FORK-ONLY q' },
        { type: 'function_call', call_id: 'c1', name: 'ls', arguments: '{}' },
      ])
      expect(src.config).toStrictEqual({ model: 'src-only' })
      expect(fork.config).toStrictEqual({ model: 'fork-only' })
      expect(src.usage).toStrictEqual([])
      expect(fork.usage).toHaveLength(1)
      // turnEnd: true continues the count from the fork point, not from the source's head.
      expect(expectedForkBase.turnCount).toBe(2)
      expect(fork.turnCount).toBe(3)
      expect(src.turnCount).toBe(5)
      expect(fork.systemPrompt).toBe('be brief')
      // The state of the source at the fork point is still what the fork started from.
      expect(restorable(await store.restore('src', { at: forkPoint.hash }))).toStrictEqual(restorable(expectedForkBase))
    })

    it('a fork at the head does not see entries appended to the source later', async () => {
      const store = await newStore()
      await store.createSession({ sessionId: 'src', ts: TS })
      const { head } = await store.appendTurn('src', [{ role: 'user', content: 'one' }], { ts: TS })
      await store.forkAt(head, { sessionId: 'fork', ts: TS })
      await store.appendTurn('src', [{ role: 'user', content: 'two' }], { ts: TS })
      expect((await store.restore('fork')).history).toStrictEqual([{ role: 'user', content: 'one' }])
      expect((await store.restore('src')).history).toStrictEqual([{ role: 'user', content: 'one' }, { role: 'user', content: 'two' }])
    })
  })

  describe('forkAt addresses entries by hash or unique prefix', () => {
    /** A session of n custom entries with fixed timestamps (deterministic hashes). */
    async function bigSource(store: Store, sessionId: string, n: number): Promise<StoredEntry[]> {
      await store.createSession({ sessionId, ts: TS })
      for (let done = 1; done < n; ) {
        const k = Math.min(1000, n - done)
        const batch: EntryInput[] = Array.from({ length: k }, (_, i) => ({ kind: 'custom', namespace: 'test', type: 'e', data: done + i, ts: TS }) as EntryInput)
        await store.appendMany(sessionId, batch)
        done += k
      }
      return entriesOf(store, sessionId)
    }

    function lcp(a: string, b: string): number {
      let i = 0
      while (i < a.length && a[i] === b[i]) i++
      return i
    }

    it('forks by a unique prefix, recording the full hash', async () => {
      const store = await newStore()
      const entries = await bigSource(store, 'src', 300)
      const sorted = entries.map((e) => e.hash).sort()
      const target = entries[137]!.hash
      const k = sorted.indexOf(target)
      const len = Math.max(4, 1 + Math.max(lcp(target, sorted[k - 1] ?? ''), lcp(target, sorted[k + 1] ?? '')))
      const prefix = target.slice(0, len)
      expect(sorted.filter((h) => h.startsWith(prefix))).toStrictEqual([target])

      const fork = await store.forkAt(prefix, { sessionId: 'fork', ts: TS })
      const state = await store.restore(fork.sessionId)
      expect(state.forkedFrom).toStrictEqual({ sessionId: 'src', atHash: target })
      expect(restorable(state)).toStrictEqual(restorable(await store.restore('src', { at: target })))
      // Upper case works too (hex is case-insensitive).
      const upper = await store.forkAt(prefix.toUpperCase(), { sessionId: 'fork2', ts: TS })
      expect((await store.restore(upper.sessionId)).forkedFrom).toStrictEqual({ sessionId: 'src', atHash: target })
    })

    it('unknown hashes and ambiguous prefixes fail with their codes and write nothing', async () => {
      const store = await newStore()
      const entries = await bigSource(store, 'src', 2000)
      const sorted = entries.map((e) => e.hash).sort()
      // Two hashes sharing at least 4 hex digits (2000 hashes over 65536 4-digit prefixes: ~30 pairs;
      // the hashes are deterministic, so this is found every run).
      let ambiguous: string | undefined
      for (let i = 1; i < sorted.length && !ambiguous; i++) {
        const n = lcp(sorted[i - 1]!, sorted[i]!)
        if (n >= 4) ambiguous = sorted[i]!.slice(0, n)
      }
      expect(ambiguous).toBeDefined()
      expect(sorted.filter((h) => h.startsWith(ambiguous!)).length).toBeGreaterThan(1)
      // A full hash that is not stored, and a prefix that matches nothing.
      const last = sorted[0]!
      const unknownFull = last.slice(0, 63) + (last[63] === '0' ? '1' : '0')
      expect(sorted).not.toContain(unknownFull)
      let unknownPrefix = 'ffff'
      for (let i = 0; sorted.some((h) => h.startsWith(unknownPrefix)); i++) unknownPrefix = i.toString(16).padStart(6, '0')

      const before = await dump(store)
      const batches = store.engine.stats.batches
      await expect(store.forkAt(unknownFull, { sessionId: 'x1' })).rejects.toMatchObject({ code: ErrorCodes.ENTRY_NOT_FOUND })
      await expect(store.forkAt(unknownPrefix, { sessionId: 'x2' })).rejects.toMatchObject({ code: ErrorCodes.ENTRY_NOT_FOUND })
      await expect(store.forkAt(unknownFull, { sessionId: 'x3', materialize: true })).rejects.toMatchObject({ code: ErrorCodes.ENTRY_NOT_FOUND })
      await expect(store.forkAt(ambiguous!, { sessionId: 'x4' })).rejects.toMatchObject({
        code: ErrorCodes.AMBIGUOUS_PREFIX,
        data: { prefix: ambiguous },
      })
      await expect(store.forkAt(ambiguous!, { sessionId: 'x5', materialize: true })).rejects.toMatchObject({ code: ErrorCodes.AMBIGUOUS_PREFIX })
      // Not a hash at all, and an id that is taken: also rejected before anything is written.
      await expect(store.forkAt('xyz!', { sessionId: 'x6' })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT })
      expect(await dump(store)).toStrictEqual(before)
      expect(store.engine.stats.batches).toBe(batches)
      // An id that is taken: refused before anything is written.
      await store.createSession({ sessionId: 'other', ts: TS })
      const before2 = await dump(store)
      await expect(store.forkAt(sorted[5]!, { sessionId: 'other' })).rejects.toMatchObject({ code: ErrorCodes.SESSION_EXISTS })
      expect(await dump(store)).toStrictEqual(before2)
      await store.deleteSession('other')
      const before3 = await dump(store)
      expect(before3.filter(([k]) => !k.startsWith('58'))).toStrictEqual(before) // all but the tombstone of 'other'
      expect(await dump(store)).toStrictEqual(before3)
      expect((await store.listSessions()).map((s) => s.sessionId)).toStrictEqual(['src'])
    })

    it("forking with the source's own id is refused (SESSION_EXISTS) instead of locking the source forever", async () => {
      const store = await newStore()
      const { head } = await store.createSession({ sessionId: 'src', ts: TS })
      const before = await dump(store)
      for (const materialize of [false, true]) {
        const r = await within(store.forkAt(head, { sessionId: 'src', materialize, ts: TS }), 2000)
        expect(r).toMatchObject({ rejected: { code: ErrorCodes.SESSION_EXISTS } })
      }
      expect(await dump(store)).toStrictEqual(before)
      // The source is still usable (its lock was released).
      expect(await within(store.appendTurn('src', [{ role: 'user', content: 'still here' }], { ts: TS }), 2000)).toHaveProperty('resolved')
    })
  })

  /** Settle `p` or report that it hung after `ms` (a deadlock must fail the test, not time it out). */
  async function within<T>(p: Promise<T>, ms: number): Promise<{ resolved: T } | { rejected: unknown } | 'hung'> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<'hung'>((res) => (timer = setTimeout(() => res('hung'), ms)))
    try {
      return await Promise.race([p.then((v) => ({ resolved: v }), (e: unknown) => ({ rejected: e })), timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  describe('forks of forks', () => {
    it.each([
      ['all plain', [false, false, false, false, false, false]],
      ['some materialised', [false, true, false, false, true, false]],
    ])('six levels deep (%s) restore to the concatenated replay at every entry', async (_name, materialized) => {
      const store = await newStore()
      await store.createSession({ sessionId: 'L0', systemPrompt: 'root prompt', config: { model: 'm0' }, history: [{ role: 'user', content: 'seed' }], ts: TS })
      /** chain[i]: the entries whose replay gives level i's state at its head, for prefixes of it. */
      const levels: { id: string; own: ChainedEntry[]; base: ChainedEntry[] }[] = []
      const fill = async (id: string, level: number): Promise<void> => {
        await store.appendTurn(id, [{ role: 'user', content: `L${level} q` }, { role: 'assistant', content: `L${level} a` }], {
          ts: TS,
          turnEnd: true,
          usage: { historyLength: level, model: `m${level % 2}`, inputTokens: 10 * level, cacheReadTokens: level, cacheWriteTokens: 0, outputTokens: 1, reasoningTokens: 0 },
        })
        if (level % 2 === 0) await store.changeConfig(id, { model: `m-level-${level}` })
        if (level % 3 === 0) await store.lockCache(id, level + 1)
        else await store.unlockCache(id)
        await store.recordOutcome(id, { status: level === 4 ? 'error' : 'paused', message: `level ${level}`, interrupted: level % 2 === 1 })
        await store.appendTurn(id, [{ role: 'user', content: `L${level} q2` }], { ts: TS })
      }
      await fill('L0', 0)
      levels.push({ id: 'L0', own: chained(await entriesOf(store, 'L0')), base: [] })
      for (let level = 1; level <= 6; level++) {
        const parent = levels[level - 1]!
        // Fork somewhere inside the parent's own entries (not always at its head).
        const pos = (level * 5) % parent.own.length
        const at = parent.own[pos]!.hash
        const id = `L${level}`
        await store.forkAt(at, { sessionId: id, materialize: materialized[level - 1], ts: TS })
        // The parent goes on after the fork point: none of that may reach the fork.
        await store.appendTurn(parent.id, [{ role: 'user', content: `AFTER-FORK ${parent.id}` }], { ts: TS })
        await fill(id, level)
        const own = chained(await entriesOf(store, id))
        const parentOwnFull = chained(await entriesOf(store, parent.id))
        levels.push({ id, own, base: [...parent.base, ...parentOwnFull.slice(parent.base.length > 0 ? 1 : 0, pos + 1)] })
      }
      for (const [li, L] of levels.entries()) {
        const current = chained(await entriesOf(store, L.id))
        expect(current.length).toBeGreaterThan(1)
        for (let i = 0; i < current.length; i++) {
          const replay = reduceEntries([...L.base, ...current.slice(L.base.length > 0 ? 1 : 0, i + 1)])
          const state = await store.restore(L.id, { at: current[i]!.hash })
          expect(restorable(state)).toStrictEqual(restorable(replay))
          expect(state.head).toBe(current[i]!.hash)
          expect(state.length).toBe(i + 1)
          expect(state.sessionId).toBe(L.id)
        }
        const full = await store.restore(L.id)
        for (let j = 0; j < li; j++) expect(JSON.stringify(full.history)).not.toContain(`AFTER-FORK L${j}`)
        expect(full.history[0]).toStrictEqual({ role: 'user', content: 'seed' })
        expect(full.systemPrompt).toBe('root prompt')
      }
      // The deepest level sees one question of every level on its way down.
      const deepest = await store.restore('L6')
      for (let level = 1; level <= 6; level++) expect(JSON.stringify(deepest.history)).toContain(`L${level} q`)
    })
  })

  describe('fork cost does not depend on the source length', () => {
    async function measure(n: number, forkAtFirst: boolean) {
      const store = await newStore()
      await store.createSession({ sessionId: 'source', systemPrompt: 'p', config: { model: 'm' }, ts: TS })
      for (let done = 1; done < n; ) {
        const k = Math.min(1000, n - done)
        const batch: EntryInput[] = []
        for (let i = 0; i < k; i++) {
          batch.push(i % 2 === 0 ? ({ kind: 'user_input', item: { role: 'user', content: `m${done + i}` }, ts: TS } as EntryInput) : ({ kind: 'assistant_items', items: [{ role: 'assistant', content: `r${done + i}` }], ts: TS } as EntryInput))
        }
        await store.appendMany('source', batch)
        done += k
      }
      const head = await store.readHead('source')
      expect(head!.seq + 1).toBe(n)
      const at = forkAtFirst ? (await entriesOf(store, 'source'))[1]!.hash : await store.head('source')

      const keysBefore = new Map(await dump(store))
      const bytesBefore = store.engine.stats.bytesWritten
      const batchesBefore = store.engine.stats.batches
      const spy = vi.spyOn(store.engine, 'commit')
      await store.forkAt(at, { sessionId: 'fork', ts: TS })
      const ops = spy.mock.calls.map((c) => c[0].ops as { type: string; key: Uint8Array; value?: Uint8Array }[]).flat()
      spy.mockRestore()
      const keysAfter = new Map(await dump(store))
      const added = [...keysAfter.keys()].filter((k) => !keysBefore.has(k))
      const changed = [...keysBefore.keys()].filter((k) => keysAfter.get(k) !== keysBefore.get(k))
      return {
        bytes: store.engine.stats.bytesWritten - bytesBefore,
        batches: store.engine.stats.batches - batchesBefore,
        ops: ops.length,
        opTypes: ops.map((o) => o.type),
        opSizes: ops.map((o) => o.key.length + (o.value?.length ?? 0)),
        added: added.length,
        addedBytes: added.reduce((s, k) => s + k.length / 2 + keysAfter.get(k)!.length / 2, 0),
        changed: changed.length,
      }
    }

    it('forkAt writes the same ops, keys and bytes for sources of 10 and 10,000 entries', async () => {
      const small = await measure(10, false)
      const big = await measure(10_000, false)
      const bigEarly = await measure(10_000, true)
      expect(small.batches).toBe(1)
      // New keys only: record, hash index, session row (head ‖ meta), dependant row (and the
      // clearing of any tombstone left by an earlier session of the same id). Nothing of the
      // source is rewritten.
      expect(small.opTypes.filter((t) => t === 'put')).toHaveLength(4)
      expect(small.added).toBe(4)
      expect(small.changed).toBe(0)
      expect(small.bytes).toBeGreaterThanOrEqual(small.addedBytes)
      expect(small.bytes).toBeLessThan(1024)
      expect(big).toStrictEqual(small)
      expect(bigEarly).toStrictEqual(small)
    })
  })
})
