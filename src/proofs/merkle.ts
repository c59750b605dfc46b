// RFC 9162 (RFC 6962) Merkle trees over a session's entry hashes, kept incrementally for an
// append-only store, with O(log n) proofs and the RFC's verification algorithms
// (docs/proofs.md, section 1).
//
// The tree of a session of n entries has n leaves; leaf i is the entry hash of seq i. A *node*
// is the root of a complete (perfect) subtree: node (level L, index j) covers leaves
// [j·2^L, (j+1)·2^L); level 0 holds the leaf hashes. Every hash a proof or a root needs is a
// node, or a fold of the nodes along the right edge of the tree, so a store that keeps the
// nodes (or can compute them: level 0 from its entry hashes) answers any proof with one
// batched read of at most 2·log2(n) + 1 nodes.
import { ChainlogError, ErrorCodes } from '../errors.js'
import { HASH_BYTES, sha256 } from '../encoding/hash.js'
import { platform } from '../platform/node.js'

// One-shot SHA-256 of one buffer: node:crypto's hash() under Node (platform/node.ts says why it
// returns an on-heap array), sha256() elsewhere.
const oneShot: (data: Uint8Array) => Uint8Array = platform.sha256OneShot ?? ((data) => sha256(data))
// The same, written into a buffer the caller holds (appendLeaves).
const hashInto: (data: Uint8Array, out: Uint8Array, offset: number) => void = platform.sha256Into ?? ((data, out, offset) => out.set(oneShot(data), offset))

/** The largest tree size the functions here accept: 2^53 - 1 (exact in a JS number). */
export const MAX_TREE_SIZE = Number.MAX_SAFE_INTEGER

/** MTH({}) = SHA-256 of nothing: the root of the empty tree. */
export const EMPTY_ROOT: Uint8Array = sha256()

/** A complete subtree: leaves [index·2^level, (index+1)·2^level). Level 0 is a leaf. */
export interface NodeId {
  level: number
  index: number
}

/** A node and its hash, as an append produces them. */
export interface MerkleNode extends NodeId {
  hash: Uint8Array
}

/**
 * Where proofs read node hashes from. `getNodes` answers a whole batch (one round trip),
 * in the order asked; every id asked for is a complete subtree of the tree being proved.
 */
export interface MerkleNodeSource {
  getNodes(ids: readonly NodeId[]): Promise<Uint8Array[]>
}

/** The leaf hash of an entry: SHA-256(0x00 ‖ entry hash). */
export function leafHash(entryHash: Uint8Array): Uint8Array {
  checkHash(entryHash, 'entryHash')
  LEAF_INPUT.set(entryHash, 1)
  return oneShot(LEAF_INPUT)
}

/** An interior node: SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (left.length !== HASH_BYTES || right.length !== HASH_BYTES) throw new TypeError('node children must be 32-byte hashes')
  NODE_INPUT.set(left, 1)
  NODE_INPUT.set(right, 1 + HASH_BYTES)
  return oneShot(NODE_INPUT)
}

// Hash inputs, reused: hashing is synchronous, and a fresh 65-byte array would live off the V8
// heap (over its 64-byte limit for on-heap typed arrays), which costs more than the hash.
const LEAF_INPUT = new Uint8Array(1 + HASH_BYTES) // [0] stays 0x00
const NODE_INPUT = new Uint8Array([0x01, ...new Uint8Array(2 * HASH_BYTES)])

function checkHash(h: unknown, what: string): asserts h is Uint8Array {
  if (!(h instanceof Uint8Array) || h.length !== HASH_BYTES) throw new TypeError(`${what} must be a 32-byte Uint8Array`)
}

function isSize(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0
}

function badArgument(message: string, data: Record<string, unknown>): ChainlogError {
  return new ChainlogError(ErrorCodes.INVALID_ARGUMENT, message, data)
}

function checkSize(size: unknown, what = 'size'): asserts size is number {
  if (!isSize(size)) throw badArgument(`${what} must be an integer from 0 to 2^53-1, got ${String(size)}`, { [what]: size })
}

/** 2^k, exact for k <= 53. */
const pow2 = (k: number): number => 2 ** k

