// Round trips of an append on PostgreSQL (docs/scaling.md, section 7): after this store's own
// append of a session, the next one reads nothing and makes one call of the commit function,
// whose preconditions (head, lease and metadata as this store left them) keep it correct when
// another process moved any of them. Counted with the engine's readQueries and commitCalls,
// against a real server (the run's shared cluster, test/support/pg-file.ts); two Store objects stand for two processes.
import { describe, expect, it } from 'vitest'
import { decodeCbor, encodeCanonical } from '../../src/encoding/cbor.js'
import { openStore } from '../../src/open.js'
import type { Store } from '../../src/store.js'
import * as K from '../../src/storage/keys.js'
import type { PgEngine } from '../../src/storage/pg-engine.js'
import { byteaArray, int4Array } from '../../src/storage/pg-wire.js'
import type { SessionMeta } from '../../src/storage/session-meta.js'
import { pgDatabaseForFile } from '../support/pg-file.js'

const pgf = pgDatabaseForFile({ adminConnections: 1 })

let schemas = 0
const openOn = (schema: string) => openStore({ postgres: { connectionString: pgf.connectionString, schema, pool: { max: 4 } }, durability: 'sync' })
const statsOf = (store: Store) => (store.engine as PgEngine).stats

/** Round trips (read queries, commit calls) and refused commits that `fn` makes through `store`. */
async function counted(store: Store, fn: () => Promise<unknown>): Promise<{ reads: number; calls: number; refused: number }> {
  const s = statsOf(store)
  const [r, c, x] = [s.readQueries, s.commitCalls, s.refused]
  await fn()
  return { reads: s.readQueries - r, calls: s.commitCalls - c, refused: s.refused - x }
}

async function withStores(fn: (a: Store, b: Store, schema: string) => Promise<void>): Promise<void> {
  const schema = pgf.schema(`rt${++schemas}`)
  const a = await openOn(schema)
  const b = await openOn(schema)
  try {
    await fn(a, b, schema)
  } finally {
    await a.close()
    await b.close()
    await pgf.admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  }
}

const turn = (n: number) => [{ role: 'user', content: `turn ${n}` }]

