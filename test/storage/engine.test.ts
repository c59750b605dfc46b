// The storage-engine contract (engine-contract.ts) on LevelEngine over memory-level and
// classic-level, and what only LevelEngine can show: the sync flag of its batches, and a failed
// batch failing every commit it carried.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { MemoryLevel } from 'memory-level'
import { describe, expect, it } from 'vitest'
import { PreconditionFailed } from '../../src/storage/engine.js'
import { LevelEngine } from '../../src/storage/level-engine.js'
import { engineContract } from './engine-contract.js'

const BIN = { keyEncoding: 'view', valueEncoding: 'view' } as const
const k = (s: string) => new TextEncoder().encode(s)

engineContract('memory-level', async () => {
  const engine = new LevelEngine(new MemoryLevel(BIN))
  return { engine, batches: () => engine.stats.batches, cleanup: () => engine.close() }
})

engineContract('classic-level', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'chainlog-engine-'))
  const db = new ClassicLevel(dir, BIN)
  await db.open()
  const engine = new LevelEngine(db as never)
  return {
    engine,
    batches: () => engine.stats.batches,
    cleanup: async () => {
      await engine.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
})

describe('LevelEngine', () => {
  it('reads a precondition row once, then knows it from its own writes, until forget()', async () => {
    const db = new MemoryLevel(BIN)
    await db.open() // a deferred open would replay the first read through the counter
    const engine = new LevelEngine(db)
    let reads = 0
    const getMany = db.getMany.bind(db)
    db.getMany = ((keys: Uint8Array[], o: unknown) => ((reads += keys.length), getMany(keys, o as never))) as typeof db.getMany
    let head: Uint8Array | undefined
    for (let i = 0; i < 20; i++) {
      const next = k(`h${i}`)
      await engine.commit({ ops: [{ type: 'put', key: k('head'), value: next }], expect: [{ key: k('head'), value: head }] })
      head = next
    }
    expect(reads).toBe(1)
    // A write behind the engine's back, then forget(): the next check reads the row again and sees it.
    await db.put(k("head") as never, k("moved") as never)
    engine.forget()
    await expect(engine.commit({ ops: [], expect: [{ key: k('head'), value: head }] })).rejects.toBeInstanceOf(PreconditionFailed)
    expect(reads).toBe(2)
    await engine.close()
  })

  it('fsyncs a batch when any commit it carries asks for sync, and only then', async () => {
    const db = new MemoryLevel(BIN)
    const seen: boolean[] = []
    const batch = db.batch.bind(db)
    ;(db as unknown as { batch: unknown }).batch = (ops: never, o: { sync?: boolean }) => {
      seen.push(o?.sync === true)
      return batch(ops, o as never)
    }
    const engine = new LevelEngine(db)
    await engine.commit({ ops: [{ type: 'put', key: k('a'), value: k('1') }] })
    await engine.commit({ ops: [{ type: 'put', key: k('b'), value: k('1') }], sync: true })
    expect(seen).toEqual([false, true])
    expect(engine.stats).toMatchObject({ batches: 2, syncedBatches: 1 })
    await engine.close()
  })

  it('a batch that fails fails every commit it carried, and none of them is visible', async () => {
    const db = new MemoryLevel(BIN)
    const engine = new LevelEngine(db)
    await engine.commit({ ops: [{ type: 'put', key: k('head'), value: k('h0') }] })
    const batch = db.batch.bind(db)
    let fail = true
    ;(db as unknown as { batch: unknown }).batch = (ops: never, o: never) => (fail ? Promise.reject(new Error('disk gone')) : batch(ops, o))
    const results = await Promise.allSettled([
      engine.commit({ ops: [{ type: 'put', key: k('x'), value: k('1') }] }),
      engine.commit({ ops: [{ type: 'put', key: k('y'), value: k('1') }] }),
    ])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    fail = false
    expect(await engine.get(k('x'))).toBeUndefined()
    expect(await engine.get(k('y'))).toBeUndefined()
    // The engine carries on: a commit expecting the old head lands.
    await engine.commit({ ops: [{ type: 'put', key: k('head'), value: k('h1') }], expect: [{ key: k('head'), value: k('h0') }] })
    expect(new TextDecoder().decode(await engine.get(k('head')))).toBe('h1')
    await engine.close()
  })

  it('close lets queued commits land first', async () => {
    const engine = new LevelEngine(new MemoryLevel(BIN))
    const pending = Array.from({ length: 10 }, (_, i) => engine.commit({ ops: [{ type: 'put', key: k(`c${i}`), value: k('1') }] }))
    const db = engine.db
    const got: unknown[] = []
    const closing = engine.close()
    await Promise.all(pending)
    await closing
    expect(db.status).toBe('closed')
    got.push(...(await Promise.allSettled(pending)).map((r) => r.status))
    expect(got).toEqual(Array(10).fill('fulfilled'))
  })

  it('a scan with a limit stops there: no read past it (a bounded session read is one nextv)', async () => {
    const engine = new LevelEngine(new MemoryLevel(BIN))
    await engine.commit({ ops: Array.from({ length: 20 }, (_, i) => ({ type: 'put' as const, key: k(`r${String(i).padStart(2, '0')}`), value: k('v') })) })
    const db = engine.db as unknown as { iterator: (o: unknown) => { nextv: (n: number) => Promise<unknown[]> } }
    const iterator = db.iterator.bind(db)
    const asked: number[] = []
    db.iterator = (o) => {
      const it = iterator(o)
      const nextv = it.nextv.bind(it)
      it.nextv = (n) => (asked.push(n), nextv(n))
      return it
    }
    const read = async (limit: number | undefined, chunk: number) => {
      asked.length = 0
      let rows = 0
      for await (const c of engine.scan({ gte: k('r05'), lt: k('r99'), ...(limit !== undefined ? { limit } : {}) }, chunk, 64)) rows += c.length
      return rows
    }
    expect(await read(5, 256)).toBe(5)
    expect(asked).toEqual([5])
    expect(await read(7, 4)).toBe(7)
    expect(asked).toEqual([4, 3])
    // Without a limit the scan learns the end from an empty read.
    expect(await read(undefined, 256)).toBe(15)
    expect(asked).toEqual([256, 64])
    await engine.close()
  })
})
