// Proof texts (docs/proofs.md, section 5):
//
// - an inclusion proof file, C2SP tlog-proof (https://c2sp.org/tlog-proof): the header line,
//   `extra <base64 entry hash>`, `index <i>`, the inclusion proof (one base64 hash a line), a
//   blank line, and the signed checkpoint. Anyone holding the log's verifier key checks it
//   offline: "this entry is entry i of the session whose checkpoint this is".
// - a consistency proof, the first part of a C2SP tlog-witness add-checkpoint body: `old <m>` and
//   the proof hashes, one base64 hash a line; followed by a blank line and the new signed
//   checkpoint it is a consistency file: "the session at size m is a prefix of this checkpoint".
import { ChainlogError, ErrorCodes } from '../errors.js'
import { HASH_BYTES, toHex, fromHex, isHexHash } from '../encoding/hash.js'
import { verifyCheckpoint, type VerifiedCheckpoint, type VerifyCheckpointOptions } from './checkpoint.js'
import { leafHash, verifyConsistency, verifyInclusion } from './merkle.js'
import type { VerifierKey } from './note.js'
import { decodeBase64, encodeBase64, parseDecimal, splitLines } from './text.js'

/** The first line of an inclusion proof file. */
export const PROOF_HEADER = 'c2sp.org/tlog-proof@v1'
/** No tree of at most 2^53-1 leaves has a proof of more than 63 hashes (the witness protocol's own limit). */
export const MAX_PROOF_HASHES = 63

function proofError(reason: string, message: string, data: Record<string, unknown> = {}): ChainlogError {
  return new ChainlogError(ErrorCodes.INVALID_PROOF, message, { reason, ...data })
}

function hashLines(proof: readonly Uint8Array[]): string {
  return proof
    .map((h) => {
      if (!(h instanceof Uint8Array) || h.length !== HASH_BYTES) throw new TypeError('a proof hash is 32 bytes')
      return `${encodeBase64(h)}\n`
    })
    .join('')
}

function parseHashLines(lines: readonly string[], firstLine: number): Uint8Array[] {
  if (lines.length > MAX_PROOF_HASHES) throw proofError('malformed', `a proof has at most ${MAX_PROOF_HASHES} hashes, this has ${lines.length}`)
  return lines.map((l, i) => {
    const h = decodeBase64(l)
    if (!h || h.length !== HASH_BYTES) throw proofError('malformed', `line ${firstLine + i} is not the base64 of a 32-byte hash`, { line: firstLine + i })
    return h
  })
}

/** Split `text` at its first blank line: the proof lines before it, the signed checkpoint after it. */
function splitAtBlankLine(text: string, what: string): { head: string[]; checkpoint: string } {
  if (typeof text !== 'string') throw proofError('malformed', `${what} must be text`)
  const i = text.indexOf('\n\n')
  if (i === -1) throw proofError('malformed', `${what}: no blank line before the checkpoint`)
  return { head: text.slice(0, i).split('\n'), checkpoint: text.slice(i + 2) }
}

// --- Inclusion proof files ----------------------------------------------------------------------

export interface InclusionProofFile {
  /** The entry hash (hex): the leaf is SHA-256(0x00 ‖ entry hash). */
  entryHash: string
  index: number
  proof: Uint8Array[]
  /** The signed checkpoint, verbatim. */
  checkpoint: string
}

/** The text of an inclusion proof file. */
export function formatProofFile(p: InclusionProofFile): string {
  if (!isHexHash(p.entryHash)) throw new TypeError('entryHash must be a 64-digit lowercase hex hash')
  if (!Number.isSafeInteger(p.index) || p.index < 0) throw new TypeError('index must be a non-negative integer')
  if (!p.checkpoint.includes('\n\n')) throw new TypeError('the checkpoint must be a signed note')
  return `${PROOF_HEADER}\nextra ${encodeBase64(fromHex(p.entryHash))}\nindex ${p.index}\n${hashLines(p.proof)}\n${p.checkpoint}`
}

/** Parse an inclusion proof file (nothing is verified). */
export function parseProofFile(text: string): InclusionProofFile {
  const { head, checkpoint } = splitAtBlankLine(text, 'a proof file')
  if (head[0] !== PROOF_HEADER) throw proofError('malformed', `a proof file starts with the line ${PROOF_HEADER}`)
  const extra = head[1]?.startsWith('extra ') ? head[1].slice(6) : undefined
  if (extra === undefined) throw proofError('malformed', 'line 2 must be "extra <base64 of the entry hash>"', { line: 2 })
  const entry = decodeBase64(extra)
  if (!entry || entry.length !== HASH_BYTES) throw proofError('malformed', 'the extra data must be the base64 of a 32-byte entry hash', { line: 2 })
  const indexLine = head[2] ?? ''
  const index = indexLine.startsWith('index ') ? parseDecimal(indexLine.slice(6)) : undefined
  if (index === undefined) throw proofError('malformed', 'line 3 must be "index <decimal>" (no leading zeros)', { line: 3 })
  const proof = parseHashLines(head.slice(3), 4)
  return { entryHash: toHex(entry), index, proof, checkpoint }
}

