// ChainlogSaver under a real LangGraph StateGraph (interrupt, resume in a new process, time
// travel, replay from an old checkpoint) compared step by step with LangGraph's MemorySaver,
// and two savers racing on one thread.
import { execFile } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Command, MemorySaver } from '@langchain/langgraph'
import { emptyCheckpoint, uuid6, type BaseCheckpointSaver, type CheckpointTuple } from '@langchain/langgraph-checkpoint'
import type { RunnableConfig } from '@langchain/core/runnables'
import { afterEach, describe, expect, it } from 'vitest'
import { ChainlogSaver, LANGGRAPH_NAMESPACE, threadSessionId, type CheckpointData } from '../../src/adapters/langgraph.js'
import type { SharedStore } from '../../src/host/shared-store.js'
import { type Store } from '../../src/store.js'
import { openStore, type ChainlogStore } from '../../src/open.js'
import { closeStores, entriesOf, memStoreOpener } from '../support/stores.js'
// @ts-expect-error: a plain .mjs fixture, shared with the child process
import { buildGraph, buildNestedGraph } from './fixtures/approval-graph.mjs'

const FIXTURES = join(import.meta.dirname, 'fixtures')
const opened: Store[] = []
const dirs: string[] = []
const openMem = memStoreOpener(opened)
afterEach(() => closeStores(opened, dirs))

interface Snapshot {
  next: string[]
  config: RunnableConfig
}
/** The compiled graph, as far as these tests use it (the fixture is plain JavaScript). */
interface Graph {
  invoke(input: unknown, config: RunnableConfig): Promise<unknown>
  getState(config: RunnableConfig): Promise<Snapshot>
  getStateHistory(config: RunnableConfig): AsyncIterable<Snapshot>
  updateState(config: RunnableConfig, values: unknown): Promise<RunnableConfig>
}

async function toArray<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

/**
 * A trace with what differs between two runs of the same steps taken out: ids (checkpoint,
 * task and interrupt ids, also inside namespaces) become their order of first appearance,
 * timestamps are dropped.
 */
function normalise(v: unknown): unknown {
  const ids = new Map<string, string>()
  const token = (raw: string) => {
    if (!ids.has(raw)) ids.set(raw, `#${ids.size}`)
    return ids.get(raw)!
  }
  // Whole ids, and ids inside a namespace such as "review:<task id>" (in values and in keys).
  const id = (x: string) => (/^[0-9a-f-]{32,36}$/.test(x) ? token(x) : x.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, token))
  const walk = (x: unknown): unknown => {
    if (typeof x === 'string') return id(x)
    if (Array.isArray(x)) return x.map(walk)
    if (x && typeof x === 'object') {
      const out: Record<string, unknown> = {}
      for (const [k, val] of Object.entries(x)) if (k !== 'createdAt' && k !== 'ts' && val !== undefined) out[id(k)] = walk(val)
      return out
    }
    return x
  }
  return walk(JSON.parse(JSON.stringify(v)))
}

/**
 * The same steps on any checkpointer: run to the interrupt, resume (maybe elsewhere), travel
 * back to before the question and change the state, answer again on that branch, then replay
 * from the checkpoint before "act" on the first branch. Returns every result and the history.
 */
async function scenario(graphAt: () => Promise<Graph>, resume: (answer: string) => Promise<unknown>) {
  const thread = { configurable: { thread_id: 'T' } }
  let graph: Graph = await graphAt()
  const first = await graph.invoke({ log: ['hi'] }, thread)
  const waiting = await graph.getState(thread)
  const resumed = await resume('yes')
  graph = await graphAt()
  const done = await toArray(graph.getStateHistory(thread))
  const beforeAsk = done.find((s) => s.next.includes('ask'))!
  const beforeAct = done.find((s) => s.next.includes('act'))!
  const edited = await graph.updateState(beforeAsk.config, { log: ['edited'] })
  const asked = await graph.invoke(null, edited)
  const travelled = await graph.invoke(new Command({ resume: 'no' }), thread)
  const replayed = await graph.invoke(null, beforeAct.config)
  const latest = await graph.getState(thread)
  const history = await toArray(graph.getStateHistory(thread))
  return { first, waiting, resumed, done, asked, travelled, replayed, latest, history }
}

