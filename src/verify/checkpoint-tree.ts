// Verify against a checkpoint with the stored tree, O(log n) reads (verification.md, "Signed
// checkpoints"): the session's tree as the store holds it now must extend the signed one (the
// RFC 9162 consistency proof from the checkpoint's size to the session's size, read from the
// T rows, leads from the signed root to the root of the stored frontier), the record at
// `size - 1` must hash to the signed head and the next link (or the head row) must name it, and
// the head record must hash to the head row. This answers `consistent` only; anything else
// (no complete tree, a missing row, a proof that fails) is left to the full walk, which
// recomputes the root from the chain and gives the finding its own code.
import { bytesEqual } from '../encoding/cbor.js'
import { hashRecord, toHex } from '../encoding/hash.js'
import { isChainlogError } from '../errors.js'
import type { VerifiedCheckpoint } from '../proofs/checkpoint.js'
import { consistencyProof, rootFromFrontier, verifyConsistency } from '../proofs/merkle.js'
import * as K from '../storage/keys.js'
import type { Head, SessionStore } from '../storage/session-store.js'
import { StoreNodeSource, readFrontier } from '../storage/tree.js'

/** What the tree check read and hashed, when the session's stored tree extends the checkpoint. */
export interface TreeExtends {
  /** Records hashed (the signed head's, the head's). */
  entries: number
  bytes: number
}

/**
 * Whether the session (with `head`, at least `cp.size` entries) still holds the signed history,
 * by its stored tree: a result when it does, undefined when the tree cannot say so (then walk).
 */
export async function treeExtends(store: SessionStore, cp: VerifiedCheckpoint, head: Head): Promise<TreeExtends | undefined> {
  const { sessionId } = cp
  const size = head.seq + 1
  if (size < cp.size) return undefined
  const frontier = await readFrontier(store.engine, sessionId, head)
  if (!frontier) return undefined
  // The signed head's record, the link after it, the head's record: one getMany.
  const seqs = [...new Set([cp.size - 1, Math.min(cp.size, head.seq), head.seq])]
  const rows = await store.engine.getMany(seqs.map((s) => K.recordKey(sessionId, s)))
  const rec = new Map(seqs.map((s, i) => [s, rows[i]]))
  const signedHead = rec.get(cp.size - 1)
  const headRec = rec.get(head.seq)
  if (!signedHead || !headRec) return undefined
  if (toHex(hashRecord(signedHead)) !== cp.head || !bytesEqual(hashRecord(headRec), head.hash)) return undefined
  const next = cp.size < size ? rec.get(cp.size) : undefined
  const linked = cp.size < size ? next !== undefined && next.length >= 32 && toHex(next.subarray(0, 32)) === cp.head : toHex(head.hash) === cp.head
  if (!linked) return undefined
  const root = rootFromFrontier(frontier.frontier)
  let proof: Uint8Array[] = []
  if (cp.size < size) {
    try {
      proof = await consistencyProof(cp.size, size, new StoreNodeSource(store.engine, sessionId, head))
    } catch (err) {
      // A row the proof needs is missing or short: the walk reports it.
      if (isChainlogError(err)) return undefined
      throw err
    }
  }
  if (!verifyConsistency(cp.size, size, cp.root, root, proof)) return undefined
  const hashed = seqs.filter((s) => s === cp.size - 1 || s === head.seq)
  return { entries: hashed.length, bytes: hashed.reduce((n, s) => n + rec.get(s)!.length, 0) }
}
