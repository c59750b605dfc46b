// Verify a session's Merkle tree rows (docs/storage.md section 1) against its entries, chunk by
// chunk as the session walk reads them: every T row found must hold the nodes the chain's
// hashes give; a session whose tree claims to be complete (its last row exists) must have every
// row; no row may lie beyond the session's size. Rows of a tree that is not complete yet (a
// session written before trees; the next append or checkpoint builds them) may be missing.
import { toHex } from '../encoding/hash.js'
import { nodesAfterAppend } from '../proofs/merkle.js'
import type { StorageEngine } from '../storage/engine.js'
import * as K from '../storage/keys.js'
import { lastRowLeaf, treeRowOps } from '../storage/tree.js'
import type { FindingList } from './findings.js'

/** Where the tree rows are read: the engine, or a cursor merged with a whole-store walk (verify-store.ts). */
export type TreeRows = Pick<StorageEngine, 'getMany' | 'scan'>

/** At most this many missing rows are reported per session. */
const MAX_MISSING = 100

export class TreeCheck {
  #size = 0
  #frontier: Uint8Array[] = []
  #broken = false
  #missing: number[] = []
  #lastPresent = -1

  constructor(
    private readonly engine: TreeRows,
    private readonly sessionId: string,
    private readonly findings: FindingList,
  ) {}

  /** The chain cannot be followed (a gap): the tree is not checked further. */
  stop(): void {
    this.#broken = true
  }

  /** With a checkpoint: the size whose root and head are wanted, and what they are once reached. */
  target: number | undefined
  atTarget: { root: Uint8Array; head: Uint8Array } | undefined

  /** Entries followed so far (the tree's size). */
  get size(): number {
    return this.#size
  }

  /** The next entry hashes of the chain, in seq order. */
  async add(hashes: readonly Uint8Array[]): Promise<void> {
    if (this.#broken || hashes.length === 0) return
    const t = this.target
    if (t !== undefined && t > this.#size && t < this.#size + hashes.length) {
      // Stop at the target exactly, to take its root, then go on.
      const cut = t - this.#size
      await this.add(hashes.slice(0, cut))
      await this.add(hashes.slice(cut))
      return
    }
    const r = nodesAfterAppend(this.#size, this.#frontier, hashes)
    if (t !== undefined && r.size === t) this.atTarget = { root: r.root, head: hashes[hashes.length - 1]! }
    this.#size = r.size
    this.#frontier = r.frontier
    const want = treeRowOps(this.sessionId, r.nodes) as { key: Uint8Array; value: Uint8Array }[]
    if (want.length === 0) return
    const got = await this.engine.getMany(want.map((w) => w.key))
    for (let i = 0; i < want.length; i++) {
      const leaf = K.readU64(want[i]!.key, want[i]!.key.length - 8)
      const row = got[i]
      if (!row) {
        if (this.#missing.length < MAX_MISSING) this.#missing.push(leaf)
        continue
      }
      this.#lastPresent = leaf
      if (toHex(row) !== toHex(want[i]!.value)) {
        this.findings.add({
          code: 'tree_mismatch',
          message: `tree row of ${this.sessionId} at leaf ${leaf} does not hold the nodes its entries give`,
          sessionId: this.sessionId,
          seq: leaf,
          expected: toHex(want[i]!.value),
          actual: toHex(row),
        })
      }
    }
  }

  /** After the last entry: completeness and rows beyond the size. */
  async finish(): Promise<void> {
    if (this.#broken) return
    const last = lastRowLeaf(this.#size)
    if (last >= 0 && this.#lastPresent === last) {
      for (const leaf of this.#missing) {
        this.findings.add({ code: 'tree_mismatch', message: `tree of ${this.sessionId} is complete but has no row at leaf ${leaf}`, sessionId: this.sessionId, seq: leaf, expected: 'a row', actual: null })
      }
    }
    for await (const rows of this.engine.scan(K.treeRange(this.sessionId, this.#size), 256)) {
      for (const [key] of rows) {
        const leaf = K.readU64(key, key.length - 8)
        this.findings.add({ code: 'tree_mismatch', message: `tree of ${this.sessionId} has a row at leaf ${leaf}, beyond its ${this.#size} entries`, sessionId: this.sessionId, seq: leaf, expected: null, actual: 'a row' })
      }
    }
  }
}
