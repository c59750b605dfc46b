// The incremental Merkle tree: appends give exactly the complete subtrees of the tree (no
// reads), the frontier carries the root, proofs read O(log n) nodes in one round trip, and the
// verifiers take only what the RFC's algorithms accept. Correctness against RFC 9162's own
// definitions is in vectors.test.ts; the 1M-leaf read counts in test/slow/proofs-million.test.ts.
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { ErrorCodes, isChainlogError } from '../../src/errors.js'
import {
  EMPTY_ROOT,
  MemoryNodeSource,
  appendLeaves,
  completedAt,
  consistencyProof,
  consistencyProofIds,
  decodeFrontier,
  encodeFrontier,
  frontierIds,
  inclusionProof,
  inclusionProofIds,
  leafHash,
  levelsCompletedAt,
  nodeHash,
  nodesAfterAppend,
  popcount,
  rootAt,
  rootFromFrontier,
  verifyConsistency,
  verifyInclusion,
  type MerkleNode,
  type MerkleNodeSource,
} from '../../src/proofs/merkle.js'

const entry = (i: number): Uint8Array => new Uint8Array(createHash('sha256').update(`merkle test entry ${i}`).digest())
const entries = (n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => entry(i))
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const log2ceil = (n: number): number => Math.ceil(Math.log2(n))

async function expectCode(p: Promise<unknown> | (() => unknown), code: string): Promise<void> {
  try {
    await (typeof p === 'function' ? p() : p)
  } catch (err) {
    expect(isChainlogError(err), String(err)).toBe(true)
    expect((err as { code: string }).code).toBe(code)
    return
  }
  throw new Error(`expected ${code}, nothing was thrown`)
}

/** Append entries one call at a time, writing every node to a counting source, like a store would. */
function appendAll(es: readonly Uint8Array[], batch = 1): { source: MemoryNodeSource; frontier: Uint8Array[]; roots: Uint8Array[]; perAppend: MerkleNode[][] } {
  const source = new MemoryNodeSource()
  let frontier: Uint8Array[] = []
  let size = 0
  const roots: Uint8Array[] = []
  const perAppend: MerkleNode[][] = []
  for (let i = 0; i < es.length; i += batch) {
    const r = nodesAfterAppend(size, frontier, es.slice(i, i + batch))
    source.put(...r.nodes)
    perAppend.push(r.nodes)
    frontier = r.frontier
    size = r.size
    roots.push(r.root)
  }
  return { source, frontier, roots, perAppend }
}