describe('ChainlogSaver under a StateGraph', () => {
  it('interrupts, resumes in a new process, time-travels and forks exactly as on MemorySaver', async () => {
    const memory = new MemorySaver()
    const onMemory = await scenario(
      async () => buildGraph(memory),
      (answer) => buildGraph(memory).invoke(new Command({ resume: answer }), { configurable: { thread_id: 'T' } }),
    )

    const dir = await mkdtemp(join(tmpdir(), 'chainlog-langgraph-'))
    dirs.push(dir)
    let store: ChainlogStore | undefined
    const onChainlog = await scenario(
      async () => {
        store ??= await openStore(dir)
        return buildGraph(new ChainlogSaver(store))
      },
      async (answer) => {
        await store!.close()
        store = undefined
        const { stdout } = await promisify(execFile)(process.execPath, [join(FIXTURES, 'langgraph-resume.mjs'), dir, 'T', answer])
        const child = JSON.parse(stdout) as { next: string[]; interrupts: unknown[]; result: unknown; verified: boolean }
        expect(child.next).toEqual(['ask'])
        expect(child.interrupts).toEqual([{ question: 'approve?', plan: 'plan after 1' }])
        expect(child.verified).toBe(true)
        return child.result
      },
    )

    expect(onChainlog.resumed).toEqual({ log: ['hi', 'plan after 1', 'answer yes', 'acted'], approved: true, steps: 3 })
    expect(onChainlog.travelled).toEqual({ log: ['hi', 'plan after 1', 'edited', 'answer no', 'skipped'], approved: false, steps: 3 })
    expect(onChainlog.history.length).toBeGreaterThan(onChainlog.done.length)
    expect(normalise(onChainlog)).toEqual(normalise(onMemory))

    // The branches are chainlog forks of the thread's session, and the whole store verifies.
    const sessions = (await store!.listSessions()).map((s) => s.sessionId).filter((id) => id.startsWith(threadSessionId('T')))
    expect(sessions.length).toBe(3) // the thread, the edit, the replay
    for (const id of sessions.filter((s) => s !== threadSessionId('T'))) {
      const lineage = await store!.lineage(id)
      expect(lineage.ancestors[lineage.ancestors.length - 1]?.sessionId).toBe(threadSessionId('T'))
    }
    const report = await store!.verify()
    expect(report.findings).toEqual([])
    expect(report.ok).toBe(true)
    await store!.close()
  })
  it('a subgraph that interrupts keeps its own namespace, and resumes as on MemorySaver', async () => {
    const run = async (checkpointer: BaseCheckpointSaver) => {
      const graph = buildNestedGraph(checkpointer) as Graph & { getState(c: RunnableConfig, o: { subgraphs: boolean }): Promise<unknown> }
      const thread = { configurable: { thread_id: 'N' } }
      const first = await graph.invoke({ notes: ['hi'] }, thread)
      const nested = await graph.getState(thread, { subgraphs: true })
      const result = await graph.invoke(new Command({ resume: 'yes' }), thread)
      const history = await toArray(graph.getStateHistory(thread))
      const everything = await toArray(checkpointer.list({ configurable: { thread_id: 'N' } }))
      const namespaces = [...new Set(everything.map((t) => String(t.config.configurable?.checkpoint_ns).split(':')[0]))].sort()
      return { first, nested, result, history, namespaces, count: everything.length }
    }
    const onMemory = await run(new MemorySaver())
    const store = await openMem()
    const onChainlog = await run(new ChainlogSaver(store))
    expect(onChainlog.result).toEqual({ notes: ['hi', 'start', 'hi', 'start', 'draft 2', 'confirmed: yes'], done: 6 })
    expect(onChainlog.namespaces).toEqual(['', 'review'])
    expect(normalise(onChainlog)).toEqual(normalise(onMemory))
    expect((await store.verify()).ok).toBe(true)
  })
})

/**
 * The property "never interleaved": in every session of the thread, each checkpoint's parent
 * is the checkpoint before it in that session, or (for the first in a fork) the checkpoint
 * the fork was made at.
 */
async function expectLinearSessions(store: ChainlogStore, threadId: string): Promise<number> {
  let count = 0
  for (const s of await store.listSessions()) {
    if (!s.sessionId.startsWith(threadSessionId(threadId))) continue
    const own = await entriesOf(store, s.sessionId)
    let prevCheckpoint: string | undefined
    const genesis = own[0]!.entry
    if (genesis.kind === 'session_start' && genesis.forkedFrom) {
      const at = await store.getEntry(genesis.forkedFrom.atHash)
      prevCheckpoint = at.entry.kind === 'custom' && at.entry.type === 'checkpoint' ? (at.entry.data as CheckpointData).id : undefined
    }
    for (const e of own) {
      if (e.entry.kind !== 'custom' || e.entry.namespace !== LANGGRAPH_NAMESPACE || e.entry.type !== 'checkpoint') continue
      const data = e.entry.data as CheckpointData
      expect(data.parent).toBe(prevCheckpoint)
      prevCheckpoint = data.id
      count++
    }
  }
  return count
}

