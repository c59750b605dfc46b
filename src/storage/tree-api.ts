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

/** treeHead for callers that hold the session's lock (the append hook, the proofs below). */
export async function treeHeadLocked(store: SessionStore, sessionId: string, size: number | undefined): Promise<{ th: TreeHead; head: Head; source: StoreNodeSource }> {
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

/** What an inclusion proof file holds but its signature (docs/proofs.md section 5.3). */
export interface InclusionParts {
  /** The tree the proof is against: the given checkpoint's, or the store's at the size asked. */
  th: TreeHead
  entryHash: string
  index: number
  proof: Uint8Array[]
}

/**
 * Check a checkpoint text given for a session against the store (parsed, not verified: the
 * verifier checks the signature): its tree at the checkpoint's size must have the same root and
 * head. Callers hold the session's lock.
 */
async function checkGivenLocked(store: SessionStore, sessionId: string, given: ChainlogCheckpoint): Promise<{ th: TreeHead; source: StoreNodeSource }> {
  if (!given.origin.endsWith(`/${sessionId}`)) {
    throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, `the checkpoint is of ${given.origin}, not of session ${sessionId}`, { origin: given.origin, sessionId })
  }
  const r = await treeHeadLocked(store, sessionId, given.size)
  if (toHex(given.root) !== toHex(r.th.root) || given.head !== r.th.head) {
    throw new ChainlogError(ErrorCodes.INVALID_PROOF, `the store's tree of ${sessionId} at size ${r.th.size} is not the one the checkpoint signs: history was rewritten (run verify with the checkpoint)`, {
      reason: 'inconsistent',
      sessionId,
      size: r.th.size,
    })
  }
  return r
}

/**
 * A checkpoint text a caller gives for a session (to prove against, or to carry in an export),
 * checked against the store's tree: same session, a size the session has reached, the same root
 * and head there (else CHAINLOG_INVALID_PROOF, reason `inconsistent`). O(log n) reads.
 */
export async function checkGivenCheckpoint(store: SessionStore, sessionId: string, text: string): Promise<ChainlogCheckpoint> {
  const given = parseGiven(text)
  await store.locks.run(sessionId, () => checkGivenLocked(store, sessionId, given))
  return given
}

/**
 * The unsigned parts of an inclusion proof for an entry (hash or unique prefix): its index, the
 * proof, and the tree head it is against (the given checkpoint's, checked against the store, or
 * the store's at `size`, default now). prove() signs and formats them; a process sharing the
 * store gets them over the socket and signs with its own key.
 */
export async function inclusionParts(store: SessionStore, entryHashOrPrefix: string, options: ProveOptions = {}): Promise<InclusionParts> {
  const hash = await store.resolveHash(entryHashOrPrefix)
  const loc = await store.locate(hash)
  if (!loc) throw new ChainlogError(ErrorCodes.ENTRY_NOT_FOUND, `no entry ${hash}`, { hash })
  const given = options.checkpoint !== undefined ? parseGiven(options.checkpoint) : undefined
  if (given && !given.origin.endsWith(`/${loc.sessionId}`)) {
    throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, `the checkpoint is of ${given.origin}, not of session ${loc.sessionId}`, { origin: given.origin, sessionId: loc.sessionId })
  }
  return store.locks.run(loc.sessionId, async () => {
    const { th, source } = given ? await checkGivenLocked(store, loc.sessionId, given) : await treeHeadLocked(store, loc.sessionId, options.size)
    if (loc.seq >= th.size) {
      throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, `entry ${hash} is entry ${loc.seq} of ${loc.sessionId}, not among its first ${th.size}`, { hash, seq: loc.seq, size: th.size })
    }
    const proof = await inclusionProof(loc.seq, th.size, source)
    return { th, entryHash: hash, index: loc.seq, proof }
  })
}

/** The inclusion proof file for parts, with the checkpoint given or one signed now with `key`. */
export function formatInclusion(parts: InclusionParts, checkpointText: string | undefined, key: SignerKey | undefined): string {
  const note = checkpointText ?? signCheckpoint(parts.th, requireKey(key))
  return formatProofFile({ entryHash: parts.entryHash, index: parts.index, proof: parts.proof, checkpoint: note })
}

/**
 * A self-contained inclusion proof file (docs/proofs.md section 5.3) for an entry, by hash or
 * unique prefix: the entry's index in its session, the proof, and a signed checkpoint.
 */
export async function prove(store: SessionStore, key: SignerKey | undefined, entryHashOrPrefix: string, options: ProveOptions = {}): Promise<string> {
  if (options.checkpoint === undefined) requireKey(key)
  const parts = await inclusionParts(store, entryHashOrPrefix, options)
  return formatInclusion(parts, options.checkpoint, key)
}

/** What a consistency file holds but its signature. */
export interface ConsistencyParts {
  /** The tree at the new size. */
  th: TreeHead
  oldSize: number
  proof: Uint8Array[]
}

/** The unsigned parts of a consistency file from `oldSize` to `newSize` (default: now). */
export async function consistencyParts(store: SessionStore, sessionId: string, oldSize: number, newSize?: number): Promise<ConsistencyParts> {
  return store.locks.run(sessionId, async () => {
    const { th, source } = await treeHeadLocked(store, sessionId, newSize)
    if (!Number.isSafeInteger(oldSize) || oldSize < 1 || oldSize > th.size) throw badSize(sessionId, oldSize, th.size, 'oldSize')
    const proof = await consistencyProof(oldSize, th.size, source)
    return { th, oldSize, proof }
  })
}

/** The consistency file for parts, its new checkpoint signed with `key`. */
export function formatConsistency(parts: ConsistencyParts, key: SignerKey | undefined): string {
  return formatConsistencyFile({ oldSize: parts.oldSize, proof: parts.proof }, signCheckpoint(parts.th, requireKey(key)))
}

/**
 * A consistency file (docs/proofs.md section 5.4): the proof that the session at `oldSize` is a
 * prefix of the session at `newSize` (default: now), and a signed checkpoint of `newSize`.
 */
export async function proveConsistency(store: SessionStore, key: SignerKey | undefined, sessionId: string, oldSize: number, newSize?: number): Promise<string> {
  requireKey(key)
  return formatConsistency(await consistencyParts(store, sessionId, oldSize, newSize), key)
}
