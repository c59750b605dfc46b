// Slow suite: proofs in a tree of 1,000,000 leaves read O(log n) nodes. The tree is built the way
// a store would build it, by appends of 1,000-entry turns through nodesAfterAppend (synthetic
// entry hashes: i in the first 8 bytes), into a node source that counts reads. The same
// proofs over 1,000 leaves are counted alongside: the leaves grow 1,000-fold, the reads about
// 2-fold (log2 1e6 / log2 1e3 = 2).
import { describe, expect, it } from 'vitest'
import { MemoryNodeSource, consistencyProof, inclusionProof, leafHash, nodesAfterAppend, rootAt, verifyConsistency, verifyInclusion } from '../../src/proofs/merkle.js'

const MILLION = 1_000_000
const THOUSAND = 1_000

function syntheticEntry(i: number): Uint8Array {
  const e = new Uint8Array(32)
  new DataView(e.buffer).setFloat64(0, i)
  e[31] = 0xc1
  return e
}

function build(n: number): MemoryNodeSource {
  const source = new MemoryNodeSource()
  let frontier: Uint8Array[] = []
  for (let size = 0; size < n; ) {
    const turn = Array.from({ length: Math.min(THOUSAND, n - size) }, (_, k) => syntheticEntry(size + k))
    const r = nodesAfterAppend(size, frontier, turn)
    source.put(...r.nodes)
    frontier = r.frontier
    size = r.size
  }
  return source
}

/** Indices spread over the tree, its edges included. */
function sample(n: number, count: number): number[] {
  const out = new Set<number>([0, 1, n - 2, n - 1, Math.floor(n / 2)])
  let x = 12345
  while (out.size < count) {
    // xorshift32: exact in 32-bit integer arithmetic
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out.add((x >>> 0) % n)
  }
  return [...out]
}

interface Counts {
  inclusionMax: number
  consistencyMax: number
  rootReads: number
}

async function measure(source: MemoryNodeSource, n: number): Promise<Counts> {
  const root = await rootAt(n, source)
  const rootReads = source.reads
  let inclusionMax = 0
  for (const index of sample(n, 500)) {
    source.reads = 0
    source.calls = 0
    const proof = await inclusionProof(index, n, source)
    expect(source.calls).toBe(1)
    inclusionMax = Math.max(inclusionMax, source.reads)
    expect(verifyInclusion(leafHash(syntheticEntry(index)), index, n, proof, root), `index ${index}`).toBe(true)
  }
  let consistencyMax = 0
  for (const m of sample(n, 200).filter((m) => m > 0)) {
    const rootM = await rootAt(m, source)
    source.reads = 0
    source.calls = 0
    const proof = await consistencyProof(m, n, source)
    expect(source.calls).toBe(1)
    consistencyMax = Math.max(consistencyMax, source.reads)
    expect(verifyConsistency(m, n, rootM, root, proof), `${m} -> ${n}`).toBe(true)
  }
  return { inclusionMax, consistencyMax, rootReads }
}

describe('proof reads at 1k and 1M leaves', () => {
  it('stay within 2·⌈log2 n⌉ (+1) nodes in one round trip, and grow with log n, not n', async () => {
    const small = await measure(build(THOUSAND), THOUSAND)
    const big = await measure(build(MILLION), MILLION)
    console.log(`reads (max over samples): 1k leaves: inclusion ${small.inclusionMax}, consistency ${small.consistencyMax}, root ${small.rootReads}; 1M leaves: inclusion ${big.inclusionMax}, consistency ${big.consistencyMax}, root ${big.rootReads}`)
    expect(small.inclusionMax).toBeLessThanOrEqual(2 * 10)
    expect(small.consistencyMax).toBeLessThanOrEqual(2 * 10 + 1)
    expect(big.inclusionMax).toBeLessThanOrEqual(2 * 20)
    expect(big.consistencyMax).toBeLessThanOrEqual(2 * 20 + 1)
    // 1000× the leaves, at most ~2× the reads (plus the few right-edge nodes): logarithmic.
    expect(big.inclusionMax).toBeLessThanOrEqual(2 * small.inclusionMax + 2)
    expect(big.consistencyMax).toBeLessThanOrEqual(2 * small.consistencyMax + 2)
    expect(big.rootReads).toBe(7) // popcount(1,000,000)
  })
})
