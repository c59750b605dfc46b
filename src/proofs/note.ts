// C2SP signed notes (https://c2sp.org/signed-note): text signed by one or more keys, with
// Ed25519 signatures (type 0x01) and timestamped Ed25519 witness cosignatures (type 0x04,
// https://c2sp.org/tlog-cosignature), keys in the verifier-key and signer-key text forms
// (docs/proofs.md, section 3). Parsing is strict: anything the specification does not allow is
// refused with a typed error, and nothing in a note is trusted until a known key's signature
// over it verifies.
import { ed25519 } from '@noble/curves/ed25519.js'
import { ChainlogError, ErrorCodes } from '../errors.js'
import { sha256 } from '../encoding/hash.js'
import { decodeBase64, encodeBase64 } from './text.js'

/** Signature type 0x01: Ed25519 over the note text. */
export const SIG_ED25519 = 0x01
/** Signature type 0x04: timestamped Ed25519 witness cosignature (cosignature/v1). */
export const SIG_COSIGNATURE_V1 = 0x04
export type SignatureType = typeof SIG_ED25519 | typeof SIG_COSIGNATURE_V1

/** At most this many signature lines are read from a note (the spec asks for at least 16). */
export const MAX_SIGNATURES = 100

const EM_DASH = '\u2014'
const PRIVATE_PREFIX = 'PRIVATE+KEY+'

/** A key to verify signatures with: a name, its 4-byte key ID and an Ed25519 public key. */
export interface VerifierKey {
  name: string
  /** The key ID as an unsigned 32-bit integer. */
  keyId: number
  type: SignatureType
  publicKey: Uint8Array
}

/** A key to sign with (the 32-byte Ed25519 seed) and what verifies it. */
export interface SignerKey extends VerifierKey {
  secretKey: Uint8Array
}

/** One signature line of a note. */
export interface NoteSignature {
  name: string
  keyId: number
  /** The signature bytes after the key ID (64 bytes for type 0x01, 72 for type 0x04). */
  signature: Uint8Array
}

/** A note split into its text (ending in a newline) and its signature lines. */
export interface Note {
  text: string
  signatures: NoteSignature[]
}

/** A signature that verified, with its key (and, for a cosignature, its timestamp). */
export interface VerifiedSignature {
  key: VerifierKey
  /** Seconds since the Unix epoch: for cosignatures (type 0x04) only. */
  timestamp?: number
}

function noteError(reason: string, message: string, data: Record<string, unknown> = {}): ChainlogError {
  return new ChainlogError(ErrorCodes.INVALID_NOTE, `not a valid signed note: ${message}`, { reason, ...data })
}

function keyError(message: string, data: Record<string, unknown> = {}): ChainlogError {
  return new ChainlogError(ErrorCodes.INVALID_KEY, message, data)
}

// --- Names and key IDs --------------------------------------------------------------------------

const WHITE_SPACE = /\p{White_Space}/u
const CONTROL = /[\u0000-\u001f\u007f]/
const LONE_SURROGATE = /\p{Cs}/u

/** Why `name` cannot be a key name, or undefined when it can. */
export function keyNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name === '') return 'a key name must be a non-empty string'
  if (LONE_SURROGATE.test(name)) return 'a key name must be valid Unicode'
  if (WHITE_SPACE.test(name)) return 'a key name may not contain spaces'
  if (CONTROL.test(name)) return 'a key name may not contain control characters'
  if (name.includes('+')) return "a key name may not contain '+'"
  return undefined
}

/** Key ID = the first 4 bytes of SHA-256(name ‖ 0x0A ‖ type ‖ public key), big-endian. */
export function computeKeyId(name: string, type: SignatureType, publicKey: Uint8Array): number {
  const h = sha256(new TextEncoder().encode(name), new Uint8Array([0x0a, type]), publicKey)
  return ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0
}

const hex8 = (id: number): string => id.toString(16).padStart(8, '0')

