// Checkpoints (C2SP tlog-checkpoint, https://c2sp.org/tlog-checkpoint): a signed note whose
// text is an origin line, the tree size, the base64 root and, for chainlog, one extension line
// with the session's chain head, so one signature binds the Merkle tree and the hash chain
// (docs/proofs.md, section 4).
//
//   chainlog.example/my-store/01a20849-5753-7199-9402-b899a4efb101
//   34
//   3Hb1rI0mV8QeR6f0bYg0q6kq0J6hY3s5lYy0x4d7k2U=
//   chainlog-head eaa926a5893b…(64 hex digits)
//
//   — chainlog.example/my-store AbCdEf…
//
// The origin is the log key's name, a slash, and the session id: one key signs every session of
// a store, and each session is a log of its own.
import { ChainlogError, ErrorCodes } from '../errors.js'
import { HASH_BYTES, isHexHash, toHex } from '../encoding/hash.js'
import {
  formatNote,
  formatSignatureLine,
  keyNameProblem,
  noteTextProblem,
  parseNote,
  signText,
  SIG_COSIGNATURE_V1,
  SIG_ED25519,
  toSignerKey,
  toVerifierKey,
  verifyNote,
  type Note,
  type SignerKey,
  type VerifierKey,
} from './note.js'
import { decodeBase64, encodeBase64, parseDecimal, splitLines } from './text.js'

/** The keyword of the extension line that carries the chain head. */
export const HEAD_EXTENSION = 'chainlog-head'

/** The three mandatory lines and the extension lines of any tlog checkpoint. */
export interface CheckpointBody {
  origin: string
  size: number
  root: Uint8Array
  extensions: string[]
}

/** A chainlog checkpoint: a session's tree size and root, and its chain head. */
export interface ChainlogCheckpoint {
  origin: string
  size: number
  root: Uint8Array
  /** The hash of the session's last entry (= leaf size-1), 64 lowercase hex digits. */
  head: string
}

function checkpointError(reason: string, message: string, data: Record<string, unknown> = {}): ChainlogError {
  return new ChainlogError(ErrorCodes.INVALID_CHECKPOINT, `not a valid checkpoint: ${message}`, { reason, ...data })
}

const SESSION_ID = /^[\x21-\x7e]{1,200}$/

/** The origin of a session's checkpoints: `<log name>/<session id>`. */
export function checkpointOrigin(logName: string, sessionId: string): string {
  const problem = keyNameProblem(logName)
  if (problem) throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, `log name: ${problem}`, { logName })
  if (typeof sessionId !== 'string' || !SESSION_ID.test(sessionId)) {
    throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'a session id is 1-200 printable ASCII characters', { sessionId })
  }
  return `${logName}/${sessionId}`
}

/** The session id of `origin` when it is `<logName>/<session id>`, else undefined. */
export function sessionIdOf(origin: string, logName: string): string | undefined {
  if (!origin.startsWith(`${logName}/`)) return undefined
  const id = origin.slice(logName.length + 1)
  return SESSION_ID.test(id) ? id : undefined
}

/** The note text of a checkpoint: origin, size, base64 root and extension lines, each ending in a newline. */
export function formatCheckpointBody(body: CheckpointBody): string {
  if (typeof body.origin !== 'string' || body.origin === '' || body.origin.includes('\n')) throw new TypeError('the origin must be one non-empty line')
  if (!Number.isSafeInteger(body.size) || body.size < 0) throw new TypeError('the size must be an integer from 0 to 2^53-1')
  if (!(body.root instanceof Uint8Array) || body.root.length !== HASH_BYTES) throw new TypeError('the root must be 32 bytes')
  for (const e of body.extensions) if (e === '' || e.includes('\n')) throw new TypeError('an extension line must be one non-empty line')
  const text = [body.origin, String(body.size), encodeBase64(body.root), ...body.extensions].map((l) => `${l}\n`).join('')
  const problem = noteTextProblem(text)
  if (problem) throw new TypeError(problem)
  return text
}

