// ChainlogSession under the real OpenAI Agents SDK: run() over several turns with a scripted
// model and tools, resume in a new process, and pops and clears that keep the history.
import { execFile } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Agent, MemorySession, isSessionHistoryTransactionAwareSession, run, setTracingDisabled, type AgentInputItem, type SessionHistoryTransactionArgs } from '@openai/agents'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ChainlogSession, CONTINUED, OPENAI_AGENTS_NAMESPACE, classifyAgentItem } from '../../src/adapters/openai-agents.js'
import { isChainlogError } from '../../src/errors.js'
import { type Store } from '../../src/store.js'
import { openStore, type ChainlogStore } from '../../src/open.js'
import { closeStores, entriesOf, memStoreOpener } from '../support/stores.js'
// @ts-expect-error: a plain .mjs fixture, shared with the child process
import { ScriptedModel, tools } from './fixtures/scripted-model.mjs'

const FIXTURES = join(import.meta.dirname, 'fixtures')
const opened: Store[] = []
const dirs: string[] = []
const openMem = memStoreOpener(opened)
afterEach(() => closeStores(opened, dirs))
beforeAll(() => setTracingDisabled(true))

/** Items as exact JSON text: the text the SDK wrote, key order included (entry format 2). */
function exactJson(v: unknown): string {
  return JSON.stringify(v)
}

function agentFor(session: ChainlogSession, model: ScriptedModel): Agent {
  return new Agent({ name: 'calc', instructions: 'Use the tools.', model: session.trackUsage(model, 'scripted-1'), tools })
}

const user = (content: string): AgentInputItem => ({ role: 'user', content }) as AgentInputItem
const say = (text: string, id = text): AgentInputItem =>
  ({ type: 'message', id, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text }] }) as AgentInputItem

async function diskStore(): Promise<{ dir: string; store: ChainlogStore }> {
  const dir = await mkdtemp(join(tmpdir(), 'chainlog-agents-'))
  dirs.push(dir)
  return { dir, store: await openStore(dir) }
}

