// verify({ checkpoint, keys }) with the stored tree: O(log n) engine reads, counted at 1,024 and
// 65,536 entries (rows read by get, getMany and scan), against the full walk's O(n); the walk
// still runs when asked (`full`), when the tree cannot answer (no complete tree, a missing row),
// and to give each failure its own finding code.
import { describe, expect, it } from 'vitest'
import { generateKeyPair } from '../../src/proofs/note.js'
import type { StorageEngine } from '../../src/storage/engine.js'
import * as K from '../../src/storage/keys.js'
import { lastRowLeaf } from '../../src/storage/tree.js'
import type { Store } from '../../src/store.js'
import { eachEngine, type StoreOpener } from '../support/engines.js'

const keys = generateKeyPair('chainlog.test/verify-tree', { seed: new Uint8Array(32).fill(31) })
async function storeWith(open: StoreOpener, id: string, size: number): Promise<Store> {
  const store = await open({ signingKey: keys.signerKey })
  await store.createSession({ sessionId: id, ts: 1 })
  let have = 1
  let ts = 1
  while (have < size) {
    const k = Math.min(1000, size - have)
    await store.appendMany(id, Array.from({ length: k }, () => ({ kind: 'turn_end' as const, ts: ++ts, turn: ts })))
    have += k
  }
  return store
}

/** Rows read through the engine while `fn` runs: get, getMany (each key) and scan (each row). */
async function rowsRead(engine: StorageEngine, fn: () => Promise<unknown>): Promise<number> {
  let rows = 0
  const { get, getMany, scan } = engine
  engine.get = (k) => (rows++, get.call(engine, k))
  engine.getMany = (ks) => ((rows += ks.length), getMany.call(engine, ks))
  engine.scan = (range, chunk) => {
    const inner = scan.call(engine, range, chunk)
    return (async function* () {
      for await (const batch of inner) {
        rows += batch.length
        yield batch
      }
    })()
  }
  try {
    await fn()
  } finally {
    engine.get = get
    engine.getMany = getMany
    engine.scan = scan
  }
  return rows
}

const log2 = (n: number) => Math.ceil(Math.log2(n))

eachEngine((engine, open) => {
  describe('verify against a checkpoint with the stored tree', () => {
    // 65,536 entries in memory; 16,384 where each write is real I/O (the same O(log n) claim, a quarter of the building).
    const big = engine === 'memory-level' ? 65_536 : 16_384
    it(`reads O(log n) rows: at most 2·log2(n) + 8 at 1,024 and at ${big.toLocaleString('en')} entries, where the walk reads O(n)`, async () => {
      const worst: Record<number, number> = {}
      const walk: Record<number, number> = {}
      for (const n of [1024, big]) {
        const store = await storeWith(open, 's', n)
        let most = 0
        for (const size of [1, 2, 3, 511, 512, 513, n / 2 + 1, n - 3, n - 1, n]) {
          const cp = await store.checkpoint('s', { size })
          let report
          const rows = await rowsRead(store.engine, async () => {
            report = await store.verify({ checkpoint: cp, keys: [keys.verifierKey] })
          })
          expect(report).toMatchObject({ ok: true, findings: [], checkpoint: { status: 'consistent', method: 'tree', size, storeSize: n } })
          expect(rows).toBeLessThanOrEqual(2 * log2(n) + 8)
          most = Math.max(most, rows)
        }
        worst[n] = most
        const cp = await store.checkpoint('s', { size: n - 1 })
        walk[n] = await rowsRead(store.engine, async () => {
          expect((await store.verify({ checkpoint: cp, keys: [keys.verifierKey], full: true })).checkpoint).toMatchObject({ status: 'consistent', method: 'walk' })
        })
      }
      // 64 (16) times the entries: a few more rows (log n), where the walk reads ~64 (16) times as many.
      expect(worst[big]! - worst[1024]!).toBeLessThanOrEqual(2 * (log2(big) - 10) + 2)
      expect(walk[1024]!).toBeGreaterThan(1024)
      expect(walk[big]! / walk[1024]!).toBeGreaterThan((big / 1024) * 0.78)
      console.log(`verify --checkpoint rows read on ${engine}, worst case: tree ${worst[1024]} (1,024 entries) vs ${worst[big]} (${big}); full walk ${walk[1024]} vs ${walk[big]}`)
    }, 120_000)

    it('walks when the tree cannot answer: no complete tree, a missing row, a rewritten tree row', async () => {
      const store = await storeWith(open, 'w', 40)
      const cp = await store.checkpoint('w', { size: 30 })
      const v = () => store.verify({ checkpoint: cp, keys: [keys.verifierKey] })
      expect((await v()).checkpoint?.method).toBe('tree')
      // A session whose tree is not complete (as one written before trees): its last row gone.
      const lastKey = K.treeKey('w', lastRowLeaf(40))
      const lastRow = (await store.getRaw(lastKey))!
      await store.engine.commit({ ops: [{ type: 'del', key: lastKey }] })
      store.invalidate()
      expect((await v()).checkpoint).toMatchObject({ status: 'consistent', method: 'walk' })
      // Back, but a row the consistency proof needs gone: the walk reports the tree.
      const row31 = (await store.getRaw(K.treeKey('w', 31)))!
      await store.engine.commit({ ops: [{ type: 'put', key: lastKey, value: lastRow }, { type: 'del', key: K.treeKey('w', 31) }] })
      store.invalidate()
      const missing = await v()
      expect(missing.checkpoint).toMatchObject({ status: 'consistent', method: 'walk' })
      expect(missing.findings.map((f) => f.code)).toContain('tree_mismatch')
      // A tree row changed: the proof fails, and the walk says the history itself is the signed one.
      const row = (await store.getRaw(K.treeKey('w', 15)))!
      const bad = Uint8Array.from(row)
      bad[3 * 32]! ^= 1 // node (4, 0): leaves 0-15, in the proof from 30 to 40
      await store.engine.commit({ ops: [{ type: 'put', key: K.treeKey('w', 31), value: row31 }, { type: 'put', key: K.treeKey('w', 15), value: bad }] })
      store.invalidate()
      const changed = await v()
      expect(changed.checkpoint).toMatchObject({ status: 'consistent', method: 'walk' })
      expect(changed.ok).toBe(false)
      expect(changed.findings.map((f) => f.code)).toContain('tree_mismatch')
    })

    it('a head behind the checkpoint is told by the tree check, in a few reads (rollback); with lineage it walks', async () => {
      const store = await storeWith(open, 'h', 20)
      const cp = await store.checkpoint('h')
      const h9 = (await store.getRaw(K.recordKey('h', 10)))!.slice(0, 32)
      await store.engine.commit({ ops: [{ type: 'put', key: K.headKey('h'), value: K.withHead(await store.getRaw(K.headKey('h')), h9, 9) }] })
      store.invalidate()
      let report
      const rows = await rowsRead(store.engine, async () => {
        report = await store.verify({ checkpoint: cp, keys: [keys.verifierKey] })
      })
      expect(report).toMatchObject({ ok: false, checkpoint: { status: 'rollback', method: 'tree', storeSize: 10 } })
      expect(rows).toBeLessThan(10)
      const walked = await store.verify({ checkpoint: cp, keys: [keys.verifierKey], lineage: true })
      expect(walked.checkpoint).toMatchObject({ status: 'rollback', method: 'walk' })
      expect(walked.findings.map((f) => f.code)).toContain('checkpoint_rollback')
    })
  })
})
