// Signed notes (C2SP signed-note): key texts, key IDs, signing and verifying, cosignatures, and
// strict parsing with typed errors. Ed25519 is cross-checked against node:crypto's own
// implementation. (Keys and notes here are made by the tests themselves.)
import { createHash, createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { ErrorCodes } from '../../src/errors.js'
import {
  MAX_SIGNATURES,
  SIG_COSIGNATURE_V1,
  SIG_ED25519,
  computeKeyId,
  cosignedMessage,
  formatNote,
  formatSignerKey,
  formatVerifierKey,
  generateKeyPair,
  parseNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  signText,
  verifyNote,
} from '../../src/proofs/note.js'
import { codeOf, sha } from '../support/proofs.js'

const seed = sha
const alice = generateKeyPair('example.com/alice', { seed: seed('alice') })
const bob = generateKeyPair('example.com/bob', { seed: seed('bob') })
const witness = generateKeyPair('witness.example/w1', { type: SIG_COSIGNATURE_V1, seed: seed('w1') })
const TEXT = 'hello\nworld\n'

/** node:crypto's Ed25519 keys from a 32-byte seed (PKCS#8 and SPKI DER prefixes). */
function nodeKeys(seed32: Uint8Array) {
  const priv = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed32]), format: 'der', type: 'pkcs8' })
  return { priv, pub: createPublicKey(priv) }
}

describe('keys', () => {
  it('key ID = first 4 bytes of SHA-256(name ‖ 0x0A ‖ type ‖ public key)', () => {
    for (const k of [alice, witness]) {
      const v = parseVerifierKey(k.verifierKey)
      const h = createHash('sha256').update(k.name).update(Buffer.from([0x0a, k.type])).update(v.publicKey).digest()
      expect(v.keyId).toBe(h.readUInt32BE(0))
      expect(computeKeyId(k.name, k.type, v.publicKey)).toBe(h.readUInt32BE(0))
    }
  })

  it('texts: name+8 hex+base64(type ‖ key); PRIVATE+KEY+… for signers; the same key with type 0x04 has another ID', () => {
    const typeByte = (text: string) => Buffer.from(text.split('+').slice(text.startsWith('PRIVATE') ? 4 : 2).join('+'), 'base64')
    expect(alice.verifierKey).toMatch(/^example\.com\/alice\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/)
    expect(alice.signerKey).toMatch(/^PRIVATE\+KEY\+example\.com\/alice\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/)
    expect([...typeByte(alice.verifierKey).subarray(0, 1), typeByte(alice.verifierKey).length]).toEqual([0x01, 33])
    expect([...typeByte(alice.signerKey).subarray(0, 1), typeByte(alice.signerKey).length]).toEqual([0x01, 33])
    expect(typeByte(witness.verifierKey)[0]).toBe(0x04)
    const sameSeed = generateKeyPair('witness.example/w1', { seed: seed('w1') })
    expect(parseVerifierKey(sameSeed.verifierKey).keyId).not.toBe(parseVerifierKey(witness.verifierKey).keyId)
    expect(parseVerifierKey(`${alice.verifierKey}\n`)).toEqual(parseVerifierKey(alice.verifierKey))
  })

  it('random keys differ; the public key is the Ed25519 public key of the seed (node:crypto agrees)', () => {
    expect(generateKeyPair('x').signerKey).not.toBe(generateKeyPair('x').signerKey)
    const { pub } = nodeKeys(seed('alice'))
    const spki = pub.export({ format: 'der', type: 'spki' })
    expect(Buffer.from(parseVerifierKey(alice.verifierKey).publicKey).equals(spki.subarray(-32))).toBe(true)
  })

  it('refuses malformed key texts with INVALID_KEY', () => {
    const v = alice.verifierKey
    const [name, id, b64] = [v.slice(0, v.indexOf('+')), v.split('+')[1]!, v.slice(v.indexOf('+', v.indexOf('+') + 1) + 1)]
    const bad = [
      '',
      'nameonly',
      `${name}+${id}`,
      `${name}+${id.toUpperCase()}+${b64}`,
      `${name}+${id.slice(1)}+${b64}`,
      `${name}+${(parseInt(id, 16) ^ 1).toString(16).padStart(8, '0')}+${b64}`, // wrong key ID
      `other+${id}+${b64}`, // the ID is bound to the name
      `${name}+${id}+${b64.slice(0, -1)}`, // not padded base64
      `${name}+${id}+${Buffer.from([1, ...new Uint8Array(31)]).toString('base64')}`, // 31-byte key
      `${name}+${id}+${Buffer.from([2, ...parseVerifierKey(v).publicKey]).toString('base64')}`, // unknown type
      `bad name+${id}+${b64}`,
      `+${id}+${b64}`,
      alice.signerKey, // a private key given as a verifier key
    ]
    for (const text of bad) expect(codeOf(() => parseVerifierKey(text)).code, text).toBe(ErrorCodes.INVALID_KEY)
    expect(codeOf(() => parseSignerKey(alice.verifierKey)).code).toBe(ErrorCodes.INVALID_KEY)
    expect(codeOf(() => parseSignerKey(alice.signerKey.replace('alice', 'alicf'))).code).toBe(ErrorCodes.INVALID_KEY)
    for (const n of ['', 'a b', 'a+b', 'tab\there', 'nl\n', 'ctl\u0001', 'nbsp\u00a0x']) expect(codeOf(() => generateKeyPair(n)).code, JSON.stringify(n)).toBe(ErrorCodes.INVALID_KEY)
  })
})

