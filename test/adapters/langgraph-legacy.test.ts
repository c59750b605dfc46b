// Stored values: the saver keeps what the serde's dumpsTyped returned (its JSON text as a string)
// and still reads a store written by the earlier saver, which kept the JSON as a CBOR structure
// ({ json }) or as bytes: the fixture langgraph-store-v1/ (make-langgraph-legacy-store.mjs).
import { cp as copyDir, mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemorySaver } from '@langchain/langgraph'
import { emptyCheckpoint, uuid6, type BaseCheckpointSaver, type CheckpointTuple } from '@langchain/langgraph-checkpoint'
import type { RunnableConfig } from '@langchain/core/runnables'
import { afterEach, describe, expect, it } from 'vitest'
import { ChainlogSaver, threadSessionId, type CheckpointData, type WritesData } from '../../src/adapters/langgraph.js'
import { Store } from '../../src/store.js'
import { closeStores, entriesOf, memStoreOpener } from '../support/stores.js'
// @ts-expect-error: a plain .mjs fixture, shared with the script that wrote the store
import { legacyValue, writeLegacyThreads } from './fixtures/langgraph-legacy-thread.mjs'

const FIXTURE = join(import.meta.dirname, 'fixtures', 'langgraph-store-v1')
const opened: Store[] = []
const dirs: string[] = []
const openMem = memStoreOpener(opened)
afterEach(() => closeStores(opened, dirs))

const cfg = (ns: string, id?: string): RunnableConfig => ({ configurable: { thread_id: 'legacy', checkpoint_ns: ns, ...(id ? { checkpoint_id: id } : {}) } })

async function toArray<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

/** A copy of the fixture store, opened (opening writes to it). */
async function openFixture(): Promise<Store> {
  const dir = await mkdtemp(join(tmpdir(), 'chainlog-lg-legacy-'))
  dirs.push(dir)
  await copyDir(FIXTURE, dir, { recursive: true })
  const store = await Store.open({ path: dir, durability: 'relaxed' })
  opened.push(store)
  return store
}

/** What a tuple says, without the parts two savers may word differently (config key order, absent pendingWrites). */
const shape = (t: CheckpointTuple | undefined) =>
  t && { id: t.checkpoint.id, checkpoint: t.checkpoint, metadata: t.metadata, parent: t.parentConfig?.configurable?.checkpoint_id, pendingWrites: t.pendingWrites ?? [] }

async function everything(saver: BaseCheckpointSaver, ids: [string, string][]) {
  const out: unknown[] = []
  for (const ns of ['', 'sub']) {
    out.push(shape(await saver.getTuple(cfg(ns))))
    out.push((await toArray(saver.list(cfg(ns)))).map(shape))
  }
  for (const [ns, id] of ids) out.push(shape(await saver.getTuple(cfg(ns, id))))
  return out
}

