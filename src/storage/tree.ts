// A session's Merkle tree in the store (docs/storage.md section 1, docs/proofs.md section 2).
// The tree is a derived index over the session's entry hashes. Store format 3 keeps one `T` row
// per block of 8 leaves: at each leaf that completes a node of level 3 or above (leaf i with
// i mod 8 = 7), the nodes it completes, levels 1..t, concatenated. The levels below 3 are not
// stored: a node there covers at most 4 leaves, recomputed from the entry hashes, and the entry
// hash of seq i is the prev of record i+1 (the head for the last entry). Format 2 kept a row
// at every odd leaf; those rows hold the same bytes, so its rows at leaves 7 mod 8 are format 3's.
//
// A session's tree is complete when the T row of its last block exists (a session of fewer than
// 8 entries has no rows and is always complete). Every writer that adds entries to a session
// with a complete tree writes their rows in the same commit, and the lazy build writes all of a
// session's rows in one commit, so that row is only there when every row before it is.
import { ChainlogError, ErrorCodes } from '../errors.js'
import {
  appendLeaves,
  completedAt,
  frontierIds,
  leafHash,
  nodeHash,
  type MerkleNode,
  type MerkleNodeSource,
  type NodeId,
} from '../proofs/merkle.js'
import type { BatchOp, StorageEngine } from './engine.js'
import * as K from './keys.js'

const HASH = 32

/** The frontier of a session's tree at `size` leaves. */
export interface TreeState {
  size: number
  frontier: Uint8Array[]
}

/** The lowest level kept in T rows: nodes below it are recomputed from at most 2^(STORED_LEVEL-1) leaves. */
export const STORED_LEVEL = 3
const BLOCK = 2 ** STORED_LEVEL

/** Whether leaf `i` has a T row (it completes a node of STORED_LEVEL or above: i mod 8 = 7). */
export function hasRow(leaf: number): boolean {
  return leaf % BLOCK === BLOCK - 1
}

/** The last leaf below `size` that has a T row, or -1 (a tree of fewer than 8 leaves has none). */
export function lastRowLeaf(size: number): number {
  return Math.floor(size / BLOCK) * BLOCK - 1
}

/** The T rows for the nodes of an append (nodesAfterAppend's `nodes`): one put per leaf that completes a node of STORED_LEVEL or above. */
export function treeRowOps(sessionId: string, nodes: readonly MerkleNode[]): BatchOp[] {
  const ops: BatchOp[] = []
  let leaf = -1
  let parts: Uint8Array[] = []
  const flush = () => {
    if (parts.length < STORED_LEVEL) {
      parts = []
      return
    }
    const value = new Uint8Array(parts.length * HASH)
    parts.forEach((h, i) => value.set(h, i * HASH))
    ops.push({ type: 'put', key: K.treeKey(sessionId, leaf), value })
    parts = []
  }
  for (const n of nodes) {
    if (n.level === 0) {
      flush()
      leaf = n.index
    } else {
      // Nodes of one leaf arrive right after its level-0 node, level 1 first.
      parts.push(n.hash)
    }
  }
  flush()
  return ops
}

/**
 * Add entry hashes to a session's tree: the tree after them, and the T rows they complete (the
 * rows treeRowOps gives for nodesAfterAppend's nodes, built without a node list: appendLeaves).
 * Pure; `tree` is not changed.
 */
export function appendTree(sessionId: string, tree: TreeState, entryHashes: readonly Uint8Array[]): { state: TreeState; ops: BatchOp[] } {
  const r = appendLeaves(tree.size, tree.frontier, entryHashes, STORED_LEVEL)
  const ops: BatchOp[] = []
  for (const row of r.rows) ops.push({ type: 'put', key: K.treeKey(sessionId, row.leaf), value: row.value })
  return { state: { size: r.size, frontier: r.frontier }, ops }
}

/** The row a stored node (level >= STORED_LEVEL) is in, and its offset there. */
function rowOf(id: NodeId): { leaf: number; offset: number } {
  return { leaf: completedAt(id), offset: (id.level - 1) * HASH }
}

/**
 * Node hashes of a session's tree, with one getMany: stored nodes from their T rows, lower ones
 * (levels 0..STORED_LEVEL-1, at most 4 leaves each) from the entry hashes of their leaves, read
 * as the prev of the record after each leaf, or the head. `undefined` where a row is missing.
 */
