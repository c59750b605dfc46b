// Proof texts: inclusion proof files (C2SP tlog-proof) and consistency proofs / files (the
// tlog-witness add-checkpoint body), checked offline with only the verifier key; every field's
// tampering is caught with its own reason.
import { describe, expect, it } from 'vitest'
import { toHex } from '../../src/encoding/hash.js'
import { ErrorCodes } from '../../src/errors.js'
import { addSignatureLines, cosignCheckpoint, signCheckpoint } from '../../src/proofs/checkpoint.js'
import { MemoryNodeSource, consistencyProof, inclusionProof, rootAt } from '../../src/proofs/merkle.js'
import { SIG_COSIGNATURE_V1, generateKeyPair } from '../../src/proofs/note.js'
import {
  MAX_PROOF_HASHES,
  PROOF_HEADER,
  formatConsistencyFile,
  formatConsistencyProof,
  formatProofFile,
  parseConsistencyFile,
  parseConsistencyProof,
  parseProofFile,
  verifyConsistencyFile,
  verifyConsistencyProof,
  verifyProofFile,
} from '../../src/proofs/proof.js'
import { codeOf, sha } from '../support/proofs.js'

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64')
const log = generateKeyPair('chainlog.example/proofs', { seed: sha('log') })
const w1 = generateKeyPair('witness.example/w1', { type: SIG_COSIGNATURE_V1, seed: sha('w1') })
const keys = [log.verifierKey]
const SESSION = 'session-1'
const N = 20
const entries = Array.from({ length: N }, (_, i) => sha(`proof entry ${i}`))
const source = MemoryNodeSource.fromEntryHashes(entries)

async function checkpointOf(es: Uint8Array[], size: number, sessionId = SESSION): Promise<string> {
  const src = MemoryNodeSource.fromEntryHashes(es)
  return signCheckpoint({ sessionId, size, root: await rootAt(size, src), head: toHex(es[size - 1]!) }, log.signerKey)
}

async function proofFile(index: number, size = N): Promise<string> {
  return formatProofFile({ entryHash: toHex(entries[index]!), index, proof: await inclusionProof(index, size, source), checkpoint: await checkpointOf(entries, size) })
}

