// Slow suite: a real store (memory-level) with one session of 1,000,000 entries, appended as
// 1,000-entry turns through the store (so the tree rows are the ones appends write): every
// proof is one getMany of O(log n) rows, counted on the engine, and verifies offline.
import { MemoryLevel } from 'memory-level'
import { describe, expect, it } from 'vitest'
import { verifyCheckpoint } from '../../src/proofs/checkpoint.js'
import { generateKeyPair } from '../../src/proofs/note.js'
import { verifyConsistencyFile, verifyProofFile } from '../../src/proofs/proof.js'
import { openStore } from '../../src/open.js'

const MILLION = 1_000_000
const TURN = 1_000

describe('store proofs at 1,000,000 entries', () => {
  it('prove and proveConsistency read one getMany of at most 2·log2(n) + 2 rows (n = 1e6: 42)', async () => {
    const keys = generateKeyPair('chainlog.test/million', { seed: new Uint8Array(32).fill(5) })
    const store = await openStore({ db: new MemoryLevel({ keyEncoding: 'view', valueEncoding: 'view' }) as never, durability: 'relaxed', signingKey: keys.signerKey })
    try {
      const hashes: string[] = [(await store.createSession({ sessionId: 'm', ts: 1 })).head]
      let ts = 1
      while (hashes.length < MILLION) {
        const n = Math.min(TURN, MILLION - hashes.length)
        const r = await store.appendMany('m', Array.from({ length: n }, () => ({ kind: 'turn_end' as const, ts: ++ts, turn: ts })))
        for (const e of r.entries) hashes.push(e.hash)
      }
      const head = await store.checkpoint('m')
      expect(verifyCheckpoint(head, [keys.verifierKey]).size).toBe(MILLION)
      const engine = store.engine
      const get = engine.get.bind(engine)
      const getMany = engine.getMany.bind(engine)
      let manys = 0
      let rows = 0
      engine.get = (k) => (rows++, get(k))
      engine.getMany = (ks) => ((manys++, (rows += ks.length)), getMany(ks))
      let worst = 0
      for (const i of [0, 1, 524_287, 524_288, 777_777, MILLION - 2, MILLION - 1]) {
        manys = rows = 0
        const file = await store.prove(hashes[i]!)
        expect(manys).toBe(1)
        worst = Math.max(worst, rows)
        expect(verifyProofFile(file, [keys.verifierKey], { entryHash: hashes[i]! }).index).toBe(i)
      }
      // Two point reads of the hash index (resolve, locate), the rest the proof's getMany.
      expect(worst).toBeLessThanOrEqual(2 * 20 + 1 + 2)
      for (const old of [1, 1000, 524_288, 999_999]) {
        const oldCp = await store.checkpoint('m', { size: old })
        manys = rows = 0
        const file = await store.proveConsistency('m', old)
        expect(manys).toBe(1)
        expect(rows).toBeLessThanOrEqual(2 * 20 + 2)
        expect(verifyConsistencyFile(file, oldCp, [keys.verifierKey]).new.size).toBe(MILLION)
      }
      engine.get = get
      engine.getMany = getMany
    } finally {
      await store.close()
    }
  })
})
