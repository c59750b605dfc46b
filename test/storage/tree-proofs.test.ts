// Checkpoints and proofs from real stores (memory-level and classic-level), checked offline by
// the pure verifiers with only the verifier key; reads counted; tampering and rewrites caught.
import { cp, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryLevel } from 'memory-level'
import { afterEach, describe, expect, it } from 'vitest'
import { sealEntry } from '../../src/encoding/entry-codec.js'
import { ZERO_HASH, toHex } from '../../src/encoding/hash.js'
import { ChainlogError, ErrorCodes } from '../../src/errors.js'
import { verifyCheckpoint } from '../../src/proofs/checkpoint.js'
import { nodesAfterAppend } from '../../src/proofs/merkle.js'
import { generateKeyPair } from '../../src/proofs/note.js'
import { parseProofFile, formatProofFile, verifyConsistencyFile, verifyProofFile } from '../../src/proofs/proof.js'
import { decodeBase64, encodeBase64 } from '../../src/proofs/text.js'
import type { Entry } from '../../src/schema/entry.js'
import type { BatchOp } from '../../src/storage/engine.js'
import * as K from '../../src/storage/keys.js'
import { appendTree, treeRowOps, type TreeState } from '../../src/storage/tree.js'
import { openStore } from '../../src/open.js'
import type { Store } from '../../src/store.js'
import { mthHex } from './contract.js'

const T0 = 1_700_000_000_000
const keys = generateKeyPair('chainlog.test/proofs', { seed: new Uint8Array(32).fill(7) })
const opened: Store[] = []
const dirs: string[] = []