function u32be(n: number): Uint8Array {
  return new Uint8Array([(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff])
}

// --- Key texts ----------------------------------------------------------------------------------

/** The verifier key text: `name+<8 hex digits of key ID>+base64(type ‖ public key)`. */
export function formatVerifierKey(key: VerifierKey): string {
  return `${key.name}+${hex8(key.keyId)}+${encodeBase64(new Uint8Array([key.type, ...key.publicKey]))}`
}

/** The signer key text: `PRIVATE+KEY+name+<8 hex digits>+base64(type ‖ 32-byte seed)`. Keep it secret. */
export function formatSignerKey(key: SignerKey): string {
  return `${PRIVATE_PREFIX}${key.name}+${hex8(key.keyId)}+${encodeBase64(new Uint8Array([key.type, ...key.secretKey]))}`
}

/** Split `name+hexid+base64` and check every part; `what` names the key form in messages. */
function parseKeyParts(text: string, what: string): { name: string; keyId: number; type: SignatureType; material: Uint8Array } {
  // Names and hex key IDs hold no '+'; the base64 key may: split at the first two.
  const a = text.indexOf('+')
  const b = a === -1 ? -1 : text.indexOf('+', a + 1)
  if (b === -1) throw keyError(`a ${what} key is name+keyid+key (three parts separated by '+')`)
  const name = text.slice(0, a)
  const idHex = text.slice(a + 1, b)
  const b64 = text.slice(b + 1)
  const nameProblem = keyNameProblem(name)
  if (nameProblem) throw keyError(`${what} key: ${nameProblem}`)
  if (!/^[0-9a-f]{8}$/.test(idHex)) throw keyError(`${what} key "${name}": the key ID must be 8 lowercase hex digits, not "${idHex}"`, { name })
  const raw = decodeBase64(b64)
  if (!raw) throw keyError(`${what} key "${name}": the key is not standard padded base64`, { name })
  if (raw.length !== 33) throw keyError(`${what} key "${name}": the key must be 1 type byte and 32 key bytes, not ${raw.length} bytes`, { name })
  const type = raw[0]!
  if (type !== SIG_ED25519 && type !== SIG_COSIGNATURE_V1) {
    throw keyError(`${what} key "${name}": unsupported signature type 0x${type.toString(16).padStart(2, '0')} (0x01 Ed25519, 0x04 cosignature/v1)`, { name, type })
  }
  return { name, keyId: parseInt(idHex, 16) >>> 0, type: type as SignatureType, material: raw.slice(1) }
}

/** Parse a verifier key text (one trailing newline allowed); the key ID must match the name and key. */
export function parseVerifierKey(text: string): VerifierKey {
  if (typeof text !== 'string') throw keyError('a verifier key must be a string')
  const t = text.endsWith('\n') ? text.slice(0, -1) : text
  if (t.startsWith(PRIVATE_PREFIX)) throw keyError('this is a signer (private) key; give the verifier key (the .pub file)')
  const { name, keyId, type, material } = parseKeyParts(t, 'verifier')
  if (!ed25519.utils.isValidPublicKey(material, false)) throw keyError(`verifier key "${name}": not a valid Ed25519 public key`, { name })
  const expected = computeKeyId(name, type, material)
  if (expected !== keyId) throw keyError(`verifier key "${name}": key ID ${hex8(keyId)} does not match its name and key (expected ${hex8(expected)})`, { name })
  return { name, keyId, type, publicKey: material }
}

/** Parse a signer key text (one trailing newline allowed); the key ID must match. */
export function parseSignerKey(text: string): SignerKey {
  if (typeof text !== 'string') throw keyError('a signer key must be a string')
  const t = text.endsWith('\n') ? text.slice(0, -1) : text
  if (!t.startsWith(PRIVATE_PREFIX)) throw keyError(`a signer key starts with ${PRIVATE_PREFIX}`)
  const { name, keyId, type, material } = parseKeyParts(t.slice(PRIVATE_PREFIX.length), 'signer')
  const publicKey = ed25519.getPublicKey(material)
  const expected = computeKeyId(name, type, publicKey)
  if (expected !== keyId) throw keyError(`signer key "${name}": key ID ${hex8(keyId)} does not match its name and key (expected ${hex8(expected)})`, { name })
  return { name, keyId, type, publicKey, secretKey: material }
}

/** A verifier key from a key text or an already parsed key (checked either way). */
export function toVerifierKey(key: string | VerifierKey): VerifierKey {
  if (typeof key === 'string') return parseVerifierKey(key)
  return parseVerifierKey(formatVerifierKey(key))
}

/** A signer key from a key text or an already parsed key (checked either way). */
export function toSignerKey(key: string | SignerKey): SignerKey {
  if (typeof key === 'string') return parseSignerKey(key)
  return parseSignerKey(formatSignerKey(key))
}

export interface GeneratedKeyPair {
  /** `PRIVATE+KEY+…`: keep secret. */
  signerKey: string
  /** `name+keyid+…`: give to verifiers. */
  verifierKey: string
  name: string
  keyId: number
  type: SignatureType
}

/**
 * A new Ed25519 key pair named `name`: `type` 0x01 (default) signs checkpoints, 0x04 signs
 * witness cosignatures. `seed` (32 bytes) makes it deterministic (tests and vectors only).
 */
export function generateKeyPair(name: string, options: { type?: SignatureType; seed?: Uint8Array } = {}): GeneratedKeyPair {
  const problem = keyNameProblem(name)
  if (problem) throw keyError(problem, { name })
  const type = options.type ?? SIG_ED25519
  if (type !== SIG_ED25519 && type !== SIG_COSIGNATURE_V1) throw keyError(`unsupported signature type ${String(type)}`)
  if (options.seed !== undefined && (!(options.seed instanceof Uint8Array) || options.seed.length !== 32)) throw new TypeError('seed must be 32 bytes')
  const secretKey = options.seed ? new Uint8Array(options.seed) : ed25519.utils.randomSecretKey()
  const publicKey = ed25519.getPublicKey(secretKey)
  const key: SignerKey = { name, type, keyId: computeKeyId(name, type, publicKey), publicKey, secretKey }
  return { signerKey: formatSignerKey(key), verifierKey: formatVerifierKey(key), name, keyId: key.keyId, type }
}

// --- Notes --------------------------------------------------------------------------------------

const NOTE_FORBIDDEN = /[\u0000-\u0009\u000b-\u001f]/

/** Why `text` cannot be note text, or undefined when it can (ends in a newline, no controls but newline). */
export function noteTextProblem(text: string): string | undefined {
  if (typeof text !== 'string') return 'the text must be a string'
  if (LONE_SURROGATE.test(text)) return 'the text must be valid Unicode'
  if (NOTE_FORBIDDEN.test(text)) return 'the text may not contain control characters other than newline'
  if (!text.endsWith('\n')) return 'the text must end with a newline'
  return undefined
}

/** Split a signed note into its text and signature lines (no signature is checked). */
export function parseNote(message: string): Note {
  if (typeof message !== 'string') throw noteError('not_text', 'a note must be text')
  if (LONE_SURROGATE.test(message)) throw noteError('not_utf8', 'a note must be valid UTF-8')
  const bad = NOTE_FORBIDDEN.exec(message)
  if (bad) throw noteError('control_character', `it contains the control character U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0')}`, { at: bad.index })
  const split = message.lastIndexOf('\n\n')
  if (split === -1) throw noteError('no_signatures', 'no blank line separates the text from signatures')
  const text = message.slice(0, split + 1)
  const block = message.slice(split + 2)
  if (block === '') throw noteError('no_signatures', 'there are no signature lines after the blank line')
  if (!block.endsWith('\n')) throw noteError('unterminated', 'the last signature line does not end with a newline')
  const lines = block.slice(0, -1).split('\n')
  if (lines.length > MAX_SIGNATURES) throw noteError('too_many_signatures', `it has ${lines.length} signature lines; at most ${MAX_SIGNATURES} are read`)
  const signatures = lines.map((line, i) => parseSignatureLine(line, i))
  return { text, signatures }
}

/** One `— name base64(keyID ‖ signature)` line. */
function parseSignatureLine(line: string, i: number): NoteSignature {
  const where = { line: i + 1 }
  if (!line.startsWith(`${EM_DASH} `)) throw noteError('bad_signature_line', `signature line ${i + 1} does not start with an em dash and a space`, where)
  const rest = line.slice(2)
  const parts = rest.split(' ')
  if (parts.length !== 2) throw noteError('bad_signature_line', `signature line ${i + 1} is not "— <name> <base64>"`, where)
  const [name, b64] = parts as [string, string]
  const problem = keyNameProblem(name)
  if (problem) throw noteError('bad_signature_line', `signature line ${i + 1}: ${problem}`, where)
  const raw = decodeBase64(b64)
  if (!raw) throw noteError('bad_signature_line', `signature line ${i + 1}: the signature is not standard padded base64`, where)
  if (raw.length < 5) throw noteError('bad_signature_line', `signature line ${i + 1}: a signature is a 4-byte key ID and at least one byte`, where)
  const keyId = ((raw[0]! << 24) | (raw[1]! << 16) | (raw[2]! << 8) | raw[3]!) >>> 0
  return { name, keyId, signature: raw.slice(4) }
}

/** The text of a signature line. */
export function formatSignatureLine(sig: NoteSignature): string {
  return `${EM_DASH} ${sig.name} ${encodeBase64(new Uint8Array([...u32be(sig.keyId), ...sig.signature]))}\n`
}

/** A note's full text: its text, a blank line, its signature lines. */
export function formatNote(note: Note): string {
  if (note.signatures.length === 0) throw new TypeError('a signed note needs at least one signature')
  return `${note.text}\n${note.signatures.map(formatSignatureLine).join('')}`
}

const enc = new TextEncoder()

/** The message a cosignature/v1 signs: `cosignature/v1\ntime <t>\n` ‖ the note text. */
export function cosignedMessage(text: string, timestamp: number): Uint8Array {
  return enc.encode(`cosignature/v1\ntime ${timestamp}\n${text}`)
}

function u64be(n: number): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(n))
  return out
}

