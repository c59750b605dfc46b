// Verify on worker threads (src/verify/verify-threads.ts): the compiled library (dist/, built by
// the global setup) runs the per-record checks on worker threads; the report must be the same,
// finding for finding, as the one made in the main thread, on a sound store and on a damaged one.
import { describe, expect, it } from 'vitest'
import { eachEngine, type EngineTools } from '../support/engines.js'
import type { Store } from '../../src/store.js'

const DIST = new URL('../../dist/', import.meta.url)
const { openStore } = (await import(new URL('index.js', DIST).href)) as typeof import('../../src/index.js')
const { recordChecker } = (await import(new URL('verify/verify-threads.js', DIST).href)) as typeof import('../../src/verify/verify-threads.js')
const K = (await import(new URL('storage/keys.js', DIST).href)) as typeof import('../../src/storage/keys.js')

const TS = 1_700_000_000_000

async function world(tools: EngineTools) {
  // A store directory is opened held by this process (exclusive), as a Store and not a shared client.
  const store = (await openStore({ ...(await tools.where()), exclusive: true, durability: 'relaxed' } as never)) as Store
  tools.track(store)
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

eachEngine((_engine, _open, tools) => {
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
      const store = await world(tools)
      const sound = await store.verify({ threads: 0 })
      expect(sound.ok).toBe(true)
      expect(await store.verify({ threads: 2 })).toEqual(sound)
      // Damage: a flipped byte, a deleted record, a non-canonical record, a moved head.
      // Through the engine, as a tool with the database would.
      const engine = store.engine
      const r1 = Uint8Array.from((await engine.get(K.recordKey('s2', 5)))!)
      r1[r1.length - 3]! ^= 0x10
      const r4 = (await engine.get(K.recordKey('s4', 2)))!
      const head = K.parseHeadValue((await engine.get(K.headKey('s5')))!)
      await engine.commit({
        ops: [
          { type: 'put', key: K.recordKey('s2', 5), value: r1 },
          { type: 'del', key: K.recordKey('s3', 9) },
          { type: 'put', key: K.recordKey('s4', 2), value: Uint8Array.of(...r4, 0x00) }, // trailing byte: not canonical
          { type: 'put', key: K.headKey('s5'), value: K.withHead(await engine.get(K.headKey('s5')), head.hash, head.seq - 1) },
        ],
      })
      store.invalidate()
      const main = await store.verify({ threads: 0 })
      expect(main.ok).toBe(false)
      expect(new Set(main.findings.map((f) => f.code))).toEqual(new Set(['hash_mismatch', 'seq_gap', 'index_mismatch', 'non_canonical', 'head_mismatch']))
      expect(await store.verify({ threads: 2 })).toEqual(main)
      expect(await store.verify()).toEqual(main)
    })

    it('refuses a thread count that is not a small non-negative integer', async () => {
      const store = await world(tools)
      for (const threads of [-1, 1.5, 65, Number.NaN]) {
        await expect(store.verify({ threads })).rejects.toMatchObject({ code: 'CHAINLOG_INVALID_ARGUMENT' })
      }
    })
  })
})