describe('ChainlogSession under run()', () => {
  it('keeps every turn, tool calls included, and a new process resumes with identical items', async () => {
    const { dir, store } = await diskStore()
    const session = new ChainlogSession({ store, sessionId: 'calc-1' })
    const model = new ScriptedModel()
    const agent = agentFor(session, model)

    const r1 = await run(agent, 'add 2 3', { session })
    expect(r1.finalOutput).toBe('The answer is 5.')
    const r2 = await run(agent, 'mul 5 4', { session })
    expect(r2.finalOutput).toBe('The answer is 20.')
    const r3 = await run(agent, 'thanks', { session })
    expect(r3.finalOutput).toBe('ok')

    const items = await session.getItems()
    // Per tool turn: user, reasoning, function_call, function_call_result, message; then user, message.
    expect(items.map((i) => (i as { type?: string }).type ?? 'message')).toEqual([
      'message', 'reasoning', 'function_call', 'function_call_result', 'message',
      'message', 'reasoning', 'function_call', 'function_call_result', 'message',
      'message', 'message',
    ])
    // The model saw the history each time: 1, then 4 (after the tool), then 6, 9, then 11.
    expect(model.calls).toEqual([1, 4, 6, 9, 11])
    expect(await session.getItems(4)).toEqual(items.slice(-4))

    // Chainlog's entries: the SDK's items grouped the way chainlog groups a turn, usage beside them.
    const sid = await session.getSessionId()
    expect(sid).toBe('calc-1')
    const kinds = (await entriesOf(store, sid)).map((e) => e.entry.kind)
    expect(kinds.filter((k) => k === 'user_input')).toHaveLength(3)
    expect(kinds.filter((k) => k === 'tool_results')).toHaveLength(2)
    expect(kinds.filter((k) => k === 'llm_usage')).toHaveLength(5)
    const usage = await store.usage(sid)
    expect(usage['scripted-1']).toMatchObject({ calls: 5, cacheReadTokens: 200, reasoningTokens: 15 })
    const state = await store.restore(sid)
    expect(state.usage.map((u) => u.historyLength)).toEqual([1, 4, 6, 9, 11])
    expect((await store.verify()).ok).toBe(true)
    await store.close()

    // A new process: same items, the same tail, and a further turn sees the whole history.
    const { stdout } = await promisify(execFile)(process.execPath, [join(FIXTURES, 'agents-resume.mjs'), dir, 'calc-1', 'add 20 22'])
    const child = JSON.parse(stdout) as { items: unknown[]; tail: unknown[]; finalOutput: string; modelInputs: number[]; after: unknown[]; verified: boolean; isHost: boolean }
    expect(child.isHost).toBe(true)
    expect(child.items).toEqual(items)
    expect(exactJson(child.items)).toBe(exactJson(items))
    expect(child.tail).toEqual(items.slice(-3))
    expect(child.finalOutput).toBe('The answer is 42.')
    expect(child.modelInputs).toEqual([13, 16])
    expect(child.after.slice(0, items.length)).toEqual(items)
    expect(child.after).toHaveLength(items.length + 5)
    expect(child.verified).toBe(true)

    const again = await openStore(dir)
    const resumed = new ChainlogSession({ store: again, sessionId: 'calc-1' })
    expect(await resumed.getItems()).toEqual(child.after)
    expect((await again.verify()).ok).toBe(true)
    await again.close()
  })

  it('a streamed run keeps the same items and usage as a run that is not streamed', async () => {
    const store = await openMem()
    const plain = new ChainlogSession({ store, sessionId: 'plain-1' })
    const streamed = new ChainlogSession({ store, sessionId: 'stream-1' })
    await run(agentFor(plain, new ScriptedModel('p')), 'add 4 5', { session: plain })
    const result = await run(agentFor(streamed, new ScriptedModel('p')), 'add 4 5', { session: streamed, stream: true })
    for await (const _ of result) void _
    await result.completed
    expect(result.finalOutput).toBe('The answer is 9.')
    expect(await streamed.getItems()).toEqual(await plain.getItems())
    const usage = (id: string) => store.restore(id).then((st) => st.usage)
    expect(await usage('stream-1')).toEqual(await usage('plain-1'))
    expect(await usage('stream-1')).toHaveLength(2)
  })

  it('a popped item is gone from the session, and the old history is still there, verified', async () => {
    const store = await openMem()
    const session = new ChainlogSession({ store, sessionId: 'pop-1' })
    const model = new ScriptedModel()
    await run(agentFor(session, model), 'add 1 1', { session })
    const before = await session.getItems()
    const oldHead = await store.head('pop-1')

    const popped = await session.popItem()
    expect(popped).toEqual(before[before.length - 1])
    expect(await session.getItems()).toEqual(before.slice(0, -1))
    // The reasoning and the call shared one entry with nothing after it: a pop keeps the call.
    expect(await session.popItem()).toEqual(before[before.length - 2])
    expect(await session.popItem()).toEqual(before[before.length - 3])
    expect(await session.getItems()).toEqual(before.slice(0, -3))
    expect(await session.getItems(1)).toEqual(before.slice(-4, -3))

    // The original session still holds all of it, followed by a marker naming where it went.
    const original = await entriesOf(store, 'pop-1')
    expect(original[original.length - 1]!.prev).toBe(oldHead)
    const marker = original[original.length - 1]!.entry
    expect(marker).toMatchObject({ kind: 'custom', namespace: OPENAI_AGENTS_NAMESPACE, type: CONTINUED })
    expect((await store.restore('pop-1')).history).toEqual(before)

    // A new object for the same SDK session follows the markers.
    const current = await session.chainlogSessionId()
    expect(current).not.toBe('pop-1')
    const other = new ChainlogSession({ store, sessionId: 'pop-1' })
    expect(await other.getItems()).toEqual(before.slice(0, -3))
    expect(await other.chainlogSessionId()).toBe(current)
    expect((await store.lineage(current!)).ancestors.map((a) => a.sessionId)).toContain('pop-1')
    expect((await store.verify()).ok).toBe(true)
  })

  it('clearSession starts empty in a compaction of the old session, which stays whole', async () => {
    const store = await openMem()
    const session = new ChainlogSession({ store, sessionId: 'clear-1' })
    await run(agentFor(session, new ScriptedModel()), 'mul 3 3', { session })
    const before = await session.getItems()
    await session.clearSession()
    expect(await session.getItems()).toEqual([])
    expect(await session.getItems(5)).toEqual([])
    expect(await session.popItem()).toBeUndefined()
    const current = (await session.chainlogSessionId())!
    const state = await store.restore(current)
    expect(state.compactedFrom?.sessionId).toBe('clear-1')
    expect((await store.restore('clear-1')).history).toEqual(before)

    // The conversation goes on after a clear, in the new session, with a fresh history.
    const model = new ScriptedModel()
    await run(agentFor(session, model), 'add 1 2', { session })
    expect(model.calls).toEqual([1, 4])
    expect(await new ChainlogSession({ store, sessionId: 'clear-1' }).getItems()).toEqual(await session.getItems())
    expect((await store.verify()).ok).toBe(true)
  })
})

