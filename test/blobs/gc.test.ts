// Garbage collection: after sessions are deleted, gc frees exactly the blobs no remaining
// session reaches (forks plain and materialised, compactions whose history holds references,
// dependants re-rooted or deleted with their source), every remaining session still verifies
// and restores as before, and a second gc finds nothing. Also: gc running while appends and
// imports reuse a blob that was garbage when it started never removes that blob. On every engine
// (test/support/engines.ts): memory-level, LevelDB and PostgreSQL.
import { createHash } from 'node:crypto'
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { collectRefs, refHash, type BlobRef } from '../../src/blobs/blobs.js'
import type { SessionState } from '../../src/state/reducer.js'
import type { Store } from '../../src/store.js'
import { blobSizes, dump } from '../support/rows.js'
import { entriesOf } from '../support/stores.js'
import { eachEngine } from '../support/engines.js'

const TS = 1_700_000_000_000
const BLOB_TAG = 0x42


const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex')

/** Blobs the entries of the remaining sessions reference. */
async function referencedBlobs(store: Store): Promise<Set<string>> {
  const out = new Set<string>()
  for (const s of await store.listSessions()) {
    for (const e of await entriesOf(store, s.sessionId, false)) for (const r of collectRefs(e.entry)) out.add(refHash(r))
  }
  return out
}

/** A distinct payload per tag, over the blob threshold. */
const P = (tag: string, bytes = 12_000) => {
  let s = ''
  for (let i = 0; s.length < bytes; i++) s += `${tag} line ${i}: ${sha(`${tag}/${i}`)}\n`
  return s.slice(0, bytes)
}

const call = (id: string) => ({ type: 'function_call', call_id: id, name: 'read', arguments: JSON.stringify({ id }) })
const result = (id: string, output: unknown) => ({ type: 'function_call_output', call_id: id, output })
const usage = (n: number) => ({ historyLength: n, model: 'm', inputTokens: 100 * n, cacheReadTokens: 0, cacheWriteTokens: 0, outputTokens: 10 * n, reasoningTokens: 0 })

async function tool(store: Store, id: string, callId: string, payload: unknown, t: number): Promise<void> {
  await store.appendTurn(id, [{ role: 'user', content: `please read ${callId}` }, call(callId), result(callId, payload)], { ts: TS + t, turnEnd: true, usage: usage(t) })
}

const PK = P('keep-only')
const PS = P('shared-keep-del1')
const PD1 = P('del1-only')
const PS2 = P('src2-early')
const PS2LATE = P('src2-late')
const PF2 = P('fork2-own')
const PM2 = P('mat2-own')
const PC2 = P('comp2-summary')
const PD3 = P('src3-only')
const PF3 = P('fork3-own')

interface World {
  before: Record<string, SessionState>
}

/**
 * keep: PK, PS. del1: PS, PD1. src2: PS2, then PS2LATE after the fork points; fk2 (plain fork
 * of src2 after PS2) adds PF2; fk2b (plain fork of fk2) adds nothing; mat2 (materialised fork
 * after PS2) adds PM2; comp2 compacts src2 with a history of a reference to PS2 and PC2.
 * src3: PD3, with a plain fork fk3 adding PF3.
 */
async function buildWorld(store: Store): Promise<World> {
  await store.createSession({ sessionId: 'keep', systemPrompt: 'keep me', ts: TS })
  await tool(store, 'keep', 'k1', PK, 1)
  await tool(store, 'keep', 'k2', PS, 2)
  await store.createSession({ sessionId: 'del1', ts: TS })
  await tool(store, 'del1', 'd1', PS, 3)
  await tool(store, 'del1', 'd2', { file: PD1 }, 4)

  await store.createSession({ sessionId: 'src2', config: { model: 'm' }, ts: TS })
  await tool(store, 'src2', 's1', PS2, 5)
  const atFork = (await entriesOf(store, 'src2', false)).at(-1)!.hash
  await tool(store, 'src2', 's2', PS2LATE, 6)
  await store.forkAt(atFork, { sessionId: 'fk2', ts: TS + 7 })
  await tool(store, 'fk2', 'f1', PF2, 8)
  const fk2Head = await store.head('fk2')
  await store.forkAt(fk2Head, { sessionId: 'fk2b', ts: TS + 9 })
  await store.appendTurn('fk2b', [{ role: 'user', content: 'small talk' }], { ts: TS + 10 })
  await store.forkAt(atFork, { sessionId: 'mat2', materialize: true, ts: TS + 11 })
  await tool(store, 'mat2', 'm1', PM2, 12)
  const s2 = await store.restore('src2', { resolveBlobs: false })
  const refPS2 = (s2.history[2] as { output: BlobRef }).output
  expect(refPS2.$blob).toBe(`sha256:${sha(PS2)}`)
  await store.compact('src2', { sessionId: 'comp2', history: [{ role: 'user', content: refPS2 }, { role: 'assistant', content: PC2 }], summary: 'two files were read', ts: TS + 13 })
  await store.appendTurn('comp2', [{ role: 'user', content: 'go on' }], { ts: TS + 14 })

  await store.createSession({ sessionId: 'src3', ts: TS })
  await tool(store, 'src3', 't1', PD3, 15)
  await store.forkAt(await store.head('src3'), { sessionId: 'fk3', ts: TS + 16 })
  await tool(store, 'fk3', 'g1', PF3, 17)

  const before: Record<string, SessionState> = {}
  for (const s of await store.listSessions()) before[s.sessionId] = await store.restore(s.sessionId)
  return { before }
}

