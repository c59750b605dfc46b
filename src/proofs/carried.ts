// A checkpoint carried next to entries (a bundle's sessions, docs/proofs.md section 7): does the
// signed checkpoint describe the entries that come with it? The carrier holds the first
// `length` entry hashes of a session and a checkpoint of size `size`:
//
// - size <= length: the root of the first `size` carried hashes (RFC 9162 MTH) must be the
//   checkpoint's root, and hash `size - 1` its head;
// - size > length: the carried hashes are a prefix of the signed tree, which a consistency proof
//   from `length` to `size` (the text `old <length>` and the proof hashes) shows.
//
// With verifier keys the signature is checked too (section 4.2). Without keys only the
// agreement between checkpoint and entries is checked: whoever could rewrite the entries could
// rewrite an unsigned claim about them as well, so the signature is what makes it evidence.
import { ChainlogError, ErrorCodes } from '../errors.js'
import { toHex } from '../encoding/hash.js'
import { parseChainlogCheckpoint, verifyCheckpoint, type ChainlogCheckpoint, type VerifyCheckpointOptions } from './checkpoint.js'
import { leafHash, nodeHash, rootFromFrontier, verifyConsistency } from './merkle.js'
import { keyNameProblem, parseNote, SIG_COSIGNATURE_V1, SIG_ED25519, toVerifierKey, type VerifierKey } from './note.js'
import { parseConsistencyProof } from './proof.js'

/** Why a carried checkpoint does not hold, as the bundle finding code that reports it. */
export type CarriedCheckpointCode =
  /** The checkpoint or its consistency text is malformed, names another session, or a proof is missing or superfluous. */
  | 'checkpoint_invalid'
  /** With keys: no trusted log key signed it (or a known key's signature fails, or too few witnesses cosigned). */
  | 'checkpoint_signature'
  /** size = length, but the carried entries give another root or head. */
  | 'checkpoint_fork'
  /** size < length, but the first `size` carried entries give another root or head. */
  | 'checkpoint_rewrite'
  /** size > length, and the consistency proof does not lead from the carried entries' root to the signed root. */
  | 'checkpoint_inconsistent'

export interface CarriedCheckpointInput {
  sessionId: string
  /** The carried entry hashes, seq 0 first (32 bytes each). */
  entryHashes: readonly Uint8Array[]
  /** The signed checkpoint (a signed note). */
  checkpoint: string
  /** `old <length>` and the proof hashes (docs/proofs.md section 5.4), when the checkpoint is larger than what is carried. */
  consistency?: string
}

export interface CarriedCheckpointOptions extends VerifyCheckpointOptions {
  /** Log keys (type 0x01) trusted to sign; without them the signature is not checked. */
  keys?: readonly (string | VerifierKey)[]
}

export type CarriedCheckpointResult =
  | { ok: true; checkpoint: ChainlogCheckpoint; signed: boolean; logName: string }
  | { ok: false; code: CarriedCheckpointCode; message: string; checkpoint?: ChainlogCheckpoint; expected?: unknown; actual?: unknown }

/**
 * The RFC 9162 MTH of entry hashes (as the store's tree and docs/proofs.md section 1.1): the
 * frontier of section 1.2, appended to leaf by leaf, then folded. Keeps only the frontier.
 */
export function rootOfEntryHashes(entryHashes: readonly Uint8Array[]): Uint8Array {
  const frontier: Uint8Array[] = []
  for (let n = 0; n < entryHashes.length; n++) {
    let h = leafHash(entryHashes[n]!)
    for (let x = n; x % 2 === 1; x = (x - 1) / 2) h = nodeHash(frontier.pop()!, h)
    frontier.push(h)
  }
  return rootFromFrontier(frontier)
}

/**
 * Check verifier keys once, before any bundle is read: each must be a log key (type 0x01).
 * A witness key where a log key belongs, or a malformed key, is CHAINLOG_INVALID_KEY.
 */
export function checkLogKeys(keys: readonly (string | VerifierKey)[] | undefined, witnesses?: readonly (string | VerifierKey)[]): void {
  if (keys !== undefined && !Array.isArray(keys)) throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'keys must be an array of verifier keys', {})
  for (const k of keys ?? []) {
    const v = toVerifierKey(k)
    if (v.type !== SIG_ED25519) throw new ChainlogError(ErrorCodes.INVALID_KEY, `log key "${v.name}" is a witness (type 0x04) key; checkpoints are signed with type 0x01 keys`, { name: v.name })
  }
  for (const k of witnesses ?? []) {
    const v = toVerifierKey(k)
    if (v.type !== SIG_COSIGNATURE_V1) throw new ChainlogError(ErrorCodes.INVALID_KEY, `witness key "${v.name}" is not a cosignature (type 0x04) key`, { name: v.name })
  }
}

