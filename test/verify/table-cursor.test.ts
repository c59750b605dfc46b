// The cursor a whole-store verify merges the P, M and T tables with (src/verify/table-cursor.ts):
// rows are taken in key order up to a bound, at most `max` at a time, and a request behind rows
// already taken is refused (canServe), so that the caller reads the engine instead.
import { MemoryLevel } from 'memory-level'
import { describe, expect, it } from 'vitest'
import { LevelEngine } from '../../src/storage/level-engine.js'
import { TableCursor, keyAfter } from '../../src/verify/table-cursor.js'

const BIN = { keyEncoding: 'view', valueEncoding: 'view' } as const
const k = (s: string) => new TextEncoder().encode(s)
const text = (b: Uint8Array) => new TextDecoder().decode(b)

async function engineWith(keys: string[]): Promise<LevelEngine> {
  const engine = new LevelEngine(new MemoryLevel(BIN))
  await engine.commit({ ops: keys.map((key) => ({ type: 'put' as const, key: k(key), value: k(`v-${key}`) })) })
  return engine
}

describe('TableCursor', () => {
  it('takes rows in key order up to each bound, across chunks, and refuses requests behind it', async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `t${String(i).padStart(2, '0')}`)
    const engine = await engineWith([...keys, 'u-other-table'])
    const cursor = new TableCursor(engine, { gte: k('t'), lt: k('u') }, 3, 7)
    const seen: string[] = []
    expect(await cursor.take(k('t05'), ([key]) => seen.push(text(key)))).toBe(false)
    expect(seen).toEqual(keys.slice(0, 5))
    expect(cursor.canServe(k('t04'))).toBe(false)
    expect(cursor.canServe(k('t05'))).toBe(true)
    // Exactly one row: [t05, t05 ‖ 0x00).
    const one: string[] = []
    await cursor.take(keyAfter(k('t05')), ([, v]) => one.push(text(v)))
    expect(one).toEqual(['v-t05'])
    expect(cursor.canServe(k('t05'))).toBe(false)
    // At most 10 at a time: true while rows before the bound are left.
    const batches: number[] = []
    for (let more = true; more; ) {
      let n = 0
      more = await cursor.take(k('t33'), () => n++, 10)
      batches.push(n)
    }
    expect(batches).toEqual([10, 10, 7])
    expect(cursor.canServe(k('t32'))).toBe(false)
    const rest: string[] = []
    await cursor.take(undefined, ([key]) => rest.push(text(key)))
    expect(rest).toEqual(keys.slice(33))
    expect(cursor.canServe(k('zzz'))).toBe(false)
    await cursor.close()
    await engine.close()
  })

  it('closes without reading further when closed early', async () => {
    const engine = await engineWith(Array.from({ length: 100 }, (_, i) => `t${String(i).padStart(3, '0')}`))
    const cursor = new TableCursor(engine, { gte: k('t'), lt: k('u') }, 4)
    let n = 0
    await cursor.take(k('t002'), () => n++)
    expect(n).toBe(2)
    await cursor.close()
    await engine.close()
  })
})
