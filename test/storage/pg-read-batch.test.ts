// PgEngine's point reads issued in the same tick share one query (get and getMany; bench case
// 15b: the concurrent appends of a process each read their session's head, lease, tree and
// metadata). Against a real server (the run's shared cluster, test/support/pg-file.ts): how many queries, what each
// caller gets back, and that a failure reaches every read of the query.
import { describe, expect, it } from 'vitest'
import { ChainlogError, ErrorCodes } from '../../src/errors.js'
import { openPgEngine, type PgEngine } from '../../src/storage/pg-engine.js'
import { pgDatabaseForFile } from '../support/pg-file.js'

const pgf = pgDatabaseForFile({ adminConnections: 1 })

let schemas = 0


const enc = (s: string) => new TextEncoder().encode(s)
const text = (v: Uint8Array | undefined) => (v === undefined ? undefined : new TextDecoder().decode(v))

async function openWith(rows: Record<string, string>): Promise<{ engine: PgEngine; schema: string }> {
  const schema = pgf.schema(`rb${++schemas}`)
  const engine = await openPgEngine({ connectionString: pgf.connectionString, schema, pool: { max: 4 } })
  await engine.commit({ ops: Object.entries(rows).map(([k, v]) => ({ type: 'put' as const, key: enc(k), value: enc(v) })), sync: true })
  return { engine, schema }
}

describe('PgEngine point reads in one tick', () => {
  it('share one query, and each caller gets the values of its own keys', async () => {
    const { engine } = await openWith({ a: 'A', b: 'B', c: 'C', d: 'D' })
    try {
      const before = engine.stats.readQueries
      const [a, b, many] = await Promise.all([engine.get(enc('a')), engine.get(enc('b')), engine.getMany([enc('c'), enc('missing'), enc('d')])])
      expect(engine.stats.readQueries - before).toBe(1)
      expect([text(a), text(b), many.map(text)]).toEqual(['A', 'B', ['C', undefined, 'D']])
    } finally {
      await engine.close()
    }
  })

  it('one read alone is one query, and reads in separate ticks are separate queries', async () => {
    const { engine } = await openWith({ a: 'A', b: 'B' })
    try {
      const before = engine.stats.readQueries
      expect(text(await engine.get(enc('a')))).toBe('A')
      expect(engine.stats.readQueries - before).toBe(1)
      expect((await engine.getMany([enc('a'), enc('b')])).map(text)).toEqual(['A', 'B'])
      expect(await engine.get(enc('nothing'))).toBeUndefined()
      expect(engine.stats.readQueries - before).toBe(3)
      expect(await engine.getMany([])).toEqual([])
      expect(engine.stats.readQueries - before).toBe(3)
    } finally {
      await engine.close()
    }
  })

  it('a read issued after a commit resolved sees it, also when it shares its query', async () => {
    const { engine } = await openWith({ head: 'v1' })
    try {
      await engine.commit({ ops: [{ type: 'put', key: enc('head'), value: enc('v2') }], expect: [{ key: enc('head'), value: enc('v1') }], sync: true })
      const [h, again] = await Promise.all([engine.get(enc('head')), engine.getMany([enc('head')])])
      expect([text(h), again.map(text)]).toEqual(['v2', ['v2']])
    } finally {
      await engine.close()
    }
  })

  it('gives two callers of the same key bytes of their own', async () => {
    const { engine } = await openWith({ k: 'value' })
    try {
      const before = engine.stats.readQueries
      const [x, y, [z, z2]] = await Promise.all([engine.get(enc('k')), engine.get(enc('k')), engine.getMany([enc('k'), enc('k')])])
      expect(engine.stats.readQueries - before).toBe(1)
      x![0] = 0x21
      expect([text(y), text(z), text(z2)]).toEqual(['value', 'value', 'value'])
      expect(new Set([x, y, z, z2]).size).toBe(4)
    } finally {
      await engine.close()
    }
  })

  it('a query that fails rejects every read in it with a typed error', async () => {
    const { engine, schema } = await openWith({ a: 'A' })
    try {
      await pgf.admin.query(`DROP TABLE ${schema}.kv`)
      const results = await Promise.allSettled([engine.get(enc('a')), engine.get(enc('b')), engine.getMany([enc('a'), enc('c')])])
      for (const r of results) {
        expect(r.status).toBe('rejected')
        const err = (r as PromiseRejectedResult).reason
        expect(err).toBeInstanceOf(ChainlogError)
        expect(err.code).toBe(ErrorCodes.IO)
        expect(err.data.sqlstate).toBe('42P01')
      }
    } finally {
      await engine.close()
    }
  })

  it('refuses reads once closed', async () => {
    const { engine } = await openWith({ a: 'A' })
    await engine.close()
    await expect(engine.get(enc('a'))).rejects.toMatchObject({ code: ErrorCodes.STORE_CLOSED })
    await expect(engine.getMany([enc('a')])).rejects.toMatchObject({ code: ErrorCodes.STORE_CLOSED })
  })
})
