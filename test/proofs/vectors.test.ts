// Checks the Merkle code against the committed vectors (fixtures/proofs/vectors.json) and both
// against RFC 9162's own definitions of MTH, PATH and PROOF/SUBPROOF (section 2.1), written
// here again, recursively and independently of src/ (only node:crypto), straight from the RFC.
// The signed texts in the vectors verify, and every text the vectors list as refused is refused
// with its code and reason.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { toHex } from '../../src/encoding/hash.js'
import { isChainlogError } from '../../src/errors.js'
import { verifyCheckpoint } from '../../src/proofs/checkpoint.js'
import { MemoryNodeSource, consistencyProof, inclusionProof, leafHash, rootAt, verifyConsistency, verifyInclusion } from '../../src/proofs/merkle.js'
import { verifyNote } from '../../src/proofs/note.js'
import { verifyConsistencyFile, verifyProofFile } from '../../src/proofs/proof.js'

// --- RFC 9162, section 2.1, as written there -------------------------------------------------------

type Bytes = Uint8Array
const HASH = (...parts: Bytes[]): Bytes => {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return new Uint8Array(h.digest())
}
const b = (byte: number): Bytes => new Uint8Array([byte])
/** The largest power of two smaller than n (n > 1). */
const kOf = (n: number): number => 2 ** Math.floor(Math.log2(n - 1))

/** MTH(D[n]). (Memoised by the leaves' contents, to keep the test quick.) */
const memo = new Map<string, Bytes>()
const hexOf = new WeakMap<Bytes, string>()
const hex = (d: Bytes): string => {
  let h = hexOf.get(d)
  if (h === undefined) hexOf.set(d, (h = Buffer.from(d).toString('hex')))
  return h
}
function MTH(D: Bytes[]): Bytes {
  const n = D.length
  if (n === 0) return HASH()
  const key = D.map(hex).join('')
  const known = memo.get(key)
  if (known) return known
  const h = MTHuncached(D)
  memo.set(key, h)
  return h
}
function MTHuncached(D: Bytes[]): Bytes {
  const n = D.length
  if (n === 1) return HASH(b(0x00), D[0]!)
  const k = kOf(n)
  return HASH(b(0x01), MTH(D.slice(0, k)), MTH(D.slice(k)))
}

/** PATH(m, D[n]). */
function PATH(m: number, D: Bytes[]): Bytes[] {
  const n = D.length
  if (n === 1) return []
  const k = kOf(n)
  if (m < k) return [...PATH(m, D.slice(0, k)), MTH(D.slice(k))]
  return [...PATH(m - k, D.slice(k)), MTH(D.slice(0, k))]
}

/** SUBPROOF(m, D[n], b). */
function SUBPROOF(m: number, D: Bytes[], bFlag: boolean): Bytes[] {
  const n = D.length
  if (m === n) return bFlag ? [] : [MTH(D)]
  const k = kOf(n)
  if (m <= k) return [...SUBPROOF(m, D.slice(0, k), bFlag), MTH(D.slice(k))]
  return [...SUBPROOF(m - k, D.slice(k), false), MTH(D.slice(0, k))]
}

/** PROOF(m, D[n]) = SUBPROOF(m, D[n], true). */
const PROOF = (m: number, D: Bytes[]): Bytes[] => SUBPROOF(m, D, true)

// -------------------------------------------------------------------------------------------------

interface Vectors {
  entryHashes: { hex: string[] }
  roots: { vectors: { size: number; root: string }[] }
  inclusion: { vectors: { index: number; size: number; proof: string[] }[] }
  consistency: { vectors: { oldSize: number; newSize: number; proof: string[] }[] }
  signed: {
    logVerifierKey: string
    witnessVerifierKey: string
    logSignerKey: string
    sessionId: string
    note: string
    checkpoint10: string
    checkpoint64: string
    cosignedCheckpoint64: string
    cosignatureTimestamp: number
    proofFile: { index: number; size: number; text: string }
    lastEntryProofFile: { index: number; size: number; text: string }
    consistencyFile: { oldSize: number; newSize: number; text: string }
  }
  reject: { vectors: { name: string; verify: string; text: string; expectedCode: string; expectedReason?: string }[] }
}

const V = JSON.parse(readFileSync(new URL('../../fixtures/proofs/vectors.json', import.meta.url), 'utf8')) as Vectors
const b64 = (bytes: Bytes): string => Buffer.from(bytes).toString('base64')
const unb64 = (s: string): Bytes => new Uint8Array(Buffer.from(s, 'base64'))
const entries = V.entryHashes.hex.map((h) => new Uint8Array(Buffer.from(h, 'hex')))
const source = MemoryNodeSource.fromEntryHashes(entries)