/** Check a checkpoint carried with the first entries of its session. Never throws for bad data. */
export function checkCarriedCheckpoint(input: CarriedCheckpointInput, options: CarriedCheckpointOptions = {}): CarriedCheckpointResult {
  const { sessionId, entryHashes } = input
  const length = entryHashes.length
  let cp: ChainlogCheckpoint
  try {
    if (typeof input.checkpoint !== 'string') throw new TypeError('the checkpoint is not text')
    cp = parseChainlogCheckpoint(parseNote(input.checkpoint).text)
  } catch (err) {
    return { ok: false, code: 'checkpoint_invalid', message: `the checkpoint of ${sessionId} is not a signed chainlog checkpoint: ${(err as Error).message}` }
  }
  // The origin is `<key name>/<session id>`: the session must be this one.
  const logName = cp.origin.endsWith(`/${sessionId}`) ? cp.origin.slice(0, cp.origin.length - sessionId.length - 1) : undefined
  if (logName === undefined || keyNameProblem(logName) !== undefined) {
    return { ok: false, code: 'checkpoint_invalid', message: `the checkpoint carried with ${sessionId} is of ${cp.origin}, not of that session`, checkpoint: cp, expected: sessionId, actual: cp.origin }
  }
  let signed = false
  if (options.keys !== undefined) {
    try {
      const v = verifyCheckpoint(input.checkpoint, options.keys, options)
      if (v.sessionId !== sessionId) {
        return { ok: false, code: 'checkpoint_invalid', message: `the checkpoint carried with ${sessionId} was signed by ${v.logName} for session ${v.sessionId}`, checkpoint: cp, expected: sessionId, actual: v.sessionId }
      }
      signed = true
    } catch (err) {
      if (!(err instanceof ChainlogError) || err.code !== ErrorCodes.INVALID_SIGNATURE) throw err
      return { ok: false, code: 'checkpoint_signature', message: `the checkpoint of ${sessionId}: ${err.message}`, checkpoint: cp, actual: err.data.reason }
    }
  }
  const signedAs = { root: toHex(cp.root), head: cp.head }
  if (cp.size <= length) {
    if (input.consistency !== undefined) {
      return { ok: false, code: 'checkpoint_invalid', message: `the checkpoint of ${sessionId} (size ${cp.size}) covers only carried entries (${length}), yet a consistency proof comes with it`, checkpoint: cp }
    }
    const root = rootOfEntryHashes(entryHashes.slice(0, cp.size))
    const head = toHex(entryHashes[cp.size - 1]!)
    if (toHex(root) !== signedAs.root || head !== signedAs.head) {
      const same = cp.size === length
      return {
        ok: false,
        code: same ? 'checkpoint_fork' : 'checkpoint_rewrite',
        message: same
          ? `the ${length} entries of ${sessionId} are not the ones its checkpoint signs (another root or head)`
          : `the first ${cp.size} of the ${length} entries of ${sessionId} are not the ones its checkpoint signs (another root or head)`,
        checkpoint: cp,
        expected: signedAs,
        actual: { root: toHex(root), head },
      }
    }
    return { ok: true, checkpoint: cp, signed, logName }
  }
  // The checkpoint is of a longer session: the carried entries must be a prefix of it.
  if (input.consistency === undefined) {
    return { ok: false, code: 'checkpoint_invalid', message: `the checkpoint of ${sessionId} has ${cp.size} entries, ${length} are carried, and no consistency proof comes with it`, checkpoint: cp }
  }
  let proof: Uint8Array[]
  try {
    const p = parseConsistencyProof(input.consistency)
    if (p.oldSize !== length) {
      return { ok: false, code: 'checkpoint_invalid', message: `the consistency proof of ${sessionId} starts at size ${p.oldSize}, not at the ${length} entries carried`, checkpoint: cp, expected: length, actual: p.oldSize }
    }
    proof = p.proof
  } catch (err) {
    if (!(err instanceof ChainlogError)) throw err
    return { ok: false, code: 'checkpoint_invalid', message: `the consistency proof of ${sessionId} is malformed: ${err.message}`, checkpoint: cp }
  }
  const root = rootOfEntryHashes(entryHashes)
  if (!verifyConsistency(length, cp.size, root, cp.root, proof)) {
    return {
      ok: false,
      code: 'checkpoint_inconsistent',
      message: `the ${length} entries of ${sessionId} are not a prefix of the ${cp.size} its checkpoint signs: the consistency proof fails (rewritten entries, or a wrong proof, size or root)`,
      checkpoint: cp,
      expected: { size: cp.size, root: toHex(cp.root) },
      actual: { length, root: toHex(root) },
    }
  }
  return { ok: true, checkpoint: cp, signed, logName }
}