describe('signing and verifying', () => {
  it('an Ed25519 signature over the note text, checked by node:crypto too', () => {
    const note = signNote(TEXT, [alice.signerKey])
    const { signatures } = parseNote(note)
    expect(signatures).toHaveLength(1)
    expect(signatures[0]!.signature).toHaveLength(64)
    expect(nodeVerify(null, Buffer.from(TEXT), nodeKeys(seed('alice')).pub, signatures[0]!.signature)).toBe(true)
    expect(Buffer.from(nodeSign(null, Buffer.from(TEXT), nodeKeys(seed('alice')).priv)).equals(Buffer.from(signatures[0]!.signature))).toBe(true)
  })

  it('several signers; a verifier needs one known key, ignores unknown ones', () => {
    const note = signNote(TEXT, [alice.signerKey, bob.signerKey])
    expect(note.split('\n— ')).toHaveLength(3)
    expect(verifyNote(note, [bob.verifierKey]).verified.map((v) => v.key.name)).toEqual(['example.com/bob'])
    expect(verifyNote(note, [alice.verifierKey, bob.verifierKey]).verified).toHaveLength(2)
    const r = verifyNote(note, [alice.verifierKey])
    expect(r.unknown.map((s) => s.name)).toEqual(['example.com/bob'])
    expect(codeOf(() => verifyNote(note, [witness.verifierKey]))).toEqual({ code: ErrorCodes.INVALID_SIGNATURE, reason: 'no_trusted_signature' })
  })

  it('a signature from a known key that fails rejects the whole note, even when another verifies', () => {
    const good = parseNote(signNote(TEXT, [alice.signerKey])).signatures[0]!
    const forged = { name: 'example.com/bob', keyId: parseVerifierKey(bob.verifierKey).keyId, signature: good.signature }
    const note = formatNote({ text: TEXT, signatures: [good, forged] })
    expect(codeOf(() => verifyNote(note, [alice.verifierKey, bob.verifierKey]))).toEqual({ code: ErrorCodes.INVALID_SIGNATURE, reason: 'bad_signature' })
    expect(verifyNote(note, [alice.verifierKey]).verified).toHaveLength(1) // bob's line is unknown to this verifier
  })

  it('a key with the same name but another ID, or the same ID but another name, is a different key', () => {
    const note = signNote(TEXT, [alice.signerKey])
    const impostor = generateKeyPair('example.com/alice', { seed: seed('impostor') })
    expect(codeOf(() => verifyNote(note, [impostor.verifierKey])).reason).toBe('no_trusted_signature')
  })

  it('any change to the text, or any bit of a signature, fails', () => {
    const note = signNote(TEXT, [alice.signerKey])
    expect(codeOf(() => verifyNote(note.replace('world', 'World'), [alice.verifierKey])).reason).toBe('bad_signature')
    const sig = parseNote(note).signatures[0]!
    for (const i of [0, 31, 32, 63]) {
      const s = sig.signature.slice()
      s[i]! ^= 0x80
      expect(codeOf(() => verifyNote(formatNote({ text: TEXT, signatures: [{ ...sig, signature: s }] }), [alice.verifierKey])).reason).toBe('bad_signature')
    }
    expect(codeOf(() => verifyNote(formatNote({ text: TEXT, signatures: [{ ...sig, signature: sig.signature.slice(0, 63) }] }), [alice.verifierKey])).reason).toBe('bad_signature')
  })

  it('a cosignature/v1: 8-byte timestamp ‖ Ed25519 over "cosignature/v1\\ntime <t>\\n" ‖ text', () => {
    const sig = signText(TEXT, witness.signerKey, { timestamp: 1_700_000_000 })
    expect(sig.signature).toHaveLength(72)
    expect(Buffer.from(sig.signature.slice(0, 8)).readBigUInt64BE()).toBe(1_700_000_000n)
    expect(Buffer.from(cosignedMessage(TEXT, 1_700_000_000)).toString()).toBe(`cosignature/v1\ntime 1700000000\n${TEXT}`)
    expect(nodeVerify(null, cosignedMessage(TEXT, 1_700_000_000), nodeKeys(seed('w1')).pub, sig.signature.slice(8))).toBe(true)
    const note = formatNote({ text: TEXT, signatures: [sig] })
    expect(verifyNote(note, [witness.verifierKey]).verified).toEqual([{ key: parseVerifierKey(witness.verifierKey), timestamp: 1_700_000_000 }])
    const later = sig.signature.slice()
    later[7]! ^= 1 // the timestamp is signed
    expect(codeOf(() => verifyNote(formatNote({ text: TEXT, signatures: [{ ...sig, signature: later }] }), [witness.verifierKey])).reason).toBe('bad_signature')
  })
})