function checkpointFor(id: string, n: number) {
  return { ...emptyCheckpoint(), id, channel_values: { n }, channel_versions: { n } }
}

describe('ChainlogSaver with two writers', () => {
  it('two savers racing on one thread (two processes sharing the store) never lose or interleave a checkpoint', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chainlog-langgraph-race-'))
    dirs.push(dir)
    const holder = (await openStore(dir)) as SharedStore
    const client = (await openStore(dir)) as SharedStore // a client of the first, as another process would be
    expect(holder.isHost && !client.isHost).toBe(true)
    const a = new ChainlogSaver(holder)
    const b = new ChainlogSaver(client)
    const thread = { configurable: { thread_id: 'race', checkpoint_ns: '' } }
    let parent = await a.put(thread, checkpointFor(uuid6(1), 0), { source: 'input', step: -1, parents: {} }, { n: 0 })
    const written: { id: string; parent: string; n: number }[] = []
    for (let round = 1; round <= 8; round++) {
      // Both continue from the same parent at once: one appends, the other must fork.
      const put = async (saver: ChainlogSaver, n: number) => {
        const id = uuid6(n)
        await saver.put(parent, checkpointFor(id, n), { source: 'loop', step: round, parents: {} }, { n })
        written.push({ id, parent: parent.configurable!.checkpoint_id as string, n })
        return id
      }
      const [ida] = await Promise.all([put(a, round * 10 + 1), put(b, round * 10 + 2)])
      await Promise.all([
        a.putWrites({ configurable: { ...thread.configurable, checkpoint_id: ida } }, [['n', round]], `task-a-${round}`),
        b.putWrites({ configurable: { ...thread.configurable, checkpoint_id: ida } }, [['n', -round]], `task-b-${round}`),
      ])
      parent = { configurable: { ...thread.configurable, checkpoint_id: ida } }
    }

    // A third saver, new to the thread, finds every checkpoint with its own parent and values.
    const c = new ChainlogSaver(holder)
    const listed = await toArray(c.list(thread))
    expect(listed).toHaveLength(written.length + 1)
    const byId = new Map<string, CheckpointTuple>(listed.map((t) => [t.checkpoint.id, t]))
    for (const w of written) {
      const t = byId.get(w.id)!
      expect(t.checkpoint.channel_values).toEqual({ n: w.n })
      expect(t.parentConfig?.configurable?.checkpoint_id).toBe(w.parent)
    }
    const last = byId.get(parent.configurable!.checkpoint_id as string)!
    expect(last.pendingWrites).toHaveLength(2)
    expect(await expectLinearSessions(holder, 'race')).toBe(written.length + 1)
    expect((await holder.verify()).ok).toBe(true)
    await client.close()
    await holder.close()
  })
})

