// Verify on worker threads (src/verify/verify-threads.ts): the compiled library (dist/, built by
// the global setup) runs the per-record checks on worker threads; the report must be the same,
// finding for finding, as the one made in the main thread, on a sound store and on a damaged one.
import { MemoryLevel } from 'memory-level'
import { afterAll, describe, expect, it } from 'vitest'

const DIST = new URL('../../dist/', import.meta.url)
const { openStore } = (await import(new URL('index.js', DIST).href)) as typeof import('../../src/index.js')
const { recordChecker } = (await import(new URL('verify/verify-threads.js', DIST).href)) as typeof import('../../src/verify/verify-threads.js')
const K = (await import(new URL('storage/keys.js', DIST).href)) as typeof import('../../src/storage/keys.js')

const BIN = { keyEncoding: 'view', valueEncoding: 'view' } as const
const TS = 1_700_000_000_000
const stores: { close(): Promise<void> }[] = []
afterAll(async () => {
  for (const s of stores) await s.close()
})

async function world() {
  const store = await openStore({ db: new MemoryLevel(BIN), durability: 'relaxed' })
  stores.push(store)
  for (let s = 0; s < 6; s++) {
    const { sessionId } = await store.createSession({ sessionId: `s${s}`, ts: TS })
    for (let t = 0; t < 40; t++) {
      await store.appendTurn(
        sessionId,
        [
          { role: 'user', content: `q${t}` },
          { type: 'function_call_output', call_id: `c${t}`, output: t % 7 === 0 ? 'big '.repeat(2000) : `out ${t}` },
          { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: `a${t}` }] },
        ],
        { ts: TS + t, turnEnd: true },
      )
    }
  }
  await store.forkAt((await store.getEntry(await store.head('s1'))).hash, { sessionId: 'f1', ts: TS })
  return store
}

describe('verify on worker threads', () => {
  it('really runs on worker threads from the compiled library', async () => {
    const checker = recordChecker(2)
    try {
      expect(checker.threads).toBe(2)
    } finally {
      await checker.close()
    }
  })

  it('gives the same report as the main thread, on a sound store and a damaged one', async () => {
    const store = await world()
    const sound = await store.verify({ threads: 0 })
    expect(sound.ok).toBe(true)
    expect(await store.verify({ threads: 2 })).toEqual(sound)
    // Damage: a flipped byte, a deleted record, a non-canonical record, a moved head.
    const db = store.db
    const r1 = (await db.get(K.recordKey('s2', 5), BIN)) as Uint8Array
    r1[r1.length - 3]! ^= 0x10
    await db.put(K.recordKey('s2', 5), r1, BIN)
    await db.del(K.recordKey('s3', 9), BIN)
    const r4 = (await db.get(K.recordKey('s4', 2), BIN)) as Uint8Array
    await db.put(K.recordKey('s4', 2), Uint8Array.of(...r4, 0x00), BIN) // trailing byte: not canonical
    const head = K.parseHeadValue((await db.get(K.headKey('s5'), BIN)) as Uint8Array)
    await db.put(K.headKey('s5'), K.headValue(head.hash, head.seq - 1), BIN)
    store.invalidate()
    const main = await store.verify({ threads: 0 })
    expect(main.ok).toBe(false)
    expect(new Set(main.findings.map((f) => f.code))).toEqual(new Set(['hash_mismatch', 'seq_gap', 'index_mismatch', 'non_canonical', 'head_mismatch']))
    expect(await store.verify({ threads: 2 })).toEqual(main)
    expect(await store.verify()).toEqual(main)
  })

  it('refuses a thread count that is not a small non-negative integer', async () => {
    const store = await world()
    for (const threads of [-1, 1.5, 65, Number.NaN]) {
      await expect(store.verify({ threads })).rejects.toMatchObject({ code: 'CHAINLOG_INVALID_ARGUMENT' })
    }
  })
})