/** What verifyProofFile proved. */
export interface VerifiedInclusion {
  checkpoint: VerifiedCheckpoint
  entryHash: string
  index: number
}

export interface VerifyProofOptions extends VerifyCheckpointOptions {
  /** The entry hash (hex) the proof must be about. */
  entryHash?: string
  /** The session the proof must be about. */
  sessionId?: string
}

/**
 * Check an inclusion proof file offline: the checkpoint is signed by a trusted log key (and
 * cosigned by `quorum` of `witnesses`), the index is below its size, the inclusion proof
 * leads from the entry's leaf hash to its root, and for the last entry the entry hash is the
 * checkpoint's head. Returns what was proved; throws a typed error otherwise.
 */
export function verifyProofFile(text: string, keys: readonly (string | VerifierKey)[], options: VerifyProofOptions = {}): VerifiedInclusion {
  const p = parseProofFile(text)
  const cp = verifyCheckpoint(p.checkpoint, keys, options)
  if (options.sessionId !== undefined && cp.sessionId !== options.sessionId) {
    throw proofError('wrong_session', `the proof is about session ${cp.sessionId}, not ${options.sessionId}`, { sessionId: cp.sessionId })
  }
  if (options.entryHash !== undefined && p.entryHash !== options.entryHash) {
    throw proofError('wrong_entry', `the proof is about entry ${p.entryHash}, not ${options.entryHash}`, { entryHash: p.entryHash })
  }
  if (p.index >= cp.size) throw proofError('index_out_of_range', `index ${p.index} is not below the checkpoint's size ${cp.size}`, { index: p.index, size: cp.size })
  if (!verifyInclusion(leafHash(fromHex(p.entryHash)), p.index, cp.size, p.proof, cp.root)) {
    throw proofError('inclusion_failed', `the inclusion proof does not lead from entry ${p.entryHash} at index ${p.index} to the root of size ${cp.size}`, { index: p.index, size: cp.size })
  }
  if (p.index === cp.size - 1 && p.entryHash !== cp.head) {
    throw proofError('head_mismatch', `entry ${p.entryHash} is the last of ${cp.size} entries, but the checkpoint's head is ${cp.head}`, { head: cp.head })
  }
  return { checkpoint: cp, entryHash: p.entryHash, index: p.index }
}

// --- Consistency proofs -------------------------------------------------------------------------

export interface ConsistencyProofText {
  oldSize: number
  proof: Uint8Array[]
}

/** `old <m>` and the proof hashes, one a line (the first part of a tlog-witness add-checkpoint body). */
export function formatConsistencyProof(p: ConsistencyProofText): string {
  if (!Number.isSafeInteger(p.oldSize) || p.oldSize < 0) throw new TypeError('oldSize must be a non-negative integer')
  return `old ${p.oldSize}\n${hashLines(p.proof)}`
}

/** Parse `old <m>` and proof hash lines (the whole text; each line ends in a newline). */
export function parseConsistencyProof(text: string): ConsistencyProofText {
  const lines = typeof text === 'string' ? splitLines(text) : undefined
  if (!lines) throw proofError('malformed', 'a consistency proof is lines of text, each ending in a newline')
  return parseConsistencyLines(lines)
}

function parseConsistencyLines(lines: readonly string[]): ConsistencyProofText {
  const first = lines[0] ?? ''
  const oldSize = first.startsWith('old ') ? parseDecimal(first.slice(4)) : undefined
  if (oldSize === undefined) throw proofError('malformed', 'a consistency proof starts with "old <decimal>" (no leading zeros)', { line: 1 })
  return { oldSize, proof: parseHashLines(lines.slice(1), 2) }
}

/** A consistency file: the consistency proof, a blank line, the new signed checkpoint. */
export function formatConsistencyFile(p: ConsistencyProofText, checkpoint: string): string {
  if (!checkpoint.includes('\n\n')) throw new TypeError('the checkpoint must be a signed note')
  return `${formatConsistencyProof(p)}\n${checkpoint}`
}