describe('strict parsing', () => {
  const note = signNote(TEXT, [alice.signerKey])
  const line = note.slice(TEXT.length + 1)

  it.each([
    ['no blank line', `${TEXT}${line}`, 'no_signatures'],
    ['no signature after the blank line', `${TEXT}\n`, 'no_signatures'],
    ['a blank line after the signatures', `${note}\n`, 'no_signatures'],
    ['a signature line without its newline', note.slice(0, -1), 'unterminated'],
    ['a carriage return', note.replace('hello\n', 'hello\r\n'), 'control_character'],
    ['a tab', note.replace('hello', 'hel\tlo'), 'control_character'],
    ['a hyphen instead of the em dash', note.replace('—', '-'), 'bad_signature_line'],
    ['two spaces', note.replace('— ', '—  '), 'bad_signature_line'],
    ['a space in the signature', note.replace(/(\S{10})(\S+)\n$/, '$1 $2\n'), 'bad_signature_line'],
    ['unpadded base64', note.replace(/=\n$/, '\n'), 'bad_signature_line'],
    ['URL-safe base64', note.replace(/\+/g, '-').replace(/\//g, '_').replace(/— example.com-alice/, '— example.com/alice'), 'bad_signature_line'],
    ['a signature of 4 bytes', `${TEXT}\n— example.com/alice AAAAAA==\n`, 'bad_signature_line'],
    ['a lone surrogate', `${TEXT.replace('hello', '\ud800')}\n${line}`, 'not_utf8'],
    ['too many signatures', `${TEXT}\n${line.repeat(MAX_SIGNATURES + 1)}`, 'too_many_signatures'],
  ])('refuses %s (INVALID_NOTE, %s)', (_, text, reason) => {
    expect(codeOf(() => parseNote(text))).toEqual({ code: ErrorCodes.INVALID_NOTE, reason })
    expect(codeOf(() => verifyNote(text, [alice.verifierKey]))).toEqual({ code: ErrorCodes.INVALID_NOTE, reason })
  })

  it('the text is everything up to the last blank line, blank lines inside it included', () => {
    const text = 'para one\n\npara two\n'
    expect(verifyNote(signNote(text, [alice.signerKey]), [alice.verifierKey]).text).toBe(text)
    expect(parseNote(signNote(text, [alice.signerKey, bob.signerKey])).signatures).toHaveLength(2)
  })

  it('accepts 100 signature lines', () => {
    expect(parseNote(`${TEXT}\n${line.repeat(MAX_SIGNATURES)}`).signatures).toHaveLength(MAX_SIGNATURES)
  })

  it('will not sign text that a note cannot carry', () => {
    expect(codeOf(() => signNote('no newline', [alice.signerKey]))).toEqual({ code: ErrorCodes.INVALID_NOTE, reason: 'bad_text' })
    expect(codeOf(() => signNote('a\rb\n', [alice.signerKey]))).toEqual({ code: ErrorCodes.INVALID_NOTE, reason: 'bad_text' })
  })
})
