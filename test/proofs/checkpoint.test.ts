// Checkpoints (C2SP tlog-checkpoint) for sessions: the text, the origin rule, signing and
// verifying, cosignatures, and every field's tampering caught.
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { toHex } from '../../src/encoding/hash.js'
import { ErrorCodes } from '../../src/errors.js'
import {
  addSignatureLines,
  checkpointOrigin,
  cosignCheckpoint,
  formatCheckpointBody,
  parseChainlogCheckpoint,
  parseCheckpointBody,
  signCheckpoint,
  verifyCheckpoint,
} from '../../src/proofs/checkpoint.js'
import { MemoryNodeSource, rootAt } from '../../src/proofs/merkle.js'
import { SIG_COSIGNATURE_V1, formatNote, generateKeyPair, parseNote, signNote } from '../../src/proofs/note.js'
import { codeOf, sha } from '../support/proofs.js'

const seed = sha
const log = generateKeyPair('chainlog.example/store-a', { seed: seed('log') })
const otherLog = generateKeyPair('chainlog.example/store-b', { seed: seed('other log') })
const w1 = generateKeyPair('witness.example/w1', { type: SIG_COSIGNATURE_V1, seed: seed('w1') })
const w2 = generateKeyPair('witness.example/w2', { type: SIG_COSIGNATURE_V1, seed: seed('w2') })

const entries = Array.from({ length: 20 }, (_, i) => new Uint8Array(createHash('sha256').update(`cp ${i}`).digest()))
const source = MemoryNodeSource.fromEntryHashes(entries)
const SESSION = '01a20849-5753-7199-9402-b899a4efb101'

async function checkpoint(size: number, key = log.signerKey, sessionId = SESSION): Promise<string> {
  return signCheckpoint({ sessionId, size, root: await rootAt(size, source), head: toHex(entries[size - 1]!) }, key)
}

