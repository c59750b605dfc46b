// Bundle fixtures of each version this release reads, kept as they were written
// (fixtures/bundles/generate.mjs; the version-1 and version-2 bundles are in fixtures/stores):
// the version-3 bundle carries signed checkpoints that verify with the fixture's verifier key,
// imports, and the importing store proves entries against the checkpoints it carried.
import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { verifyBundle } from '../../src/bundle/bundle.js'
import { toHex } from '../../src/encoding/hash.js'
import { parseChainlogCheckpoint } from '../../src/proofs/checkpoint.js'
import { verifyConsistency } from '../../src/proofs/merkle.js'
import { parseNote } from '../../src/proofs/note.js'
import { parseConsistencyProof, verifyProofFile } from '../../src/proofs/proof.js'
import type { Store } from '../../src/store.js'
import { entriesOf } from '../support/stores.js'
import { eachEngine } from '../support/engines.js'


interface Fixture {
  bundleVersion: number
  verifierKey: string
  root: string
  forkPoint: string
  carried: Record<string, number>
  sessions: Record<string, { size: number; head: string; root: string; hashes: string[] }>
}

const url = (name: string) => new URL(`../../fixtures/bundles/${name}`, import.meta.url)

eachEngine((_engine, memStore) => {
  describe('bundle format 3 (fixtures/bundles/v3-checkpoints.bundle)', () => {
    it('verifies with its verifier key: each checkpoint is of the whole session as it was signed, the source carried to the fork point', async () => {
      const fx = JSON.parse(await readFile(url('v3-checkpoints.json'), 'utf8')) as Fixture
      const bytes = new Uint8Array(await readFile(url('v3-checkpoints.bundle')))
      const report = await verifyBundle(bytes, { keys: [fx.verifierKey] })
      expect(report.findings).toEqual([])
      expect(report.header?.version).toBe(3)
      expect(fx.bundleVersion).toBe(3)
      expect(report.checkpoints?.map((c) => [c.sessionId, c.length, c.size, c.status, c.signed])).toEqual(
        Object.entries(fx.carried).map(([id, n]) => [id, n, fx.sessions[id]!.size, 'consistent', true]),
      )
      for (const c of report.checkpoints!) {
        const cp = parseChainlogCheckpoint(parseNote(c.checkpoint).text)
        expect(toHex(cp.root)).toBe(fx.sessions[c.sessionId]!.root)
        expect(cp.head).toBe(fx.sessions[c.sessionId]!.head)
      }
    })

    it('imports; the store proves the fork against its carried checkpoint, and its prefix of the source leads to the source checkpoint', async () => {
      const fx = JSON.parse(await readFile(url('v3-checkpoints.json'), 'utf8')) as Fixture
      const bytes = new Uint8Array(await readFile(url('v3-checkpoints.bundle')))
      const store = await memStore()
      const result = await store.importBundle(bytes, { keys: [fx.verifierKey] })
      expect((await store.verify()).ok).toBe(true)
      const cps = new Map(result.sessions.map((s) => [s.sessionId, s.checkpoint!]))
      const fork = fx.root
      const entries = await entriesOf(store, fork)
      expect(entries.map((e) => e.hash)).toEqual(fx.sessions[fork]!.hashes)
      for (const e of entries) {
        const proof = await store.prove(e.hash, { checkpoint: cps.get(fork)! })
        expect(verifyProofFile(proof, [fx.verifierKey], { entryHash: e.hash }).index).toBe(e.seq)
      }
      const [source] = Object.keys(fx.carried).filter((id) => id !== fork)
      const th = await store.treeHead(source!)
      expect(th).toMatchObject({ size: fx.carried[source!], head: fx.forkPoint })
      const cp = parseChainlogCheckpoint(parseNote(cps.get(source!)!).text)
      const consistency = parseConsistencyProof(result.report.header!.sessions[0]!.consistency!)
      expect(verifyConsistency(th.size, cp.size, th.root, cp.root, consistency.proof)).toBe(true)
    })
  })
})