describe('the vectors follow their own rules', () => {
  it('entry i is SHA-256("chainlog proof vector <i>"), 64 of them', () => {
    expect(entries).toHaveLength(64)
    entries.forEach((e, i) => expect(toHex(e)).toBe(createHash('sha256').update(`chainlog proof vector ${i}`).digest('hex')))
  })

  it('cover every size, every (index, size) and every (oldSize, newSize) up to 64', () => {
    expect(V.roots.vectors.map((r) => r.size)).toEqual(Array.from({ length: 65 }, (_, i) => i))
    expect(V.inclusion.vectors).toHaveLength((64 * 65) / 2)
    expect(V.consistency.vectors).toHaveLength((64 * 65) / 2)
    expect(new Set(V.inclusion.vectors.map((v) => `${v.index}/${v.size}`)).size).toBe((64 * 65) / 2)
    expect(new Set(V.consistency.vectors.map((v) => `${v.oldSize}/${v.newSize}`)).size).toBe((64 * 65) / 2)
  })
})

describe('roots', () => {
  it.each(V.roots.vectors)('size $size: the code and MTH give the vector', async ({ size, root }) => {
    expect(b64(MTH(entries.slice(0, size)))).toBe(root)
    expect(b64(await rootAt(size, source))).toBe(root)
  })
})

describe('inclusion proofs', () => {
  it('every (index, size): the code and PATH give the vector, and it verifies', async () => {
    for (const { index, size, proof } of V.inclusion.vectors) {
      const D = entries.slice(0, size)
      const ref = PATH(index, D).map(b64)
      expect(ref, `PATH(${index}, D[${size}])`).toEqual(proof)
      expect((await inclusionProof(index, size, source)).map(b64), `inclusionProof(${index}, ${size})`).toEqual(proof)
      expect(verifyInclusion(leafHash(entries[index]!), index, size, proof.map(unb64), MTH(D))).toBe(true)
    }
  })

  it('every proof fails with another leaf, index or root, a size not above the index, or any hash changed, dropped or added', () => {
    const bad = HASH(b(0xee))
    for (const { index, size, proof } of V.inclusion.vectors) {
      const root = unb64(V.roots.vectors[size]!.root)
      const leaf = leafHash(entries[index]!)
      const p = proof.map(unb64)
      const where = `index ${index} size ${size}`
      expect(verifyInclusion(leafHash(entries[(index + 1) % 64]!), index, size, p, root), where).toBe(false)
      expect(verifyInclusion(entries[index]!, index, size, p, root), `${where}: the entry hash is not the leaf hash`).toBe(false)
      if (size > 1) expect(verifyInclusion(leaf, (index + 1) % size, size, p, root), where).toBe(false)
      expect(verifyInclusion(leaf, index, size, p, unb64(V.roots.vectors[size - 1]!.root)), where).toBe(false)
      expect(verifyInclusion(leaf, index, size, [...p, bad], root), `${where}: hash added`).toBe(false)
      for (let i = 0; i < p.length; i++) {
        const changed = p.map((h, j) => (j === i ? bad : h))
        expect(verifyInclusion(leaf, index, size, changed, root), `${where}: hash ${i} changed`).toBe(false)
        expect(verifyInclusion(leaf, index, size, p.filter((_, j) => j !== i), root), `${where}: hash ${i} dropped`).toBe(false)
      }
      // A size at or below the index never verifies. (Other sizes can share a proof's shape: a
      // proof alone does not bind the size; the signed checkpoint does, see checkpoint.test.ts.)
      expect(verifyInclusion(leaf, index, index, p, root), `${where}: size ${index}`).toBe(false)
    }
  })
})

describe('consistency proofs', () => {
  it('every (oldSize, newSize): the code and PROOF give the vector, and it verifies', async () => {
    for (const { oldSize, newSize, proof } of V.consistency.vectors) {
      const ref = (oldSize === newSize ? [] : PROOF(oldSize, entries.slice(0, newSize))).map(b64)
      expect(ref, `PROOF(${oldSize}, D[${newSize}])`).toEqual(proof)
      expect((await consistencyProof(oldSize, newSize, source)).map(b64), `consistencyProof(${oldSize}, ${newSize})`).toEqual(proof)
      expect(verifyConsistency(oldSize, newSize, MTH(entries.slice(0, oldSize)), MTH(entries.slice(0, newSize)), proof.map(unb64))).toBe(true)
    }
  })

  it('every proof fails with either root, a smaller old size, the sizes swapped, or any hash changed, dropped or added', () => {
    const bad = HASH(b(0xee))
    const rootOf = (n: number) => unb64(V.roots.vectors[n]!.root)
    for (const { oldSize, newSize, proof } of V.consistency.vectors) {
      const p = proof.map(unb64)
      const where = `${oldSize} -> ${newSize}`
      const r1 = rootOf(oldSize)
      const r2 = rootOf(newSize)
      expect(verifyConsistency(oldSize, newSize, bad, r2, p), `${where}: old root`).toBe(false)
      expect(verifyConsistency(oldSize, newSize, r1, bad, p), `${where}: new root`).toBe(false)
      expect(verifyConsistency(oldSize, newSize, r1, r2, [...p, bad]), `${where}: hash added`).toBe(false)
      for (let i = 0; i < p.length; i++) {
        expect(verifyConsistency(oldSize, newSize, r1, r2, p.map((h, j) => (j === i ? bad : h))), `${where}: hash ${i} changed`).toBe(false)
        expect(verifyConsistency(oldSize, newSize, r1, r2, p.filter((_, j) => j !== i)), `${where}: hash ${i} dropped`).toBe(false)
      }
      if (oldSize > 1) expect(verifyConsistency(oldSize - 1, newSize, r1, r2, p), `${where}: old size - 1`).toBe(false)
      if (newSize > oldSize) expect(verifyConsistency(newSize, oldSize, r2, r1, p), `${where}: reversed`).toBe(false)
    }
  })

  it('a history rewritten after the old size is never consistent with it', () => {
    for (let m = 1; m < 64; m++) {
      for (const n of [m + 1, 64]) {
        const rewritten = entries.slice(0, n).map((e, i) => (i === m - 1 ? HASH(b(0xaa), e) : e))
        // The rewriter proves from its own tree: the proof is honest about the new history, not the old one.
        const proof = PROOF(m, rewritten)
        expect(verifyConsistency(m, n, MTH(entries.slice(0, m)), MTH(rewritten), proof), `${m} -> ${n}`).toBe(false)
      }
    }
  })
})