describe('hashing', () => {
  it('leaf = SHA-256(0x00 ‖ entry hash), node = SHA-256(0x01 ‖ left ‖ right), empty root = SHA-256()', () => {
    const e = entry(1)
    expect(hex(leafHash(e))).toBe(createHash('sha256').update(Buffer.from([0])).update(e).digest('hex'))
    expect(hex(nodeHash(entry(1), entry(2)))).toBe(createHash('sha256').update(Buffer.from([1])).update(entry(1)).update(entry(2)).digest('hex'))
    expect(hex(EMPTY_ROOT)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
  })

  it('an entry hash must be 32 bytes', () => {
    expect(() => leafHash(new Uint8Array(31))).toThrow(TypeError)
  })
})

describe('appends', () => {
  const es = entries(300)
  const full = MemoryNodeSource.fromEntryHashes(es)

  it('one leaf at a time: every root equals the root read from the whole tree', async () => {
    const { roots } = appendAll(es)
    for (let n = 1; n <= es.length; n++) expect(hex(roots[n - 1]!), `size ${n}`).toBe(hex(await rootAt(n, full)))
  })

  it('writes exactly the complete subtrees of the tree, each once, in an order the source accepts', () => {
    const { source } = appendAll(es)
    for (let level = 0; level < 10; level++) {
      expect(source.count(level), `level ${level}`).toBe(Math.floor(es.length / 2 ** level))
      expect(source.count(level)).toBe(full.count(level))
    }
  })

  it('a leaf adds 1 + (trailing one bits of its index) nodes, at most 1 + log2(size)', () => {
    const { perAppend } = appendAll(es)
    perAppend.forEach((nodes, i) => {
      let ones = 0
      for (let x = i; x % 2 === 1; x = Math.floor(x / 2)) ones++
      expect(nodes.length, `leaf ${i}`).toBe(1 + ones)
      expect(nodes.length).toBeLessThanOrEqual(1 + Math.log2(i + 1))
      expect(nodes.slice(1).map((n) => n.level)).toEqual(levelsCompletedAt(i))
      for (const n of nodes) expect(completedAt(n)).toBe(i)
    })
  })

  it('a turn of several entries in one call gives the same nodes, frontier and root as one at a time', () => {
    const one = appendAll(es)
    for (const batch of [2, 3, 7, 64]) {
      const many = appendAll(es, batch)
      expect(many.perAppend.flat().map((n) => `${n.level}/${n.index}/${hex(n.hash)}`)).toEqual(one.perAppend.flat().map((n) => `${n.level}/${n.index}/${hex(n.hash)}`))
      expect(many.frontier.map(hex)).toEqual(one.frontier.map(hex))
      expect(hex(many.roots.at(-1)!)).toBe(hex(one.roots.at(-1)!))
    }
  })

  it('the frontier is the nodes frontierIds names, one per set bit of the size, and folds to the root', async () => {
    let frontier: Uint8Array[] = []
    for (let n = 0; n < 130; n++) {
      const ids = frontierIds(n)
      expect(ids).toHaveLength(popcount(n))
      expect((await full.getNodes(ids)).map(hex)).toEqual(frontier.map(hex))
      expect(hex(rootFromFrontier(frontier))).toBe(hex(await rootAt(n, full)))
      frontier = nodesAfterAppend(n, frontier, [es[n]!]).frontier
    }
  })

  it('the frontier encodes to popcount(size) × 32 bytes and back; a wrong length is CORRUPT_STORE', async () => {
    const { frontier } = appendAll(es.slice(0, 117))
    const bytes = encodeFrontier(frontier)
    expect(bytes.length).toBe(popcount(117) * 32)
    expect(decodeFrontier(117, bytes).map(hex)).toEqual(frontier.map(hex))
    await expectCode(() => decodeFrontier(119, bytes), ErrorCodes.CORRUPT_STORE) // popcount 6, not 5
    await expectCode(() => decodeFrontier(117, bytes.slice(1)), ErrorCodes.CORRUPT_STORE)
  })

  it('refuses a frontier that does not fit the size', () => {
    expect(() => nodesAfterAppend(3, [entry(0)], [entry(1)])).toThrow(TypeError)
    expect(() => nodesAfterAppend(0, [], [new Uint8Array(5)])).toThrow(TypeError)
  })

  it('appendLeaves gives the frontier nodesAfterAppend gives and, per leaf that completes level minLevel or above, its nodes of levels 1..t packed in order', () => {
    for (const minLevel of [1, 3]) {
      for (const batch of [1, 3, 4, 8, 37]) {
        let a = { size: 0, frontier: [] as Uint8Array[] }
        let b = { size: 0, frontier: [] as Uint8Array[] }
        for (let i = 0; i < 300; i += batch) {
          const add = es.slice(i, i + batch)
          const before = b.frontier.slice()
          const want = nodesAfterAppend(a.size, a.frontier, add)
          const got = appendLeaves(b.size, b.frontier, add, minLevel)
          expect(got.size).toBe(want.size)
          expect(got.frontier.map(hex)).toEqual(want.frontier.map(hex))
          // The rows: for each leaf with t >= minLevel completed levels, levels 1..t concatenated.
          const rows: { leaf: number; value: string }[] = []
          for (const n of want.nodes) {
            if (n.level === 0) rows.push({ leaf: n.index, value: '' })
            else rows[rows.length - 1]!.value += hex(n.hash)
          }
          expect(got.rows.map((r) => ({ leaf: r.leaf, value: hex(r.value) }))).toEqual(rows.filter((r) => r.value.length / 64 >= minLevel))
          expect(b.frontier.map(hex)).toEqual(before.map(hex)) // the frontier given is not changed
          a = want
          b = got
        }
      }
    }
    expect(() => appendLeaves(3, [entry(0)], [entry(1)], 3)).toThrow(TypeError)
    expect(() => appendLeaves(0, [], [new Uint8Array(5)], 3)).toThrow(TypeError)
  })

  it('the packed-row helpers agree: node (level, index) is completed by leaf (index+1)·2^level - 1', () => {
    expect(completedAt({ level: 0, index: 9 })).toBe(9)
    expect(completedAt({ level: 3, index: 2 })).toBe(23)
    expect(levelsCompletedAt(0)).toEqual([])
    expect(levelsCompletedAt(23)).toEqual([1, 2, 3])
    expect(levelsCompletedAt(2 ** 40 - 1)).toHaveLength(40)
  })
})

describe('proofs read O(log n) nodes in one round trip (1k leaves)', () => {
  const es = entries(1025)
  const source = MemoryNodeSource.fromEntryHashes(es)

  it('inclusion: every index of sizes 1000, 1023, 1024 and 1025, at most 2·⌈log2 n⌉ reads, one call, and it verifies', async () => {
    let most = 0
    for (const size of [1000, 1023, 1024, 1025]) {
      const root = await rootAt(size, source)
      for (let index = 0; index < size; index++) {
        source.reads = 0
        source.calls = 0
        const proof = await inclusionProof(index, size, source)
        expect(source.calls).toBe(1)
        expect(source.reads).toBe(inclusionProofIds(index, size).length)
        expect(source.reads, `index ${index} size ${size}`).toBeLessThanOrEqual(2 * log2ceil(size))
        most = Math.max(most, source.reads)
        expect(verifyInclusion(leafHash(es[index]!), index, size, proof, root)).toBe(true)
      }
    }
    expect(most).toBeGreaterThan(log2ceil(1000)) // the right edge does cost reads of its own
  })

  it('consistency: every old size to 1000 and 1025, at most 2·⌈log2 n⌉ + 1 reads, one call, and it verifies', async () => {
    for (const n of [1000, 1025]) {
      const rootN = await rootAt(n, source)
      for (let m = 1; m <= n; m++) {
        source.reads = 0
        source.calls = 0
        const proof = await consistencyProof(m, n, source)
        expect(source.calls).toBe(m === n ? 0 : 1)
        expect(source.reads).toBe(consistencyProofIds(m, n).length)
        expect(source.reads, `${m} -> ${n}`).toBeLessThanOrEqual(2 * log2ceil(n) + 1)
        expect(verifyConsistency(m, n, await rootAt(m, source), rootN, proof)).toBe(true)
      }
    }
  })

  it('a root at any size reads popcount(size) nodes', async () => {
    for (const size of [1, 2, 3, 999, 1000, 1023, 1024, 1025]) {
      source.reads = 0
      await rootAt(size, source)
      expect(source.reads).toBe(popcount(size))
    }
  })

  it('the same proofs from a tree built by appends (the store path) as from the whole tree', async () => {
    const built = appendAll(es.slice(0, 1000)).source
    for (const index of [0, 1, 511, 512, 998, 999]) expect((await inclusionProof(index, 1000, built)).map(hex)).toEqual((await inclusionProof(index, 1000, source)).map(hex))
    for (const m of [1, 7, 512, 999]) expect((await consistencyProof(m, 1000, built)).map(hex)).toEqual((await consistencyProof(m, 1000, source)).map(hex))
  })
})

describe('bad arguments and bad sources', () => {
  const source = MemoryNodeSource.fromEntryHashes(entries(10))

  it('an index not below the size, an old size above the new one, or a size that is not a safe integer: INVALID_ARGUMENT', async () => {
    await expectCode(inclusionProof(10, 10, source), ErrorCodes.INVALID_ARGUMENT)
    await expectCode(inclusionProof(-1, 10, source), ErrorCodes.INVALID_ARGUMENT)
    await expectCode(inclusionProof(0.5, 10, source), ErrorCodes.INVALID_ARGUMENT)
    await expectCode(consistencyProof(5, 4, source), ErrorCodes.INVALID_ARGUMENT)
    await expectCode(rootAt(2 ** 53, source), ErrorCodes.INVALID_ARGUMENT)
    await expectCode(rootAt(Number.NaN, source), ErrorCodes.INVALID_ARGUMENT)
  })

  it('a node the source lacks, or an answer of the wrong length or shape: CORRUPT_STORE', async () => {
    await expectCode(inclusionProof(3, 11, source), ErrorCodes.CORRUPT_STORE) // leaf 10 is not there
    const short: MerkleNodeSource = { getNodes: async (ids) => ids.slice(1).map(() => new Uint8Array(32)) }
    await expectCode(inclusionProof(3, 10, short), ErrorCodes.CORRUPT_STORE)
    const wrong: MerkleNodeSource = { getNodes: async (ids) => ids.map(() => new Uint8Array(31)) }
    await expectCode(rootAt(10, wrong), ErrorCodes.CORRUPT_STORE)
  })

  it('the empty tree and equal sizes need no reads', async () => {
    const counting = MemoryNodeSource.fromEntryHashes(entries(4))
    expect(hex(await rootAt(0, counting))).toBe(hex(EMPTY_ROOT))
    expect(await consistencyProof(0, 4, counting)).toEqual([])
    expect(await consistencyProof(4, 4, counting)).toEqual([])
    expect(counting.reads).toBe(0)
  })

  it('a node put out of append order is refused', () => {
    const s = new MemoryNodeSource()
    expect(() => s.put({ level: 0, index: 1, hash: entry(0) })).toThrow(TypeError)
  })
})

describe('verifiers', () => {
  const es = entries(8)
  const source = MemoryNodeSource.fromEntryHashes(es)

  it('consistency edge cases: equal sizes need equal roots and no proof; from size 0 only the empty root; never backwards', async () => {
    const r5 = await rootAt(5, source)
    const r8 = await rootAt(8, source)
    expect(verifyConsistency(5, 5, r5, r5, [])).toBe(true)
    expect(verifyConsistency(5, 5, r5, r8, [])).toBe(false)
    expect(verifyConsistency(5, 5, r5, r5, [r5])).toBe(false)
    expect(verifyConsistency(0, 8, EMPTY_ROOT, r8, [])).toBe(true)
    expect(verifyConsistency(0, 8, r5, r8, [])).toBe(false)
    expect(verifyConsistency(0, 8, EMPTY_ROOT, r8, [r5])).toBe(false)
    expect(verifyConsistency(8, 5, r8, r5, await consistencyProof(5, 8, source))).toBe(false)
    expect(verifyConsistency(5, 8, r5, r8, [])).toBe(false)
  })

  it('malformed input is false, never an exception', async () => {
    const r = await rootAt(8, source)
    const p = await inclusionProof(3, 8, source)
    const leaf = leafHash(es[3]!)
    expect(verifyInclusion(leaf, 3, 8, p, r)).toBe(true)
    expect(verifyInclusion(leaf.slice(1), 3, 8, p, r)).toBe(false)
    expect(verifyInclusion(leaf, 3, 8, [...p.slice(1), new Uint8Array(33)], r)).toBe(false)
    expect(verifyInclusion(leaf, 3.5, 8, p, r)).toBe(false)
    expect(verifyInclusion(leaf, 3, 2 ** 60, p, r)).toBe(false)
    expect(verifyInclusion(leaf, 8, 8, p, r)).toBe(false)
    expect(verifyInclusion(leaf, 3, 8, 'nope' as unknown as Uint8Array[], r)).toBe(false)
    expect(verifyConsistency(3, 8, r.slice(2), r, [])).toBe(false)
  })
})
