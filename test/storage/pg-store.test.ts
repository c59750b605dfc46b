// The session store contract on PostgreSQL: the same suite as memory-level and classic-level,
// on the run's shared cluster (test/support/pg-file.ts: nothing here stops or breaks the server),
// one schema per test.
// Plus what only a store that many processes share shows: two Store objects on one database
// (two processes, two hosts) append to one session with compare-and-set, and neither loses or
// interleaves the other's turns.
import { describe, expect, it } from 'vitest'
import { openStore } from '../../src/open.js'
import type { Store } from '../../src/store.js'
import { pgDatabaseForFile } from '../support/pg-file.js'
import { storeContract } from './contract.js'

const pgf = pgDatabaseForFile()

let schemas = 0

const openOn = (schema: string) => openStore({ postgres: { connectionString: pgf.connectionString, schema, pool: { max: 4 } }, durability: 'sync' })

storeContract('postgresql', () => {
  const schema = pgf.schema(`s${++schemas}`)
  return {
    open: () => openOn(schema),
    reopen: () => openOn(schema),
    async cleanup() {
      await pgf.admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    },
  }
})

describe('two stores on one PostgreSQL database (as two processes would be)', () => {
  it('race appends to one session: every turn lands whole, once, and both see one chain', async () => {
    const schema = pgf.schema(`race${++schemas}`)
    const a: Store = await openOn(schema)
    const b: Store = await openOn(schema)
    try {
      const { sessionId } = await a.createSession({ sessionId: 'shared', ts: 1 })
      const turns = await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).appendTurn(sessionId, [{ role: 'user', content: `turn ${i}` }], { ts: 2 + i, turnEnd: true })),
      )
      expect(new Set(turns.map((t) => t.head)).size).toBe(40)
      for (const s of [a, b]) {
        const report = await s.verify({ sessionId })
        expect(report.ok).toBe(true)
        const state = await s.restore(sessionId)
        expect(state.history).toHaveLength(40)
        expect(state.turnCount).toBe(40)
        expect(new Set(state.history.map((x) => (x as { content: string }).content)).size).toBe(40)
      }
      expect(await a.head(sessionId)).toBe(await b.head(sessionId))
      // A writer that names a head another store has moved past gets a conflict, not a fork of history.
      const stale = turns[0]!.head
      await expect(a.appendTurn(sessionId, [{ role: 'user', content: 'late' }], { expectedHead: stale, ts: 100 })).rejects.toMatchObject({ code: 'CHAINLOG_HEAD_CONFLICT' })
    } finally {
      await a.close()
      await b.close()
    }
  })

  it('a lease claimed through one store fences appends through the other', async () => {
    const schema = pgf.schema(`lease${++schemas}`)
    const a: Store = await openOn(schema)
    const b: Store = await openOn(schema)
    try {
      const { sessionId } = await a.createSession({ sessionId: 'leased', ts: 1 })
      const lease = await a.claimSession(sessionId, { owner: 'runtime-a', ttlMs: 60_000 })
      await expect(b.append(sessionId, { kind: 'turn_end', turn: 1, ts: 2 })).rejects.toMatchObject({ code: 'CHAINLOG_LEASE_HELD' })
      await expect(b.claimSession(sessionId, { owner: 'runtime-b', ttlMs: 60_000 })).rejects.toMatchObject({ code: 'CHAINLOG_LEASE_HELD' })
      await a.append(sessionId, { kind: 'turn_end', turn: 1, ts: 2 }, { lease })
      expect((await b.restore(sessionId)).turnCount).toBe(1)
    } finally {
      await a.close()
      await b.close()
    }
  })
})
