// The storage-engine contract suite (src/storage/engine.ts): one set of tests that every engine
// must pass, run by engine.test.ts on memory-level and classic-level and by pg-engine.test.ts on
// PostgreSQL. An engine gives point reads, ordered range reads and atomic commits whose
// preconditions it checks in the same step as the write.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { PRESENT, PreconditionFailed, type Row, type StorageEngine } from '../../src/storage/engine.js'

export interface EngineHandle {
  engine: StorageEngine
  /** Batches (transactions) the engine wrote, for the group-commit test; undefined if it cannot say. */
  batches(): number | undefined
  cleanup(): Promise<void>
}

const k = (s: string) => new TextEncoder().encode(s)
const v = (s: string) => new TextEncoder().encode(s)
const str = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b))

async function all(it: AsyncIterable<Row[]>): Promise<string[]> {
  const out: string[] = []
  for await (const rows of it) for (const [key, value] of rows) out.push(`${str(key)}=${str(value)}`)
  return out
}

async function refusal(p: Promise<unknown>): Promise<PreconditionFailed> {
  try {
    await p
  } catch (err) {
    expect(err).toBeInstanceOf(PreconditionFailed)
    return err as PreconditionFailed
  }
  throw new Error('the commit was not refused')
}

export function engineContract(name: string, open: () => Promise<EngineHandle>): void {
  describe(`storage engine contract: ${name}`, () => {
    let h: EngineHandle
    let e: StorageEngine
    beforeEach(async () => {
      h = await open()
      e = h.engine
    })
    afterEach(async () => {
      await h.cleanup()
    })

    it('reads back what a commit wrote; a missing row reads as undefined', async () => {
      await e.commit({ ops: [{ type: 'put', key: k('a'), value: v('1') }, { type: 'put', key: k('b'), value: v('2') }] })
      expect(str(await e.get(k('a')))).toBe('1')
      expect(await e.get(k('zz'))).toBeUndefined()
      expect((await e.getMany([k('b'), k('zz'), k('a')])).map(str)).toEqual(['2', undefined, '1'])
      await e.commit({ ops: [{ type: 'del', key: k('a') }] })
      expect(await e.get(k('a'))).toBeUndefined()
    })

    it('getSync, where the engine has it, reads what get reads, as soon as a commit is acknowledged', async () => {
      const getSync = e.getSync
      if (!getSync) return expect(e.getSync).toBeUndefined()
      for (let i = 0; i < 20; i++) {
        await e.commit({ ops: [{ type: 'put', key: k(`s${i}`), value: v(`${i}`) }, ...(i > 0 ? [{ type: 'del' as const, key: k(`s${i - 1}`) }] : [])] })
        expect(str(getSync(k(`s${i}`)))).toBe(`${i}`)
        if (i > 0) expect(getSync(k(`s${i - 1}`))).toBeUndefined()
      }
      expect(getSync(k('zz'))).toBeUndefined()
    })

    it('scans a range in key order, reversed, limited and in chunks', async () => {
      const keys = ['s/00', 's/01', 's/02', 's/03', 's/04', 't/00', 'r/99']
      await e.commit({ ops: keys.map((x) => ({ type: 'put' as const, key: k(x), value: v(x.toUpperCase()) })) })
      const range = { gte: k('s/'), lt: k('s0') } // '0' follows '/': exactly the s/ rows
      expect(await all(e.scan(range))).toEqual(['s/00=S/00', 's/01=S/01', 's/02=S/02', 's/03=S/03', 's/04=S/04'])
      expect(await all(e.scan({ ...range, reverse: true, limit: 2 }))).toEqual(['s/04=S/04', 's/03=S/03'])
      const chunks: number[] = []
      for await (const rows of e.scan(range, 2)) chunks.push(rows.length)
      expect(chunks).toEqual([2, 2, 1])
      expect(await all(e.scan({ gte: k('u'), lt: k('v') }))).toEqual([])
    })

    it('applies the ops of one commit in order: a put after a delete of the same key wins, and the reverse', async () => {
      await e.commit({ ops: [{ type: 'put', key: k('x'), value: v('old') }, { type: 'put', key: k('y'), value: v('old') }] })
      // A re-root deletes a session's rows and puts new ones under some of the same keys in one commit.
      await e.commit({
        ops: [
          { type: 'del', key: k('x') },
          { type: 'put', key: k('x'), value: v('new') },
          { type: 'put', key: k('y'), value: v('new') },
          { type: 'del', key: k('y') },
        ],
      })
      expect(str(await e.get(k('x')))).toBe('new')
      expect(await e.get(k('y'))).toBeUndefined()
    })

    it('scans with growing chunks: the first of at most `chunk` rows, later ones up to `maxChunk`', async () => {
      const keys = Array.from({ length: 40 }, (_, i) => `g/${String(i).padStart(2, '0')}`)
      await e.commit({ ops: keys.map((x) => ({ type: 'put' as const, key: k(x), value: v(x) })) })
      const sizes: number[] = []
      const seen: string[] = []
      for await (const rows of e.scan({ gte: k('g/'), lt: k('g0') }, 4, 16)) {
        sizes.push(rows.length)
        for (const [key] of rows) seen.push(str(key)!)
      }
      expect(seen).toEqual(keys)
      expect(sizes[0]).toBeLessThanOrEqual(4)
      expect(Math.max(...sizes)).toBeLessThanOrEqual(16)
    })

    it('keys are bytes in unsigned bytewise order (0x00 first, 0xff last, a prefix before its extensions); values come back exactly', async () => {
      const bytes = [[0xff, 0xff], [0x00], [0x7f], [0x80], [0x00, 0x00], [0xff], [0x01], [0x00, 0xff], [0xff, 0x00], [0x61], [0x61, 0x00], [0x60, 0xff, 0xff]]
      const keys = bytes.map((b) => Uint8Array.from(b))
      const every = Uint8Array.from({ length: 256 }, (_, i) => i)
      await e.commit({ ops: keys.map((key, i) => ({ type: 'put' as const, key, value: i === 0 ? every : i === 1 ? new Uint8Array(0) : Uint8Array.of(0, i, 0xff) })) })
      const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
      const order = async (range: Parameters<StorageEngine['scan']>[0], chunk?: number) => {
        const out: string[] = []
        for await (const rows of e.scan(range, chunk)) for (const [key] of rows) out.push(hex(key))
        return out
      }
      const all = { gte: Uint8Array.of(0x00), lt: Uint8Array.of(0xff, 0xff, 0xff) }
      expect(await order(all, 3)).toEqual(['00', '0000', '00ff', '01', '60ffff', '61', '6100', '7f', '80', 'ff', 'ff00', 'ffff'])
      expect(await order({ ...all, reverse: true, limit: 4 }, 3)).toEqual(['ffff', 'ff00', 'ff', '80'])
      expect(await order({ gte: Uint8Array.of(0x00), lt: Uint8Array.of(0x01) })).toEqual(['00', '0000', '00ff'])
      expect(await order({ gte: Uint8Array.of(0xff), lt: Uint8Array.of(0xff, 0x00) })).toEqual(['ff'])
      expect(await order({ gte: Uint8Array.of(0x61), lt: Uint8Array.of(0x61) })).toEqual([])
      expect(await order({ gte: Uint8Array.of(0x80), lt: Uint8Array.of(0x7f) })).toEqual([])
      expect(hex((await e.get(Uint8Array.of(0xff, 0xff)))!)).toBe(hex(every))
      expect((await e.get(Uint8Array.of(0x00)))!.length).toBe(0)
      expect((await e.getMany([Uint8Array.of(0x00, 0xff), Uint8Array.of(0x00, 0x01)])).map((v) => (v === undefined ? v : hex(v)))).toEqual(['0007ff', undefined])
    })

    it('a commit whose precondition fails writes nothing and says which row held what', async () => {
      await e.commit({ ops: [{ type: 'put', key: k('head'), value: v('h1') }] })
      const err = await refusal(
        e.commit({
          ops: [{ type: 'put', key: k('head'), value: v('h3') }, { type: 'put', key: k('row'), value: v('x') }],
          expect: [{ key: k('other'), value: undefined }, { key: k('head'), value: v('h2') }],
        }),
      )
      expect(err.index).toBe(1)
      expect(str(err.key)).toBe('head')
      expect(str(err.actual)).toBe('h1')
      expect(str(await e.get(k('head')))).toBe('h1')
      expect(await e.get(k('row'))).toBeUndefined()
      // "Absent" is a precondition too.
      const err2 = await refusal(e.commit({ ops: [{ type: 'put', key: k('head'), value: v('h9') }], expect: [{ key: k('head'), value: undefined }] }))
      expect(str(err2.actual)).toBe('h1')
      await e.commit({ ops: [{ type: 'put', key: k('head'), value: v('h2') }], expect: [{ key: k('head'), value: v('h1') }] })
      expect(str(await e.get(k('head')))).toBe('h2')
    })

    it('PRESENT: a row that must be there, whatever it holds (also an empty value); absent refuses, with nothing written', async () => {
      await e.commit({ ops: [{ type: 'put', key: k('blob'), value: v('any bytes') }, { type: 'put', key: k('empty'), value: new Uint8Array(0) }] })
      await e.commit({ ops: [{ type: 'put', key: k('use/1'), value: v('1') }], expect: [{ key: k('blob'), value: PRESENT }, { key: k('empty'), value: PRESENT }, { key: k('mark'), value: undefined }] })
      expect(str(await e.get(k('use/1')))).toBe('1')
      const err = await refusal(e.commit({ ops: [{ type: 'put', key: k('use/2'), value: v('2') }], expect: [{ key: k('blob'), value: PRESENT }, { key: k('gone'), value: PRESENT }] }))
      expect(err.index).toBe(1)
      expect(err.actual).toBeUndefined()
      expect(await e.get(k('use/2'))).toBeUndefined()
      // In one group: a commit that deletes the row before one that expects it present refuses the second only.
      const [del, use] = await Promise.allSettled([
        e.commit({ ops: [{ type: 'del', key: k('blob') }], expect: [{ key: k('blob'), value: v('any bytes') }] }),
        e.commit({ ops: [{ type: 'put', key: k('use/3'), value: v('3') }], expect: [{ key: k('blob'), value: PRESENT }] }),
      ])
      expect(del.status).toBe('fulfilled')
      expect(use.status).toBe('rejected')
      expect(await e.get(k('use/3'))).toBeUndefined()
    })

    it('of many racing commits expecting the same head, exactly one lands', async () => {
      await e.commit({ ops: [{ type: 'put', key: k('head'), value: v('h0') }] })
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) =>
          e.commit({ ops: [{ type: 'put', key: k('head'), value: v(`w${i}`) }, { type: 'put', key: k(`entry/${i}`), value: v('e') }], expect: [{ key: k('head'), value: v('h0') }] }),
        ),
      )
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []))
      expect(won).toHaveLength(1)
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(PreconditionFailed)
      expect(str(await e.get(k('head')))).toBe(`w${won[0]}`)
      expect(await all(e.scan({ gte: k('entry/'), lt: k('entry0') }))).toEqual([`entry/${won[0]}=e`])
    })

    it('racing commits that each expect the one before them all land, in the order made', async () => {
      await e.commit({ ops: [{ type: 'put', key: k('head'), value: v('0') }] })
      const n = 40
      await Promise.all(Array.from({ length: n }, (_, i) => e.commit({ ops: [{ type: 'put', key: k('head'), value: v(String(i + 1)) }], expect: [{ key: k('head'), value: v(String(i)) }] })))
      expect(str(await e.get(k('head')))).toBe(String(n))
    })

    it('commits made at the same time share transactions (group commit), each still all or nothing', async () => {
      const before = h.batches()
      await Promise.all(Array.from({ length: 64 }, (_, i) => e.commit({ ops: [{ type: 'put', key: k(`g/${String(i).padStart(2, '0')}`), value: v('x') }], sync: i % 2 === 0 })))
      expect(await all(e.scan({ gte: k('g/'), lt: k('g0') }))).toHaveLength(64)
      const after = h.batches()
      if (before !== undefined && after !== undefined) expect(after - before).toBeLessThan(64)
    })
  })
}
