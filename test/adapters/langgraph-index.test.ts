// The LangGraph saver's checkpoint index (session index rows of the thread's first session): after
// a reopen, getTuple and list with a limit read a number of store rows that does not grow with the
// thread, and a thread without a usable index is read from the log and indexed by the next write.
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { emptyCheckpoint, uuid6 } from '@langchain/langgraph-checkpoint'
import type { RunnableConfig } from '@langchain/core/runnables'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { ChainlogSaver, threadSessionId } from '../../src/adapters/langgraph.js'
import type { KeyRange, Row } from '../../src/storage/engine.js'
import { Store } from '../../src/store.js'
import { closeStores, memStoreOpener } from '../support/stores.js'

const opened: Store[] = []
const dirs: string[] = []
const openMem = memStoreOpener(opened)
afterEach(() => closeStores(opened, dirs))

const cfg = (thread: string, id?: string): RunnableConfig => ({ configurable: { thread_id: thread, checkpoint_ns: '', ...(id ? { checkpoint_id: id } : {}) } })

/** `steps` supersteps as LangGraph's loop writes them: putWrites on the current checkpoint, then put of the next. */
async function writeThread(saver: ChainlogSaver, thread: string, steps: number, from = 0): Promise<string[]> {
  const ids: string[] = []
  let config = cfg(thread)
  if (from > 0) config = (await saver.getTuple(cfg(thread)))!.config
  for (let i = from; i < from + steps; i++) {
    if (i > 0) await saver.putWrites(config, [['log', `w${i}`], ['step', i]], `task-${i}`)
    const id = uuid6(i)
    const checkpoint = { ...emptyCheckpoint(), id, channel_values: { step: i, context: 'the same every step' }, channel_versions: { step: i + 1, context: 1 } }
    config = await saver.put(config, checkpoint, { source: 'loop', step: i, parents: {} }, i === 0 ? { step: 1, context: 1 } : { step: i + 1 })
    ids.push(id)
  }
  return ids
}

/** Count what the store's engine reads: point reads and rows scanned. */
function countReads(store: Store): { rows: () => number; reset: () => void } {
  const engine = store.engine
  let rows = 0
  const get = engine.get.bind(engine)
  const getMany = engine.getMany.bind(engine)
  const scan = engine.scan.bind(engine)
  engine.get = (k: Uint8Array) => (rows++, get(k))
  const getSync = engine.getSync
  if (getSync) (engine as { getSync?: typeof getSync }).getSync = (k: Uint8Array) => (rows++, getSync(k))
  engine.getMany = (ks: readonly Uint8Array[]) => ((rows += ks.length), getMany(ks))
  engine.scan = async function* (range: KeyRange, chunk?: number, max?: number): AsyncIterable<Row[]> {
    for await (const batch of scan(range, chunk, max)) {
      rows += batch.length
      yield batch
    }
  }
  return { rows: () => rows, reset: () => void (rows = 0) }
}

/** Count the store engine's calls: point reads, batched point reads and range scans. */
function countCalls(store: Store): { get: number; getMany: number; scan: number } {
  const engine = store.engine
  const n = { get: 0, getMany: 0, scan: 0 }
  const get = engine.get
  const getMany = engine.getMany
  const scan = engine.scan
  const getSync = engine.getSync
  // A getSync counts as a point read, as get does.
  if (getSync) (engine as { getSync?: typeof getSync }).getSync = (k: Uint8Array) => (n.get++, getSync(k))
  engine.get = (k: Uint8Array) => (n.get++, get(k))
  engine.getMany = (ks: readonly Uint8Array[]) => (n.getMany++, getMany(ks))
  engine.scan = (range: KeyRange, chunk?: number, max?: number) => (n.scan++, scan(range, chunk, max))
  return n
}

/**
 * A thread of `steps` steps in a store directory, closed; returns the directory and the ids.
 * Built once per length for the file: the tests that take one only reopen it and read, and
 * two of them read the same 2,000 steps.
 */
const threads = new Map<number, Promise<{ dir: string; ids: string[] }>>()
const threadDirs: string[] = []
afterAll(() => closeStores([], threadDirs))
function threadOnDisk(steps: number): Promise<{ dir: string; ids: string[] }> {
  let built = threads.get(steps)
  if (built === undefined) {
    built = (async () => {
      const dir = await mkdtemp(join(tmpdir(), 'chainlog-lg-index-'))
      threadDirs.push(dir)
      const store = await Store.open({ path: dir, durability: 'relaxed' })
      const ids = await writeThread(new ChainlogSaver(store), 't', steps)
      await store.close()
      return { dir, ids }
    })()
    threads.set(steps, built)
  }
  return built
}

async function reopen(dir: string): Promise<{ store: Store; saver: ChainlogSaver; reads: ReturnType<typeof countReads> }> {
  const store = await Store.open({ path: dir, durability: 'relaxed' })
  opened.push(store)
  return { store, saver: new ChainlogSaver(store), reads: countReads(store) }
}

