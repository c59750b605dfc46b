// The usage ledger: store.usage(sessionId) is the total of the session's OWN llm_usage entries
// (summed here from entries(), independently of the ledger), store.usage() is the sum over the
// sessions, and both stay exact under concurrent appends, deletes, imports, forks and reopening.
// The on-disk rows are checked too, read behind the API, and after reopening. Store format 2
// keeps only session rows: the store-wide totals are their sum, with no shared row to race on.
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { Usage } from '../../src/schema/entry.js'
import type { UsageTotals } from '../../src/state/reducer.js'
import { decodeCbor } from '../../src/encoding/cbor.js'
import * as K from '../../src/storage/keys.js'
import type { EntryInput } from '../../src/storage/session-store.js'
import type { UsageByModel } from '../../src/storage/usage-ledger.js'
import { Store } from '../../src/store.js'
import { exportBytes } from '../support/bundle-bytes.js'
import { prng } from '../support/random.js'
import { closeStores, memStoreOpener } from '../support/stores.js'

const BIN = { keyEncoding: 'view', valueEncoding: 'view' } as const
const TS = 1_700_000_000_000

const opened: Store[] = []
const dirs: string[] = []
afterEach(() => closeStores(opened, dirs))
const memStore = memStoreOpener(opened)

const MODELS = ['gpt-x', 'claude-y', 'local/llama', 'm\u00e9tal']

function randomUsage(r: () => number): Usage {
  const n = (max: number) => Math.floor(r() * max)
  return {
    historyLength: n(200),
    model: MODELS[n(MODELS.length)]!,
    inputTokens: n(200_000),
    cacheReadTokens: n(100_000),
    cacheWriteTokens: n(5_000),
    outputTokens: n(8_000),
    reasoningTokens: n(4_000),
  }
}

const zero = (): UsageTotals => ({ calls: 0, inputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, outputTokens: 0, reasoningTokens: 0 })

/** Add `b` into `a`, model by model (our own sum, not the reducer's). */
function addInto(a: UsageByModel, b: UsageByModel): UsageByModel {
  for (const [m, t] of Object.entries(b)) {
    const x = (a[m] ??= zero())
    x.calls += t.calls
    x.inputTokens += t.inputTokens
    x.cacheReadTokens += t.cacheReadTokens
    x.cacheWriteTokens += t.cacheWriteTokens
    x.outputTokens += t.outputTokens
    x.reasoningTokens += t.reasoningTokens
  }
  return a
}

function subtract(a: UsageByModel, b: UsageByModel): UsageByModel {
  const out: UsageByModel = structuredClone(a)
  for (const [m, t] of Object.entries(b)) {
    const x = out[m]!
    x.calls -= t.calls
    x.inputTokens -= t.inputTokens
    x.cacheReadTokens -= t.cacheReadTokens
    x.cacheWriteTokens -= t.cacheWriteTokens
    x.outputTokens -= t.outputTokens
    x.reasoningTokens -= t.reasoningTokens
    if (x.calls === 0) delete out[m]
  }
  return out
}

/** A session's own totals, summed from its stored llm_usage entries. */
async function ownUsage(store: Store, sessionId: string): Promise<UsageByModel> {
  const out: UsageByModel = {}
  for await (const { entry } of store.entries(sessionId, { resolveBlobs: false })) {
    if (entry.kind !== 'llm_usage') continue
    addInto(out, {
      [entry.model]: {
        calls: 1,
        inputTokens: entry.inputTokens,
        cacheReadTokens: entry.cacheReadTokens,
        cacheWriteTokens: entry.cacheWriteTokens,
        outputTokens: entry.outputTokens,
        reasoningTokens: entry.reasoningTokens,
      },
    })
  }
  return out
}

/** The sum of every session's own usage. */
async function sumOfSessions(store: Store): Promise<UsageByModel> {
  const out: UsageByModel = {}
  for (const s of await store.listSessions()) addInto(out, await ownUsage(store, s.sessionId))
  return out
}

/**
 * The ledger as stored, read from the database, bypassing the store: the `usage` field of each
 * session row's metadata (docs: `P` ‖ sessionId -> head(40) ‖ CBOR SessionMeta, store format 4);
 * one session's, or (no sessionId) their sum, added up here. Format 3's `U` rows are gone.
 */