afterEach(async () => {
  for (const s of opened.splice(0)) await s.close().catch(() => undefined)
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

type Backend = 'memory' | 'classic'
async function open(backend: Backend, signingKey: string | null = keys.signerKey): Promise<Store> {
  const opts = signingKey ? { signingKey } : {}
  let s: Store
  if (backend === 'memory') s = await openStore({ db: new MemoryLevel({ keyEncoding: 'view', valueEncoding: 'view' }) as never, durability: 'relaxed', ...opts })
  else {
    const dir = await mkdtemp(join(tmpdir(), 'chainlog-tree-'))
    dirs.push(dir)
    s = await openStore({ path: dir, exclusive: true, durability: 'relaxed', ...opts })
  }
  opened.push(s)
  return s
}

async function session(store: Store, id: string, n: number): Promise<string[]> {
  const hashes = [(await store.createSession({ sessionId: id, ts: T0 })).head]
  let ts = T0
  while (hashes.length < n) {
    const batch = Math.min(n - hashes.length, 1 + (hashes.length % 5))
    const r = await store.appendMany(id, Array.from({ length: batch }, () => ({ kind: 'turn_end' as const, ts: ++ts, turn: ts })))
    hashes.push(...r.entries.map((e) => e.hash))
  }
  return hashes
}

const code = (fn: () => unknown): string | undefined => {
  try {
    fn()
  } catch (err) {
    return err instanceof ChainlogError ? `${err.code}:${String(err.data.reason ?? '')}` : String(err)
  }
  return undefined
}

for (const backend of ['memory', 'classic'] as const) {
  describe(`checkpoints and proofs from a store: ${backend}`, () => {
    it('checkpoints sign the independent root and head; every inclusion and consistency proof verifies offline', async () => {
      const store = await open(backend)
      const hashes = await session(store, 's', 37)
      for (const size of [1, 2, 5, 16, 37]) {
        const note = await store.checkpoint('s', { size })
        const v = verifyCheckpoint(note, [keys.verifierKey])
        expect(v.sessionId).toBe('s')
        expect(v.size).toBe(size)
        expect(toHex(v.root)).toBe(mthHex(hashes.slice(0, size)))
        expect(v.head).toBe(hashes[size - 1])
      }
      for (let i = 0; i < hashes.length; i++) {
        for (const size of [i + 1, 37]) {
          const file = await store.prove(hashes[i]!, { size })
          const r = verifyProofFile(file, [keys.verifierKey], { entryHash: hashes[i]!, sessionId: 's' })
          expect(r.index).toBe(i)
          expect(r.checkpoint.size).toBe(size)
        }
      }
      for (const old of [1, 2, 3, 8, 20, 37]) {
        const oldCp = await store.checkpoint('s', { size: old })
        const file = await store.proveConsistency('s', old)
        expect(verifyConsistencyFile(file, oldCp, [keys.verifierKey]).new.size).toBe(37)
      }
      // A prefix of the hash works too, and a given checkpoint is used as it is.
      const held = await store.checkpoint('s', { size: 20 })
      const f = await store.prove(hashes[7]!.slice(0, 12), { checkpoint: held })
      expect(f.endsWith(held)).toBe(true)
      expect(verifyProofFile(f, [keys.verifierKey]).index).toBe(7)
    })

    it('a proof reads O(log n): one getMany of at most 2·log2(n) + 1 rows at 1,000 entries', async () => {
      const store = await open(backend)
      const hashes = await session(store, 'big', 1000)
      await store.checkpoint('big')
      const engine = store.engine
      let gets = 0
      let manys = 0
      let rows = 0
      const get = engine.get.bind(engine)
      const getMany = engine.getMany.bind(engine)
      engine.get = (k) => (gets++, rows++, get(k))
      engine.getMany = (ks) => ((manys++, (rows += ks.length)), getMany(ks))
      let worst = 0
      for (const i of [0, 1, 499, 511, 512, 998, 999]) {
        gets = manys = rows = 0
        const file = await store.prove(hashes[i]!)
        expect(verifyProofFile(file, [keys.verifierKey]).index).toBe(i)
        expect(manys).toBe(1)
        // The hash index (resolve, locate) is two point reads; the proof one getMany.
        expect(gets).toBeLessThanOrEqual(2)
        worst = Math.max(worst, rows)
      }
      expect(worst).toBeLessThanOrEqual(2 * 10 + 1 + 2)
      gets = manys = rows = 0
      await store.proveConsistency('big', 333)
      expect(manys).toBe(1)
      expect(rows).toBeLessThanOrEqual(2 * 10 + 2)
      engine.get = get
      engine.getMany = getMany
    })

    it('tampering with the entry, the root, the size, the signature or a proof hash is detected', async () => {
      const store = await open(backend)
      const hashes = await session(store, 't', 21)
      const file = await store.prove(hashes[6]!)
      expect(verifyProofFile(file, [keys.verifierKey]).index).toBe(6)
      const p = parseProofFile(file)
      const flip = (b: Uint8Array, at = 0) => {
        const c = new Uint8Array(b)
        c[at] = c[at]! ^ 1
        return c
      }
      const lines = p.checkpoint.split('\n')
      const otherEntry = formatProofFile({ ...p, entryHash: hashes[5]! })
      const badProof = formatProofFile({ ...p, proof: p.proof.map((h, i) => (i === 1 ? flip(h) : h)) })
      const badRoot = formatProofFile({ ...p, checkpoint: [lines[0], lines[1], encodeBase64(flip(decodeBase64(lines[2]!)!)), ...lines.slice(3)].join('\n') })
      const badSize = formatProofFile({ ...p, checkpoint: [lines[0], '22', ...lines.slice(2)].join('\n') })
      const sig = lines[5]!
      const sigBytes = decodeBase64(sig.slice(sig.lastIndexOf(' ') + 1))!
      const badSig = formatProofFile({ ...p, checkpoint: [...lines.slice(0, 5), sig.slice(0, sig.lastIndexOf(' ') + 1) + encodeBase64(flip(sigBytes, 10)), ...lines.slice(6)].join('\n') })
      const badIndex = formatProofFile({ ...p, index: 7 })
      expect(code(() => verifyProofFile(otherEntry, [keys.verifierKey]))).toBe(`${ErrorCodes.INVALID_PROOF}:inclusion_failed`)
      expect(code(() => verifyProofFile(badProof, [keys.verifierKey]))).toBe(`${ErrorCodes.INVALID_PROOF}:inclusion_failed`)
      expect(code(() => verifyProofFile(badIndex, [keys.verifierKey]))).toBe(`${ErrorCodes.INVALID_PROOF}:inclusion_failed`)
      expect(code(() => verifyProofFile(badRoot, [keys.verifierKey]))).toBe(`${ErrorCodes.INVALID_SIGNATURE}:bad_signature`)
      expect(code(() => verifyProofFile(badSize, [keys.verifierKey]))).toBe(`${ErrorCodes.INVALID_SIGNATURE}:bad_signature`)
      expect(code(() => verifyProofFile(badSig, [keys.verifierKey]))).toBe(`${ErrorCodes.INVALID_SIGNATURE}:bad_signature`)
      // A stored entry changed under its hash: the store's proof no longer matches a checkpoint it signed before.
      const held = await store.checkpoint('t')
      const rec = (await store.getRaw(K.recordKey('t', 4)))!
      await store.engine.commit({ ops: [{ type: 'put', key: K.recordKey('t', 4), value: flip(rec, 40) }] })
      // The O(log n) check reads the tree, the signed head's record and the head, not record 4:
      // the store's tree still extends the checkpoint. The full walk re-hashes every record.
      const byTree = await store.verify({ checkpoint: held, keys: [keys.verifierKey] })
      expect(byTree.checkpoint).toMatchObject({ status: 'consistent', method: 'tree' })
      const report = await store.verify({ checkpoint: held, keys: [keys.verifierKey], full: true })
      expect(report.ok).toBe(false)
      expect(report.checkpoint?.method).toBe('walk')
      expect(report.findings.map((f) => f.code)).toContain('hash_mismatch')
    })

    it('a checkpoint taken, then the history rewritten consistently, is caught by verify with the checkpoint', async () => {
      const store = await open(backend)
      await session(store, 'r', 12)
      const held = await store.checkpoint('r')
      const clean = await store.verify({ checkpoint: held, keys: [keys.verifierKey] })
      expect(clean.ok).toBe(true)
      expect(clean.checkpoint).toEqual({ sessionId: 'r', size: 12, storeSize: 12, status: 'consistent', method: 'tree' })
      expect((await store.verify({ checkpoint: held, keys: [keys.verifierKey], full: true })).checkpoint).toEqual({ sessionId: 'r', size: 12, storeSize: 12, status: 'consistent', method: 'walk' })
      await store.append('r', { kind: 'turn_end', ts: T0 + 99, turn: 99 })
      expect((await store.verify({ checkpoint: held, keys: [keys.verifierKey] })).checkpoint?.status).toBe('consistent')
      // Rewrite entry 3 and re-seal everything after it, with every index and tree row to match.
      const old: Entry[] = []
      for await (const e of store.entries('r', { resolveBlobs: false })) old.push(e.entry)
      const rewritten = old.map((e, i) => (i === 3 ? ({ ...e, turn: 12345 } as Entry) : e))
      await rewrite(store, 'r', rewritten)
      expect((await store.verify({ sessionId: 'r' })).ok).toBe(true)
      const r = await store.verify({ checkpoint: held, keys: [keys.verifierKey] })
      expect(r.ok).toBe(false)
      expect(r.findings.map((f) => f.code)).toEqual(['checkpoint_rewrite'])
      // The same size with another history: a fork.
      await rewrite(store, 'r', rewritten.slice(0, 12))
      expect((await store.verify({ checkpoint: held, keys: [keys.verifierKey] })).findings.map((f) => f.code)).toEqual(['checkpoint_fork'])
      // Fewer entries: truncated.
      await rewrite(store, 'r', old.slice(0, 9))
      expect((await store.verify({ checkpoint: held, keys: [keys.verifierKey] })).findings.map((f) => f.code)).toEqual(['checkpoint_truncated'])
      // The signed history, then only the head moved back: a rollback (verify also sees the head behind the records).
      await rewrite(store, 'r', old)
      expect((await store.verify({ checkpoint: held, keys: [keys.verifierKey] })).ok).toBe(true)
      const h5 = (await store.getRaw(K.recordKey('r', 6)))!.slice(0, 32)
      await store.engine.commit({ ops: [{ type: 'put', key: K.headKey('r'), value: K.withHead(await store.getRaw(K.headKey('r')), h5, 5) }] })
      store.invalidate()
      const rb = await store.verify({ checkpoint: held, keys: [keys.verifierKey] })
      expect(rb.checkpoint?.status).toBe('rollback')
      expect(rb.findings.map((f) => f.code)).toContain('checkpoint_rollback')
      // A checkpoint by a key the caller does not trust is refused, nothing checked.
      const other = generateKeyPair('chainlog.test/proofs', { seed: new Uint8Array(32).fill(9) })
      await expect(store.verify({ checkpoint: held, keys: [other.verifierKey] })).rejects.toMatchObject({ code: ErrorCodes.INVALID_SIGNATURE })
    })

    it('re-rooting a fork (its source deleted) rewrites its tree; a bundle import writes the tree of what it adds', async () => {
      const store = await open(backend)
      const src = await session(store, 'src', 9)
      const fork = await store.forkAt(src[4]!, { sessionId: 'child' })
      for (let i = 0; i < 6; i++) await store.append(fork.sessionId, { kind: 'turn_end', ts: T0 + 50 + i, turn: i })
      const res = await store.deleteSession('src', { dependants: 'materialize' })
      expect(res.rerooted.map((r) => r.sessionId)).toEqual(['child'])
      const hashes: string[] = []
      for await (const e of store.entries('child', { resolveBlobs: false })) hashes.push(e.hash)
      expect((await store.verify()).ok).toBe(true)
      const b0 = store.engine.stats.batches
      const note = await store.checkpoint('child')
      expect(store.engine.stats.batches).toBe(b0) // complete already: nothing built
      expect(toHex(verifyCheckpoint(note, [keys.verifierKey]).root)).toBe(mthHex(hashes))
      // Export and import into a fresh store: the tree comes with the import.
      const dir = await mkdtemp(join(tmpdir(), 'chainlog-tree-bundle-'))
      dirs.push(dir)
      await store.exportSession('child', join(dir, 'b.bundle'))
      const other = await open('memory')
      await other.importBundle(join(dir, 'b.bundle'))
      const b1 = other.engine.stats.batches
      expect(await other.checkpoint('child')).toBe(note)
      expect(other.engine.stats.batches).toBe(b1)
      expect((await other.verify()).ok).toBe(true)
    })

    it('without a signing key, checkpoint and prove are a typed error; with a witness key, the open is refused', async () => {
      const store = await open(backend, null)
      const [g] = await session(store, 'n', 3)
      await expect(store.checkpoint('n')).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT })
      await expect(store.prove(g!)).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT })
      await expect(store.checkpoint('n', { size: 4 })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT })
      const witness = generateKeyPair('w.example', { type: 0x04, seed: new Uint8Array(32).fill(3) })
      await expect(openStore({ db: new MemoryLevel({ keyEncoding: 'view', valueEncoding: 'view' }) as never, signingKey: witness.signerKey })).rejects.toMatchObject({ code: ErrorCodes.INVALID_KEY })
    })
  })
}

