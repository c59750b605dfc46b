// Several processes opening one empty store at once (on PostgreSQL, where they share the
// database): each may read "no format row" before another writes it. The ones that lose the
// race re-read the row and open the store, instead of failing.
import { MemoryLevel } from 'memory-level'
import { describe, expect, it } from 'vitest'
import { encodeCanonical } from '../../src/encoding/cbor.js'
import type { StorageEngine } from '../../src/storage/engine.js'
import * as K from '../../src/storage/keys.js'
import { LevelEngine } from '../../src/storage/level-engine.js'
import { STORE_FORMAT_VERSION, checkFormat } from '../../src/storage/store-format.js'

const BIN = { keyEncoding: 'view', valueEncoding: 'view' } as const

/** An engine over a database another process has just created a store in: its first reads still see the database empty. */
async function lateEngine(rows: [Uint8Array, Uint8Array][], staleScans: boolean): Promise<{ engine: StorageEngine; gets: () => number }> {
  const db = new MemoryLevel<Uint8Array, Uint8Array>(BIN)
  const inner = new LevelEngine(db as never)
  await inner.commit({ ops: rows.map(([key, value]) => ({ type: 'put' as const, key, value })) })
  let formatGets = 0
  const engine = Object.create(inner) as StorageEngine
  engine.get = async (key) => (key.length === 1 && key[0] === K.TAG.format && formatGets++ === 0 ? undefined : inner.get(key))
  engine.scan = (range, chunk, max) =>
    staleScans
      ? (async function* () {
          yield []
        })()
      : inner.scan(range, chunk, max)
  engine.commit = (c) => inner.commit(c)
  return { engine, gets: () => formatGets }
}

describe('opening a store another process creates at the same time', () => {
  const formatRow: [Uint8Array, Uint8Array] = [K.formatKey(), encodeCanonical({ version: STORE_FORMAT_VERSION })]

  it('its format-row commit refused (the other wrote it first): the row is read again and checked', async () => {
    const { engine, gets } = await lateEngine([formatRow], true)
    await expect(checkFormat(engine)).resolves.toBeUndefined()
    expect(gets()).toBe(2)
  })

  it('rows already there when it looked for them: the format row is read again, not called missing', async () => {
    const { engine, gets } = await lateEngine([formatRow, [K.headKey('s'), new Uint8Array(40)]], false)
    await expect(checkFormat(engine)).resolves.toBeUndefined()
    expect(gets()).toBe(2)
  })

  it('a newer format written by the other is still refused, and rows without a format row are still damage', async () => {
    const newer = await lateEngine([[K.formatKey(), encodeCanonical({ version: STORE_FORMAT_VERSION + 1 })]], true)
    await expect(checkFormat(newer.engine)).rejects.toMatchObject({ code: 'CHAINLOG_UNSUPPORTED_VERSION' })
    const db = new MemoryLevel<Uint8Array, Uint8Array>(BIN)
    const bare = new LevelEngine(db as never)
    await bare.commit({ ops: [{ type: 'put', key: K.headKey('s'), value: new Uint8Array(40) }] })
    await expect(checkFormat(bare)).rejects.toMatchObject({ code: 'CHAINLOG_CORRUPT_STORE' })
  })
})