/** The largest power of two strictly below n (n >= 2). */
function largestPow2Below(n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

/** The set bits of n, highest first, as exponents. */
function bitsHighToLow(n: number): number[] {
  const bits: number[] = []
  for (let b = 0, x = n; x > 0; b++, x = Math.floor(x / 2)) if (x % 2 === 1) bits.push(b)
  return bits.reverse()
}

/** Number of set bits of n. */
export function popcount(n: number): number {
  let c = 0
  for (let x = n; x > 0; x = Math.floor(x / 2)) c += x % 2
  return c
}

/**
 * The complete subtrees that make up leaves [lo, hi) the way MTH splits them, largest first.
 * Every range this module asks for is either one complete subtree or a right edge whose start
 * is aligned to its largest piece, so the pieces are complete, aligned subtrees.
 */
function rangeIds(lo: number, hi: number): NodeId[] {
  const ids: NodeId[] = []
  let pos = lo
  for (const b of bitsHighToLow(hi - lo)) {
    const w = pow2(b)
    ids.push({ level: b, index: pos / w })
    pos += w
  }
  return ids
}

/** MTH of a range from the hashes of its pieces (rangeIds order): fold from the right. */
function foldRange(pieces: readonly Uint8Array[]): Uint8Array {
  if (pieces.length === 0) return EMPTY_ROOT
  let h = pieces[pieces.length - 1]!
  for (let i = pieces.length - 2; i >= 0; i--) h = nodeHash(pieces[i]!, h)
  return h
}

// --- Appends: the compact range ("frontier") --------------------------------------------------

/**
 * The ids of the frontier of a tree of `size` leaves: the complete subtrees along its right
 * edge, one per set bit of `size`, largest (leftmost) first. Their hashes are all an append
 * needs to compute every new node and the new root; a store keeps them with the session head
 * (or reads these ids back with one getNodes call).
 */
export function frontierIds(size: number): NodeId[] {
  checkSize(size)
  return rangeIds(0, size)
}

/** The root of the tree whose frontier is `frontier` (frontierIds order). */
export function rootFromFrontier(frontier: readonly Uint8Array[]): Uint8Array {
  for (const h of frontier) checkHash(h, 'frontier hash')
  return foldRange(frontier)
}

/** The frontier as bytes: its hashes concatenated, popcount(size) × 32 bytes. */
export function encodeFrontier(frontier: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(frontier.length * HASH_BYTES)
  frontier.forEach((h, i) => {
    checkHash(h, 'frontier hash')
    out.set(h, i * HASH_BYTES)
  })
  return out
}

/** The frontier of a tree of `size` leaves from encodeFrontier's bytes; a wrong length throws CORRUPT_STORE. */
export function decodeFrontier(size: number, bytes: Uint8Array): Uint8Array[] {
  checkSize(size)
  const count = popcount(size)
  if (bytes.length !== count * HASH_BYTES) {
    throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `a frontier of a ${size}-leaf tree is ${count * HASH_BYTES} bytes, not ${bytes.length}`, { size, bytes: bytes.length })
  }
  const out: Uint8Array[] = []
  for (let i = 0; i < count; i++) out.push(bytes.slice(i * HASH_BYTES, (i + 1) * HASH_BYTES))
  return out
}

/** What an append adds to a tree. */
export interface AppendResult {
  /** The tree size after the append. */
  size: number
  /** The frontier after the append (frontierIds(size) order). */
  frontier: Uint8Array[]
  /** The root after the append (computed from the frontier when first read: popcount(size) - 1 hashes). */
  readonly root: Uint8Array
  /**
   * Every complete subtree the append completed, level 0 (the new leaves) included, in the
   * order they were completed. Each leaf adds its level-0 node and one node per level it
   * completes: 1 + (trailing one bits of its index), at most 1 + log2(size).
   */
  nodes: MerkleNode[]
}

/**
 * Append `entryHashes` (one entry or a whole turn) to a tree of `size` leaves whose frontier is
 * `frontier`. Pure: it reads nothing. The store writes the returned nodes (the levels it keeps)
 * and the new frontier in the same batch as the entries.
 */