/** Re-seal a session from `entries` and replace every row (records, hash index, head, tree) to match: a consistent rewrite. */
async function rewrite(store: Store, sessionId: string, entries: Entry[]): Promise<void> {
  const ops: BatchOp[] = []
  for await (const rows of store.engine.scan(K.recordRange(sessionId), 512)) {
    for (const [key, v] of rows) ops.push({ type: 'del', key }, { type: 'del', key: K.hashKey(v.slice(0, 32)) })
  }
  ops.push({ type: 'del', key: K.hashKey((await store.readHead(sessionId))!.hash) })
  for await (const rows of store.engine.scan(K.treeRange(sessionId), 512)) for (const [key] of rows) ops.push({ type: 'del', key })
  let prev: Uint8Array = ZERO_HASH
  const hashes: Uint8Array[] = []
  entries.forEach((e, seq) => {
    const s = sealEntry(prev, e)
    ops.push(...K.entryRows(sessionId, seq, s.hash, s.record))
    hashes.push(s.hash)
    prev = s.hash
  })
  ops.push({ type: 'put', key: K.headKey(sessionId), value: K.withHead(await store.getRaw(K.headKey(sessionId)), prev, entries.length - 1) })
  ops.push(...treeRowOps(sessionId, nodesAfterAppend(0, [], hashes).nodes))
  await store.engine.commit({ ops })
  store.invalidate()
}