async function storedUsage(store: Store, sessionId?: string): Promise<UsageByModel> {
  const out: UsageByModel = {}
  for await (const _ of store.db.keys({ ...K.tableRange(K.TAG_V3.usage), ...BIN })) expect.fail('no U rows in store format 4')
  for await (const [k, v] of store.db.iterator({ ...K.tableRange(K.TAG.head), ...BIN })) {
    const sid = Buffer.from((k as Uint8Array).subarray(1)).toString('utf8')
    if (sessionId !== undefined && sid !== sessionId) continue
    const usage = (decodeCbor((v as Uint8Array).subarray(40)) as { usage?: UsageByModel }).usage ?? {}
    if (sessionId !== undefined) Object.assign(out, usage)
    else addInto(out, usage)
  }
  return out
}

/** Check the ledger against the entries, both as the store reports it and as stored. */
async function expectLedgerExact(store: Store): Promise<void> {
  const sessions = await store.listSessions()
  for (const s of sessions) {
    const own = await ownUsage(store, s.sessionId)
    expect(await store.usage(s.sessionId), s.sessionId).toEqual(own)
    expect(await storedUsage(store, s.sessionId), s.sessionId).toEqual(own)
  }
  const total = await sumOfSessions(store)
  expect(await store.usage()).toEqual(total)
  // The stored rows, not only an in-memory copy.
  expect(await storedUsage(store)).toEqual(total)
}

const say = (t: string) => ({ role: 'user', content: t })
const reply = (t: string) => ({ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: t }] })

/** Number of models in the stored ledger (of one session, or of every session): format 3's `U` rows. */
async function ledgerRows(store: Store, sessionId?: string): Promise<number> {
  let n = 0
  for await (const [k, v] of store.db.iterator({ ...K.tableRange(K.TAG.head), ...BIN })) {
    const sid = Buffer.from((k as Uint8Array).subarray(1)).toString('utf8')
    if (sessionId !== undefined && sid !== sessionId) continue
    n += Object.keys((decodeCbor((v as Uint8Array).subarray(40)) as { usage?: UsageByModel }).usage ?? {}).length
  }
  return n
}