export function nodesAfterAppend(size: number, frontier: readonly Uint8Array[], entryHashes: readonly Uint8Array[]): AppendResult {
  checkSize(size)
  if (frontier.length !== popcount(size)) {
    throw new TypeError(`a ${size}-leaf tree has a frontier of ${popcount(size)} hashes, not ${frontier.length}`)
  }
  if (size + entryHashes.length > MAX_TREE_SIZE) throw badArgument('the tree would exceed 2^53-1 leaves', { size, adding: entryHashes.length })
  const stack = frontier.map((h) => {
    checkHash(h, 'frontier hash')
    return h
  })
  const nodes: MerkleNode[] = []
  let n = size
  for (const e of entryHashes) {
    let h = leafHash(e)
    nodes.push({ level: 0, index: n, hash: h })
    // Each trailing one bit of n is a complete subtree on the stack that the new leaf completes.
    let level = 0
    for (let x = n; x % 2 === 1; x = Math.floor(x / 2)) {
      h = nodeHash(stack.pop()!, h)
      level++
      nodes.push({ level, index: Math.floor(n / pow2(level)), hash: h })
    }
    stack.push(h)
    n++
  }
  return new Appended(n, stack, nodes)
}

/** AppendResult with the root computed when first read (an object literal with a getter cost ~5 µs an append). */
class Appended implements AppendResult {
  private cachedRoot: Uint8Array | undefined
  constructor(
    readonly size: number,
    readonly frontier: Uint8Array[],
    readonly nodes: MerkleNode[],
  ) {}
  get root(): Uint8Array {
    return (this.cachedRoot ??= foldRange(this.frontier))
  }
}

/** What appendLeaves adds to a tree. */
export interface LeavesAppended {
  /** The tree size after the append. */
  size: number
  /** The frontier after the append (frontierIds(size) order). */
  frontier: Uint8Array[]
  /**
   * One per new leaf that completes a node of level `minLevel` or above: the leaf's index and the
   * hashes of the nodes it completes, levels 1..t, concatenated (t·32 bytes), in leaf order.
   */
  rows: { leaf: number; value: Uint8Array }[]
}

// Scratch for appendLeaves: the node being built sits in NODE_INPUT's right half, so each level's
// hash is written where the next level reads it.
const CARRY = 1 + HASH_BYTES

/**
 * nodesAfterAppend for a store that keeps the nodes completed at leaves where a node of level
 * `minLevel` or above completes: the same hashes, without a node list. Every hash is written
 * into a buffer (a row, or the scratch input of the next hash), so that an append allocates one
 * array per new leaf that stays on the frontier and one per row, not one per node (a turn of 4
 * entries: about 1.3 KB instead of 5 KB, which the collector then does not have to sweep). Pure.
 */
export function appendLeaves(size: number, frontier: readonly Uint8Array[], entryHashes: readonly Uint8Array[], minLevel: number): LeavesAppended {
  checkSize(size)
  if (frontier.length !== popcount(size)) {
    throw new TypeError(`a ${size}-leaf tree has a frontier of ${popcount(size)} hashes, not ${frontier.length}`)
  }
  if (size + entryHashes.length > MAX_TREE_SIZE) throw badArgument('the tree would exceed 2^53-1 leaves', { size, adding: entryHashes.length })
  const stack = frontier.slice()
  for (const h of stack) checkHash(h, 'frontier hash')
  const rows: { leaf: number; value: Uint8Array }[] = []
  let n = size
  for (const e of entryHashes) {
    checkHash(e, 'entryHash')
    LEAF_INPUT.set(e, 1)
    hashInto(LEAF_INPUT, NODE_INPUT, CARRY)
    let levels = 0
    for (let x = n; x % 2 === 1; x = Math.floor(x / 2)) levels++
    const row = levels >= minLevel ? new Uint8Array(levels * HASH_BYTES) : undefined
    for (let level = 1; level <= levels; level++) {
      NODE_INPUT.set(stack.pop()!, 1)
      hashInto(NODE_INPUT, NODE_INPUT, CARRY)
      row?.set(NODE_INPUT.subarray(CARRY), (level - 1) * HASH_BYTES)
    }
    if (row) rows.push({ leaf: n, value: row })
    stack.push(NODE_INPUT.slice(CARRY))
    n++
  }
  return { size: n, frontier: stack, rows }
}