async function readNodes(engine: Pick<StorageEngine, 'getMany'>, sessionId: string, head: { hash: Uint8Array; seq: number }, ids: readonly NodeId[]): Promise<(Uint8Array | undefined)[]> {
  const keys: Uint8Array[] = []
  const slot = new Map<string, number>()
  const keyOf = (name: string, make: () => Uint8Array): number => {
    let k = slot.get(name)
    if (k === undefined) {
      k = keys.length
      keys.push(make())
      slot.set(name, k)
    }
    return k
  }
  // Per id: the T row slot and offset, or the slots of its leaves' entry hashes (-1: the head).
  const plan = ids.map((id) => {
    if (id.level >= STORED_LEVEL) {
      const { leaf, offset } = rowOf(id)
      return { row: keyOf(`T${leaf}`, () => K.treeKey(sessionId, leaf)), offset, leaves: [] as number[] }
    }
    const leaves: number[] = []
    const first = id.index * 2 ** id.level
    for (let seq = first; seq < first + 2 ** id.level; seq++) {
      leaves.push(seq === head.seq ? -1 : keyOf(`R${seq + 1}`, () => K.recordKey(sessionId, seq + 1)))
    }
    return { row: -1, offset: 0, leaves }
  })
  const rows = keys.length > 0 ? await engine.getMany(keys) : []
  return plan.map((p) => {
    if (p.row >= 0) {
      const row = rows[p.row]
      return row && row.length >= p.offset + HASH ? row.slice(p.offset, p.offset + HASH) : undefined
    }
    let level: Uint8Array[] = []
    for (const k of p.leaves) {
      const row = k === -1 ? head.hash : rows[k]
      if (!row || row.length < HASH) return undefined
      level.push(leafHash(row.subarray(0, HASH)))
    }
    while (level.length > 1) {
      const up: Uint8Array[] = []
      for (let i = 0; i < level.length; i += 2) up.push(nodeHash(level[i]!, level[i + 1]!))
      level = up
    }
    return level[0]
  })
}

/**
 * Read the frontier of a session whose head is at `headSeq` (size headSeq + 1) with one getMany;
 * undefined when the tree is not complete (a row it needs is missing).
 */
export async function readFrontier(engine: StorageEngine, sessionId: string, head: { hash: Uint8Array; seq: number }): Promise<TreeState | undefined> {
  const size = head.seq + 1
  const nodes = await readNodes(engine, sessionId, head, frontierIds(size))
  const frontier: Uint8Array[] = []
  for (const n of nodes) {
    if (!n) return undefined
    frontier.push(n)
  }
  return { size, frontier }
}

/** Leaves per chunk while building a tree from the records. */
const BUILD_CHUNK = 4096

/**
 * Every T row of a session of `head.seq + 1` entries, computed from the record links (one range
 * scan): the entry hash of seq i is the prev of record i + 1, the head's hash for the last.
 */
export async function buildTreeOps(engine: StorageEngine, sessionId: string, head: { hash: Uint8Array; seq: number }): Promise<{ ops: BatchOp[]; state: TreeState }> {
  let state: TreeState = { size: 0, frontier: [] }
  const ops: BatchOp[] = []
  let pending: Uint8Array[] = []
  const add = (hashes: Uint8Array[]) => {
    const r = appendTree(sessionId, state, hashes)
    for (const op of r.ops) ops.push(op)
    state = r.state
  }
  let expected = 1
  for await (const rows of engine.scan(K.recordRange(sessionId, 1, head.seq), 512)) {
    for (const [key, value] of rows) {
      const { seq } = K.parseRecordKey(key)
      if (seq !== expected || value.length < HASH) {
        throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `session ${sessionId} has no readable record at seq ${expected}; run verify`, { sessionId, seq: expected })
      }
      expected++
      pending.push(value.slice(0, HASH))
      if (pending.length >= BUILD_CHUNK) {
        add(pending)
        pending = []
      }
    }
  }
  if (expected !== head.seq + 1) {
    throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `session ${sessionId} has no record at seq ${expected}; run verify`, { sessionId, seq: expected })
  }
  pending.push(new Uint8Array(head.hash))
  add(pending)
  return { ops, state }
}

/**
 * Node hashes of one session's tree for proofs (MerkleNodeSource), each getNodes call one
 * getMany (readNodes). The tree must be complete up to `head`.
 */
export class StoreNodeSource implements MerkleNodeSource {
  constructor(
    private readonly engine: StorageEngine,
    private readonly sessionId: string,
    private readonly head: { hash: Uint8Array; seq: number },
  ) {}

  async getNodes(ids: readonly NodeId[]): Promise<Uint8Array[]> {
    const nodes = await readNodes(this.engine, this.sessionId, this.head, ids)
    return nodes.map((h, i) => {
      if (!h) {
        const id = ids[i]!
        throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `session ${this.sessionId} lacks tree node (${id.level}, ${id.index}); run verify`, { sessionId: this.sessionId, level: id.level, index: id.index })
      }
      return h
    })
  }
}
