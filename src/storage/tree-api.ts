// Checkpoints and proofs from a store's Merkle tree rows (docs/proofs.md, docs/storage.md
// section 1). Every call runs under the session's lock, completes the tree if it must (the lazy
// build), then reads what it needs with one getMany: O(log n) reads.
import { toHex } from '../encoding/hash.js'
import { ChainlogError, ErrorCodes } from '../errors.js'
import { parseChainlogCheckpoint, signCheckpoint, type ChainlogCheckpoint } from '../proofs/checkpoint.js'
import { consistencyProof, inclusionProof, rootAt, rootFromFrontier } from '../proofs/merkle.js'
import { parseNote, type SignerKey } from '../proofs/note.js'
import { formatConsistencyFile, formatProofFile } from '../proofs/proof.js'
import * as K from './keys.js'
import type { Head, SessionStore } from './session-store.js'
import { StoreNodeSource } from './tree.js'

/** A session's tree at one size: what a checkpoint signs. */
export interface TreeHead {
  sessionId: string
  size: number
  /** MTH of the first `size` entry hashes. */
  root: Uint8Array
  /** The hash of entry `size - 1` (hex). */
  head: string
}

function badSize(sessionId: string, size: unknown, max: number, what = 'size'): ChainlogError {
  return new ChainlogError(ErrorCodes.INVALID_ARGUMENT, `${what} must be an integer from 1 to ${max} (the session's size), not ${String(size)}`, { sessionId, [what]: size, max })
}

/** The hash of entry `seq` (seq < head.seq: the prev of record seq + 1). */
async function entryHashAt(store: SessionStore, sessionId: string, head: Head, seq: number): Promise<Uint8Array> {
  if (seq === head.seq) return head.hash
  const rec = await store.getRaw(K.recordKey(sessionId, seq + 1))
  if (!rec || rec.length < 32) throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `session ${sessionId} has no record at seq ${seq + 1}; run verify`, { sessionId, seq: seq + 1 })
  return rec.slice(0, 32)
}

async function treeHeadLocked(store: SessionStore, sessionId: string, size: number | undefined): Promise<{ th: TreeHead; head: Head; source: StoreNodeSource }> {
  const { head, tree } = await store.ensureTree(sessionId)
  const n = head.seq + 1
  const s = size ?? n
  if (!Number.isSafeInteger(s) || s < 1 || s > n) throw badSize(sessionId, size, n)
  const source = new StoreNodeSource(store.engine, sessionId, head)
  const root = s === n ? rootFromFrontier(tree.frontier) : await rootAt(s, source)
  const headHash = s === n ? head.hash : await entryHashAt(store, sessionId, head, s - 1)
  return { th: { sessionId, size: s, root, head: toHex(headHash) }, head, source }
}

/** The tree head of a session at `size` (default: its size now). */
export function treeHead(store: SessionStore, sessionId: string, size?: number): Promise<TreeHead> {
  return store.locks.run(sessionId, async () => (await treeHeadLocked(store, sessionId, size)).th)
}

function requireKey(key: SignerKey | undefined): SignerKey {
  if (!key) throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'signing checkpoints needs a store opened with { signingKey } (a signer key text, docs/proofs.md section 3.3)', {})
  return key
}

/** A signed checkpoint (C2SP tlog-checkpoint, docs/proofs.md section 4) of a session at `size` (default: now). */
export async function checkpoint(store: SessionStore, key: SignerKey | undefined, sessionId: string, size?: number): Promise<string> {
  const k = requireKey(key)
  const th = await treeHead(store, sessionId, size)
  return signCheckpoint(th, k)
}

/** A checkpoint text as given to prove: parsed (not verified: the verifier checks the signature). */
function parseGiven(text: string): ChainlogCheckpoint {
  if (typeof text !== 'string') throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'checkpoint must be the text of a signed note', {})
  return parseChainlogCheckpoint(parseNote(text).text)
}

export interface ProveOptions {
  /** Prove against the session at this size (default: its size now); a new checkpoint is signed. */
  size?: number
  /** Prove against this signed checkpoint instead (its size; its root must be the store's root at that size). */
  checkpoint?: string
}

/**
 * A self-contained inclusion proof file (docs/proofs.md section 5.3) for an entry, by hash or
 * unique prefix: the entry's index in its session, the proof, and a signed checkpoint.
 */
export async function prove(store: SessionStore, key: SignerKey | undefined, entryHashOrPrefix: string, options: ProveOptions = {}): Promise<string> {
  const hash = await store.resolveHash(entryHashOrPrefix)
  const loc = await store.locate(hash)
  if (!loc) throw new ChainlogError(ErrorCodes.ENTRY_NOT_FOUND, `no entry ${hash}`, { hash })
  const given = options.checkpoint !== undefined ? parseGiven(options.checkpoint) : undefined
  if (given && !given.origin.endsWith(`/${loc.sessionId}`)) {
    throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, `the checkpoint is of ${given.origin}, not of session ${loc.sessionId}`, { origin: given.origin, sessionId: loc.sessionId })
  }
  if (!given) requireKey(key)
  return store.locks.run(loc.sessionId, async () => {
    const size = given ? given.size : options.size
    const { th, source } = await treeHeadLocked(store, loc.sessionId, size)
    if (loc.seq >= th.size) {
      throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, `entry ${hash} is entry ${loc.seq} of ${loc.sessionId}, not among its first ${th.size}`, { hash, seq: loc.seq, size: th.size })
    }
    if (given && (toHex(given.root) !== toHex(th.root) || given.head !== th.head)) {
      throw new ChainlogError(ErrorCodes.INVALID_PROOF, `the store's tree of ${loc.sessionId} at size ${th.size} is not the one the checkpoint signs: history was rewritten (run verify with the checkpoint)`, {
        reason: 'inconsistent',
        sessionId: loc.sessionId,
        size: th.size,
      })
    }
    const note = options.checkpoint ?? signCheckpoint(th, requireKey(key))
    const proof = await inclusionProof(loc.seq, th.size, source)
    return formatProofFile({ entryHash: hash, index: loc.seq, proof, checkpoint: note })
  })
}

/**
 * A consistency file (docs/proofs.md section 5.4): the proof that the session at `oldSize` is a
 * prefix of the session at `newSize` (default: now), and a signed checkpoint of `newSize`.
 */
export async function proveConsistency(store: SessionStore, key: SignerKey | undefined, sessionId: string, oldSize: number, newSize?: number): Promise<string> {
  const k = requireKey(key)
  return store.locks.run(sessionId, async () => {
    const { th, source } = await treeHeadLocked(store, sessionId, newSize)
    if (!Number.isSafeInteger(oldSize) || oldSize < 1 || oldSize > th.size) throw badSize(sessionId, oldSize, th.size, 'oldSize')
    const proof = await consistencyProof(oldSize, th.size, source)
    return formatConsistencyFile({ oldSize, proof }, signCheckpoint(th, k))
  })
}