/**
 * The leaf index at which node `id` is completed: (index + 1)·2^level - 1. A store that packs
 * the nodes completed by one append into the row of its last leaf finds node `id` there.
 */
export function completedAt(id: NodeId): number {
  return (id.index + 1) * pow2(id.level) - 1
}

/**
 * The levels (>= 1) of the nodes that leaf `leafIndex` completes: 1 .. (trailing one bits of
 * leafIndex). Empty for every even leafIndex.
 */
export function levelsCompletedAt(leafIndex: number): number[] {
  checkSize(leafIndex, 'leafIndex')
  const levels: number[] = []
  for (let x = leafIndex, l = 1; x % 2 === 1; x = Math.floor(x / 2), l++) levels.push(l)
  return levels
}

// --- Reading: roots and proofs ------------------------------------------------------------------

/** A hash a proof needs: the MTH of leaves [lo, hi). */
interface Term {
  lo: number
  hi: number
}

/** The ids of every term, deduplicated, and for each term the positions of its pieces. */
function plan(terms: readonly Term[]): { ids: NodeId[]; pieces: number[][] } {
  const ids: NodeId[] = []
  const at = new Map<string, number>()
  const pieces = terms.map((t) =>
    rangeIds(t.lo, t.hi).map((id) => {
      const key = `${id.level}/${id.index}`
      let i = at.get(key)
      if (i === undefined) {
        i = ids.length
        ids.push(id)
        at.set(key, i)
      }
      return i
    }),
  )
  return { ids, pieces }
}

/** Read every term's pieces in one getNodes call and fold each term. */
async function resolve(terms: readonly Term[], source: MerkleNodeSource): Promise<Uint8Array[]> {
  const { ids, pieces } = plan(terms)
  if (ids.length === 0) return terms.map(() => EMPTY_ROOT)
  const hashes = await source.getNodes(ids)
  if (!Array.isArray(hashes) || hashes.length !== ids.length) {
    throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `the node source answered ${Array.isArray(hashes) ? hashes.length : 'no'} hashes for ${ids.length} nodes`, {})
  }
  hashes.forEach((h, i) => {
    if (!(h instanceof Uint8Array) || h.length !== HASH_BYTES) {
      const { level, index } = ids[i]!
      throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `node (level ${level}, index ${index}) is missing or not 32 bytes`, { level, index })
    }
  })
  return pieces.map((p) => foldRange(p.map((i) => hashes[i]!)))
}

/** RFC 9162 PATH(m, D[lo:hi]) as terms, leaf's sibling first. */
function pathTerms(m: number, lo: number, hi: number, out: Term[]): void {
  const n = hi - lo
  if (n <= 1) return
  const k = largestPow2Below(n)
  if (m < k) {
    pathTerms(m, lo, lo + k, out)
    out.push({ lo: lo + k, hi })
  } else {
    pathTerms(m - k, lo + k, hi, out)
    out.push({ lo, hi: lo + k })
  }
}

/** RFC 9162 SUBPROOF(m, D[lo:hi], b) as terms. */
function subproofTerms(m: number, lo: number, hi: number, b: boolean, out: Term[]): void {
  const n = hi - lo
  if (m === n) {
    if (!b) out.push({ lo, hi })
    return
  }
  const k = largestPow2Below(n)
  if (m <= k) {
    subproofTerms(m, lo, lo + k, b, out)
    out.push({ lo: lo + k, hi })
  } else {
    subproofTerms(m - k, lo + k, hi, false, out)
    out.push({ lo, hi: lo + k })
  }
}

function checkIndex(index: unknown, size: number): asserts index is number {
  if (!isSize(index) || index >= size) throw badArgument(`leaf index ${String(index)} is not below the tree size ${size}`, { index, size })
}

function checkSizes(m: unknown, n: unknown): void {
  checkSize(m, 'oldSize')
  checkSize(n, 'newSize')
  if (m > n) throw badArgument(`the old size ${m} is larger than the new size ${n}`, { oldSize: m, newSize: n })
}

