// store.entriesAt: a few entries by seq in one batched point read, each checked against the chain
// as entries() checks it (its successor's prev, or the head).
import { afterEach, describe, expect, it } from 'vitest'
import * as K from '../../src/storage/keys.js'
import type { Store } from '../../src/store.js'
import { closeStores, entriesOf, memStoreOpener } from '../support/stores.js'

const opened: Store[] = []
const openMem = memStoreOpener(opened)
afterEach(() => closeStores(opened))
const BIN = { keyEncoding: 'view', valueEncoding: 'view' } as const

async function sessionOf(store: Store, n: number): Promise<string> {
  const { sessionId } = await store.createSession({ sessionId: 's' })
  for (let i = 0; i < n; i++) await store.appendCustom(sessionId, 'test', 'step', { i, text: 'x'.repeat(i % 50) })
  return sessionId
}

/** Count the store engine's reads: point reads (getMany counts its keys), range scans and rows scanned. */
function countReads(store: Store) {
  const engine = store.engine
  const n = { gets: 0, syncGets: 0, getManyCalls: 0, scans: 0 }
  const get = engine.get.bind(engine)
  const getMany = engine.getMany.bind(engine)
  const scan = engine.scan.bind(engine)
  engine.get = (k) => (n.gets++, get(k))
  const getSync = engine.getSync
  if (getSync) (engine as { getSync?: typeof getSync }).getSync = (k) => (n.syncGets++, getSync(k))
  engine.getMany = (ks) => ((n.getManyCalls++, (n.gets += ks.length)), getMany(ks))
  engine.scan = (...a) => (n.scans++, scan(...a))
  return n
}

describe('store.entriesAt', () => {
  it('returns the entries at the seqs asked, in that order, as entries() returns them', async () => {
    const store = await openMem()
    const id = await sessionOf(store, 20)
    const all = await entriesOf(store, id)
    const got = await store.entriesAt(id, [7, 0, 20, 7, 13])
    expect(got).toEqual([all[7], all[0], all[20], all[7], all[13]])
  })

  it('reads each record and its successor by point reads (on this thread when few, else one batch), no range scan', async () => {
    const store = await openMem()
    const id = await sessionOf(store, 2000)
    await store.readHead(id)
    const n = countReads(store)
    await store.entriesAt(id, [5, 6, 1500, 2000])
    // 5, 6 (its own successor is 6, already asked), 7, 1500, 1501, 2000 (the head gives its hash).
    expect(n).toEqual({ gets: 0, syncGets: 6, getManyCalls: 0, scans: 0 })
    const many = Array.from({ length: 100 }, (_, i) => i * 20)
    const got = await store.entriesAt(id, many)
    expect(got.map((e) => e.seq)).toEqual(many)
    expect(n).toEqual({ gets: 200, syncGets: 6, getManyCalls: 1, scans: 0 })
  })

  it('resolves the blobs of the entries it returns, in one more batched read', async () => {
    const store = await openMem()
    const { sessionId } = await store.createSession({ sessionId: 'b' })
    const big = 'y'.repeat(10_000)
    await store.appendTurn(sessionId, [{ role: 'user', content: big }])
    const [e] = await store.entriesAt(sessionId, [1])
    expect(JSON.stringify(e!.entry)).toContain(big)
  })

  it('refuses a seq past the head or not an integer, reading nothing', async () => {
    const store = await openMem()
    const id = await sessionOf(store, 3)
    await store.readHead(id)
    const n = countReads(store)
    for (const seqs of [[4], [-1], [1.5], ['1' as unknown as number]]) {
      await expect(store.entriesAt(id, seqs)).rejects.toMatchObject({ code: 'CHAINLOG_INVALID_ARGUMENT' })
    }
    expect(n.gets).toBe(0)
    await expect(store.entriesAt('nope', [0])).rejects.toMatchObject({ code: 'CHAINLOG_SESSION_NOT_FOUND' })
  })

  it('fails with CHAINLOG_CORRUPT_STORE on a record that does not hash to the hash the chain gives it', async () => {
    const store = await openMem()
    const id = await sessionOf(store, 5)
    const key = K.recordKey(id, 3)
    const record = (await store.db.get(key, BIN as never)) as unknown as Uint8Array
    const bad = new Uint8Array(record)
    bad[bad.length - 2] = bad[bad.length - 2]! ^ 1
    await store.db.put(key, bad as never, BIN as never)
    store.invalidate()
    await expect(store.entriesAt(id, [3])).rejects.toMatchObject({ code: 'CHAINLOG_CORRUPT_STORE', data: { sessionId: id, seq: 3 } })
    // Its neighbours still read: their own links are intact.
    expect((await store.entriesAt(id, [2, 4])).map((e) => e.seq)).toEqual([2, 4])
  })
})