/** Parse a consistency file (nothing is verified). */
export function parseConsistencyFile(text: string): ConsistencyProofText & { checkpoint: string } {
  const { head, checkpoint } = splitAtBlankLine(text, 'a consistency file')
  return { ...parseConsistencyLines(head), checkpoint }
}

/** What a consistency check proved. */
export interface VerifiedConsistency {
  old: VerifiedCheckpoint
  new: VerifiedCheckpoint
}

/**
 * Check that `newCheckpoint` extends `oldCheckpoint` (both signed notes, same origin): the
 * proof's old size is the old checkpoint's size, and the proof leads from the old root to the
 * new one (RFC 9162, section 2.1.4.2). Equal sizes need equal roots and heads and an empty
 * proof. Throws INVALID_PROOF with reason `rollback` (the new one is smaller),
 * `split_view` (same size, different root or head), `inconsistent` (the proof fails) or
 * `old_size_mismatch`.
 */
export function verifyConsistencyProof(
  oldCheckpoint: string | VerifiedCheckpoint,
  newCheckpoint: string | VerifiedCheckpoint,
  proof: ConsistencyProofText,
  keys: readonly (string | VerifierKey)[],
  options: VerifyCheckpointOptions = {},
): VerifiedConsistency {
  const oldCp = typeof oldCheckpoint === 'string' ? verifyCheckpoint(oldCheckpoint, keys) : oldCheckpoint
  const newCp = typeof newCheckpoint === 'string' ? verifyCheckpoint(newCheckpoint, keys, options) : newCheckpoint
  const problem = consistencyProblem(oldCp, newCp, proof)
  if (problem) throw proofError(problem.reason, problem.message, problem.data)
  return { old: oldCp, new: newCp }
}

/** Check a consistency file against the old checkpoint the caller holds. */
export function verifyConsistencyFile(text: string, oldCheckpoint: string | VerifiedCheckpoint, keys: readonly (string | VerifierKey)[], options: VerifyCheckpointOptions = {}): VerifiedConsistency {
  const p = parseConsistencyFile(text)
  return verifyConsistencyProof(oldCheckpoint, p.checkpoint, p, keys, options)
}

type Problem = { reason: 'origin_mismatch' | 'rollback' | 'split_view' | 'inconsistent' | 'old_size_mismatch'; message: string; data: Record<string, unknown> }

/** Why `newCp` does not extend `oldCp` by `proof`, or undefined when it does (shared with the witness). */
export function consistencyProblem(
  oldCp: { origin: string; size: number; root: Uint8Array; head?: string },
  newCp: { origin: string; size: number; root: Uint8Array; head?: string },
  proof: ConsistencyProofText,
): Problem | undefined {
  if (oldCp.origin !== newCp.origin) {
    return { reason: 'origin_mismatch', message: `the checkpoints are of different logs: ${oldCp.origin} and ${newCp.origin}`, data: { oldOrigin: oldCp.origin, newOrigin: newCp.origin } }
  }
  if (newCp.size < oldCp.size) {
    return { reason: 'rollback', message: `rollback: the new checkpoint has ${newCp.size} entries, fewer than the ${oldCp.size} seen before`, data: { oldSize: oldCp.size, newSize: newCp.size } }
  }
  if (proof.oldSize !== oldCp.size) {
    return { reason: 'old_size_mismatch', message: `the proof starts at size ${proof.oldSize}, not at the old checkpoint's size ${oldCp.size}`, data: { proofOldSize: proof.oldSize, oldSize: oldCp.size } }
  }
  if (newCp.size === oldCp.size) {
    const same = toHex(newCp.root) === toHex(oldCp.root) && (oldCp.head === undefined || newCp.head === undefined || oldCp.head === newCp.head)
    if (!same) {
      return { reason: 'split_view', message: `split view: two checkpoints of size ${newCp.size} with different roots or heads`, data: { size: newCp.size, oldRoot: encodeBase64(oldCp.root), newRoot: encodeBase64(newCp.root) } }
    }
    if (proof.proof.length !== 0) return { reason: 'inconsistent', message: 'a proof between equal sizes must be empty', data: { size: newCp.size } }
    return undefined
  }
  if (!verifyConsistency(oldCp.size, newCp.size, oldCp.root, newCp.root, proof.proof)) {
    return {
      reason: 'inconsistent',
      message: `the checkpoint of size ${newCp.size} does not extend the one of size ${oldCp.size}: the consistency proof fails (a rewritten or forked history)`,
      data: { oldSize: oldCp.size, newSize: newCp.size },
    }
  }
  return undefined
}
