// lineage(): ancestors and the descendants tree; deleteSession with its three policies (refuse,
// delete, materialize) never leaves a remaining session unrestorable or changes its state;
// ensureHeadOrFork continues in place or forks at the caller's head.
import fc from 'fast-check'
import { MemoryLevel } from 'memory-level'
import { describe, expect, it } from 'vitest'
import { ErrorCodes } from '../../src/errors.js'
import type { Descendant, DependantPolicy, Lineage } from '../../src/lineage/lineage.js'
import type { SessionState } from '../../src/state/reducer.js'
import type { StoredEntry } from '../../src/storage/session-store.js'
import { type Store } from '../../src/store.js'
import { openStore } from '../../src/open.js'
import { dump } from '../support/rows.js'
import { restorable } from '../support/session-state.js'
import { entriesOf } from '../support/stores.js'
import { eachEngine, runsOn } from '../support/engines.js'

const TS = 1_700_000_000_000
const idHex = (id: string): string => Buffer.from(id, 'utf8').toString('hex')

eachEngine((engine, newStore) => {

  const hashes = async (store: Store, id: string): Promise<string[]> => (await entriesOf(store, id)).map((e) => e.hash)

  /** What must survive a re-root: everything but the hashes (head, and the atHash of the origin). */
  function sameState(s: SessionState) {
    return {
      sessionId: s.sessionId,
      ...restorable(s),
      length: s.length,
      createdAt: s.createdAt,
      updatedAt: s.updatedAt,
      origin: s.forkedFrom ? 'fork' : s.compactedFrom ? 'compaction' : 'root',
      originSession: (s.forkedFrom ?? s.compactedFrom)?.sessionId,
    }
  }

  async function restoreAll(store: Store): Promise<Map<string, SessionState>> {
    const out = new Map<string, SessionState>()
    for (const s of await store.listSessions()) out.set(s.sessionId, await store.restore(s.sessionId))
    return out
  }

  /** Verification finds no errors (warnings, e.g. a deleted source of a self-contained session, are fine). */
  async function expectVerified(store: Store): Promise<void> {
    const report = await store.verify()
    expect(report.findings.filter((f) => f.severity === 'error')).toStrictEqual([])
    expect(report.ok).toBe(true)
  }

  /** No row of the deleted sessions is left (only their tombstones). */
  async function expectGone(store: Store, ids: string[], entryHashes: string[]): Promise<void> {
    const keys = (await dump(store)).map(([k]) => k)
    const hs = new Set(entryHashes)
    for (const id of ids) {
      const h = idHex(id)
      for (const k of keys) {
        const tag = k.slice(0, 2)
        const rest = k.slice(2)
        if (tag === '53') expect(rest.startsWith(h + '00')).toBe(false) // seq index
        if (tag === '50' || tag === '4d') expect(rest).not.toBe(h) // head, meta
        if (tag === '44') {
          expect(rest.startsWith(h + '00')).toBe(false) // dependant rows of the deleted session
          expect(rest.endsWith('00' + h)).toBe(false) // its row under its source
        }
        if (tag === '45' || tag === '48') expect(hs.has(rest)).toBe(false) // entries, hash index
      }
      await expect(store.restore(id)).rejects.toMatchObject({ code: ErrorCodes.SESSION_NOT_FOUND })
      await expect(store.lineage(id)).rejects.toMatchObject({ code: ErrorCodes.SESSION_NOT_FOUND })
    }
  }

  async function turn(store: Store, id: string, label: string, turnEnd = true): Promise<void> {
    await store.appendTurn(id, [{ role: 'user', content: `${label} q` }, { role: 'assistant', content: `${label} a` }], {
      ts: TS,
      ...(turnEnd ? { turnEnd: true as const } : {}),
      usage: { historyLength: label.length, model: 'm', inputTokens: 7 * label.length, cacheReadTokens: 1, cacheWriteTokens: 0, outputTokens: 3, reasoningTokens: 0 },
    })
  }

  /**
   * r ─┬─ a  (fork at r#2)            ─┬─ aa (fork at a#1) ─── aaa (fork at aa's head)
   *    │                               └─ ab (compaction of a) ─── aba (fork of ab)
   *    ├─ b  (materialised fork at r#4) ── ba (fork at b's head)
   *    └─ c  (compaction of r)         ─── ca (materialised fork of c) ─── caa (compaction of ca)
   */
  async function scenario(store: Store) {
    await store.createSession({ sessionId: 'r', systemPrompt: 'root', config: { model: 'm0' }, ts: TS })
    await turn(store, 'r', 'r1')
    await store.changeConfig('r', { model: 'm1' })
    await store.lockCache('r', 2)
    const r = await hashes(store, 'r')
    await store.forkAt(r[2]!, { sessionId: 'a', ts: TS })
    await turn(store, 'a', 'a1')
    await store.recordOutcome('a', { status: 'paused', interrupted: true })
    const a = await hashes(store, 'a')
    await store.forkAt(a[1]!, { sessionId: 'aa', ts: TS })
    await turn(store, 'aa', 'aa1')
    const aaHead = await store.head('aa')
    await store.forkAt(aaHead, { sessionId: 'aaa', ts: TS })
    await turn(store, 'aaa', 'aaa1', false)
    const aHead = await store.head('a')
    await store.compact('a', { history: [{ role: 'user', content: 'summary of a' }], summary: 'a in short', sessionId: 'ab', ts: TS })
    await turn(store, 'ab', 'ab1')
    const abHead = await store.head('ab')
    await store.forkAt(abHead, { sessionId: 'aba', ts: TS })
    await turn(store, 'aba', 'aba1')
    await store.forkAt(r[4]!, { sessionId: 'b', materialize: true, ts: TS })
    await turn(store, 'b', 'b1')
    const bHead = await store.head('b')
    await store.forkAt(bHead, { sessionId: 'ba', ts: TS })
    await turn(store, 'ba', 'ba1')
    await turn(store, 'r', 'r2') // the root goes on after its forks
    const rHead = await store.head('r')
    await store.compact('r', { history: [{ role: 'user', content: 'summary of r' }], sessionId: 'c', ts: TS })
    const cHead = await store.head('c')
    await store.forkAt(cHead, { sessionId: 'ca', materialize: true, ts: TS })
    await turn(store, 'ca', 'ca1')
    const caHead = await store.head('ca')
    await store.compact('ca', { history: [], sessionId: 'caa', ts: TS })
    await turn(store, 'a', 'a2') // a goes on after its dependants
    return { r, a, aHead, aaHead, abHead, bHead, rHead, cHead, caHead }
  }

  const ALL = ['a', 'aa', 'aaa', 'ab', 'aba', 'b', 'ba', 'c', 'ca', 'caa', 'r']

  describe('lineage()', () => {
    it('gives the exact ancestors and descendants tree for forks of forks and compactions of forks', async () => {
      const store = await newStore()
      const h = await scenario(store)
      const d = (sessionId: string, relation: 'fork' | 'compaction', atHash: string, materialized: boolean, children: Descendant[] = []): Descendant => ({
        sessionId,
        relation,
        atHash,
        materialized,
        children,
      })
      const aTree = [d('aa', 'fork', h.a[1]!, false, [d('aaa', 'fork', h.aaHead, false)]), d('ab', 'compaction', h.aHead, true, [d('aba', 'fork', h.abHead, false)])]
      const bTree = [d('ba', 'fork', h.bHead, false)]
      const cTree = [d('ca', 'fork', h.cHead, true, [d('caa', 'compaction', h.caHead, true)])]
      const rTree = [d('a', 'fork', h.r[2]!, false, aTree), d('b', 'fork', h.r[4]!, true, bTree), d('c', 'compaction', h.rHead, true, cTree)]
      const anc = (sessionId: string, relation: 'fork' | 'compaction', atHash: string, present = true) => ({ sessionId, relation, atHash, present })

      const expected: Record<string, Lineage> = {
        r: { sessionId: 'r', ancestors: [], descendants: rTree },
        a: { sessionId: 'a', ancestors: [anc('r', 'fork', h.r[2]!)], descendants: aTree },
        aa: { sessionId: 'aa', ancestors: [anc('a', 'fork', h.a[1]!), anc('r', 'fork', h.r[2]!)], descendants: aTree[0]!.children },
        aaa: { sessionId: 'aaa', ancestors: [anc('aa', 'fork', h.aaHead), anc('a', 'fork', h.a[1]!), anc('r', 'fork', h.r[2]!)], descendants: [] },
        ab: { sessionId: 'ab', ancestors: [anc('a', 'compaction', h.aHead), anc('r', 'fork', h.r[2]!)], descendants: aTree[1]!.children },
        aba: { sessionId: 'aba', ancestors: [anc('ab', 'fork', h.abHead), anc('a', 'compaction', h.aHead), anc('r', 'fork', h.r[2]!)], descendants: [] },
        b: { sessionId: 'b', ancestors: [anc('r', 'fork', h.r[4]!)], descendants: bTree },
        ba: { sessionId: 'ba', ancestors: [anc('b', 'fork', h.bHead), anc('r', 'fork', h.r[4]!)], descendants: [] },
        c: { sessionId: 'c', ancestors: [anc('r', 'compaction', h.rHead)], descendants: cTree },
        ca: { sessionId: 'ca', ancestors: [anc('c', 'fork', h.cHead), anc('r', 'compaction', h.rHead)], descendants: cTree[0]!.children },
        caa: { sessionId: 'caa', ancestors: [anc('ca', 'compaction', h.caHead), anc('c', 'fork', h.cHead), anc('r', 'compaction', h.rHead)], descendants: [] },
      }
      expect(Object.keys(expected).sort()).toStrictEqual(ALL)
      for (const id of ALL) expect(await store.lineage(id)).toStrictEqual(expected[id])
      await expect(store.lineage('nope')).rejects.toMatchObject({ code: ErrorCodes.SESSION_NOT_FOUND })
      await expectVerified(store)
    })
  })

  describe('deleteSession', () => {
    it("refuses (CHAINLOG_HAS_DEPENDANTS) while a plain fork depends on the session, and changes nothing", async () => {
      const store = await newStore()
      await scenario(store)
      const before = await dump(store)
      const cases: [string, string[]][] = [
        ['r', ['a']], // b (materialised) and c (compaction) do not count
        ['a', ['aa']], // ab (compaction) does not count
        ['aa', ['aaa']],
        ['ab', ['aba']],
        ['b', ['ba']],
      ]
      for (const [id, dependants] of cases) {
        await expect(store.deleteSession(id)).rejects.toMatchObject({ code: ErrorCodes.HAS_DEPENDANTS, data: { sessionId: id, dependants } })
        await expect(store.deleteSession(id, { dependants: 'refuse' })).rejects.toMatchObject({ code: ErrorCodes.HAS_DEPENDANTS })
      }
      expect(await dump(store)).toStrictEqual(before)
      await expect(store.deleteSession('nope')).rejects.toMatchObject({ code: ErrorCodes.SESSION_NOT_FOUND })
    })

    it('is allowed when only materialised forks and compactions depend on it; they restore identically', async () => {
      const store = await newStore()
      const h = await scenario(store)
      const states = await restoreAll(store)
      const cHashes = await hashes(store, 'c')
      // c has only a materialised fork (ca), which has only a compaction (caa).
      expect(await store.deleteSession('c')).toStrictEqual({ deleted: ['c'], rerooted: [] })
      await expectGone(store, ['c'], cHashes)
      for (const [id, s] of await restoreAll(store)) expect(s).toStrictEqual(states.get(id))
      expect((await store.listSessions()).map((s) => s.sessionId)).toStrictEqual(ALL.filter((x) => x !== 'c'))
      // The provenance stays, and lineage reports the source as gone.
      expect((await store.getEntry(await (await hashes(store, 'ca'))[0]!)).entry).toMatchObject({ forkedFrom: { sessionId: 'c', atHash: h.cHead } })
      expect((await store.lineage('ca')).ancestors).toStrictEqual([{ sessionId: 'c', relation: 'fork', atHash: h.cHead, present: false }])
      expect((await store.lineage('caa')).ancestors).toStrictEqual([
        { sessionId: 'ca', relation: 'compaction', atHash: h.caHead, present: true },
        { sessionId: 'c', relation: 'fork', atHash: h.cHead, present: false },
      ])
      expect((await store.lineage('r')).descendants.map((x) => x.sessionId)).toStrictEqual(['a', 'b'])
      // ca now has only a compaction depending on it: deletable too.
      expect(await store.deleteSession('ca')).toStrictEqual({ deleted: ['ca'], rerooted: [] })
      expect(await store.restore('caa')).toStrictEqual(states.get('caa'))
      const report = await store.verify()
      expect(report.ok).toBe(true)
      expect(report.findings.map((f) => [f.code, f.sessionId])).toEqual(expect.arrayContaining([['origin_deleted', 'caa']]))
    })

    it("'delete' removes the forks that need it, recursively; everything else restores identically", async () => {
      const store = await newStore()
      await scenario(store)
      const states = await restoreAll(store)
      const gone = ['r', 'a', 'aa', 'aaa']
      const goneHashes = (await Promise.all(gone.map((id) => hashes(store, id)))).flat()
      const res = await store.deleteSession('r', { dependants: 'delete' })
      expect([...res.deleted].sort()).toStrictEqual([...gone].sort())
      expect(res.deleted[res.deleted.length - 1]).toBe('r') // dependants go first
      expect(res.rerooted).toStrictEqual([])
      await expectGone(store, gone, goneHashes)
      const after = await restoreAll(store)
      expect([...after.keys()]).toStrictEqual(ALL.filter((x) => !gone.includes(x)))
      for (const [id, s] of after) expect(s).toStrictEqual(states.get(id))
      await expectVerified(store)
    })

    it("'materialize' gives the re-rooted fork the message counts of a fork materialised from the start", async () => {
      const store = await newStore()
      await store.createSession({ sessionId: 'src', ts: TS })
      await store.appendTurn('src', [{ role: 'user', content: 'first question' }, { role: 'assistant', content: 'first answer' }], { ts: TS + 1 })
      const at = await store.head('src')
      const own = [{ role: 'user', content: 'a follow-up' }, { type: 'function_call', call_id: 'c1', name: 'ls', arguments: '{}' }]
      await store.forkAt(at, { sessionId: 'plain', ts: TS + 2 })
      await store.appendTurn('plain', own, { ts: TS + 3 })
      await store.forkAt(at, { sessionId: 'direct', ts: TS + 2, materialize: true })
      await store.appendTurn('direct', own, { ts: TS + 3 })
      const info = async (id: string) => (await store.listSessions()).find((x) => x.sessionId === id)!
      // Before: the plain fork counts only its own items.
      expect((await info('plain')).counts.user).toBe(1)
      expect((await info('plain')).firstUserMessage).toBe('a follow-up')
      await store.deleteSession('src', { dependants: 'materialize' })
      const plain = await info('plain')
      const direct = await info('direct')
      expect(plain.counts).toStrictEqual(direct.counts)
      expect(plain.counts).toMatchObject({ user: 2, assistant: 1, toolCalls: 1 })
      expect(plain.firstUserMessage).toBe('first question')
      expect(plain.firstUserMessage).toBe(direct.firstUserMessage)
    })

    it("'materialize' re-roots dependants and their own forks and compactions; every session keeps its state", async () => {
      const store = await newStore()
      const h = await scenario(store)
      const states = await restoreAll(store)
      const oldEntries = new Map<string, StoredEntry[]>()
      for (const id of ALL) oldEntries.set(id, await entriesOf(store, id))
      const rHashes = await hashes(store, 'r')

      const res = await store.deleteSession('r', { dependants: 'materialize' })
      expect(res.deleted).toStrictEqual(['r'])
      const rerootedIds = ['a', 'aa', 'aaa', 'ab', 'aba']
      expect(res.rerooted.map((x) => x.sessionId).sort()).toStrictEqual(rerootedIds)
      await expectGone(store, ['r'], rHashes)

      const after = await restoreAll(store)
      expect([...after.keys()]).toStrictEqual(ALL.filter((x) => x !== 'r'))
      for (const [id, s] of after) {
        const before = states.get(id)!
        expect(sameState(s)).toStrictEqual(sameState(before))
        if (!rerootedIds.includes(id)) expect(s).toStrictEqual(before) // untouched: same hashes too
      }
      for (const rr of res.rerooted) {
        // New hashes, reported; same entries after the genesis; old hashes gone.
        expect(rr.oldHead).toBe(states.get(rr.sessionId)!.head)
        expect(rr.newHead).toBe(await store.head(rr.sessionId))
        expect(rr.newHead).not.toBe(rr.oldHead)
        const now = await entriesOf(store, rr.sessionId)
        const old = oldEntries.get(rr.sessionId)!
        expect(now.map((e) => e.entry).slice(1)).toStrictEqual(old.map((e) => e.entry).slice(1))
        for (const e of old) expect(await store.locate(e.hash)).toBeUndefined()
      }
      // a is now a materialised fork that still names its deleted source.
      const aGenesis = (await entriesOf(store, 'a'))[0]!.entry
      expect(aGenesis).toMatchObject({ forkedFrom: { sessionId: 'r', atHash: h.r[2] } })
      expect(aGenesis).toHaveProperty('snapshot')
      // Sessions made from a point at the same positions of its new chain.
      const a = await hashes(store, 'a')
      const aa = await entriesOf(store, 'aa')
      expect(aa[0]!.entry).toMatchObject({ forkedFrom: { sessionId: 'a', atHash: a[1] } })
      expect(aa[0]!.entry).not.toHaveProperty('snapshot') // aa stays a plain fork (of a)
      const aHeadIndex = oldEntries.get('a')!.findIndex((e) => e.hash === h.aHead)
      expect((await entriesOf(store, 'ab'))[0]!.entry).toMatchObject({ compactedFrom: { sessionId: 'a', atHash: a[aHeadIndex] } })
      const lin = await store.lineage('aba')
      expect(lin.ancestors.map((x) => [x.sessionId, x.relation, x.present])).toStrictEqual([
        ['ab', 'fork', true],
        ['a', 'compaction', true],
        ['r', 'fork', false],
      ])
      const aLin = await store.lineage('a')
      expect(aLin.descendants.map((x) => [x.sessionId, x.relation, x.materialized, x.children.map((y) => y.sessionId)])).toStrictEqual([
        ['aa', 'fork', false, ['aaa']],
        ['ab', 'compaction', true, ['aba']],
      ])
      await expectVerified(store)

      // And again one level down: a still has a plain fork, so the default policy refuses.
      await expect(store.deleteSession('a')).rejects.toMatchObject({ code: ErrorCodes.HAS_DEPENDANTS, data: { dependants: ['aa'] } })
      const res2 = await store.deleteSession('a', { dependants: 'materialize' })
      expect(res2.rerooted.map((x) => x.sessionId).sort()).toStrictEqual(['aa', 'aaa'])
      for (const [id, s] of await restoreAll(store)) expect(sameState(s)).toStrictEqual(sameState(states.get(id)!))
      await expectVerified(store)
    })

    it('no remaining session ever becomes unrestorable or changes state, whatever the lineage and policy (property)', async () => {
      type Kind = 'fork' | 'mfork' | 'compaction'
      const build = fc.array(fc.record({ from: fc.nat(), at: fc.nat(), kind: fc.constantFrom<Kind>('fork', 'fork', 'mfork', 'compaction'), turns: fc.nat(2), sourceTurns: fc.nat(1) }), { minLength: 1, maxLength: 9 })
      // `parent`: pick among sessions that have dependants (the interesting deletes), if any.
      const deletes = fc.array(fc.record({ pick: fc.nat(), parent: fc.boolean(), policy: fc.constantFrom<DependantPolicy>('refuse', 'delete', 'materialize') }), { minLength: 1, maxLength: 6 })
      await fc.assert(
        fc.asyncProperty(build, deletes, async (steps, dels) => {
          const store = await newStore()
          /** Model: each session's dependants, and whether they need it to restore. */
          const kids = new Map<string, { id: string; needs: boolean }[]>()
          await store.createSession({ sessionId: 's0', systemPrompt: 'p', config: { model: 'm' }, ts: TS })
          await turn(store, 's0', 's0')
          kids.set('s0', [])
          const ids = ['s0']
          for (const [i, st] of steps.entries()) {
            const from = ids[st.from % ids.length]!
            const id = `s${i + 1}`
            if (st.kind === 'compaction') {
              await store.compact(from, { history: [{ role: 'user', content: `summary of ${from}` }], sessionId: id, ts: TS })
            } else {
              const hs = await hashes(store, from)
              await store.forkAt(hs[st.at % hs.length]!, { sessionId: id, materialize: st.kind === 'mfork', ts: TS })
            }
            kids.get(from)!.push({ id, needs: st.kind === 'fork' })
            kids.set(id, [])
            ids.push(id)
            for (let t = 0; t < st.turns; t++) await turn(store, id, `${id}.${t}`, t % 2 === 0)
            for (let t = 0; t < st.sourceTurns; t++) await turn(store, from, `${from}+${id}`)
          }
          const subtree = (id: string): string[] => [id, ...kids.get(id)!.flatMap((k) => subtree(k.id))]
          const needClosure = (id: string): string[] => [id, ...kids.get(id)!.filter((k) => k.needs).flatMap((k) => needClosure(k.id))]

          for (const del of dels) {
            const listed = (await store.listSessions()).map((s) => s.sessionId)
            if (listed.length === 0) break
            const parents = listed.filter((id) => kids.get(id)!.length > 0)
            const pool = del.parent && parents.length > 0 ? parents : listed
            const target = pool[del.pick % pool.length]!
            const states = await restoreAll(store)
            const needy = kids.get(target)!.filter((k) => k.needs)
            let expectDeleted: string[]
            let expectRerooted: string[]
            if (del.policy === 'refuse' && needy.length > 0) {
              const before = await dump(store)
              await expect(store.deleteSession(target, { dependants: 'refuse' })).rejects.toMatchObject({ code: ErrorCodes.HAS_DEPENDANTS })
              expect(await dump(store)).toStrictEqual(before)
              expectDeleted = []
              expectRerooted = []
            } else {
              expectDeleted = del.policy === 'delete' ? needClosure(target) : [target]
              expectRerooted = del.policy === 'materialize' ? needy.flatMap((k) => subtree(k.id)) : []
              const goneHashes = (await Promise.all(expectDeleted.map((id) => hashes(store, id)))).flat()
              const res = await store.deleteSession(target, { dependants: del.policy })
              expect([...res.deleted].sort()).toStrictEqual([...expectDeleted].sort())
              expect(res.rerooted.map((r) => r.sessionId).sort()).toStrictEqual([...expectRerooted].sort())
              await expectGone(store, expectDeleted, goneHashes)
              // Model update: deleted sessions and their dependants rows go; re-rooted needy forks are now self-contained.
              for (const k of needy) if (del.policy === 'materialize') k.needs = false
              for (const id of expectDeleted) kids.set(id, [])
              for (const [, ks] of kids) for (let i = ks.length - 1; i >= 0; i--) if (expectDeleted.includes(ks[i]!.id)) ks.splice(i, 1)
            }
            // Every remaining session restores, to the same state as before the delete.
            const after = await restoreAll(store)
            expect([...after.keys()].sort()).toStrictEqual(listed.filter((x) => !expectDeleted.includes(x)).sort())
            for (const [id, s] of after) {
              if (expectRerooted.includes(id)) expect(sameState(s)).toStrictEqual(sameState(states.get(id)!))
              else expect(s).toStrictEqual(states.get(id))
            }
            await expectVerified(store)
          }
        }),
        { numRuns: runsOn(engine, 40) },
      )
    })
  })

  function pick(state: { history: unknown[]; turnCount: number; config: unknown; systemPrompt?: string }) {
    return { history: state.history, turnCount: state.turnCount, config: state.config, systemPrompt: state.systemPrompt }
  }

  describe('deleteSession racing other writers', () => {
    // Lineage changes (fork, compact, delete, re-root) run one at a time under the store's lineage
    // lock, so a fork and a delete started together land in one order or the other, never
    // interleaved. Both orders are exercised by starting them in both orders.
    it.each([true, false])('a fork racing a delete of its source is never left without it (delete first: %s)', async (deleteFirst) => {
      for (let round = 0; round < 10; round++) {
        const store = await newStore()
        await store.createSession({ sessionId: 'r', ts: TS })
        await turn(store, 'r', 'r1')
        const at = await store.head('r')
        const del = () => store.deleteSession('r')
        const fork = () => store.forkAt(at, { sessionId: 'f', ts: TS })
        const [d, f] = deleteFirst ? await Promise.allSettled([del(), fork()]) : (await Promise.allSettled([fork(), del()])).reverse()
        if (d!.status === 'fulfilled') {
          // The delete landed first: the fork finds its source gone and writes nothing.
          expect(f!.status).toBe('rejected')
          expect([ErrorCodes.SESSION_NOT_FOUND, ErrorCodes.ENTRY_NOT_FOUND]).toContain((f as PromiseRejectedResult).reason.code)
          expect((await store.listSessions()).map((x) => x.sessionId)).toStrictEqual([])
        } else {
          // The fork landed first: the delete sees a dependant and is refused.
          expect((d as PromiseRejectedResult).reason.code).toBe(ErrorCodes.HAS_DEPENDANTS)
          expect(f!.status).toBe('fulfilled')
          expect((await store.restore('f')).forkedFrom).toStrictEqual({ sessionId: 'r', atHash: at })
        }
        for (const x of await store.listSessions()) await store.restore(x.sessionId)
        await expectVerified(store)
      }
    })

    it.each([false, true])('a fork (materialize: %s) racing a re-root of its source is re-rooted with it or refused, never dangling', async (materialize) => {
      for (const forkFirst of [true, false]) {
        const store = await newStore()
        const { head } = await store.createSession({ sessionId: 'r', ts: TS })
        await store.forkAt(head, { sessionId: 'a', ts: TS })
        await turn(store, 'a', 'a1')
        const at = await store.head('a')
        const before = await store.restore('a', { at })
        const del = () => store.deleteSession('r', { dependants: 'materialize' })
        const fork = () => store.forkAt(at, { sessionId: 'f', materialize, ts: TS })
        const results = forkFirst ? await Promise.allSettled([fork(), del()]) : (await Promise.allSettled([del(), fork()])).reverse()
        const [f, d] = results
        expect(d!.status).toBe('fulfilled')
        expect(await store.locate(at)).toBeUndefined() // a's hashes changed
        if (f!.status === 'fulfilled') {
          // The fork landed first and was re-rooted along with a: it names a's new hash.
          const origin = (await store.restore('f')).forkedFrom!
          expect(origin.sessionId).toBe('a')
          expect(origin.atHash).toBe(await store.head('a'))
          expect(pick(await store.restore('f'))).toStrictEqual(pick(before))
        } else {
          expect((f as PromiseRejectedResult).reason.code).toBe(ErrorCodes.ENTRY_NOT_FOUND)
          expect((await store.listSessions()).map((x) => x.sessionId)).toStrictEqual(['a'])
        }
        for (const x of await store.listSessions()) await store.restore(x.sessionId)
        await expectVerified(store)
      }
    })

    it('an append to a dependant while it is re-rooted is not lost', async () => {
      const store = await newStore()
      const { head } = await store.createSession({ sessionId: 'r', systemPrompt: 'p', ts: TS })
      await store.forkAt(head, { sessionId: 'a', ts: TS })
      await turn(store, 'a', 'a1')
      // Start an append to a right after the re-root has read a's entries (when it restores r), and
      // give it time to land: if the re-root does not hold a's lock, it lands there and then.
      const restore = store.restore.bind(store)
      let late: Promise<unknown> | undefined
      store.restore = (async (id: string, opts?: { at?: string }) => {
        if (id === 'r' && opts?.at !== undefined && late === undefined) {
          late = store.appendTurn('a', [{ role: 'user', content: 'LATE' }], { ts: TS })
          await Promise.race([late, new Promise((res) => setTimeout(res, 100))])
        }
        return restore(id, opts)
      }) as typeof store.restore
      const res = await store.deleteSession('r', { dependants: 'materialize' })
      store.restore = restore
      expect(late).toBeDefined()
      await late
      expect(res.rerooted.map((x) => x.sessionId)).toStrictEqual(['a'])
      // The acknowledged append is in a's history and a's chain is intact.
      const a = await store.restore('a')
      expect(a.history).toContainEqual({ role: 'user', content: 'LATE' })
      expect(a.history.map((i) => (i as { content: string }).content)).toStrictEqual(['a1 q', 'a1 a', 'LATE'])
      await expectVerified(store)
    })
  })

  // A crash between the commits of a delete, then a second store on the same database: memory-level's db object is that database.
  if (engine === 'memory-level') describe('deleteSession interrupted part-way', () => {
    // 'materialize' re-roots a whole subtree (a, and aa, a plain fork of a that names a's old
    // hashes): the subtree is sealed first and written in one batch, so a failed write leaves the old
    // subtree whole and every session restorable.
    it('a write that fails during a re-root leaves every session restorable', async () => {
      const db = new MemoryLevel()
      const store = await openStore({ db, durability: 'relaxed' })
      await store.createSession({ sessionId: 'r', ts: TS })
      await turn(store, 'r', 'r1')
      await store.forkAt(await store.head('r'), { sessionId: 'a', ts: TS })
      await turn(store, 'a', 'a1')
      await store.forkAt((await hashes(store, 'a'))[1]!, { sessionId: 'aa', ts: TS })
      await turn(store, 'aa', 'aa1')
      const before = await restoreAll(store)
      // The process dies after the first batch of the delete (a's re-root) is on disk.
      const commit = store.engine.commit.bind(store.engine)
      let calls = 0
      store.engine.commit = (c) => (++calls === 1 ? commit(c) : Promise.reject(new Error('simulated crash')))
      await expect(store.deleteSession('r', { dependants: 'materialize' })).rejects.toThrow('simulated crash')
      store.engine.commit = commit
      expect(calls).toBeGreaterThan(1)
      // A fresh process opens the same database.
      const again = await openStore({ db, durability: 'relaxed' })
      for (const s of await again.listSessions()) {
        expect(sameState(await again.restore(s.sessionId))).toStrictEqual(sameState(before.get(s.sessionId)!))
      }
      await again.close()
      await store.close()
    })
  })

  describe('ensureHeadOrFork', () => {
    it('continues in the session while its head is the one the caller saw, writing nothing', async () => {
      const store = await newStore()
      await store.createSession({ sessionId: 's', ts: TS })
      await turn(store, 's', 't1')
      const head = await store.head('s')
      const before = await dump(store)
      expect(await store.ensureHeadOrFork('s', head)).toStrictEqual({ sessionId: 's', head, forked: false })
      // The same head given as a unique prefix or in upper case is the same head: no fork.
      expect(await store.ensureHeadOrFork('s', head.slice(0, 16))).toStrictEqual({ sessionId: 's', head, forked: false })
      expect(await store.ensureHeadOrFork('s', head.toUpperCase())).toStrictEqual({ sessionId: 's', head, forked: false })
      expect(await dump(store)).toStrictEqual(before)
      expect((await store.listSessions()).map((s) => s.sessionId)).toStrictEqual(['s'])
    })

    it('forks at the head the caller saw when another writer moved on', async () => {
      const store = await newStore()
      await store.createSession({ sessionId: 's', systemPrompt: 'p', ts: TS })
      await turn(store, 's', 't1')
      const seen = await store.head('s')
      const atSeen = await store.restore('s')
      await turn(store, 's', 'other writer') // the session moved on
      const r = await store.ensureHeadOrFork('s', seen, { sessionId: 'mine', ts: TS })
      expect(r).toStrictEqual({ sessionId: 'mine', head: await store.head('mine'), forked: true })
      const mine = await store.restore('mine')
      expect(mine.forkedFrom).toStrictEqual({ sessionId: 's', atHash: seen })
      expect(sameState({ ...mine, sessionId: 's', length: atSeen.length, createdAt: atSeen.createdAt, updatedAt: atSeen.updatedAt, forkedFrom: undefined })).toStrictEqual(sameState(atSeen))
      // Options reach the fork: a materialised one.
      const m = await store.ensureHeadOrFork('s', seen, { sessionId: 'mine2', materialize: true, ts: TS })
      expect((await store.getEntry(m.head)).entry).toHaveProperty('snapshot')
      // Continuing in the fork: its head is current now.
      expect(await store.ensureHeadOrFork('mine', r.head)).toStrictEqual({ sessionId: 'mine', head: r.head, forked: false })
    })

    it("rejects a head that is not in the session (CHAINLOG_ENTRY_NOT_FOUND), writing nothing", async () => {
      const store = await newStore()
      await store.createSession({ sessionId: 's', ts: TS })
      await turn(store, 's', 't1')
      const other = await store.createSession({ sessionId: 'other', ts: TS })
      await turn(store, 's', 't2')
      const before = await dump(store)
      await expect(store.ensureHeadOrFork('s', other.head)).rejects.toMatchObject({ code: ErrorCodes.ENTRY_NOT_FOUND })
      await expect(store.ensureHeadOrFork('s', 'ab'.repeat(32))).rejects.toMatchObject({ code: ErrorCodes.ENTRY_NOT_FOUND })
      await expect(store.ensureHeadOrFork('nope', other.head)).rejects.toMatchObject({ code: ErrorCodes.SESSION_NOT_FOUND })
      expect(await dump(store)).toStrictEqual(before)
    })
  })
})