describe('ChainlogSaver in the store', () => {
  async function saver(): Promise<{ store: Store; s: ChainlogSaver }> {
    const store = await openMem()
    return { store, s: new ChainlogSaver(store) }
  }
  const put = (s: BaseCheckpointSaver, config: RunnableConfig, id: string, n: number, newVersions: Record<string, number> = { n }) =>
    s.put(config, { ...emptyCheckpoint(), id, channel_values: { n, same: 'x' }, channel_versions: { n, same: 1 } }, { source: 'loop', step: n, parents: {} }, newVersions)

  it('stores an unchanged channel once and refers to the entry that holds it, by hash', async () => {
    const { store, s } = await saver()
    const t = { configurable: { thread_id: 'dedupe' } }
    let config = await put(s, t, uuid6(0), 1, { n: 1, same: 1 })
    for (let i = 2; i <= 4; i++) config = await put(s, config, uuid6(i), i)
    const entries = (await entriesOf(store, threadSessionId('dedupe'))).filter((e) => e.entry.kind === 'custom')
    const data = entries.map((e) => (e.entry as { data: CheckpointData }).data)
    expect(Object.keys(data[0]!.values).sort()).toEqual(['n', 'same'])
    for (const d of data.slice(1)) {
      expect(Object.keys(d.values)).toEqual(['n'])
      expect(d.refs).toEqual({ same: entries[0]!.hash })
    }
    expect((await s.getTuple(config))!.checkpoint.channel_values).toEqual({ n: 4, same: 'x' })
  })

  it('list over a long thread, read by a saver new to it, gives every checkpoint newest first with its own values', async () => {
    const { store, s } = await saver()
    let config: RunnableConfig = { configurable: { thread_id: 'long', checkpoint_ns: '' } }
    const ids: string[] = []
    for (let i = 1; i <= 300; i++) {
      const id = uuid6(i)
      ids.push(id)
      config = await put(s, config, id, i, i === 1 ? { n: 1, same: 1 } : { n: i })
      if (i % 7 === 0) await s.putWrites(config, [['n', -i]], `t${i}`)
    }
    const fresh = new ChainlogSaver(store)
    const all = await toArray(fresh.list({ configurable: { thread_id: 'long', checkpoint_ns: '' } }))
    expect(all.map((t) => t.checkpoint.id)).toEqual([...ids].reverse())
    all.forEach((t, k) => {
      const n = 300 - k
      expect(t.checkpoint.channel_values).toEqual({ n, same: 'x' })
      expect(t.pendingWrites).toEqual(n % 7 === 0 ? [[`t${n}`, 'n', -n]] : [])
    })
    const page = await toArray(fresh.list({ configurable: { thread_id: 'long' } }, { before: all[100]!.config, limit: 150 }))
    expect(page.map((t) => t.checkpoint.id)).toEqual(all.slice(101, 251).map((t) => t.checkpoint.id))
    expect(await toArray(fresh.list({ configurable: { thread_id: 'long' } }, { filter: { step: 42 } }))).toHaveLength(1)
  })

  it('keeps views of at most maxThreads threads, and reads a dropped thread again from the log', async () => {
    const store = await openMem()
    const s = new ChainlogSaver(store, undefined, { maxThreads: 2 })
    const configs: RunnableConfig[] = []
    for (const t of ['t1', 't2', 't3']) configs.push(await put(s, { configurable: { thread_id: t } }, uuid6(0), 1, { n: 1, same: 1 }))
    expect(s.threadsInView).toBe(2)
    await put(s, configs[0]!, uuid6(1), 2) // t1 was dropped: read again, then continued in place
    expect((await s.getTuple({ configurable: { thread_id: 't1' } }))!.checkpoint.channel_values).toEqual({ n: 2, same: 'x' })
    expect((await store.listSessions()).filter((x) => x.sessionId.startsWith('lg:t1:'))).toHaveLength(1)
    expect(s.threadsInView).toBe(2)
    expect(() => new ChainlogSaver(store, undefined, { maxThreads: 0 })).toThrow(TypeError)
  })

  it('a putWrites regular write lands once per task and index; special channels are replaced', async () => {
    const { s } = await saver()
    const config = await put(s, { configurable: { thread_id: 'w' } }, uuid6(0), 1)
    await s.putWrites(config, [['a', 1], ['b', 2]], 'task')
    await s.putWrites(config, [['a', 99]], 'task')
    await s.putWrites(config, [['__error__', 'first']], 'task')
    await s.putWrites(config, [['__error__', 'second']], 'task')
    expect((await new ChainlogSaver(s.store).getTuple(config))!.pendingWrites).toEqual([
      ['task', '__error__', 'second'],
      ['task', 'a', 1],
      ['task', 'b', 2],
    ])
  })

  it('deleteThread removes the thread with its forks and leaves other threads and the store verifiable', async () => {
    const { store, s } = await saver()
    const c0 = await put(s, { configurable: { thread_id: 'gone' } }, uuid6(0), 1)
    await put(s, c0, uuid6(1), 2)
    await put(s, c0, uuid6(2), 3) // a fork
    await put(s, { configurable: { thread_id: 'kept' } }, uuid6(3), 1)
    expect((await store.listSessions()).filter((x) => x.sessionId.startsWith('lg:gone:'))).toHaveLength(2)
    await s.deleteThread('gone')
    expect((await store.listSessions()).map((x) => x.sessionId)).toEqual([threadSessionId('kept')])
    expect(await s.getTuple({ configurable: { thread_id: 'gone' } })).toBeUndefined()
    expect(await new ChainlogSaver(store).getTuple({ configurable: { thread_id: 'kept' } })).toBeDefined()
    expect((await store.verify()).ok).toBe(true)
  })

  it('thread and namespace ids of any text map to session ids and back', async () => {
    const { s } = await saver()
    const t = { configurable: { thread_id: 'a thread: with/odd ✓ chars', checkpoint_ns: 'parent:1|child:2' } }
    await put(s, t, uuid6(0), 1)
    const listed = await toArray(s.list({ configurable: {} }))
    expect(listed.map((x) => [x.config.configurable?.thread_id, x.config.configurable?.checkpoint_ns])).toEqual([
      ['a thread: with/odd ✓ chars', 'parent:1|child:2'],
    ])
    expect(threadSessionId('a thread: with/odd ✓ chars', 'parent:1|child:2')).toMatch(/^[\x21-\x7e]+$/)
  })
})