describe('usage ledger', () => {
  it("a session's usage is the sum of its own llm_usage entries, the store's the sum over sessions", async () => {
    const store = await memStore()
    const r = prng(42)
    const ids = ['s1', 's2', 's3']
    for (const id of ids) await store.createSession({ sessionId: id, ts: TS })
    await store.createSession({ sessionId: 'idle', ts: TS })
    await store.appendTurn('idle', [say('no model calls here')], { ts: TS })
    for (let i = 0; i < 60; i++) {
      const id = ids[Math.floor(r() * ids.length)]!
      switch (i % 4) {
        case 0:
          await store.appendTurn(id, [say(`q${i}`), reply(`a${i}`)], { ts: TS + i, usage: randomUsage(r), turnEnd: true })
          break
        case 1:
          // Several model calls in one turn.
          await store.appendTurn(id, [reply(`a${i}`)], { ts: TS + i, usage: [randomUsage(r), randomUsage(r), randomUsage(r)] })
          break
        case 2:
          await store.appendUsage(id, randomUsage(r))
          break
        default: {
          const entries: EntryInput[] = [{ kind: 'user_input', item: say(`q${i}`) }, { kind: 'llm_usage', ...randomUsage(r) }, { kind: 'llm_usage', ...randomUsage(r) }]
          await store.appendMany(id, entries)
        }
      }
    }
    // Every model showed up, and the numbers are not trivially zero.
    const total = await store.usage()
    expect(Object.keys(total).sort()).toEqual([...MODELS].sort())
    expect(Object.values(total).reduce((n, t) => n + t.calls, 0)).toBe(15 * 1 + 15 * 3 + 15 * 1 + 15 * 2)
    expect(await store.usage('idle')).toEqual({})
    await expectLedgerExact(store)
    // For sessions that are not forks, the restored state agrees.
    for (const id of ids) expect((await store.restore(id)).usageTotals).toEqual(await store.usage(id))
  })

  it('concurrent appends with usage to 16 sessions keep the totals exact', async () => {
    const store = await memStore()
    const ids = Array.from({ length: 16 }, (_, i) => `c${String(i).padStart(2, '0')}`)
    for (const id of ids) await store.createSession({ sessionId: id, ts: TS })
    const r = prng(7)
    const plan = ids.map((id) => Array.from({ length: 8 }, () => randomUsage(r)).map((u) => ({ id, u })))
    // Every append of every session at once; appends to one session are queued behind each other.
    await Promise.all(
      plan.flat().map(({ id, u }, i) => (i % 2 ? store.appendUsage(id, u) : store.appendTurn(id, [reply('ok')], { usage: u, ts: TS + i }))),
    )
    const expected: UsageByModel = {}
    for (const { u } of plan.flat()) {
      addInto(expected, { [u.model]: { calls: 1, inputTokens: u.inputTokens, cacheReadTokens: u.cacheReadTokens, cacheWriteTokens: u.cacheWriteTokens, outputTokens: u.outputTokens, reasoningTokens: u.reasoningTokens } })
    }
    expect(await store.usage()).toEqual(expected)
    await expectLedgerExact(store)
    // And once more in a store opened on the same data: its first appends all load the ledger at once.
    const db = store.db
    await store.close()
    opened.splice(opened.indexOf(store), 1)
    const again = await Store.open({ db, durability: 'relaxed' })
    opened.push(again)
    expect((await again.listSessions()).length).toBe(16)
    expect(await again.usage()).toEqual(expected)
    await Promise.all(ids.map((id, i) => again.appendUsage(id, { ...randomUsage(r), model: MODELS[i % 2]! })))
    await expectLedgerExact(again)
  })

  it("deleteSession takes the session's totals out of the store's and removes its rows", async () => {
    const store = await memStore()
    const r = prng(3)
    for (const id of ['a', 'b', 'c']) {
      await store.createSession({ sessionId: id, ts: TS })
      for (let i = 0; i < 6; i++) await store.appendUsage(id, randomUsage(r))
    }
    // A model only 'b' used disappears from the store's totals.
    await store.appendUsage('b', { ...randomUsage(r), model: 'only-b' })
    const before = await store.usage()
    const mine = await store.usage('b')
    expect(Object.keys(before)).toContain('only-b')
    expect(await ledgerRows(store, 'b')).toBe(Object.keys(mine).length)
    await store.deleteSession('b')
    const after = await store.usage()
    expect(after).toEqual(subtract(before, mine))
    expect(Object.keys(after)).not.toContain('only-b')
    expect(await store.usage('b')).toEqual({})
    expect(await ledgerRows(store, 'b')).toBe(0)
    expect(await ledgerRows(store)).toBe((await Promise.all(['a', 'c'].map(async (id) => Object.keys(await store.usage(id)).length))).reduce((x, y) => x + y, 0))
    await expectLedgerExact(store)

    // Deleting with dependants: the fork's own usage goes too.
    await store.forkAt(await store.head('a'), { sessionId: 'fa', ts: TS })
    await store.appendUsage('fa', randomUsage(r))
    const withFork = await store.usage()
    const gone = addInto(structuredClone(await store.usage('a')), await store.usage('fa'))
    await store.deleteSession('a', { dependants: 'delete' })
    expect(await store.usage()).toEqual(subtract(withFork, gone))
    await expectLedgerExact(store)
    // Deleting everything leaves no store-wide totals.
    await store.deleteSession('c')
    expect(await store.usage()).toEqual({})
    expect(await ledgerRows(store)).toBe(0)
  })

  it('deletes racing appends to other sessions keep the stored totals exact', async () => {
    const store = await memStore()
    const r = prng(11)
    const ids = Array.from({ length: 10 }, (_, i) => `r${i}`)
    for (const id of ids) {
      await store.createSession({ sessionId: id, ts: TS })
      await store.appendUsage(id, { ...randomUsage(r), model: 'shared' })
    }
    const work: Promise<unknown>[] = []
    for (let k = 0; k < 6; k++) {
      for (const id of ids.slice(3)) work.push(store.appendUsage(id, { ...randomUsage(r), model: 'shared' }))
      if (k < 3) work.push(store.deleteSession(ids[k]!))
    }
    await Promise.all(work)
    await expectLedgerExact(store)
  })

  it('importing a bundle adds its sessions usage; importing it again adds nothing', async () => {
    const src = await memStore()
    const r = prng(5)
    await src.createSession({ sessionId: 'x', ts: TS })
    for (let i = 0; i < 5; i++) await src.appendTurn('x', [say(`q${i}`), reply(`a${i}`)], { usage: randomUsage(r), ts: TS + i })
    await src.forkAt(await src.head('x'), { sessionId: 'fx', ts: TS + 10 })
    for (let i = 0; i < 3; i++) await src.appendUsage('fx', randomUsage(r))

    const dst = await memStore()
    await dst.createSession({ sessionId: 'local', ts: TS })
    for (let i = 0; i < 4; i++) await dst.appendUsage('local', randomUsage(r))
    const before = await dst.usage()
    // The bundle of the fork carries its source 'x' (up to the fork point).
    await dst.importBundle(await exportBytes(src, 'fx'))
    expect(await dst.usage('x')).toEqual(await src.usage('x'))
    expect(await dst.usage('fx')).toEqual(await src.usage('fx'))
    const imported = addInto(structuredClone(await src.usage('x')), await src.usage('fx'))
    expect(await dst.usage()).toEqual(addInto(structuredClone(before), imported))
    await expectLedgerExact(dst)
    const again = await dst.usage()
    await dst.importBundle(await exportBytes(src, 'fx'))
    expect(await dst.usage()).toEqual(again)
    // A longer copy of 'x' adds only the new entries' usage.
    const u = randomUsage(r)
    await src.appendUsage('x', u)
    await dst.importBundle(await exportBytes(src, 'x'))
    expect(await dst.usage('x')).toEqual(await src.usage('x'))
    await expectLedgerExact(dst)
  })

  it("a fork does not count its source's usage in its own ledger", async () => {
    const store = await memStore()
    const r = prng(9)
    await store.createSession({ sessionId: 'src', ts: TS })
    for (let i = 0; i < 4; i++) await store.appendTurn('src', [say(`q${i}`)], { usage: randomUsage(r), ts: TS + i })
    const srcTotals = await store.usage('src')
    await store.forkAt(await store.head('src'), { sessionId: 'plain', ts: TS + 10 })
    await store.forkAt(await store.head('src'), { sessionId: 'mat', materialize: true, ts: TS + 11 })
    await store.compact('src', { sessionId: 'comp', history: [say('summary')], ts: TS + 12 })
    // Just forked: nothing of their own yet.
    for (const id of ['plain', 'mat', 'comp']) expect(await store.usage(id), id).toEqual({})
    expect(await store.usage()).toEqual(srcTotals)
    const own = { ...randomUsage(r), model: 'fork-model' }
    await store.appendUsage('plain', own)
    await store.appendUsage('mat', own)
    const ownTotals = { 'fork-model': { calls: 1, inputTokens: own.inputTokens, cacheReadTokens: own.cacheReadTokens, cacheWriteTokens: own.cacheWriteTokens, outputTokens: own.outputTokens, reasoningTokens: own.reasoningTokens } }
    expect(await store.usage('plain')).toEqual(ownTotals)
    expect(await store.usage('mat')).toEqual(ownTotals)
    // The restored state does carry the source's usage (it is the state to resume), the ledger does not.
    expect((await store.restore('plain')).usageTotals).toEqual(addInto(structuredClone(srcTotals), ownTotals))
    expect(await store.usage('src')).toEqual(srcTotals)
    expect(await store.usage()).toEqual(addInto(addInto(structuredClone(srcTotals), ownTotals), ownTotals))
    await expectLedgerExact(store)
    // Re-rooting a fork (its source deleted) keeps its own ledger as it was.
    await store.deleteSession('src', { dependants: 'materialize' })
    expect(await store.usage('plain')).toEqual(ownTotals)
    expect(await store.usage()).toEqual(addInto(structuredClone(ownTotals), ownTotals))
    await expectLedgerExact(store)
  })

  it('survives close and reopen on classic-level', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chainlog-ledger-'))
    dirs.push(dir)
    const r = prng(13)
    let store = await Store.open({ path: dir, durability: 'sync' })
    for (const id of ['p', 'q']) {
      await store.createSession({ sessionId: id, ts: TS })
      for (let i = 0; i < 5; i++) await store.appendTurn(id, [say(`q${i}`)], { usage: [randomUsage(r), randomUsage(r)], ts: TS + i })
    }
    const total = await store.usage()
    const p = await store.usage('p')
    await store.close()
    store = await Store.open({ path: dir, durability: 'sync' })
    opened.push(store)
    expect(await store.usage()).toEqual(total)
    expect(await store.usage('p')).toEqual(p)
    await expectLedgerExact(store)
    // Appends after reopening continue from the stored totals.
    const u = randomUsage(r)
    await store.appendUsage('p', u)
    await expectLedgerExact(store)
    expect((await store.usage())[u.model]!.calls).toBe((total[u.model]?.calls ?? 0) + 1)
    await store.close()
    opened.pop()
    store = await Store.open({ path: dir, durability: 'sync' })
    opened.push(store)
    await expectLedgerExact(store)
  })
})