/** The node ids rootAt reads: the frontier of `size`. */
export function rootIds(size: number): NodeId[] {
  return frontierIds(size)
}

/** The node ids inclusionProof reads (at most 2·log2(size) + 1). */
export function inclusionProofIds(index: number, size: number): NodeId[] {
  checkSize(size)
  checkIndex(index, size)
  const terms: Term[] = []
  pathTerms(index, 0, size, terms)
  return plan(terms).ids
}

/** The node ids consistencyProof reads (at most 2·log2(newSize) + 2). */
export function consistencyProofIds(oldSize: number, newSize: number): NodeId[] {
  checkSizes(oldSize, newSize)
  return plan(consistencyTerms(oldSize, newSize)).ids
}

function consistencyTerms(m: number, n: number): Term[] {
  const terms: Term[] = []
  if (m > 0 && m < n) subproofTerms(m, 0, n, true, terms)
  return terms
}

/** MTH of the first `size` leaves, from popcount(size) nodes read in one batch. */
export async function rootAt(size: number, source: MerkleNodeSource): Promise<Uint8Array> {
  checkSize(size)
  if (size === 0) return EMPTY_ROOT
  const [root] = await resolve([{ lo: 0, hi: size }], source)
  return root!
}

/** RFC 9162 PATH(index, D[size]): the inclusion proof of leaf `index` in the tree of `size` leaves. */
export async function inclusionProof(index: number, size: number, source: MerkleNodeSource): Promise<Uint8Array[]> {
  checkSize(size)
  checkIndex(index, size)
  const terms: Term[] = []
  pathTerms(index, 0, size, terms)
  return resolve(terms, source)
}

/**
 * RFC 9162 PROOF(oldSize, D[newSize]): the consistency proof from the tree of `oldSize` leaves to
 * the tree of `newSize`. Empty when oldSize is 0 or equals newSize (nothing to prove).
 */
export async function consistencyProof(oldSize: number, newSize: number, source: MerkleNodeSource): Promise<Uint8Array[]> {
  checkSizes(oldSize, newSize)
  const terms = consistencyTerms(oldSize, newSize)
  if (terms.length === 0) return []
  return resolve(terms, source)
}

// --- Verification (pure) --------------------------------------------------------------------------

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let d = 0
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!
  return d === 0
}

function isHashList(proof: unknown): proof is Uint8Array[] {
  return Array.isArray(proof) && proof.every((h) => h instanceof Uint8Array && h.length === HASH_BYTES)
}

const isHash = (h: unknown): h is Uint8Array => h instanceof Uint8Array && h.length === HASH_BYTES
const odd = (x: number): boolean => x % 2 === 1
const half = (x: number): number => Math.floor(x / 2)

/**
 * RFC 9162, section 2.1.3.2: true when `proof` shows that `leaf` (a leaf hash,
 * SHA-256(0x00 ‖ entry hash)) is leaf `index` of the tree of `size` leaves whose root is `root`.
 */
export function verifyInclusion(leaf: Uint8Array, index: number, size: number, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!isHash(leaf) || !isHash(root) || !isHashList(proof) || !isSize(index) || !isSize(size)) return false
  if (index >= size) return false
  let fn = index
  let sn = size - 1
  let r = leaf
  for (const p of proof) {
    if (sn === 0) return false
    if (odd(fn) || fn === sn) {
      r = nodeHash(p, r)
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn)
          sn = half(sn)
        }
      }
    } else {
      r = nodeHash(r, p)
    }
    fn = half(fn)
    sn = half(sn)
  }
  return sn === 0 && equalBytes(r, root)
}

/**
 * RFC 9162, section 2.1.4.2: true when `proof` shows that the tree of `oldSize` leaves with root
 * `oldRoot` is a prefix of the tree of `newSize` leaves with root `newRoot`. The RFC defines the
 * algorithm for 0 < oldSize < newSize; the edges are: oldSize = newSize holds when the proof is
 * empty and the roots are equal; oldSize = 0 holds when the proof is empty and oldRoot is the
 * empty root (every tree extends the empty one); oldSize > newSize never holds.
 */