describe('fixture stores of format 1 and 2 (no tree rows) produce checkpoints and proofs by the lazy build', () => {
  for (const label of ['v1', 'v2']) {
    it(`${label}: opens, verifies, builds each session's tree once, and its proofs verify`, async () => {
      const dir = await mkdtemp(join(tmpdir(), `chainlog-tree-fixture-${label}-`))
      dirs.push(dir)
      await cp(new URL(`../../fixtures/stores/${label}/`, import.meta.url), dir, { recursive: true })
      const store = await openStore({ path: dir, exclusive: true, signingKey: keys.signerKey })
      opened.push(store)
      expect((await store.verify()).ok).toBe(true)
      for (const { sessionId, length } of await store.listSessions()) {
        const hashes: string[] = []
        for await (const e of store.entries(sessionId, { resolveBlobs: false })) hashes.push(e.hash)
        expect(hashes.length).toBe(length)
        const note = await store.checkpoint(sessionId)
        const v = verifyCheckpoint(note, [keys.verifierKey])
        expect(toHex(v.root)).toBe(mthHex(hashes))
        const b0 = store.engine.stats.batches
        const file = await store.prove(hashes[0]!)
        expect(store.engine.stats.batches).toBe(b0)
        expect(verifyProofFile(file, [keys.verifierKey], { entryHash: hashes[0]! }).index).toBe(0)
        expect((await store.verify({ checkpoint: note, keys: [keys.verifierKey] })).ok).toBe(true)
      }
      expect((await store.verify()).ok).toBe(true)
    })
  }
})