describe('checkpoint text', () => {
  it('is origin, size, base64 root and the chainlog-head line, signed by the log key', async () => {
    const note = await checkpoint(20)
    const root = Buffer.from(await rootAt(20, source)).toString('base64')
    const sig = note.split('\n\n')[1]!
    expect(note).toBe(`chainlog.example/store-a/${SESSION}\n20\n${root}\nchainlog-head ${toHex(entries[19]!)}\n\n${sig}`)
    expect(sig).toMatch(/^— chainlog\.example\/store-a [A-Za-z0-9+/]+=*\n$/)
  })

  it('verifies, and says which session, size, root, head and key', async () => {
    const cp = verifyCheckpoint(await checkpoint(7), [log.verifierKey])
    expect(cp).toMatchObject({ origin: `chainlog.example/store-a/${SESSION}`, logName: 'chainlog.example/store-a', sessionId: SESSION, size: 7, head: toHex(entries[6]!), cosignatures: [] })
    expect(toHex(cp.root)).toBe(toHex(await rootAt(7, source)))
  })

  it('the origin is the log name, a slash and the session id (which may hold slashes and plus signs)', async () => {
    expect(checkpointOrigin('example.com/log', 'a/b+c')).toBe('example.com/log/a/b+c')
    const cp = verifyCheckpoint(await checkpoint(3, log.signerKey, 'a/b+c'), [log.verifierKey])
    expect(cp.sessionId).toBe('a/b+c')
    expect(codeOf(() => checkpointOrigin('example.com/log', 'has space')).code).toBe(ErrorCodes.INVALID_ARGUMENT)
    expect(codeOf(() => checkpointOrigin('example.com/log', '')).code).toBe(ErrorCodes.INVALID_ARGUMENT)
    expect(codeOf(() => checkpointOrigin('example.com/log', 'x'.repeat(201))).code).toBe(ErrorCodes.INVALID_ARGUMENT)
  })

  it('a generic tlog checkpoint body parses: size 0, any extension lines', () => {
    const empty = new Uint8Array(createHash('sha256').digest())
    const text = formatCheckpointBody({ origin: 'example.com/log', size: 0, root: empty, extensions: ['ext one', 'ext two'] })
    expect(parseCheckpointBody(text)).toEqual({ origin: 'example.com/log', size: 0, root: empty, extensions: ['ext one', 'ext two'] })
  })

  it.each([
    ['two lines', 'o\n5\n', 'too_few_lines'],
    ['an empty origin', `\n5\n${'A'.repeat(43)}=\nchainlog-head ${'0'.repeat(64)}\n`, 'empty_line'],
    ['an empty extension line', `o\n5\n${'A'.repeat(43)}=\n\n`, 'empty_line'],
    ['a leading zero', `o\n05\n${'A'.repeat(43)}=\nchainlog-head ${'0'.repeat(64)}\n`, 'bad_size'],
    ['a sign', `o\n+5\n${'A'.repeat(43)}=\nchainlog-head ${'0'.repeat(64)}\n`, 'bad_size'],
    ['a size over 2^53-1', `o\n9007199254740992\n${'A'.repeat(43)}=\nchainlog-head ${'0'.repeat(64)}\n`, 'bad_size'],
    ['size 0 (a session has a genesis)', `o\n0\n${'A'.repeat(43)}=\nchainlog-head ${'0'.repeat(64)}\n`, 'bad_size'],
    ['a 31-byte root', `o\n5\n${Buffer.alloc(31).toString('base64')}\nchainlog-head ${'0'.repeat(64)}\n`, 'bad_root'],
    ['an unpadded root', `o\n5\n${'A'.repeat(43)}\nchainlog-head ${'0'.repeat(64)}\n`, 'bad_root'],
    ['no head line', `o\n5\n${'A'.repeat(43)}=\n`, 'bad_extensions'],
    ['a second extension line', `o\n5\n${'A'.repeat(43)}=\nchainlog-head ${'0'.repeat(64)}\nmore\n`, 'bad_extensions'],
    ['an upper-case head', `o\n5\n${'A'.repeat(43)}=\nchainlog-head ${'A'.repeat(64)}\n`, 'bad_head'],
    ['a short head', `o\n5\n${'A'.repeat(43)}=\nchainlog-head ${'0'.repeat(63)}\n`, 'bad_head'],
    ['another keyword', `o\n5\n${'A'.repeat(43)}=\nhead ${'0'.repeat(64)}\n`, 'bad_head'],
    ['no final newline', `o\n5\n${'A'.repeat(43)}=\nchainlog-head ${'0'.repeat(64)}`, 'bad_text'],
  ])('refuses %s (INVALID_CHECKPOINT, %s)', (_, text, reason) => {
    expect(codeOf(() => parseChainlogCheckpoint(text))).toEqual({ code: ErrorCodes.INVALID_CHECKPOINT, reason })
  })
})

describe('tampering with a signed checkpoint is caught', () => {
  it('the size, the root, the head, the origin or any line: the signature fails', async () => {
    const note = await checkpoint(12)
    const [text, sigs] = note.split('\n\n') as [string, string]
    const lines = text.split('\n')
    const other = Buffer.from(await rootAt(11, source)).toString('base64')
    const variants = [
      [lines[0]!.replace(SESSION, `${SESSION.slice(0, -1)}0`), lines[1], lines[2], lines[3]],
      [lines[0], '11', lines[2], lines[3]],
      [lines[0], '13', lines[2], lines[3]],
      [lines[0], lines[1], other, lines[3]],
      [lines[0], lines[1], lines[2], `chainlog-head ${toHex(entries[10]!)}`],
    ]
    for (const v of variants) {
      expect(codeOf(() => verifyCheckpoint(`${v.join('\n')}\n\n${sigs}`, [log.verifierKey])), v.join('|')).toEqual({ code: ErrorCodes.INVALID_SIGNATURE, reason: 'bad_signature' })
    }
  })

  it('the signature: any flipped bit fails', async () => {
    const note = await checkpoint(12)
    const p = parseNote(note)
    for (let i = 0; i < 64; i += 9) {
      const s = p.signatures[0]!.signature.slice()
      s[i]! ^= 1
      expect(codeOf(() => verifyCheckpoint(formatNote({ text: p.text, signatures: [{ ...p.signatures[0]!, signature: s }] }), [log.verifierKey])).reason).toBe('bad_signature')
    }
  })

  it('a checkpoint signed by another key, or by a trusted key for an origin it does not own, is refused', async () => {
    const byOther = await checkpoint(5, otherLog.signerKey)
    expect(codeOf(() => verifyCheckpoint(byOther, [log.verifierKey])).reason).toBe('no_trusted_signature')
    // store-b's key signs a text that claims store-a's origin: store-b does not own it.
    const text = (await checkpoint(5)).split('\n\n')[0]! + '\n'
    const forged = signNote(text, [otherLog.signerKey])
    expect(codeOf(() => verifyCheckpoint(forged, [log.verifierKey, otherLog.verifierKey])).reason).toBe('no_trusted_signature')
  })

  it('a note that is not a chainlog checkpoint is refused before any signature is read', () => {
    const note = signNote('just some text\n', [log.signerKey])
    expect(codeOf(() => verifyCheckpoint(note, [log.verifierKey])).code).toBe(ErrorCodes.INVALID_CHECKPOINT)
  })

  it('a witness key given as a log key, or a log key as a witness key, is INVALID_KEY', async () => {
    const note = await checkpoint(5)
    expect(codeOf(() => verifyCheckpoint(note, [w1.verifierKey])).code).toBe(ErrorCodes.INVALID_KEY)
    expect(codeOf(() => verifyCheckpoint(note, [log.verifierKey], { witnesses: [otherLog.verifierKey] })).code).toBe(ErrorCodes.INVALID_KEY)
    expect(codeOf(() => signCheckpoint({ sessionId: SESSION, size: 1, root: entries[0]!, head: toHex(entries[0]!) }, w1.signerKey)).code).toBe(ErrorCodes.INVALID_KEY)
  })
})