/**
 * A signature line over `text` by `key`: Ed25519 over the text for type 0x01; for type 0x04
 * a cosignature/v1 with `timestamp` (seconds since the epoch, default now).
 */
export function signText(text: string, key: string | SignerKey, options: { timestamp?: number } = {}): NoteSignature {
  const problem = noteTextProblem(text)
  if (problem) throw noteError('bad_text', problem)
  const k = toSignerKey(key)
  if (k.type === SIG_ED25519) return { name: k.name, keyId: k.keyId, signature: ed25519.sign(enc.encode(text), k.secretKey) }
  const t = options.timestamp ?? Math.floor(Date.now() / 1000)
  if (!Number.isSafeInteger(t) || t < 0) throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, `a cosignature timestamp is whole seconds from 0, not ${String(t)}`, { timestamp: t })
  const sig = ed25519.sign(cosignedMessage(text, t), k.secretKey)
  return { name: k.name, keyId: k.keyId, signature: new Uint8Array([...u64be(t), ...sig]) }
}

/** Sign `text` with each key and give the signed note. */
export function signNote(text: string, keys: readonly (string | SignerKey)[], options: { timestamp?: number } = {}): string {
  if (keys.length === 0) throw new TypeError('signNote needs at least one key')
  return formatNote({ text, signatures: keys.map((k) => signText(text, k, options)) })
}