describe('larger trees, against the reference', () => {
  const many = Array.from({ length: 300 }, (_, i) => HASH(new TextEncoder().encode(`more ${i}`)))
  const big = MemoryNodeSource.fromEntryHashes(many)

  it('inclusion and consistency proofs for random sizes up to 300 equal PATH and PROOF', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 299 }), fc.integer({ min: 1, max: 300 }), async (size, i, m0) => {
        const index = i % size
        const m = Math.min(m0, size)
        const D = many.slice(0, size)
        expect((await inclusionProof(index, size, big)).map(b64)).toEqual(PATH(index, D).map(b64))
        expect((await consistencyProof(m, size, big)).map(b64)).toEqual((m === size ? [] : PROOF(m, D)).map(b64))
        expect(b64(await rootAt(size, big))).toBe(b64(MTH(D)))
      }),
      { numRuns: 60, seed: 16 },
    )
  })
})

describe('signed texts', () => {
  const s = V.signed
  const keys = [s.logVerifierKey]

  it('the note verifies with the log key', () => {
    expect(verifyNote(s.note, keys).text).toBe('A note can say anything.\n\nEven with blank lines in it.\n')
  })

  it('the checkpoints verify and carry the roots and heads of the vectors', () => {
    for (const [text, size] of [
      [s.checkpoint10, 10],
      [s.checkpoint64, 64],
    ] as const) {
      const cp = verifyCheckpoint(text, keys)
      expect(cp.size).toBe(size)
      expect(b64(cp.root)).toBe(V.roots.vectors[size]!.root)
      expect(cp.head).toBe(V.entryHashes.hex[size - 1])
      expect(cp.sessionId).toBe(s.sessionId)
      expect(cp.origin).toBe(`chainlog.example/vectors/${s.sessionId}`)
    }
  })

  it('the cosigned checkpoint carries the witness cosignature with its timestamp', () => {
    const cp = verifyCheckpoint(s.cosignedCheckpoint64, keys, { witnesses: [s.witnessVerifierKey] })
    expect(cp.cosignatures).toEqual([{ name: 'witness.example/w1', keyId: expect.any(Number), timestamp: s.cosignatureTimestamp }])
  })

  it('the proof files and the consistency file verify', () => {
    expect(verifyProofFile(s.proofFile.text, keys, { witnesses: [s.witnessVerifierKey] })).toMatchObject({ index: 5, entryHash: V.entryHashes.hex[5] })
    expect(verifyProofFile(s.lastEntryProofFile.text, keys)).toMatchObject({ index: 63, entryHash: V.entryHashes.hex[63] })
    const c = verifyConsistencyFile(s.consistencyFile.text, s.checkpoint10, keys)
    expect([c.old.size, c.new.size]).toEqual([10, 64])
  })

  it.each(V.reject.vectors)('refuses: $name', ({ verify, text, expectedCode, expectedReason }) => {
    const run = {
      checkpoint: () => verifyCheckpoint(text, keys),
      cosigned: () => verifyCheckpoint(text, keys, { witnesses: [s.witnessVerifierKey] }),
      proofFile: () => verifyProofFile(text, keys),
      consistencyFile: () => verifyConsistencyFile(text, s.checkpoint10, keys),
    }[verify]!
    let caught: unknown
    try {
      run()
    } catch (err) {
      caught = err
    }
    expect(isChainlogError(caught)).toBe(true)
    expect((caught as { code: string }).code).toBe(expectedCode)
    if (expectedReason) expect((caught as { data: { reason: string } }).data.reason).toBe(expectedReason)
  })
})