describe('inclusion proof files', () => {
  it('are tlog-proof texts: header, extra (the entry hash), index, proof lines, a blank line, the checkpoint', async () => {
    const text = await proofFile(5)
    const proof = await inclusionProof(5, N, source)
    const checkpoint = await checkpointOf(entries, N)
    expect(text).toBe(`${PROOF_HEADER}\nextra ${b64(entries[5]!)}\nindex 5\n${proof.map((h) => `${b64(h)}\n`).join('')}\n${checkpoint}`)
    expect(parseProofFile(text)).toEqual({ entryHash: toHex(entries[5]!), index: 5, proof, checkpoint })
  })

  it('every entry of the session verifies offline and says what was proved', async () => {
    for (let i = 0; i < N; i++) {
      const r = verifyProofFile(await proofFile(i), keys, { entryHash: toHex(entries[i]!), sessionId: SESSION })
      expect(r.index).toBe(i)
      expect(r.entryHash).toBe(toHex(entries[i]!))
      expect(r.checkpoint).toMatchObject({ sessionId: SESSION, size: N, head: toHex(entries[N - 1]!) })
    }
    // ...and at an older checkpoint too
    expect(verifyProofFile(await proofFile(3, 4), keys).checkpoint.size).toBe(4)
  })

  it('with witnesses: the checkpoint must carry their cosignatures', async () => {
    const plain = await proofFile(2)
    expect(codeOf(() => verifyProofFile(plain, keys, { witnesses: [w1.verifierKey] })).reason).toBe('cosignature_quorum')
    const cp = await checkpointOf(entries, N)
    const cosigned = addSignatureLines(cp, [cosignCheckpoint(cp, w1.signerKey, 1)])
    const text = formatProofFile({ entryHash: toHex(entries[2]!), index: 2, proof: await inclusionProof(2, N, source), checkpoint: cosigned })
    expect(verifyProofFile(text, keys, { witnesses: [w1.verifierKey] }).checkpoint.cosignatures).toHaveLength(1)
  })

  describe('tampering with any field is caught', () => {
    it('the entry hash', async () => {
      const text = (await proofFile(5)).replace(`extra ${b64(entries[5]!)}`, `extra ${b64(entries[6]!)}`)
      expect(codeOf(() => verifyProofFile(text, keys))).toEqual({ code: ErrorCodes.INVALID_PROOF, reason: 'inclusion_failed' })
    })

    it('the index, to every other index', async () => {
      const text = await proofFile(5)
      for (let i = 0; i < N; i++) {
        if (i === 5) continue
        expect(codeOf(() => verifyProofFile(text.replace('\nindex 5\n', `\nindex ${i}\n`), keys)).reason, `index ${i}`).toBe('inclusion_failed')
      }
      expect(codeOf(() => verifyProofFile(text.replace('\nindex 5\n', `\nindex ${N}\n`), keys)).reason).toBe('index_out_of_range')
    })

    it('each proof hash, changed or dropped, and a hash added', async () => {
      const text = await proofFile(9)
      const lines = text.split('\n')
      const first = 3
      const count = (await inclusionProof(9, N, source)).length
      for (let i = first; i < first + count; i++) {
        const changed = lines.map((l, j) => (j === i ? b64(sha('x')) : l)).join('\n')
        const dropped = lines.filter((_, j) => j !== i).join('\n')
        expect(codeOf(() => verifyProofFile(changed, keys)).reason, `line ${i}`).toBe('inclusion_failed')
        expect(codeOf(() => verifyProofFile(dropped, keys)).reason, `line ${i}`).toBe('inclusion_failed')
      }
      const added = text.replace('\n\n', `\n${b64(sha('x'))}\n\n`)
      expect(codeOf(() => verifyProofFile(added, keys)).reason).toBe('inclusion_failed')
    })

    it("the checkpoint's size, root or head (the signature), and its signature", async () => {
      const text = await proofFile(5)
      const cpStart = text.indexOf('\n\n') + 2
      const cp = text.slice(cpStart)
      const [origin, size, root, head] = cp.split('\n')
      const swap = (from: string, to: string) => text.slice(0, cpStart) + cp.replace(from, to)
      expect(codeOf(() => verifyProofFile(swap(`\n${size}\n`, '\n21\n'), keys)).reason).toBe('bad_signature')
      expect(codeOf(() => verifyProofFile(swap(root!, b64(sha('r'))), keys)).reason).toBe('bad_signature')
      expect(codeOf(() => verifyProofFile(swap(head!, `chainlog-head ${toHex(sha('h'))}`), keys)).reason).toBe('bad_signature')
      expect(codeOf(() => verifyProofFile(swap(origin!, `${origin}x`), keys)).reason).toBe('bad_signature')
      const flipAt = (at: number) => text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1)
      const sig = text.lastIndexOf(' ') + 1
      expect(codeOf(() => verifyProofFile(flipAt(sig + 20), keys)).reason).toBe('bad_signature')
      // the first 4 bytes are the key ID: changed, the line is some unknown key's
      expect(codeOf(() => verifyProofFile(flipAt(sig + 2), keys)).reason).toBe('no_trusted_signature')
    })

    it('a proof file for another session or entry than the one asked about', async () => {
      const text = await proofFile(5)
      expect(codeOf(() => verifyProofFile(text, keys, { sessionId: 'session-2' })).reason).toBe('wrong_session')
      expect(codeOf(() => verifyProofFile(text, keys, { entryHash: toHex(entries[4]!) })).reason).toBe('wrong_entry')
    })

    it("the last entry must be the checkpoint's head (a key holder who signs a wrong head is caught)", async () => {
      const root = await rootAt(N, source)
      const lying = signCheckpoint({ sessionId: SESSION, size: N, root, head: toHex(entries[3]!) }, log.signerKey)
      const text = formatProofFile({ entryHash: toHex(entries[N - 1]!), index: N - 1, proof: await inclusionProof(N - 1, N, source), checkpoint: lying })
      expect(codeOf(() => verifyProofFile(text, keys))).toEqual({ code: ErrorCodes.INVALID_PROOF, reason: 'head_mismatch' })
    })
  })

  it.each([
    ['another header', (t: string) => t.replace(PROOF_HEADER, 'c2sp.org/tlog-proof@v2')],
    ['no extra line', (t: string) => t.replace(/extra .*\n/, '')],
    ['extra of 31 bytes', (t: string) => t.replace(/extra .*\n/, `extra ${Buffer.alloc(31).toString('base64')}\n`)],
    ['an index with a leading zero', (t: string) => t.replace('\nindex 5\n', '\nindex 05\n')],
    ['a negative index', (t: string) => t.replace('\nindex 5\n', '\nindex -5\n')],
    ['a proof line that is not base64', (t: string) => t.replace(/\nindex 5\n[^\n]+\n/, '\nindex 5\nnot base64!\n')],
    ['a proof line of 33 bytes', (t: string) => t.replace(/\nindex 5\n[^\n]+\n/, `\nindex 5\n${Buffer.alloc(33).toString('base64')}\n`)],
    ['no blank line', (t: string) => t.replace('\n\n', '\n')],
    ['64 proof lines', (t: string) => t.replace('\nindex 5\n', `\nindex 5\n${`${b64(sha('x'))}\n`.repeat(MAX_PROOF_HASHES + 1)}`)],
  ])('a malformed proof file is INVALID_PROOF (malformed): %s', async (_, mangle) => {
    const text = mangle(await proofFile(5))
    expect(codeOf(() => parseProofFile(text))).toEqual({ code: ErrorCodes.INVALID_PROOF, reason: 'malformed' })
    expect(codeOf(() => verifyProofFile(text, keys))).toEqual({ code: ErrorCodes.INVALID_PROOF, reason: 'malformed' })
  })
})