/** Parse the note text of any tlog checkpoint: at least three non-empty lines. */
export function parseCheckpointBody(text: string): CheckpointBody {
  const problem = noteTextProblem(text)
  if (problem) throw checkpointError('bad_text', problem)
  const lines = splitLines(text)!
  if (lines.length < 3) throw checkpointError('too_few_lines', `it has ${lines.length} lines; origin, size and root are needed`)
  const empty = lines.findIndex((l) => l === '')
  if (empty !== -1) throw checkpointError('empty_line', `line ${empty + 1} is empty`, { line: empty + 1 })
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]]
  const size = parseDecimal(sizeText)
  if (size === undefined) throw checkpointError('bad_size', `the size "${sizeText}" is not a decimal from 0 to 2^53-1 without leading zeros`)
  const root = decodeBase64(rootText)
  if (!root || root.length !== HASH_BYTES) throw checkpointError('bad_root', `the root "${rootText}" is not the base64 of 32 bytes`)
  return { origin, size, root, extensions }
}

/** The note text of a chainlog checkpoint. */
export function formatChainlogCheckpoint(cp: ChainlogCheckpoint): string {
  if (!isHexHash(cp.head)) throw new TypeError('the head must be a 64-digit lowercase hex hash')
  if (cp.size < 1) throw new TypeError('a session checkpoint has at least one entry')
  return formatCheckpointBody({ origin: cp.origin, size: cp.size, root: cp.root, extensions: [`${HEAD_EXTENSION} ${cp.head}`] })
}

/** Parse a chainlog checkpoint's note text: exactly origin, size (>= 1), root and one `chainlog-head <hex>` line. */
export function parseChainlogCheckpoint(text: string): ChainlogCheckpoint {
  const body = parseCheckpointBody(text)
  if (body.size < 1) throw checkpointError('bad_size', 'a session checkpoint has at least one entry (its genesis)')
  if (body.extensions.length !== 1) {
    throw checkpointError('bad_extensions', `a chainlog checkpoint has exactly one extension line (${HEAD_EXTENSION} <hex>), this has ${body.extensions.length}`)
  }
  const m = /^chainlog-head ([0-9a-f]{64})$/.exec(body.extensions[0]!)
  if (!m) throw checkpointError('bad_head', `the fourth line must be "${HEAD_EXTENSION} " and a 64-digit lowercase hex hash`)
  return { origin: body.origin, size: body.size, root: body.root, head: m[1]! }
}

export interface CheckpointInput {
  sessionId: string
  size: number
  root: Uint8Array
  /** The session's head hash (its last entry), hex. */
  head: string
}

/** A signed checkpoint for a session: origin `<key name>/<sessionId>`, signed with `key` (type 0x01). */
export function signCheckpoint(input: CheckpointInput, key: string | SignerKey): string {
  const k = toSignerKey(key)
  if (k.type !== SIG_ED25519) throw new ChainlogError(ErrorCodes.INVALID_KEY, 'checkpoints are signed with an Ed25519 (type 0x01) key, not a witness key', { name: k.name })
  if (!Number.isSafeInteger(input.size) || input.size < 1) throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'a session checkpoint has at least one entry', { size: input.size })
  if (!(input.root instanceof Uint8Array) || input.root.length !== HASH_BYTES) throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'the root must be 32 bytes', {})
  if (!isHexHash(input.head)) throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'the head must be a 64-digit lowercase hex hash', { head: input.head })
  const text = formatChainlogCheckpoint({ origin: checkpointOrigin(k.name, input.sessionId), size: input.size, root: input.root, head: input.head })
  return formatNote({ text, signatures: [signText(text, k)] })
}

/** A cosignature that verified. */
export interface Cosignature {
  name: string
  keyId: number
  /** Seconds since the Unix epoch. */
  timestamp: number
}

/** A checkpoint whose signature verified. */
export interface VerifiedCheckpoint extends ChainlogCheckpoint {
  /** The whole signed note, as given. */
  note: string
  /** The note text (the four lines). */
  text: string
  /** The log key's name (the origin up to the session id) and the session id. */
  logName: string
  sessionId: string
  /** The log key whose signature verified. */
  logKey: VerifierKey
  /** Cosignatures by the witnesses given, all verified. */
  cosignatures: Cosignature[]
}

export interface VerifyCheckpointOptions {
  /** Witness keys (type 0x04) whose cosignatures count. */
  witnesses?: readonly (string | VerifierKey)[]
  /** How many distinct witnesses must have cosigned (default: 0 without witnesses, 1 with). */
  quorum?: number
}

/**
 * Verify a signed chainlog checkpoint with `keys` (log keys, type 0x01): its text must be a
 * chainlog checkpoint, and a log key whose name is the origin's prefix (`<name>/<session id>`)
 * must have signed it. Signatures of other keys are ignored; a known key whose signature fails
 * makes the whole note fail. With `witnesses`, at least `quorum` distinct witnesses must have
 * cosigned it (cosignature/v1).
 */