describe('ChainlogSaver stored values', () => {
  it('reads a store written by the earlier saver (values as { json } structures and bytes) as MemorySaver returns the same writes', async () => {
    const store = await openFixture()
    // The fixture holds the old shape: the JSON as a structure, and bytes for what it could not hold.
    const cps = (await entriesOf(store, threadSessionId('legacy'))).map((e) => e.entry).filter((e) => e.kind === 'custom' && e.type === 'checkpoint')
    const values = cps.flatMap((e) => Object.values(((e as { data: CheckpointData }).data).values))
    expect(values.some((v) => typeof v === 'object' && 'json' in v)).toBe(true)
    expect(values.some((v) => typeof v === 'object' && 'bytes' in v)).toBe(true)
    expect(values.some((v) => typeof v === 'string')).toBe(false)

    const memory = new MemorySaver()
    const ids: [string, string][] = await writeLegacyThreads(memory, { emptyCheckpoint })
    const expected = await everything(memory, ids)
    // Through the index, and again by a saver that reads the log (no index row cached either way).
    expect(await everything(new ChainlogSaver(store), ids)).toEqual(expected)
    const tuple = await new ChainlogSaver(store).getTuple(cfg('', ids[2]![1]))
    expect(tuple?.checkpoint.channel_values.v).toEqual(legacyValue(2))
    expect(tuple?.pendingWrites?.map(([, ch, v]) => [ch, v])).toEqual([['log', { at: 3, value: legacyValue(3) }], ['step', 3]])
    const raw = await new ChainlogSaver(store).getTuple({ configurable: { thread_id: 'raw', checkpoint_ns: '' } })
    expect(raw?.checkpoint.channel_values).toEqual({ b: legacyValue(3) })
    expect(raw?.pendingWrites).toEqual([['task-raw', 'b', legacyValue(3)]])
    expect((await store.verify()).findings).toEqual([])
  })

  it('continues a thread of the earlier saver: a put and putWrites on its latest checkpoint, old and new checkpoints read back, the store verifies', async () => {
    const store = await openFixture()
    const saver = new ChainlogSaver(store)
    const latest = (await saver.getTuple(cfg('')))!
    await saver.putWrites(latest.config, [['log', { more: [1, 2] }]], 'task-new')
    const id = uuid6(300)
    const checkpoint = { ...latest.checkpoint, id, channel_values: { ...latest.checkpoint.channel_values, v: new Set(['new']) }, channel_versions: { ...latest.checkpoint.channel_versions, v: 11 } }
    const config = await saver.put(latest.config, checkpoint, { source: 'loop', step: 4, parents: {} }, { v: 11 })
    for (const s of [saver, new ChainlogSaver(store)]) {
      const t = await s.getTuple(config)
      // `ctx` is held by the old checkpoint 0 entry, `v` by the new one.
      expect(t?.checkpoint.channel_values).toEqual({ ctx: 'unchanged after step 0', v: new Set(['new']) })
      expect(t?.parentConfig?.configurable?.checkpoint_id).toBe(latest.checkpoint.id)
      const before = await s.getTuple(latest.config)
      expect(before?.checkpoint.channel_values).toEqual(latest.checkpoint.channel_values)
      expect(before?.pendingWrites?.map(([, ch, v]) => [ch, v])).toEqual([...latest.pendingWrites!.map(([, ch, v]) => [ch, v]), ['log', { more: [1, 2] }]])
      expect((await toArray(s.list(cfg('')))).map((x) => x.checkpoint.id)[0]).toBe(id)
    }
    expect((await store.verify()).findings).toEqual([])
  })

  it("keeps the serde's JSON text as a string, bytes as bytes, and what is not valid UTF-8 as the serde's bytes", async () => {
    const store = await openMem()
    const saver = new ChainlogSaver(store)
    const checkpoint = { ...emptyCheckpoint(), id: uuid6(1), channel_values: { a: { x: [1, 'two'] }, b: new Uint8Array([1, 2, 3]), c: JSON.parse('{"__proto__": 1, "s": "\\ud800"}') }, channel_versions: { a: 1, b: 1, c: 1 } }
    const config = await saver.put(cfg(''), checkpoint, { source: 'input', step: -1, parents: {} }, { a: 1, b: 1, c: 1 })
    await saver.putWrites(config, [['a', 'text \ud83e\udd9c']], 'task')
    const entries = (await entriesOf(store, threadSessionId('legacy'))).map((e) => e.entry)
    const cp = (entries.find((e) => e.kind === 'custom' && e.type === 'checkpoint') as { data: CheckpointData }).data
    expect(cp.values.a).toBe('{"x":[1,"two"]}')
    expect(cp.values.b).toEqual({ type: 'bytes', bytes: new Uint8Array([1, 2, 3]) })
    // What the earlier shape could not hold as a structure (a "__proto__" key, a lone surrogate) is text too.
    expect(cp.values.c).toBe('{"__proto__":1,"s":"\\ud800"}')
    expect(typeof cp.metadata).toBe('string')
    expect(JSON.parse(cp.checkpoint as string).id).toBe(checkpoint.id)
    const w = (entries.find((e) => e.kind === 'custom' && e.type === 'writes') as { data: WritesData }).data
    expect(w.writes).toEqual([[0, 'a', '"text 🦜"']])
    const t = await new ChainlogSaver(store).getTuple(config)
    // As the serde reads it back (its reviver drops a "__proto__" key, on any saver).
    expect(t?.checkpoint.channel_values).toEqual({ ...checkpoint.channel_values, c: { s: '\ud800' } })
    expect(t?.pendingWrites).toEqual([['task', 'a', 'text 🦜']])

    // A serde that says `json` but gives bytes that are not UTF-8: kept as its bytes, handed back as they were.
    const raw = new Uint8Array([0xff, 0xfe, 0x00])
    const serde = {
      dumpsTyped: async (v: unknown) => (v === 'raw' ? (['json', raw] as [string, Uint8Array]) : (['json', new TextEncoder().encode(JSON.stringify(v))] as [string, Uint8Array])),
      loadsTyped: async (type: string, data: Uint8Array | string) => (data instanceof Uint8Array && data[0] === 0xff ? 'raw' : JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data))),
    }
    const custom = new ChainlogSaver(store, serde)
    const c2 = { ...emptyCheckpoint(), id: uuid6(2), channel_values: { r: 'raw' }, channel_versions: { r: 1 } }
    const config2 = await custom.put(cfg('other'), c2, { source: 'input', step: -1, parents: {} }, { r: 1 })
    const stored = (await entriesOf(store, threadSessionId('legacy', 'other'))).map((e) => e.entry).find((e) => e.kind === 'custom' && e.type === 'checkpoint') as { data: CheckpointData }
    expect(stored.data.values.r).toEqual({ type: 'json', bytes: raw })
    expect((await new ChainlogSaver(store, serde).getTuple(config2))?.checkpoint.channel_values).toEqual({ r: 'raw' })
    expect((await store.verify()).findings).toEqual([])
  })

  it('keeps a JSON text longer than 1024 UTF-16 units as pieces in the entry (no blob, no read after the entry), a surrogate pair never split', async () => {
    const store = await openMem()
    const saver = new ChainlogSaver(store)
    // '{"s":"' is 6 units: the parrot's high surrogate falls at unit 1023, the end of the first piece.
    const big = { s: 'a'.repeat(1017) + '🦜' + 'b'.repeat(5000) + '🦜'.repeat(1500) }
    const checkpoint = { ...emptyCheckpoint(), id: uuid6(1), channel_values: { big }, channel_versions: { big: 1 } }
    const config = await saver.put(cfg('big'), checkpoint, { source: 'input', step: -1, parents: {} }, { big: 1 })
    const cp = (await entriesOf(store, threadSessionId('legacy', 'big'), false)).map((e) => e.entry).find((e) => e.kind === 'custom' && e.type === 'checkpoint') as { data: CheckpointData }
    const pieces = cp.data.values.big as string[]
    expect(Array.isArray(pieces)).toBe(true)
    expect(pieces.join('')).toBe(JSON.stringify(big))
    expect(pieces[0]).toHaveLength(1023)
    for (const p of pieces) {
      expect(p.length).toBeLessThanOrEqual(1024)
      expect((p as unknown as { isWellFormed(): boolean }).isWellFormed()).toBe(true)
    }
    // Read back by a saver new to the thread: point reads only, no blob read (getMany).
    const engine = store.engine
    let getMany = 0
    const orig = engine.getMany.bind(engine)
    engine.getMany = (ks) => (getMany++, orig(ks))
    expect((await new ChainlogSaver(store).getTuple(config))?.checkpoint.channel_values).toEqual({ big })
    expect(getMany).toBe(0)
  })
})
