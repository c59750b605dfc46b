// Verify of a store of many small sessions (bench case 11): the whole-store walk reads each
// table in one scan (records, heads, metadata, tree rows, hash index), so the engine calls it
// makes do not grow with the number of sessions. Counted at the engine seam: scans (iterators),
// point reads and getMany calls, on a sound store and on one with damage the merge must still
// find (a head moved, a metadata row and a record gone, a session with a head but no records).
import { describe, expect, it } from 'vitest'
import * as K from '../../src/storage/keys.js'
import type { BatchOp, StorageEngine } from '../../src/storage/engine.js'
import type { Store } from '../../src/store.js'
import type { VerifyReport } from '../../src/verify/findings.js'
import { eachEngine, type StoreOpener } from '../support/engines.js'

const TS = 1_700_000_000_000

/** A store of `n` one-turn sessions (a genesis, a user message, a reply, a turn end), named so that they sort in creation order. */
async function smallSessions(open: StoreOpener, n: number): Promise<Store> {
  const store = await open()
  for (let i = 0; i < n; i++) {
    const sessionId = `small-${String(i).padStart(4, '0')}`
    await store.createSession({ sessionId, ts: TS + i })
    await store.appendTurn(sessionId, [{ role: 'user', content: `question ${i}` }, { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: `answer ${i}` }] }], { ts: TS + i, turnEnd: true })
  }
  return store
}

interface Calls {
  scans: number
  gets: number
  getManys: number
}

/** Count the engine calls `fn` makes on `store`. */
async function counted<T>(store: Store, fn: () => Promise<T>): Promise<{ result: T; calls: Calls }> {
  const engine = store.engine as StorageEngine & Record<string, unknown>
  const calls: Calls = { scans: 0, gets: 0, getManys: 0 }
  const wrap = <K extends 'scan' | 'get' | 'getMany'>(name: K, count: keyof Calls) => {
    const orig = engine[name].bind(engine) as (...args: unknown[]) => unknown
    engine[name] = ((...args: unknown[]) => {
      calls[count]++
      return orig(...args)
    }) as never
    return () => delete engine[name]
  }
  const undo = [wrap('scan', 'scans'), wrap('get', 'gets'), wrap('getMany', 'getManys')]
  try {
    return { result: await fn(), calls }
  } finally {
    for (const u of undo) u()
  }
}

const codes = (r: VerifyReport) => r.findings.map((f) => `${f.code} ${f.sessionId ?? ''}`)

eachEngine((engine, open) => {
  describe('verify of many small sessions', () => {
    it('makes as many engine calls for 200 sessions as for 10: one scan per table, no read per session', async () => {
      const few = await smallSessions(open, 10)
      const many = await smallSessions(open, 200)
      const a = await counted(few, () => few.verify({ threads: 0 }))
      const b = await counted(many, () => many.verify({ threads: 0 }))
      expect(a.result).toMatchObject({ ok: true, checked: { sessions: 10, entries: 40 } })
      expect(b.result).toMatchObject({ ok: true, checked: { sessions: 200, entries: 800 } })
      // Records, session rows (head and metadata: one table since store format 4, which dropped
      // the metadata table's scan), tree rows, and the hash index (counted against the records confirmed).
      expect(a.calls.scans).toBe(4)
      expect(b.calls.scans).toBe(4)
      expect(a.calls.gets).toBe(0)
      expect(b.calls.gets).toBe(0)
      // One getMany of hash-index rows per chunk of 512 records: 1 for 40, 2 for 800. (classic-level's
      // iterator hands over what its buffer holds, bounded in bytes: smaller chunks, still per chunk.)
      if (engine === 'classic-level') {
        expect(a.calls.getManys).toBe(1)
        expect(b.calls.getManys).toBeLessThanOrEqual(10)
      } else {
        expect(a.calls.getManys).toBe(1)
        expect(b.calls.getManys).toBe(2)
      }
    })

    it('still finds damage to heads, metadata and records, and a session with a head but no records', async () => {
      const store = await smallSessions(open, 120)
      // Through the engine, as a tool with the database would.
      const row = (await store.engine.get(K.headKey('small-0010')))!
      const head = K.parseHeadValue(row)
      const ops: BatchOp[] = [
        { type: 'put', key: K.headKey('small-0010'), value: K.withHead(row, head.hash, head.seq - 1) },
        // Its session row cut to the head: the metadata is gone.
        { type: 'put', key: K.headKey('small-0050'), value: (await store.engine.get(K.headKey('small-0050')))!.slice(0, K.HEAD_BYTES) },
        { type: 'del', key: K.recordKey('small-0070', 2) },
      ]
      // small-0090 loses every record; its head and metadata stay.
      for (let seq = 0; seq < 4; seq++) ops.push({ type: 'del', key: K.recordKey('small-0090', seq) })
      await store.engine.commit({ ops })
      store.invalidate()
      const { result, calls } = await counted(store, () => store.verify({ threads: 0 }))
      expect(codes(result).slice(0, 4)).toEqual(['head_mismatch small-0010', 'index_mismatch small-0050', 'seq_gap small-0070', 'seq_gap small-0090'])
      // Then the hash-index rows of the deleted records, which name no entry any more (in hash order).
      expect(codes(result).slice(4).sort()).toEqual(['index_mismatch small-0070', ...Array(4).fill('index_mismatch small-0090')])
      expect(result.findings[3]!.message).toBe('session small-0090 has a head or metadata but no entries')
      expect(result.checked.sessions).toBe(120)
      // The session without records is checked for one (a scan); the hash index is scanned twice
      // (its rows outnumber the records confirmed), with a getMany of the records its second pass
      // names, besides the walk's getMany of hash-index rows. (The walk of one iterator, two
      // point reads and a getMany or two per session made 598 scans here.)
      expect(calls.scans).toBe(6)
      expect(calls.gets).toBe(0)
      if (engine === 'classic-level') expect(calls.getManys).toBeLessThanOrEqual(10)
      else expect(calls.getManys).toBe(2)
    })
  })
})
