// A session's Merkle tree in the store (docs/storage.md section 1, docs/proofs.md section 2).
// The tree is a derived index over the session's entry hashes: one `T` row per leaf that
// completes nodes above level 0, holding those nodes (levels 1..t) concatenated. Level 0 (the
// leaf hashes) is not stored: it is SHA-256(0x00 ‖ entry hash), and the entry hash of seq i is
// the prev of record i+1 (the head for the last entry).
//
// A session's tree is complete when the T row of its last odd leaf exists (a session of one
// entry has no rows and is always complete). Every writer that adds entries to a session with a
// complete tree writes their rows in the same commit, and the lazy build writes all of a
// session's rows in one commit, so that row is only there when every row before it is.
import { ChainlogError, ErrorCodes } from '../errors.js'
import {
  completedAt,
  frontierIds,
  leafHash,
  nodesAfterAppend,
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

/** Trailing one bits of `i`: how many nodes above level 0 leaf `i` completes. */
export function completes(i: number): number {
  let t = 0
  for (let x = i; x % 2 === 1; x = Math.floor(x / 2)) t++
  return t
}

/** The last leaf below `size` that has a T row, or -1 (a tree of one leaf has none). */
export function lastRowLeaf(size: number): number {
  if (size < 2) return -1
  return size % 2 === 0 ? size - 1 : size - 2
}

/** The T rows for the nodes of an append (nodesAfterAppend's `nodes`): one put per leaf that completes any. */
export function treeRowOps(sessionId: string, nodes: readonly MerkleNode[]): BatchOp[] {
  const ops: BatchOp[] = []
  let leaf = -1
  let parts: Uint8Array[] = []
  const flush = () => {
    if (parts.length === 0) return
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

/** The row a level >= 1 node is in, and its offset there. */
function rowOf(id: NodeId): { leaf: number; offset: number } {
  return { leaf: completedAt(id), offset: (id.level - 1) * HASH }
}

/**
 * Read the frontier of a session whose head is at `headSeq` (size headSeq + 1) with one getMany;
 * undefined when the tree is not complete (a row it needs is missing).
 */
export async function readFrontier(engine: StorageEngine, sessionId: string, head: { hash: Uint8Array; seq: number }): Promise<TreeState | undefined> {
  const size = head.seq + 1
  const ids = frontierIds(size)
  const upper = ids.filter((id) => id.level > 0)
  const rows = upper.length > 0 ? await engine.getMany(upper.map((id) => K.treeKey(sessionId, completedAt(id)))) : []
  const frontier: Uint8Array[] = []
  let r = 0
  for (const id of ids) {
    if (id.level === 0) {
      // Only the last leaf of an odd size is a level-0 frontier node: the head.
      frontier.push(leafHash(head.hash))
      continue
    }
    const row = rows[r++]
    const { offset } = rowOf(id)
    if (!row || row.length < offset + HASH) return undefined
    frontier.push(row.slice(offset, offset + HASH))
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
    const r = nodesAfterAppend(state.size, state.frontier, hashes)
    ops.push(...treeRowOps(sessionId, r.nodes))
    state = { size: r.size, frontier: r.frontier }
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
 * getMany: level >= 1 from the T rows, level 0 from the record after the leaf (its prev) or the
 * head. The tree must be complete up to `head`.
 */
export class StoreNodeSource implements MerkleNodeSource {
  constructor(
    private readonly engine: StorageEngine,
    private readonly sessionId: string,
    private readonly head: { hash: Uint8Array; seq: number },
  ) {}

  async getNodes(ids: readonly NodeId[]): Promise<Uint8Array[]> {
    const keys: Uint8Array[] = []
    const slot = new Map<string, number>()
    const where: { k: number; offset: number; leaf: boolean }[] = []
    const keyOf = (kind: string, n: number, make: () => Uint8Array): number => {
      const name = `${kind}${n}`
      let k = slot.get(name)
      if (k === undefined) {
        k = keys.length
        keys.push(make())
        slot.set(name, k)
      }
      return k
    }
    for (const id of ids) {
      if (id.level === 0) {
        if (id.index === this.head.seq) where.push({ k: -1, offset: 0, leaf: true })
        else where.push({ k: keyOf('R', id.index + 1, () => K.recordKey(this.sessionId, id.index + 1)), offset: 0, leaf: true })
      } else {
        const { leaf, offset } = rowOf(id)
        where.push({ k: keyOf('T', leaf, () => K.treeKey(this.sessionId, leaf)), offset, leaf: false })
      }
    }
    const rows = keys.length > 0 ? await this.engine.getMany(keys) : []
    return where.map((w, i) => {
      const row = w.k === -1 ? this.head.hash : rows[w.k]
      if (!row || row.length < w.offset + HASH) {
        const id = ids[i]!
        throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `session ${this.sessionId} lacks tree node (${id.level}, ${id.index}); run verify`, { sessionId: this.sessionId, level: id.level, index: id.index })
      }
      const h = row.slice(w.offset, w.offset + HASH)
      return w.leaf ? leafHash(h) : h
    })
  }
}

/** Whether a tree row has the length leaf `leaf` calls for. */
export function rowLengthOk(leaf: number, row: Uint8Array): boolean {
  return row.length === completes(leaf) * HASH
}