describe('ChainlogSession.applyHistoryTransaction', () => {
  const call = (id: string): AgentInputItem => ({ type: 'function_call', callId: id, name: 'add', arguments: '{"a":1}', status: 'completed' }) as AgentInputItem
  const result = (id: string, text: string): AgentInputItem =>
    ({ type: 'function_call_result', callId: id, name: 'add', status: 'completed', output: { type: 'text', text } }) as AgentInputItem

  it('is the SDK capability, and gives the same history as the SDK\'s MemorySession for the same transactions, retries included', async () => {
    const store = await openMem()
    const session = new ChainlogSession({ store, sessionId: 'tx-1' })
    const memory = new MemorySession()
    expect(isSessionHistoryTransactionAwareSession(session)).toBe(true)
    const txs: SessionHistoryTransactionArgs[] = [
      { operationId: 'op-1', transaction: { type: 'append_items', items: [user('add 1 1'), call('c1'), result('c1', '2')] } },
      { operationId: 'op-1', transaction: { type: 'append_items', items: [user('add 1 1'), call('c1'), result('c1', '2')] } },
      { operationId: 'op-2', transaction: { type: 'append_items', items: [say('The answer is 2.')] } },
      // Replace the last two items (the result and the answer) with a redacted result and a new answer.
      { operationId: 'op-3', transaction: { type: 'replace_suffix', expectedSuffix: [result('c1', '2'), say('The answer is 2.')], replacement: [result('c1', '[redacted]'), say('Done.')] } },
      { operationId: 'op-3', transaction: { type: 'replace_suffix', expectedSuffix: [result('c1', '2'), say('The answer is 2.')], replacement: [result('c1', '[redacted]'), say('Done.')] } },
      { operationId: 'op-4', transaction: { type: 'replace_suffix', expectedSuffix: [], replacement: [user('thanks')] } },
    ]
    for (const tx of txs) {
      await memory.applyHistoryTransaction(structuredClone(tx))
      await session.applyHistoryTransaction(structuredClone(tx))
      expect(await session.getItems()).toEqual(await memory.getItems())
    }
    expect((await session.getItems()).map(exactJson)).toEqual([user('add 1 1'), call('c1'), result('c1', '[redacted]'), say('Done.'), user('thanks')].map(exactJson))
    // Nothing was rewritten: the first session still holds the replaced items, then the marker.
    expect((await store.restore('tx-1')).history).toEqual([user('add 1 1'), call('c1'), result('c1', '2'), say('The answer is 2.')])
    expect(await session.chainlogSessionId()).not.toBe('tx-1')
    expect((await store.verify()).ok).toBe(true)
    // Another object (a new process) knows every operation applied: repeating one applies nothing.
    const other = new ChainlogSession({ store, sessionId: 'tx-1' })
    const head = await store.head((await other.chainlogSessionId())!)
    await other.applyHistoryTransaction(txs[2]!)
    expect(await store.head((await other.chainlogSessionId())!)).toBe(head)
  })

  it('a suffix that does not match, or an operation id reused with another transaction, fails and changes and records nothing', async () => {
    const store = await openMem()
    const session = new ChainlogSession({ store, sessionId: 'tx-2' })
    await session.applyHistoryTransaction({ operationId: 'a', transaction: { type: 'append_items', items: [user('hi'), say('hello')] } })
    const head = await store.head('tx-2')
    const stale = { operationId: 'b', transaction: { type: 'replace_suffix' as const, expectedSuffix: [say('something else')], replacement: [] } }
    await expect(session.applyHistoryTransaction(stale)).rejects.toMatchObject({ code: 'CHAINLOG_HEAD_CONFLICT' })
    await expect(session.applyHistoryTransaction({ operationId: 'a', transaction: { type: 'append_items', items: [user('other')] } })).rejects.toMatchObject({ code: 'CHAINLOG_INVALID_ARGUMENT' })
    for (const bad of [{ operationId: ' ', transaction: { type: 'append_items', items: [] } }, { operationId: 'c', transaction: { type: 'rewrite', items: [] } }, { operationId: 'c', transaction: { type: 'append_items', items: ['x'] } }]) {
      await expect(session.applyHistoryTransaction(bad as unknown as SessionHistoryTransactionArgs)).rejects.toMatchObject({ code: 'CHAINLOG_INVALID_ARGUMENT' })
    }
    expect(await store.head('tx-2')).toBe(head)
    expect((await store.listSessions()).map((s) => s.sessionId)).toEqual(['tx-2'])
    // 'b' was not recorded: with the right suffix it applies (a pop of the answer, in a fork).
    await session.applyHistoryTransaction({ operationId: 'b', transaction: { type: 'replace_suffix', expectedSuffix: [say('hello')], replacement: [] } })
    expect(await session.getItems()).toEqual([user('hi')])
  })

  it('a replace_suffix reaching into a compaction\'s genesis compacts again, and one racing an append from another object does not lose it', async () => {
    const store = await openMem()
    const a = new ChainlogSession({ store, sessionId: 'tx-3' })
    await a.replaceHistoryWithCompaction([user('summary'), say('kept')])
    await a.applyHistoryTransaction({ operationId: 'r1', transaction: { type: 'replace_suffix', expectedSuffix: [say('kept')], replacement: [say('kept, edited')] } })
    expect(await a.getItems()).toEqual([user('summary'), say('kept, edited')])
    // Another object appends behind a's back: a's next transaction sees it (compare-and-set), and a
    // suffix that no longer matches is refused rather than applied over the other writer's item.
    const b = new ChainlogSession({ store, sessionId: 'tx-3' })
    await b.addItems([user('from b')])
    await expect(a.applyHistoryTransaction({ operationId: 'r2', transaction: { type: 'replace_suffix', expectedSuffix: [say('kept, edited')], replacement: [] } })).rejects.toMatchObject({
      code: 'CHAINLOG_HEAD_CONFLICT',
    })
    await a.applyHistoryTransaction({ operationId: 'r3', transaction: { type: 'append_items', items: [say('from a')] } })
    expect(await b.getItems()).toEqual([user('summary'), say('kept, edited'), user('from b'), say('from a')])
    expect((await store.verify()).ok).toBe(true)
  })
})