export function verifyConsistency(oldSize: number, newSize: number, oldRoot: Uint8Array, newRoot: Uint8Array, proof: readonly Uint8Array[]): boolean {
  if (!isHash(oldRoot) || !isHash(newRoot) || !isHashList(proof) || !isSize(oldSize) || !isSize(newSize)) return false
  if (oldSize > newSize) return false
  if (oldSize === newSize) return proof.length === 0 && equalBytes(oldRoot, newRoot)
  if (oldSize === 0) return proof.length === 0 && equalBytes(oldRoot, EMPTY_ROOT)
  // 1. An empty path fails.
  if (proof.length === 0) return false
  // 2. When oldSize is an exact power of 2, the old root is the first node of the path.
  const path = isPow2(oldSize) ? [oldRoot, ...proof] : [...proof]
  // 3.
  let fn = oldSize - 1
  let sn = newSize - 1
  // 4.
  while (odd(fn)) {
    fn = half(fn)
    sn = half(sn)
  }
  // 5.
  let fr = path[0]!
  let sr = path[0]!
  // 6.
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!
    if (sn === 0) return false
    if (odd(fn) || fn === sn) {
      fr = nodeHash(c, fr)
      sr = nodeHash(c, sr)
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn)
          sn = half(sn)
        }
      }
    } else {
      sr = nodeHash(sr, c)
    }
    fn = half(fn)
    sn = half(sn)
  }
  // 7.
  return equalBytes(fr, oldRoot) && equalBytes(sr, newRoot) && sn === 0
}

function isPow2(n: number): boolean {
  if (n < 1) return false
  let x = n
  while (x % 2 === 0) x /= 2
  return x === 1
}

// --- An in-memory node source ------------------------------------------------------------------

/**
 * Nodes kept in memory, one flat buffer per level (32 bytes per node), counting what proofs
 * read: `reads` counts nodes, `calls` counts getNodes round trips. For tests, tools and
 * verifiers that rebuild a tree from a list of entry hashes.
 */
export class MemoryNodeSource implements MerkleNodeSource {
  private levels: { bytes: Uint8Array; count: number }[] = []
  reads = 0
  calls = 0

  /** A source holding the whole tree over `entryHashes`, built level by level. */
  static fromEntryHashes(entryHashes: readonly Uint8Array[]): MemoryNodeSource {
    const src = new MemoryNodeSource()
    let level = entryHashes.map((e) => leafHash(e))
    for (let l = 0; level.length > 0; l++) {
      level.forEach((hash, index) => src.put({ level: l, index, hash }))
      const up: Uint8Array[] = []
      for (let i = 0; i + 1 < level.length; i += 2) up.push(nodeHash(level[i]!, level[i + 1]!))
      level = up
    }
    return src
  }

  /** Store nodes; a node must come after every node to its left on its level (append order). */
  put(...nodes: MerkleNode[]): void {
    for (const { level, index, hash } of nodes) {
      checkHash(hash, 'node hash')
      while (this.levels.length <= level) this.levels.push({ bytes: new Uint8Array(1024), count: 0 })
      const lv = this.levels[level]!
      if (index !== lv.count) throw new TypeError(`node (level ${level}, index ${index}) put out of order: level ${level} holds ${lv.count} nodes`)
      if ((index + 1) * HASH_BYTES > lv.bytes.length) {
        const grown = new Uint8Array(Math.max(lv.bytes.length * 2, (index + 1) * HASH_BYTES))
        grown.set(lv.bytes)
        lv.bytes = grown
      }
      lv.bytes.set(hash, index * HASH_BYTES)
      lv.count++
    }
  }

  /** How many nodes the source holds at `level`. */
  count(level: number): number {
    return this.levels[level]?.count ?? 0
  }

  async getNodes(ids: readonly NodeId[]): Promise<Uint8Array[]> {
    this.calls++
    this.reads += ids.length
    return ids.map(({ level, index }) => {
      const lv = this.levels[level]
      if (!lv || index >= lv.count) throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `no node (level ${level}, index ${index})`, { level, index })
      return lv.bytes.slice(index * HASH_BYTES, (index + 1) * HASH_BYTES)
    })
  }
}