/** Verify one signature with `key` (whose name and ID it carries); the cosignature's timestamp when it verifies. */
function checkSignature(text: string, sig: NoteSignature, key: VerifierKey): { ok: boolean; timestamp?: number } {
  if (key.type === SIG_ED25519) {
    if (sig.signature.length !== 64) return { ok: false }
    return { ok: ed25519.verify(sig.signature, enc.encode(text), key.publicKey, { zip215: false }) }
  }
  if (sig.signature.length !== 72) return { ok: false }
  const t = new DataView(sig.signature.buffer, sig.signature.byteOffset, 8).getBigUint64(0)
  if (t > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false }
  const timestamp = Number(t)
  const ok = ed25519.verify(sig.signature.slice(8), cosignedMessage(text, timestamp), key.publicKey, { zip215: false })
  return ok ? { ok, timestamp } : { ok }
}

export interface VerifiedNote {
  text: string
  /** Every signature by a known key (all verified), in note order. */
  verified: VerifiedSignature[]
  /** Signature lines by keys not given (ignored, as the spec requires). */
  unknown: NoteSignature[]
}

/**
 * Verify a signed note against `keys`: signatures whose name and key ID match no key are
 * ignored; every one that matches a key must verify (else INVALID_SIGNATURE, reason
 * `bad_signature`); at least one must (else reason `no_trusted_signature`).
 */
export function verifyNote(message: string | Note, keys: readonly (string | VerifierKey)[]): VerifiedNote {
  const note = typeof message === 'string' ? parseNote(message) : message
  const known = keys.map(toVerifierKey)
  const verified: VerifiedSignature[] = []
  const unknown: NoteSignature[] = []
  for (const sig of note.signatures) {
    const key = known.find((k) => k.name === sig.name && k.keyId === sig.keyId)
    if (!key) {
      unknown.push(sig)
      continue
    }
    const { ok, timestamp } = checkSignature(note.text, sig, key)
    if (!ok) {
      throw new ChainlogError(ErrorCodes.INVALID_SIGNATURE, `the signature of "${sig.name}" (key ${hex8(sig.keyId)}) does not verify`, { reason: 'bad_signature', name: sig.name, keyId: hex8(sig.keyId) })
    }
    verified.push(timestamp === undefined ? { key } : { key, timestamp })
  }
  if (verified.length === 0) {
    throw new ChainlogError(ErrorCodes.INVALID_SIGNATURE, `no signature by a trusted key (${known.map((k) => k.name).join(', ') || 'none given'})`, {
      reason: 'no_trusted_signature',
      names: note.signatures.map((s) => s.name),
    })
  }
  return { text: note.text, verified, unknown }
}

/** The key ID as 8 lowercase hex digits. */
export function keyIdHex(keyId: number): string {
  return hex8(keyId)
}