describe('ChainlogSession on its own', () => {
  it('replaceHistoryWithCompaction continues in one compaction holding exactly the given items; the old session stays whole', async () => {
    const store = await openMem()
    const s = new ChainlogSession({ store, sessionId: 'compact-1' })
    await s.addItems([user('a'), say('b'), user('c'), say('d')])
    const before = await s.getItems()
    const compaction = { type: 'compaction', encrypted_content: 'opaque-summary', id: 'cmp_1' } as AgentInputItem
    await s.replaceHistoryWithCompaction([compaction, user('c'), say('d')])
    expect(await s.getItems()).toEqual([compaction, user('c'), say('d')])
    expect(await s.getItems(2)).toEqual([user('c'), say('d')])
    const current = (await s.chainlogSessionId())!
    expect(current).not.toBe('compact-1')
    expect((await store.restore(current)).compactedFrom?.sessionId).toBe('compact-1')
    expect((await store.restore('compact-1')).history).toEqual(before)
    // Another object for the same SDK session follows the marker; the conversation goes on.
    const other = new ChainlogSession({ store, sessionId: 'compact-1' })
    await other.addItems([user('e')])
    expect(await s.getItems()).toEqual([compaction, user('c'), say('d'), user('e')])
    expect(await s.popItem()).toEqual(user('e'))
    expect((await store.verify()).ok).toBe(true)
    // On a session with nothing yet, it starts one whose history is the items.
    const fresh = new ChainlogSession({ store, sessionId: 'compact-2' })
    await fresh.replaceHistoryWithCompaction([compaction])
    expect(await new ChainlogSession({ store, sessionId: 'compact-2' }).getItems()).toEqual([compaction])
    await expect(fresh.replaceHistoryWithCompaction('no' as never)).rejects.toThrow(TypeError)
  })

  it('getItems(limit) reads the same tail the whole history ends with, across pops, clears and genesis items', async () => {
    const store = await openMem()
    const s = new ChainlogSession({ store, sessionId: 'tail-1' })
    expect(await s.getItems()).toEqual([])
    expect(await s.getItems(3)).toEqual([])
    const check = async () => {
      const all = await s.getItems()
      for (let n = 1; n <= all.length + 2; n++) expect(await s.getItems(n)).toEqual(all.slice(-n))
      expect(await s.getItems(0)).toEqual([])
      return all
    }
    await s.addItems([user('a'), say('b'), user('c')])
    await s.addItems([say('d'), say('e')])
    expect((await check()).length).toBe(5)
    await s.popItem()
    await s.addItems([say('f')])
    expect(await check()).toEqual([user('a'), say('b'), user('c'), say('d'), say('f')])
    await s.popItem()
    await s.popItem()
    await s.popItem()
    expect(await check()).toEqual([user('a'), say('b')])
    await s.clearSession()
    await s.addItems([user('g'), say('h')])
    expect(await check()).toEqual([user('g'), say('h')])

    // Items that came with a genesis (here a compaction) are popped through a new compaction.
    const c = await store.compact((await s.chainlogSessionId())!, { history: [user('x'), say('y')] })
    const t = new ChainlogSession({ store, sessionId: c.sessionId })
    expect(await t.popItem()).toEqual(say('y'))
    expect(await t.getItems()).toEqual([user('x')])
    expect((await store.restore((await t.chainlogSessionId())!)).compactedFrom?.sessionId).toBe(c.sessionId)
    expect((await store.verify()).ok).toBe(true)
  })

  it('getItems(limit) on a long session reads across its growing windows and through a fork point', async () => {
    const store = await openMem()
    const s = new ChainlogSession({ store, sessionId: 'long-1' })
    for (let i = 0; i < 120; i++) await s.addItems(i % 3 === 0 ? [user(`u${i}`)] : [say(`a${i}`), say(`b${i}`)])
    await s.popItem()
    await s.addItems([user('after the pop')])
    const all = await s.getItems()
    expect(all).toHaveLength(200)
    for (const n of [1, 15, 16, 17, 63, 64, 65, 199, 200, 201, 500]) expect(await s.getItems(n)).toEqual(all.slice(-n))
  })

  it('works the same through a store shared with another process (a client of the holder)', async () => {
    const { dir, store: holder } = await diskStore()
    const client = await openStore(dir)
    try {
      const viaClient = new ChainlogSession({ store: client, sessionId: 'shared-1' })
      for (let i = 0; i < 40; i++) await viaClient.addItems([user(`q${i}`), say(`a${i}`)])
      expect(await viaClient.popItem()).toEqual(say('a39'))
      const viaHolder = new ChainlogSession({ store: holder, sessionId: 'shared-1' })
      const all = await viaHolder.getItems()
      expect(all).toHaveLength(79)
      for (const n of [1, 17, 79]) expect(await viaClient.getItems(n)).toEqual(all.slice(-n))
      expect((await client.verify()).ok).toBe(true)
    } finally {
      await client.close()
      await holder.close()
    }
  })

  it('a pop keeps the usage and turn ends recorded after the popped item', async () => {
    const store = await openMem()
    const s = new ChainlogSession({ store, sessionId: 'usage-1' })
    await s.addItems([user('q')])
    await store.appendTurn('usage-1', [say('a1'), say('a2')], {
      usage: { historyLength: 1, model: 'm', inputTokens: 7, cacheReadTokens: 0, cacheWriteTokens: 0, outputTokens: 2, reasoningTokens: 0 },
      turnEnd: true,
    })
    const before = await store.restore('usage-1')
    expect(await s.popItem()).toEqual(say('a2'))
    const after = await store.restore((await s.chainlogSessionId())!)
    expect(after.history).toEqual(before.history.slice(0, -1))
    expect(after.turnCount).toBe(before.turnCount)
    expect(after.usage).toEqual(before.usage)
  })

  it('addItems is compare-and-set: a writer that missed a pop elsewhere follows it instead of writing behind the marker', async () => {
    const store = await openMem()
    const a = new ChainlogSession({ store, sessionId: 'race-1' })
    const b = new ChainlogSession({ store, sessionId: 'race-1' })
    await a.addItems([user('1'), say('2')])
    expect(await b.getItems()).toHaveLength(2) // b has seen the head
    await a.popItem()
    await b.addItems([say('3')])
    expect(await a.getItems()).toEqual([user('1'), say('3')])
    // Nothing was written after the marker in the old session.
    const old = await entriesOf(store, 'race-1')
    expect(old[old.length - 1]!.entry.kind).toBe('custom')

    // With onConflict 'throw', a head that moved is an error and nothing is written.
    const c = new ChainlogSession({ store, sessionId: 'race-1', onConflict: 'throw' })
    expect(await c.getItems()).toHaveLength(2)
    await a.addItems([say('4')])
    await c.addItems([say('5')]).then(
      () => expect.unreachable(),
      (err) => expect(isChainlogError(err, 'CHAINLOG_HEAD_CONFLICT')).toBe(true),
    )
    expect(await a.getItems()).toEqual([user('1'), say('3'), say('4')])
  })

  it('concurrent addItems from two objects both land, each batch whole', async () => {
    const store = await openMem()
    const a = new ChainlogSession({ store, sessionId: 'race-2' })
    const b = new ChainlogSession({ store, sessionId: 'race-2' })
    await a.addItems([user('start')])
    await b.getItems()
    await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => a.addItems([user(`a${i}`), say(`a${i}!`)])),
      ...Array.from({ length: 10 }, (_, i) => b.addItems([user(`b${i}`), say(`b${i}!`)])),
    ])
    const items = (await a.getItems()) as { content: unknown }[]
    expect(items).toHaveLength(41)
    for (let i = 1; i < items.length; i += 2) {
      const q = items[i] as { content: string }
      expect(items[i + 1]).toEqual(say(`${q.content}!`))
    }
  })

  it('pops racing appends from another object lose nothing: every item is either still there or was popped', async () => {
    const store = await openMem()
    const a = new ChainlogSession({ store, sessionId: 'race-3' })
    const b = new ChainlogSession({ store, sessionId: 'race-3' })
    const initial = Array.from({ length: 10 }, (_, i) => user(`i${i}`))
    await a.addItems(initial)
    const added: AgentInputItem[] = []
    const popped: AgentInputItem[] = []
    for (let i = 0; i < 10; i++) {
      const item = user(`n${i}`)
      added.push(item)
      const [p] = await Promise.all([a.popItem(), b.addItems([item])])
      popped.push(p!)
    }
    const final = await new ChainlogSession({ store, sessionId: 'race-3' }).getItems()
    const text = (x: AgentInputItem) => (x as { content: string }).content
    expect(final.map(text).sort()).toEqual([...initial, ...added].map(text).filter((t) => !popped.map(text).includes(t)).sort())
    expect(new Set(popped.map(text)).size).toBe(10)
    expect((await store.verify()).ok).toBe(true)
  })

  it('stores the SDK items as their JSON: keys with undefined values are dropped, nothing else changes', async () => {
    const store = await openMem()
    const s = new ChainlogSession({ store })
    const item = { type: 'function_call_result', callId: 'c1', name: 'add', status: 'completed', output: { type: 'text', text: '5' }, providerData: undefined } as unknown as AgentInputItem
    await s.addItems([item])
    const [back] = await s.getItems()
    expect(back).toEqual({ type: 'function_call_result', callId: 'c1', name: 'add', status: 'completed', output: { type: 'text', text: '5' } })
    expect(Object.keys(back as object)).not.toContain('providerData')
    expect(classifyAgentItem(item)).toBe('tool_result')
    expect(classifyAgentItem({ type: 'hosted_tool_call', name: 'web_search' })).toBe('tool_call')
    expect(classifyAgentItem({ role: 'system', content: 'x' })).toBe('other')
  })

  it('usage of a model call that ends while items are being written is kept for the next write', async () => {
    const store = await openMem()
    // A store whose appendTurn says when it has taken its arguments and is writing.
    let writingStarted!: () => void
    const started = new Promise<void>((r) => (writingStarted = r))
    const spy = new Proxy(store, {
      get(target, key) {
        if (key === 'appendTurn') {
          return (...args: Parameters<Store['appendTurn']>) => {
            const p = target.appendTurn(...args)
            writingStarted()
            return p
          }
        }
        const v = Reflect.get(target, key) as unknown
        return typeof v === 'function' ? v.bind(target) : v
      },
    })
    const s = new ChainlogSession({ store: spy, sessionId: 'usage-2' })
    const tracked = s.trackUsage(new ScriptedModel('u'), 'scripted-1')
    const request = { input: [user('hello')] } as never
    await tracked.getResponse(request)
    const writing = s.addItems([user('hello')])
    await started
    await tracked.getResponse(request) // lands while the first batch is in flight
    await writing
    expect((await store.restore('usage-2')).usage).toHaveLength(1)
    await s.flushUsage()
    expect((await store.restore('usage-2')).usage).toHaveLength(2)
    await s.flushUsage() // nothing left: writes nothing
    expect((await store.restore('usage-2')).length).toBe(4)
  })

  it('getSessionId creates the session once and returns the same id every time', async () => {
    const store = await openMem()
    const s = new ChainlogSession({ store })
    const id = await s.getSessionId()
    expect(await s.getSessionId()).toBe(id)
    expect(await store.head(id)).toMatch(/^[0-9a-f]{64}$/)
    await s.clearSession()
    expect(await s.getSessionId()).toBe(id)
    expect(() => new ChainlogSession({} as never)).toThrow(TypeError)
  })
})