export function verifyCheckpoint(note: string, keys: readonly (string | VerifierKey)[], options: VerifyCheckpointOptions = {}): VerifiedCheckpoint {
  const parsed: Note = parseNote(note)
  const cp = parseChainlogCheckpoint(parsed.text)
  const logKeys = keys.map(toVerifierKey)
  for (const k of logKeys) {
    if (k.type !== SIG_ED25519) throw new ChainlogError(ErrorCodes.INVALID_KEY, `log key "${k.name}" is a witness (type 0x04) key; checkpoints are signed with type 0x01 keys`, { name: k.name })
  }
  const witnesses = (options.witnesses ?? []).map(toVerifierKey)
  for (const k of witnesses) {
    if (k.type !== SIG_COSIGNATURE_V1) throw new ChainlogError(ErrorCodes.INVALID_KEY, `witness key "${k.name}" is not a cosignature (type 0x04) key`, { name: k.name })
  }
  const quorum = options.quorum ?? (witnesses.length > 0 ? 1 : 0)
  if (!Number.isSafeInteger(quorum) || quorum < 0 || quorum > witnesses.length) {
    throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, `a quorum of ${String(quorum)} cannot be met by ${witnesses.length} witness key(s)`, { quorum })
  }
  // Only log keys that own this origin count; the others' signatures are ignored.
  const owners = logKeys.filter((k) => sessionIdOf(cp.origin, k.name) !== undefined)
  if (owners.length === 0) {
    throw new ChainlogError(ErrorCodes.INVALID_SIGNATURE, `no trusted log key owns the origin ${cp.origin} (its name must be the origin up to "/<session id>")`, {
      reason: 'no_trusted_signature',
      origin: cp.origin,
    })
  }
  const result = verifyNote(parsed, [...owners, ...witnesses])
  const logSig = result.verified.find((v) => v.key.type === SIG_ED25519)
  if (!logSig) {
    throw new ChainlogError(ErrorCodes.INVALID_SIGNATURE, `no signature by a trusted log key for ${cp.origin}`, { reason: 'no_trusted_signature', origin: cp.origin })
  }
  const cosignatures: Cosignature[] = []
  for (const v of result.verified) {
    if (v.key.type !== SIG_COSIGNATURE_V1) continue
    if (!cosignatures.some((c) => c.name === v.key.name && c.keyId === v.key.keyId)) cosignatures.push({ name: v.key.name, keyId: v.key.keyId, timestamp: v.timestamp! })
  }
  if (cosignatures.length < quorum) {
    throw new ChainlogError(ErrorCodes.INVALID_SIGNATURE, `${cosignatures.length} of the required ${quorum} witness cosignature(s)`, { reason: 'cosignature_quorum', have: cosignatures.length, quorum })
  }
  return {
    ...cp,
    note,
    text: parsed.text,
    logName: logSig.key.name,
    sessionId: sessionIdOf(cp.origin, logSig.key.name)!,
    logKey: logSig.key,
    cosignatures,
  }
}

/**
 * A witness's cosignature line (cosignature/v1) over a checkpoint (a signed note or its bare
 * text), with `timestamp` in seconds (default now). The caller checks the checkpoint first.
 */
export function cosignCheckpoint(checkpoint: string, witnessKey: string | SignerKey, timestamp?: number): string {
  const k = toSignerKey(witnessKey)
  if (k.type !== SIG_COSIGNATURE_V1) throw new ChainlogError(ErrorCodes.INVALID_KEY, `"${k.name}" is not a witness (type 0x04) key`, { name: k.name })
  const text = checkpoint.includes('\n\n') ? parseNote(checkpoint).text : checkpoint
  parseCheckpointBody(text)
  return formatSignatureLine(signText(text, k, timestamp === undefined ? {} : { timestamp }))
}

/** A signed note with `lines` (signature lines, as cosignCheckpoint gives them) added at the end. */
export function addSignatureLines(note: string, lines: readonly string[]): string {
  parseNote(note)
  const out = note + lines.join('')
  parseNote(out)
  return out
}

/** The root as standard base64 (as in the checkpoint's third line). */
export function rootBase64(cp: { root: Uint8Array }): string {
  return encodeBase64(cp.root)
}

/** The root as hex. */
export function rootHex(cp: { root: Uint8Array }): string {
  return toHex(cp.root)
}