describe('appendTree (the append path) against nodesAfterAppend and treeRowOps', () => {
  it('gives the same T rows, key and value, and the same frontier, for turns of 1 to 9 entries', () => {
    const sid = '019b8f2e-5a10-7c3e-9d41-6e2f0a1b3c4d'
    const hashes = Array.from({ length: 500 }, (_, i) => sealEntry(ZERO_HASH, { kind: 'custom', ts: T0 + i, namespace: 'test', type: 'leaf' } as Entry).hash)
    let a: TreeState = { size: 0, frontier: [] }
    let b: TreeState = { size: 0, frontier: [] }
    let rows = 0
    for (let i = 0, turn = 1; i < hashes.length; i += turn, turn = (turn % 9) + 1) {
      const add = hashes.slice(i, i + turn)
      const want = nodesAfterAppend(a.size, a.frontier, add)
      const got = appendTree(sid, b, add)
      const hexOps = (ops: BatchOp[]) => ops.map((op) => [toHex(op.key), op.type === 'put' ? toHex(op.value) : 'del'])
      expect(hexOps(got.ops)).toEqual(hexOps(treeRowOps(sid, want.nodes)))
      expect(got.state.size).toBe(want.size)
      expect(got.state.frontier.map(toHex)).toEqual(want.frontier.map(toHex))
      rows += got.ops.length
      a = { size: want.size, frontier: want.frontier }
      b = got.state
    }
    expect(rows).toBe(Math.floor(500 / 8)) // one row per leaf i with i mod 8 = 7
  })
})