describe('cosignatures', () => {
  it('a witness cosigns; the cosigned checkpoint verifies with and without the witness keys', async () => {
    const note = await checkpoint(9)
    const line = cosignCheckpoint(note, w1.signerKey, 1_750_000_000)
    expect(line).toMatch(/^— witness\.example\/w1 [A-Za-z0-9+/]+=*\n$/)
    const cosigned = addSignatureLines(note, [line])
    expect(verifyCheckpoint(cosigned, [log.verifierKey]).cosignatures).toEqual([])
    expect(verifyCheckpoint(cosigned, [log.verifierKey], { witnesses: [w1.verifierKey] }).cosignatures).toEqual([{ name: 'witness.example/w1', keyId: expect.any(Number), timestamp: 1_750_000_000 }])
  })

  it('a quorum: 2 of 2 needs both; a missing one is cosignature_quorum', async () => {
    const note = await checkpoint(9)
    const one = addSignatureLines(note, [cosignCheckpoint(note, w1.signerKey, 1)])
    const both = addSignatureLines(one, [cosignCheckpoint(note, w2.signerKey, 2)])
    const witnesses = [w1.verifierKey, w2.verifierKey]
    expect(verifyCheckpoint(both, [log.verifierKey], { witnesses, quorum: 2 }).cosignatures.map((c) => c.name)).toEqual(['witness.example/w1', 'witness.example/w2'])
    expect(codeOf(() => verifyCheckpoint(one, [log.verifierKey], { witnesses, quorum: 2 })).reason).toBe('cosignature_quorum')
    expect(verifyCheckpoint(one, [log.verifierKey], { witnesses }).cosignatures).toHaveLength(1) // the default quorum is 1
    expect(codeOf(() => verifyCheckpoint(one, [log.verifierKey], { witnesses, quorum: 3 })).code).toBe(ErrorCodes.INVALID_ARGUMENT)
  })

  it('a cosignature alone is not a log signature; a cosignature over another checkpoint fails', async () => {
    const note = await checkpoint(9)
    const text = parseNote(note).text
    const onlyWitness = `${text}\n${cosignCheckpoint(note, w1.signerKey, 5)}`
    expect(codeOf(() => verifyCheckpoint(onlyWitness, [log.verifierKey], { witnesses: [w1.verifierKey] })).reason).toBe('no_trusted_signature')
    const stolen = addSignatureLines(note, [cosignCheckpoint(await checkpoint(8), w1.signerKey, 5)])
    expect(codeOf(() => verifyCheckpoint(stolen, [log.verifierKey], { witnesses: [w1.verifierKey] })).reason).toBe('bad_signature')
  })

  it('only a witness (type 0x04) key cosigns', async () => {
    const note = await checkpoint(3)
    expect(codeOf(() => cosignCheckpoint(note, log.signerKey)).code).toBe(ErrorCodes.INVALID_KEY)
  })
})