describe('consistency proofs', () => {
  it('are `old <m>` and one base64 hash a line; a file adds a blank line and the new checkpoint', async () => {
    const proof = await consistencyProof(7, N, source)
    const text = formatConsistencyProof({ oldSize: 7, proof })
    expect(text).toBe(`old 7\n${proof.map((h) => `${b64(h)}\n`).join('')}`)
    expect(parseConsistencyProof(text)).toEqual({ oldSize: 7, proof })
    const cp = await checkpointOf(entries, N)
    const file = formatConsistencyFile({ oldSize: 7, proof }, cp)
    expect(file).toBe(`${text}\n${cp}`)
    expect(parseConsistencyFile(file)).toEqual({ oldSize: 7, proof, checkpoint: cp })
  })

  it('every older checkpoint of the session is shown to be a prefix of the newest', async () => {
    const newest = await checkpointOf(entries, N)
    for (let m = 1; m <= N; m++) {
      const file = formatConsistencyFile({ oldSize: m, proof: await consistencyProof(m, N, source) }, newest)
      const r = verifyConsistencyFile(file, await checkpointOf(entries, m), keys)
      expect([r.old.size, r.new.size]).toEqual([m, N])
    }
  })

  it('a rollback, a split view and a rewritten history are each refused with their reason', async () => {
    const old = await checkpointOf(entries, 12)
    // rollback: the "new" checkpoint is smaller
    const smaller = formatConsistencyFile({ oldSize: 12, proof: [] }, await checkpointOf(entries, 10))
    expect(codeOf(() => verifyConsistencyFile(smaller, old, keys))).toEqual({ code: ErrorCodes.INVALID_PROOF, reason: 'rollback' })
    // the key holder rewrites entry 7 and signs both views
    const rewritten = entries.map((e, i) => (i === 7 ? sha('rewritten 7') : e))
    const split = formatConsistencyFile({ oldSize: 12, proof: [] }, await checkpointOf(rewritten, 12))
    expect(codeOf(() => verifyConsistencyFile(split, old, keys))).toEqual({ code: ErrorCodes.INVALID_PROOF, reason: 'split_view' })
    const rewrittenSource = MemoryNodeSource.fromEntryHashes(rewritten)
    const forked = formatConsistencyFile({ oldSize: 12, proof: await consistencyProof(12, N, rewrittenSource) }, await checkpointOf(rewritten, N))
    expect(codeOf(() => verifyConsistencyFile(forked, old, keys))).toEqual({ code: ErrorCodes.INVALID_PROOF, reason: 'inconsistent' })
    // a same-size, same-head rewrite of an earlier entry is a split view too
    const sameHead = entries.map((e, i) => (i === 2 ? sha('rewritten 2') : e))
    const split2 = formatConsistencyFile({ oldSize: 12, proof: [] }, await checkpointOf(sameHead, 12))
    expect(codeOf(() => verifyConsistencyFile(split2, old, keys)).reason).toBe('split_view')
  })

  it('a changed or dropped proof hash, a wrong old size, or another session is refused', async () => {
    const old = await checkpointOf(entries, 6)
    const proof = await consistencyProof(6, N, source)
    const newest = await checkpointOf(entries, N)
    for (let i = 0; i < proof.length; i++) {
      const changed = proof.map((h, j) => (j === i ? sha('x') : h))
      expect(codeOf(() => verifyConsistencyFile(formatConsistencyFile({ oldSize: 6, proof: changed }, newest), old, keys)).reason).toBe('inconsistent')
      expect(codeOf(() => verifyConsistencyFile(formatConsistencyFile({ oldSize: 6, proof: proof.filter((_, j) => j !== i) }, newest), old, keys)).reason).toBe('inconsistent')
    }
    const from5 = formatConsistencyFile({ oldSize: 5, proof: await consistencyProof(5, N, source) }, newest)
    expect(codeOf(() => verifyConsistencyFile(from5, old, keys)).reason).toBe('old_size_mismatch')
    const otherSession = await checkpointOf(entries, 6, 'session-2')
    expect(codeOf(() => verifyConsistencyProof(otherSession, newest, { oldSize: 6, proof }, keys)).reason).toBe('origin_mismatch')
    expect(codeOf(() => verifyConsistencyFile(formatConsistencyFile({ oldSize: 6, proof: [...proof, sha('x')] }, newest), old, keys)).reason).toBe('inconsistent')
  })

  it.each([
    ['no old line', (p: string) => p.replace(/^old \d+\n/, '')],
    ['old with a leading zero', (p: string) => p.replace(/^old /, 'old 0')],
    ['a line that is not a hash', (p: string) => p.replace(/\n[^\n]+\n$/, '\nzzzz\n')],
    ['no final newline', (p: string) => p.slice(0, -1)],
  ])('a malformed consistency proof is INVALID_PROOF (malformed): %s', async (_, mangle) => {
    const text = mangle(formatConsistencyProof({ oldSize: 6, proof: await consistencyProof(6, N, source) }))
    expect(codeOf(() => parseConsistencyProof(text))).toEqual({ code: ErrorCodes.INVALID_PROOF, reason: 'malformed' })
  })
})