describe('ChainlogSaver index', () => {
  it('getTuple after reopening reads as many rows at 2,000 steps as at 100 (latest, and any checkpoint by id)', async () => {
    const counts: { latest: number; byId: number; list10: number }[] = []
    for (const steps of [100, 2000]) {
      const { dir, ids } = await threadOnDisk(steps)
      let r = await reopen(dir)
      const latest = await r.saver.getTuple(cfg('t'))
      expect(latest?.checkpoint.id).toBe(ids[ids.length - 1])
      expect(latest?.checkpoint.channel_values).toEqual({ step: steps - 1, context: 'the same every step' })
      const latestRows = r.reads.rows()
      await r.store.close()
      opened.pop()

      r = await reopen(dir)
      const i = Math.floor(steps / 2)
      const mid = await r.saver.getTuple(cfg('t', ids[i]))
      expect(mid?.checkpoint.channel_values).toEqual({ step: i, context: 'the same every step' })
      expect(mid?.parentConfig?.configurable?.checkpoint_id).toBe(ids[i - 1])
      expect(mid?.pendingWrites?.map(([, ch, v]) => [ch, v])).toEqual([['log', `w${i + 1}`], ['step', i + 1]])
      const byIdRows = r.reads.rows()
      await r.store.close()
      opened.pop()

      r = await reopen(dir)
      const page: string[] = []
      for await (const t of r.saver.list(cfg('t'), { limit: 10 })) page.push(t.checkpoint.id)
      expect(page).toEqual(ids.slice(-10).reverse())
      counts.push({ latest: latestRows, byId: byIdRows, list10: r.reads.rows() })
    }
    const [small, large] = counts as [(typeof counts)[0], (typeof counts)[0]]
    expect(large.latest).toBe(small.latest)
    expect(large.byId).toBe(small.byId)
    expect(large.list10).toBe(small.list10)
    // Rows: the thread row, the head, the checkpoint's row and entry (with the next entry, whose
    // prev is its hash), its writes, the entry holding the unchanged channel.
    expect(large.latest).toBeLessThanOrEqual(12)
    expect(large.byId).toBeLessThanOrEqual(12)
    // Ten checkpoints: about three rows each, not the thread.
    expect(large.list10).toBeLessThanOrEqual(10 * 4 + 10)
  }, 60_000)

  it('getTuple of a checkpoint by id after reopening: its index row and its entries by point reads, no range scan', async () => {
    const { dir, ids } = await threadOnDisk(2000)
    const { saver, store } = await reopen(dir)
    await saver.getTuple(cfg('t'))
    const calls = countCalls(store)
    for (const i of [1000, 1001, 7, 1500]) {
      const t = await saver.getTuple(cfg('t', ids[i]))
      expect(t?.checkpoint.channel_values).toEqual({ step: i, context: 'the same every step' })
      expect(t?.pendingWrites?.map(([, , v]) => v)).toEqual([`w${i + 1}`, i + 1])
    }
    // Each: its `c:` row, then its entry, its writes entry and the entry after it (whose prev is
    // the writes entry's hash), by point reads (getSync on LevelDB: no thread-pool round trip);
    // the entry holding the unchanged context channel was read with the latest, and is cached.
    expect(calls).toEqual({ get: 4 * (1 + 3), getMany: 0, scan: 0 })
  }, 60_000)

  it('list of a whole thread after reopening reads each checkpoint and its writes once, a page of 128 at a time, with no point read per checkpoint', async () => {
    const { dir, ids } = await threadOnDisk(1000)
    const { saver, store, reads } = await reopen(dir)
    const calls = countCalls(store)
    const got: string[] = []
    for await (const t of saver.list(cfg('t'))) {
      got.push(t.checkpoint.id)
      expect(t.checkpoint.channel_values).toEqual({ step: ids.length - got.length, context: 'the same every step' })
    }
    expect(got).toEqual([...ids].reverse())
    // Per checkpoint: its `c:` row, its entry and its writes entry; per page of 128, two range scans.
    expect(reads.rows()).toBeLessThanOrEqual(3 * 1000 + 50)
    expect(calls.scan).toBeLessThanOrEqual(2 * Math.ceil(1000 / 128) + 2)
    expect(calls.get + calls.getMany).toBeLessThanOrEqual(10)
    // The entry holding `context` (the thread's first checkpoint) is far from the first page: it is
    // read by a point read on the side, and the page's dense run still by one range read.
    expect(calls.getMany).toBe(0)
  }, 60_000)

  it('list with a limit and before reads the page it returns, newest first, with the right pending writes', async () => {
    const store = await openMem()
    const ids = await writeThread(new ChainlogSaver(store), 'p', 300)
    const reads = countReads(store)
    const saver = new ChainlogSaver(store)
    const got: { id: string; writes: unknown[] }[] = []
    for await (const t of saver.list(cfg('p'), { limit: 5, before: cfg('p', ids[200]) })) got.push({ id: t.checkpoint.id, writes: t.pendingWrites!.map(([, , v]) => v) })
    expect(got.map((g) => g.id)).toEqual(ids.slice(195, 200).reverse())
    expect(got[0]!.writes).toEqual(['w200', 200])
    expect(reads.rows()).toBeLessThanOrEqual(5 * 4 + 10)
  })

  it('list with a filter and a limit stops reading once the limit is met: the page it came from and the one read ahead, not the thread', async () => {
    const store = await openMem()
    const ids = await writeThread(new ChainlogSaver(store), 'f', 1000)
    const reads = countReads(store)
    const got: string[] = []
    for await (const t of new ChainlogSaver(store).list(cfg('f'), { filter: { source: 'loop' }, limit: 3 })) got.push(t.checkpoint.id)
    expect(got).toEqual(ids.slice(-3).reverse())
    // Two pages of 128 at most: a `c:` row, a checkpoint entry, a writes entry and the entries after them.
    expect(reads.rows()).toBeLessThanOrEqual(2 * 128 * 5)
  }, 60_000)

  it('a thread whose log moved past its index (a write not through the saver) is read from the log, then indexed again by the next put', async () => {
    const store = await openMem()
    const ids = await writeThread(new ChainlogSaver(store), 'x', 50)
    // Something else appends to the thread's session: the index no longer matches its head.
    await store.appendCustom(threadSessionId('x'), 'someone.else', 'note', { hello: 1 })
    const saver = new ChainlogSaver(store)
    const all: string[] = []
    for await (const t of saver.list(cfg('x'))) all.push(t.checkpoint.id)
    expect(all).toEqual([...ids].reverse())
    expect((await saver.getTuple(cfg('x', ids[10])))?.pendingWrites).toHaveLength(2)
    // The next put writes the whole index in its commit; a saver new to the thread reads through it.
    const more = await writeThread(saver, 'x', 1, 50)
    const reads = countReads(store)
    const fresh = new ChainlogSaver(store)
    expect((await fresh.getTuple(cfg('x')))?.checkpoint.id).toBe(more[0])
    const t10 = await fresh.getTuple(cfg('x', ids[10]))
    expect(t10?.checkpoint.channel_values).toEqual({ step: 10, context: 'the same every step' })
    expect(t10?.pendingWrites?.map(([, , v]) => v)).toEqual(['w11', 11])
    expect(reads.rows()).toBeLessThanOrEqual(24)
    expect((await store.verify()).ok).toBe(true)
  })

  it('pending writes to a checkpoint put later, and to a checkpoint of an earlier session, are found after reopening', async () => {
    const store = await openMem()
    const a = new ChainlogSaver(store)
    const ids = await writeThread(a, 'f', 5)
    // Writes for an id no checkpoint has yet, then that checkpoint.
    const early = uuid6(100)
    await a.putWrites(cfg('f', early), [['log', 'before its put']], 'task-early')
    // Time travel: a put from checkpoint 1 continues in a fork; then writes land on checkpoint 3 (in the first session).
    await a.put(cfg('f', ids[1]), { ...emptyCheckpoint(), id: early, channel_values: { step: 99 }, channel_versions: { step: 99 } }, { source: 'update', step: 99, parents: {} }, { step: 99 })
    await a.putWrites(cfg('f', ids[3]), [['log', 'late']], 'task-late')
    const b = new ChainlogSaver(store)
    const e = await b.getTuple(cfg('f', early))
    expect(e?.pendingWrites?.map(([, , v]) => v)).toEqual(['before its put'])
    expect(e?.parentConfig?.configurable?.checkpoint_id).toBe(ids[1])
    const t3 = await b.getTuple(cfg('f', ids[3]))
    expect(t3?.pendingWrites?.map(([, , v]) => v)).toEqual(['w4', 4, 'late'])
    expect((await b.getTuple(cfg('f')))?.checkpoint.id).toBe(early)
    const listed: string[] = []
    for await (const t of new ChainlogSaver(store).list(cfg('f'), { limit: 3 })) listed.push(t.checkpoint.id)
    expect(listed).toEqual([early, ids[4], ids[3]])
  })

  it('a saver whose thread another saver deleted writes again from nothing (its first try without a head read is refused, not trusted)', async () => {
    const store = await openMem()
    const a = new ChainlogSaver(store)
    const ids = await writeThread(a, 'd', 3)
    await a.putWrites(cfg('d', ids[2]), [['log', 'once']], 'task-x')
    await new ChainlogSaver(store).deleteThread('d')
    // The same write again: the deleted thread no longer has it, so it lands.
    await a.putWrites(cfg('d', ids[2]), [['log', 'once']], 'task-x')
    const next = uuid6(50)
    await a.put(cfg('d', ids[2]), { ...emptyCheckpoint(), id: next, channel_values: { step: 50 }, channel_versions: { step: 50 } }, { source: 'loop', step: 50, parents: {} }, { step: 50 })
    const b = new ChainlogSaver(store)
    expect((await b.getTuple(cfg('d', ids[2])))).toBeUndefined()
    const t = await b.getTuple(cfg('d'))
    expect(t?.checkpoint.id).toBe(next)
    const all: string[] = []
    for await (const x of b.list(cfg('d'))) all.push(x.checkpoint.id)
    expect(all).toEqual([next])
    expect((await store.verify()).ok).toBe(true)
  })
})