eachEngine((engine, memStore) => {
  describe('gc after deleting sessions', () => {
    it('frees exactly what only the deleted sessions used; the rest verifies and restores as before', async () => {
      const store = await memStore()
      const { before } = await buildWorld(store)
      expect(new Set((await blobSizes(store)).keys())).toEqual(new Set([PK, PS, PD1, PS2, PS2LATE, PF2, PM2, PC2, PD3, PF3].map(sha)))
      expect((await store.verify()).ok).toBe(true)

      await store.deleteSession('del1')
      const del2 = await store.deleteSession('src2', { dependants: 'materialize' })
      expect(del2.rerooted.map((r) => r.sessionId).sort()).toEqual(['fk2', 'fk2b'])
      const del3 = await store.deleteSession('src3', { dependants: 'delete' })
      expect(del3.deleted.sort()).toEqual(['fk3', 'src3'])
      const remaining = ['comp2', 'fk2', 'fk2b', 'keep', 'mat2']
      expect((await store.listSessions()).map((s) => s.sessionId).sort()).toEqual(remaining)

      // Deleting removes entries, not blobs: that is gc's work.
      const rows = await blobSizes(store)
      expect(rows.size).toBe(10)
      const garbage = [PD1, PS2LATE, PD3, PF3].map(sha)
      const freed = garbage.reduce((n, h) => n + rows.get(h)!, 0)

      const collected = await store.gc()
      expect(collected).toEqual({ entriesRemoved: 0, blobsRemoved: 4, bytesFreed: freed })
      const after = await blobSizes(store)
      expect(new Set(after.keys())).toEqual(new Set([PK, PS, PS2, PF2, PM2, PC2].map(sha)))
      for (const h of garbage) expect(await store.hasBlob(h)).toBe(false)
      // Never anything a remaining session needs.
      for (const h of await referencedBlobs(store)) expect(after.has(h)).toBe(true)

      const report = await store.verify()
      expect(report.findings.filter((f) => f.severity === 'error')).toEqual([])
      expect(report.ok).toBe(true)
      const newHead = new Map(del2.rerooted.map((r) => [r.sessionId, r.newHead]))
      const moved = new Map(del2.rerooted.map((r) => [r.oldHead, r.newHead]))
      for (const id of remaining) {
        const state = await store.restore(id)
        // Re-rooted forks keep their state; only their hashes changed (a fork of a re-rooted fork
        // points at the new hash of its fork point).
        const want = { ...before[id]! }
        if (newHead.has(id)) want.head = newHead.get(id)!
        if (want.forkedFrom && moved.has(want.forkedFrom.atHash)) want.forkedFrom = { ...want.forkedFrom, atHash: moved.get(want.forkedFrom.atHash)! }
        expect(state, id).toEqual(want)
        expect((await store.verify({ sessionId: id, lineage: true })).ok, id).toBe(true)
      }
      // The re-rooted fork's history still has PS2 (now referenced by its own genesis), and its own PF2.
      expect((await store.restore('fk2')).history.slice(1)).toEqual([call('s1'), result('s1', PS2), { role: 'user', content: 'please read f1' }, call('f1'), result('f1', PF2)])
      expect((await store.restore('comp2')).history.slice(0, 2)).toEqual([
        { role: 'user', content: PS2 },
        { role: 'assistant', content: PC2 },
      ])

      // A second gc removes nothing.
      const rowsAfter = await dump(store)
      expect(await store.gc()).toEqual({ entriesRemoved: 0, blobsRemoved: 0, bytesFreed: 0 })
      expect(await dump(store)).toEqual(rowsAfter)

      // A freed payload appended again is stored again (gc left no stale "already stored" belief).
      await tool(store, 'keep', 'k3', { file: PD1 }, 30)
      expect((await blobSizes(store)).has(sha(PD1))).toBe(true)
      expect((await store.restore('keep')).history.at(-1)).toEqual(result('k3', { file: PD1 }))
      expect((await store.verify()).ok).toBe(true)
    })

    it('keeps blobs a compaction or materialised fork still references after their source is deleted', async () => {
      const store = await memStore()
      const { before } = await buildWorld(store)
      // No plain forks of src2 may stay: delete them first, then the source.
      await store.deleteSession('src2', { dependants: 'delete' })
      expect(await store.listSessions().then((l) => l.map((s) => s.sessionId).sort())).toEqual(['comp2', 'del1', 'fk3', 'keep', 'mat2', 'src3'])
      const collected = await store.gc()
      // PS2LATE (src2 after the fork points) and PF2 (fk2 only) go; PS2 stays for mat2 and comp2.
      expect(collected.blobsRemoved).toBe(2)
      const after = await blobSizes(store)
      expect(after.has(sha(PS2LATE))).toBe(false)
      expect(after.has(sha(PF2))).toBe(false)
      expect(after.has(sha(PS2))).toBe(true)
      expect(after.has(sha(PC2))).toBe(true)
      expect(after.has(sha(PM2))).toBe(true)
      for (const id of ['comp2', 'mat2', 'keep', 'del1', 'src3', 'fk3']) expect(await store.restore(id), id).toEqual(before[id])
      const report = await store.verify()
      expect(report.ok).toBe(true)
      // The deleted sources are reported as warnings only.
      expect(report.findings.every((f) => f.code === 'origin_deleted' && f.severity === 'warning')).toBe(true)
    })

    it('removes nothing when there is nothing to collect', async () => {
      const empty = await memStore()
      expect(await empty.gc()).toEqual({ entriesRemoved: 0, blobsRemoved: 0, bytesFreed: 0 })

      const store = await memStore()
      await buildWorld(store)
      const rows = await dump(store)
      expect(await store.gc()).toEqual({ entriesRemoved: 0, blobsRemoved: 0, bytesFreed: 0 })
      expect(await dump(store)).toEqual(rows)
      expect((await store.verify()).ok).toBe(true)
    })
  })

  describe('gc while others write', () => {
    /** A store where `dead` used `garbage` payloads and was deleted, and `live` has many entries (so a gc takes a while). */
    async function setup(garbage: string[]): Promise<Store> {
      const store = await memStore()
      await store.createSession({ sessionId: 'dead', ts: TS })
      for (const [i, g] of garbage.entries()) await tool(store, 'dead', `g${i}`, g, i)
      await store.createSession({ sessionId: 'live', ts: TS })
      for (let i = 0; i < 150; i++) {
        await store.appendTurn('live', [{ role: 'user', content: `filler ${i}` }, { role: 'assistant', content: `ok ${i}` }], { ts: TS + i })
      }
      await store.deleteSession('dead')
      return store
    }

    const G1 = P('garbage-1')
    const G2 = P('garbage-2')

    async function check(store: Store): Promise<void> {
      const report = await store.verify()
      expect(report.findings).toEqual([])
      const history = (await store.restore('live')).history
      expect(history.at(-1)).toEqual(result('r', G1))
      // The garbage nobody reused was still collected.
      expect(await store.hasBlob(sha(G2))).toBe(false)
      expect(await store.hasBlob(sha(G1))).toBe(true)
    }

    /**
     * Blobs the gc removed: on LevelDB only G2 (the gc sees this process's append). On an engine
     * other processes write, a gc that marked G1 before the append's commit may sweep it; the
     * append's commit is then refused and its retry writes G1 again (docs/storage.md section 13):
     * G1 ends stored either way, which check() asserts.
     */
    const removed = (n: number) => (engine === 'postgresql' ? [1, 2] : [1]).includes(n)

    it('an append that starts while gc runs keeps the blob it reuses (or writes it again)', async () => {
      const store = await setup([G1, G2])
      const collecting = store.gc()
      await store.appendTurn('live', [call('r'), result('r', G1)], { ts: TS + 1000 })
      const r = await collecting
      expect(removed(r.blobsRemoved), `${r.blobsRemoved} removed`).toBe(true)
      await check(store)
    })

    it('an append that started just before gc keeps the blob it reuses (or writes it again)', async () => {
      const store = await setup([G1, G2])
      const appending = store.appendTurn('live', [call('r'), result('r', G1)], { ts: TS + 1000 })
      const collecting = store.gc()
      await appending
      const r = await collecting
      expect(removed(r.blobsRemoved), `${r.blobsRemoved} removed`).toBe(true)
      await check(store)
    })

    it('an append whose blobs were prepared before gc started (so it writes no blob row) keeps its blob', async () => {
      const store = await setup([G1, G2])
      // Start the gc exactly between the append's blob preparation (G1 is stored, so no put) and its write.
      const prepare = store.prepareBlobs.bind(store)
      let collecting: Promise<unknown> | undefined
      let putsBlob: boolean | undefined
      store.prepareBlobs = (async (entries: Parameters<Store['prepareBlobs']>[0], ops: Parameters<Store['prepareBlobs']>[1]) => {
        const out = await prepare(entries, ops)
        // The first preparation (on PostgreSQL, a gc that swept G1 before the commit makes the
        // append try again, and that one writes G1).
        putsBlob ??= ops.some((op) => op.key[0] === BLOB_TAG)
        collecting ??= store.gc()
        return out
      }) as Store['prepareBlobs']
      await store.appendTurn('live', [call('r'), result('r', G1)], { ts: TS + 1000 })
      expect(putsBlob).toBe(false)
      expect(collecting).toBeDefined()
      await collecting
      await check(store)
    })

    it('a reference given by the caller while gc runs keeps its blob (on an engine others write, or is refused with nothing written)', async () => {
      const store = await setup([G1, G2])
      // The caller holds a reference to G1 from before (e.g. from restore with resolveBlobs: false).
      const ref: BlobRef = { $blob: `sha256:${sha(G1)}`, size: G1.length, mediaType: 'text/plain;charset=utf-8' }
      const appending = store.appendTurn('live', [call('r'), result('r', ref)], { ts: TS + 1000 })
      const collecting = store.gc()
      // On LevelDB the gc sees this process's append and keeps G1. On an engine other processes
      // write, a gc that swept G1 first makes the append's reference name a blob the store no
      // longer has: refused (CHAINLOG_INVALID_ENTRY), nothing written (docs/storage.md section 13).
      const landed = await appending.then(
        () => true,
        (err: { code?: string }) => {
          if (engine !== 'postgresql' || err.code !== 'CHAINLOG_INVALID_ENTRY') throw err
          return false
        },
      )
      await collecting
      if (landed) await check(store)
      else {
        expect((await store.verify()).findings).toEqual([])
        expect((await store.restore('live')).history.at(-1)).toEqual({ role: 'assistant', content: 'ok 149' })
        expect(await store.hasBlob(sha(G1))).toBe(false)
      }
    })

    it('an import that starts while gc runs keeps the blobs its entries reference', async () => {
      const other = await memStore()
      await other.createSession({ sessionId: 'imported', ts: TS })
      await tool(other, 'imported', 'r', G1, 1)
      const chunks: Buffer[] = []
      await other.exportSession(
        'imported',
        new Writable({
          write(chunk, _enc, cb) {
            chunks.push(Buffer.from(chunk))
            cb()
          },
        }),
      )
      const store = await setup([G1, G2])
      const collecting = store.gc()
      await store.importBundle(new Uint8Array(Buffer.concat(chunks)))
      await collecting
      expect((await store.verify()).findings).toEqual([])
      expect((await store.restore('imported')).history.at(-1)).toEqual(result('r', G1))
      expect(await store.hasBlob(sha(G2))).toBe(false)
    })

    it('many appends across sessions during a gc lose nothing', async () => {
      const store = await setup([G1, G2])
      await store.createSession({ sessionId: 'other', ts: TS })
      const collecting = store.gc()
      const work: Promise<unknown>[] = []
      for (let i = 0; i < 10; i++) {
        work.push(store.appendTurn('live', [call(`l${i}`), result(`l${i}`, i % 2 ? G1 : `small ${i}`)], { ts: TS + 2000 + i }))
        work.push(store.appendTurn('other', [call(`o${i}`), result(`o${i}`, i % 3 ? G1 : P(`fresh-${i}`))], { ts: TS + 2000 + i }))
      }
      await Promise.all([collecting, ...work])
      expect((await store.verify()).findings).toEqual([])
      for (const id of ['live', 'other']) await store.restore(id)
      expect(await store.hasBlob(sha(G1))).toBe(true)
      expect(await store.hasBlob(sha(G2))).toBe(false)
    })
  })
})