describe('an append on PostgreSQL', () => {
  it('after this store appended to the session, reads nothing and makes one commit call', async () => {
    await withStores(async (a) => {
      await a.createSession({ sessionId: 's', ts: 1 })
      // The session this store created: its row as written, no lease row, no turn yet.
      for (let i = 1; i <= 10; i++) {
        expect(await counted(a, () => a.appendTurn('s', turn(i), { ts: 1 + i, turnEnd: true }))).toEqual({ reads: 0, calls: 1, refused: 0 })
      }
      expect((await a.verify({ sessionId: 's' })).ok).toBe(true)
      expect((await a.restore('s')).turnCount).toBe(10)
    })
  })

  it('a session another store created is read once, then appended to without reads', async () => {
    await withStores(async (a, b) => {
      await b.createSession({ sessionId: 's', ts: 1 })
      // Session row and lease (one query), and for turnEnd: true the turn count (one more).
      expect(await counted(a, () => a.appendTurn('s', turn(1), { ts: 2, turnEnd: true }))).toEqual({ reads: 2, calls: 1, refused: 0 })
      expect(await counted(a, () => a.appendTurn('s', turn(2), { ts: 3, turnEnd: true }))).toEqual({ reads: 0, calls: 1, refused: 0 })
    })
  })

  it('a lease another store claimed between this store creating a session and appending to it: refused, read, LEASE_HELD', async () => {
    await withStores(async (a, b) => {
      const { head } = await a.createSession({ sessionId: 's', ts: 1 })
      await b.claimSession('s', { owner: 'runtime-b', ttlMs: 60_000 })
      // The commit expects no lease row (as the creation left it): refused, then the rows are read and the lease judged.
      await expect(a.appendTurn('s', turn(1), { ts: 2 })).rejects.toMatchObject({ code: 'CHAINLOG_LEASE_HELD' })
      expect(await b.head('s')).toBe(head)
      expect(statsOf(a).refused).toBe(1)
    })
  })

  it('a head another store moved: the commit is refused whole, then the append reads and lands; the session is read for a while after', async () => {
    await withStores(async (a, b) => {
      await a.createSession({ sessionId: 's', ts: 1 })
      await a.appendTurn('s', turn(1), { ts: 2, turnEnd: true })
      await b.appendTurn('s', turn(2), { ts: 3, turnEnd: true })
      // Refused on its head; then head, lease and metadata in one query, the tree's frontier and
      // the turn count (the other store's turn_end) in one each; then the commit.
      expect(await counted(a, () => a.appendTurn('s', turn(3), { ts: 4, turnEnd: true }))).toEqual({ reads: 3, calls: 2, refused: 1 })
      // A session another process writes too: read before the next appends, not refused again.
      expect(await counted(a, () => a.appendTurn('s', turn(4), { ts: 5, turnEnd: true }))).toEqual({ reads: 1, calls: 1, refused: 0 })
      const state = await b.restore('s')
      expect(state.history.map((x) => (x as { content: string }).content)).toEqual(['turn 1', 'turn 2', 'turn 3', 'turn 4'])
      expect(state.turnCount).toBe(4)
      expect((await b.verify({ sessionId: 's' })).ok).toBe(true)
    })
  })

  it('metadata another writer changed without moving the head is not overwritten', async () => {
    await withStores(async (a, _b, schema) => {
      await a.createSession({ sessionId: 's', ts: 1 })
      await a.appendTurn('s', turn(1), { ts: 2 })
      // The metadata is in the session row, after the 40 bytes of the head (store format 4).
      const key = Buffer.from(K.headKey('s'))
      const row = await pgf.admin.query<{ value: Buffer }>(`SELECT value FROM ${schema}.kv WHERE key = $1`, [key])
      const meta = decodeCbor(row.rows[0]!.value.subarray(40)) as SessionMeta
      const moved = Buffer.concat([row.rows[0]!.value.subarray(0, 40), encodeCanonical({ ...meta, firstUserMessage: 'set elsewhere' })])
      await pgf.admin.query(`UPDATE ${schema}.kv SET value = $2 WHERE key = $1`, [key, moved])
      expect(await counted(a, () => a.appendTurn('s', turn(2), { ts: 3 }))).toMatchObject({ calls: 2, refused: 1 })
      const after = decodeCbor((await pgf.admin.query<{ value: Buffer }>(`SELECT value FROM ${schema}.kv WHERE key = $1`, [key])).rows[0]!.value.subarray(40)) as SessionMeta
      expect(after.firstUserMessage).toBe('set elsewhere')
      expect(after.counts.user).toBe(2)
      expect(after.updatedAt).toBe(3)
    })
  })

  it('a lease this store claims, renews and releases between its appends costs them no read', async () => {
    await withStores(async (a) => {
      await a.createSession({ sessionId: 's', ts: 1 })
      await a.appendTurn('s', turn(1), { ts: 2 })
      const lease = await a.claimSession('s', { owner: 'runtime-a', ttlMs: 60_000 })
      await expect(a.appendTurn('s', turn(2), { ts: 3 })).rejects.toMatchObject({ code: 'CHAINLOG_LEASE_HELD' })
      expect(await counted(a, () => a.appendTurn('s', turn(2), { ts: 3, lease }))).toEqual({ reads: 0, calls: 1, refused: 0 })
      const renewed = await a.renewLease(lease, { ttlMs: 60_000 })
      expect(await counted(a, () => a.appendTurn('s', turn(3), { ts: 4, lease: renewed }))).toEqual({ reads: 0, calls: 1, refused: 0 })
      await a.releaseLease(renewed)
      expect(await counted(a, () => a.appendTurn('s', turn(4), { ts: 5 }))).toEqual({ reads: 0, calls: 1, refused: 0 })
      expect((await a.restore('s')).history).toHaveLength(4)
    })
  })

  it('a lease another store claimed after this one appended fences the append: LEASE_HELD, nothing written', async () => {
    await withStores(async (a, b) => {
      await a.createSession({ sessionId: 's', ts: 1 })
      const { head } = await a.appendTurn('s', turn(1), { ts: 2 })
      await b.claimSession('s', { owner: 'runtime-b', ttlMs: 60_000 })
      await expect(a.appendTurn('s', turn(2), { ts: 3 })).rejects.toMatchObject({ code: 'CHAINLOG_LEASE_HELD' })
      expect(await b.head('s')).toBe(head)
    })
  })

  it('a retry naming the head before its own landed append gets the landed result, decided on rows read afresh', async () => {
    await withStores(async (a) => {
      await a.createSession({ sessionId: 's', ts: 1 })
      const { head: h1 } = await a.appendTurn('s', turn(1), { ts: 2 })
      const landed = await a.appendTurn('s', turn(2), { ts: 3, expectedHead: h1 })
      // As after a lost acknowledgement: the same turn sent again with the head it was built on.
      let again: unknown
      expect(await counted(a, async () => (again = await a.appendTurn('s', turn(2), { ts: 3, expectedHead: h1 })))).toMatchObject({ calls: 0, refused: 0 })
      expect(again).toMatchObject({ head: landed.head, entries: landed.entries, idempotent: true })
      expect(await a.head('s')).toBe(landed.head)
      // A head it has never seen: a conflict, decided on the head as read.
      await expect(a.appendTurn('s', turn(3), { ts: 4, expectedHead: 'ab'.repeat(32) })).rejects.toMatchObject({ code: 'CHAINLOG_HEAD_CONFLICT' })
    })
  })
})

describe('binary array parameters (pg-wire.ts)', () => {
  it('arrive as the int4[] and bytea[] they encode: empty, extreme and negative values, every byte', async () => {
    const ints = [0, 1, -1, 2147483647, -2147483648, 42]
    const r = await pgf.admin.query<{ a: string; n: number; e: number | null }>('SELECT $1::int4[]::text AS a, cardinality($1::int4[]) AS n, cardinality($2::int4[]) AS e', [int4Array(ints), int4Array([])])
    expect(r.rows[0]).toEqual({ a: `{${ints.join(',')}}`, n: ints.length, e: 0 })
    const all = Uint8Array.from({ length: 256 }, (_, i) => i)
    const values = [all, new Uint8Array(0), Uint8Array.of(0), all.subarray(250)]
    const b = await pgf.admin.query<{ h: string[] }>("SELECT array(SELECT encode(x, 'hex') FROM unnest($1::bytea[]) AS x) AS h", [byteaArray(values)])
    expect(b.rows[0]!.h).toEqual(values.map((v) => Buffer.from(v).toString('hex')))
    const empty = await pgf.admin.query<{ n: number }>('SELECT cardinality($1::bytea[]) AS n', [byteaArray([])])
    expect(empty.rows[0]!.n).toBe(0)
  })
})
