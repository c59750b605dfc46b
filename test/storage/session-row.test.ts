// Store format 4's session row (`P ‖ id -> head(40) ‖ CBOR SessionMeta`, usage included): readers
// of the head never decode the metadata, and the migration from format 3 (migrate-v4.ts) puts
// `M` and `U` rows into it, deleting those of no session and leaving a head without metadata as
// it was.
import { MemoryLevel } from 'memory-level'
import { afterEach, describe, expect, it } from 'vitest'
import { decodeCbor, encodeCanonical } from '../../src/encoding/cbor.js'
import * as K from '../../src/storage/keys.js'
import type { MigrationProgress } from '../../src/storage/migrate.js'
import { openStore } from '../../src/open.js'
import type { Store } from '../../src/store.js'

const BIN = { keyEncoding: 'view', valueEncoding: 'view' } as const
const usage = { historyLength: 2, model: 'm1', inputTokens: 100, cacheReadTokens: 10, cacheWriteTokens: 1, outputTokens: 20, reasoningTokens: 0 }
const opened: Store[] = []
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close()
})

async function storeOn(db: MemoryLevel<Uint8Array, Uint8Array>, onMigrate?: (p: MigrationProgress) => void): Promise<Store> {
  const s = await openStore({ db: db as never, durability: 'relaxed', ...(onMigrate ? { onMigrate } : {}) })
  opened.push(s)
  return s
}

async function rows(db: MemoryLevel<Uint8Array, Uint8Array>, tag: number): Promise<[string, Uint8Array][]> {
  const out: [string, Uint8Array][] = []
  for await (const [k, v] of db.iterator({ ...K.tableRange(tag), ...BIN })) out.push([Buffer.from(k.subarray(1)).toString('latin1'), v])
  return out
}

describe('the session row', () => {
  it('holds head and metadata with usage; the head is read without decoding the metadata', async () => {
    const db = new MemoryLevel<Uint8Array, Uint8Array>(BIN)
    const store = await storeOn(db)
    await store.createSession({ sessionId: 's', ts: 1 })
    const r = await store.appendTurn('s', [{ role: 'user', content: 'hi' }], { ts: 2, usage })
    const [id, value] = (await rows(db, K.TAG.head))[0]!
    expect(id).toBe('s')
    expect(Buffer.from(value.subarray(0, 32)).toString('hex')).toBe(r.head)
    const meta = decodeCbor(value.subarray(K.HEAD_BYTES)) as { usage: unknown; counts: { user: number } }
    expect(meta.counts.user).toBe(1)
    expect(meta.usage).toEqual({ m1: { calls: 1, inputTokens: 100, cacheReadTokens: 10, cacheWriteTokens: 1, outputTokens: 20, reasoningTokens: 0 } })
    // Metadata that does not decode: head reads and entry reads do not care; the metadata reader does.
    await db.put(K.headKey('s'), Buffer.concat([value.subarray(0, K.HEAD_BYTES), Uint8Array.of(0xff, 0xff)]), BIN)
    store.invalidate()
    expect(await store.head('s')).toBe(r.head)
    let n = 0
    for await (const _ of store.entries('s')) n++
    expect(n).toBe(3)
    await expect(store.readMeta('s')).rejects.toThrow()
  })
})

describe('migrating format 3 session rows', () => {
  it('moves M and U into P, deletes rows of no session, and leaves a head without metadata as it was', async () => {
    const db = new MemoryLevel<Uint8Array, Uint8Array>(BIN)
    const store = await storeOn(db)
    for (const id of ['a', 'b', 'c']) {
      await store.createSession({ sessionId: id, ts: 1 })
      await store.appendTurn(id, [{ role: 'user', content: id }], { ts: 2, ...(id === 'c' ? {} : { usage: [usage, { ...usage, model: 'm2' }] }) })
    }
    const want = { a: await store.readMeta('a'), b: await store.readMeta('b'), c: await store.readMeta('c'), total: await store.usage() }
    await store.close()
    opened.splice(0)
    await db.open()
    // Lay the store out as format 3 would: P = head alone, M = metadata, U = totals per model.
    const v3: { type: 'put' | 'del'; key: Uint8Array; value?: Uint8Array }[] = [{ type: 'put', key: K.formatKey(), value: encodeCanonical({ version: 3 }) }]
    for (const [id, value] of await rows(db, K.TAG.head)) {
      const { usage: u, ...meta } = decodeCbor(value.subarray(K.HEAD_BYTES)) as { usage?: Record<string, unknown> }
      v3.push({ type: 'put', key: K.headKey(id), value: value.slice(0, K.HEAD_BYTES) })
      if (id !== 'b') v3.push({ type: 'put', key: K.metaKeyV3(id), value: encodeCanonical(meta) })
      for (const [model, t] of Object.entries(u ?? {})) v3.push({ type: 'put', key: Buffer.concat([Buffer.from([K.TAG_V3.usage]), Buffer.from(id), Buffer.from([0]), Buffer.from(model)]), value: encodeCanonical(t) })
    }
    // A session being created when format 3 stopped: metadata and usage but no head.
    v3.push({ type: 'put', key: K.metaKeyV3('ghost'), value: encodeCanonical({ createdAt: 1, updatedAt: 1, counts: {} }) })
    v3.push({ type: 'put', key: Buffer.concat([Buffer.from([K.TAG_V3.usage]), Buffer.from('ghost'), Buffer.from([0]), Buffer.from('m1')]), value: encodeCanonical({ calls: 1 }) })
    await db.batch(v3 as never, BIN as never)
    const seen: MigrationProgress[] = []
    const again = await storeOn(db, (p) => seen.push(p))
    expect(seen[seen.length - 1]).toMatchObject({ from: 3, done: 3, total: 3, orphansRemoved: 2 })
    expect(await rows(db, K.TAG_V3.meta)).toEqual([])
    // 'b' had no M row (damage): its head stays alone, and its U rows stay (nothing to put them in).
    expect((await rows(db, K.TAG_V3.usage)).map(([id]) => id.split('\0')[0])).toEqual(['b', 'b'])
    const p = new Map(await rows(db, K.TAG.head))
    expect(p.get('b')!.length).toBe(K.HEAD_BYTES)
    expect(await again.readMeta('a')).toEqual(want.a)
    expect(await again.readMeta('c')).toEqual(want.c)
    expect((await again.readMeta('c'))!.usage).toBeUndefined()
    expect(await again.usage('a')).toEqual(want.a!.usage)
    expect((await again.listSessions()).map((s) => s.sessionId)).toEqual(['a', 'c'])
    const report = await again.verify()
    expect(report.findings.filter((f) => f.severity === 'error').map((f) => `${f.code} ${f.sessionId}`)).toEqual(['index_mismatch b'])
    // Store-wide totals are the sum over session rows: 'b''s stayed in its U rows.
    expect(Object.keys(want.total)).toEqual(['m1', 'm2'])
    expect(await again.usage()).toEqual(want.a!.usage)
  })
})
