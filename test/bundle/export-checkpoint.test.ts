// Export with a checkpoint the caller already holds (ExportOptions.checkpoint): a checkpoint a
// witness cosigned is carried as it is, instead of a new one, after it is checked against the
// store; the bundle verifies and imports with the log key and the witness key (quorum 1), and
// the importing store proves against it. A checkpoint that does not match the session is a
// typed error and nothing is written.
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { verifyBundle } from '../../src/bundle/bundle.js'
import { ErrorCodes } from '../../src/errors.js'
import { addSignatureLines, cosignCheckpoint, verifyCheckpoint } from '../../src/proofs/checkpoint.js'
import { generateKeyPair, SIG_COSIGNATURE_V1 } from '../../src/proofs/note.js'
import { verifyProofFile } from '../../src/proofs/proof.js'
import type { Store } from '../../src/store.js'
import { exportToMemory } from '../support/bundle-bytes.js'
import { sha } from '../support/proofs.js'
import { eachEngine } from '../support/engines.js'

const TS = 1_700_000_000_000
const dirs: string[] = []
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})
eachEngine((_engine, memStore) => {

  const LOG = generateKeyPair('chainlog.test/export-given', { seed: sha('export given log key') })
  const WITNESS = generateKeyPair('chainlog.test/export-witness', { type: SIG_COSIGNATURE_V1, seed: sha('export given witness key') })
  const TRUST = { keys: [LOG.verifierKey], witnesses: [WITNESS.verifierKey], quorum: 1 }

  async function turns(store: Store, id: string, n: number, from = 0): Promise<string[]> {
    const out: string[] = []
    for (let i = 0; i < n; i++) out.push((await store.append(id, { kind: 'turn_end', ts: TS + from + i + 1, turn: from + i + 1 })).hash)
    return out
  }

  describe('export with a caller-supplied checkpoint', () => {
    it('carries a cosigned checkpoint as it is; verify and import check it with the log and witness keys', async () => {
      const store = await memStore({ signingKey: LOG.signerKey })
      await store.createSession({ sessionId: 's', ts: TS })
      const hashes = await turns(store, 's', 9)
      const signed = await store.checkpoint('s')
      const cosigned = addSignatureLines(signed, [cosignCheckpoint(signed, WITNESS.signerKey, 1_700_000_123)])
      expect(verifyCheckpoint(cosigned, [LOG.verifierKey], { witnesses: [WITNESS.verifierKey], quorum: 1 }).cosignatures).toHaveLength(1)

      // The store's own key would sign a new one; the given one is carried instead.
      const { bytes, result } = await exportToMemory(store, 's', { checkpoint: cosigned })
      expect(result.sessions).toEqual([expect.objectContaining({ sessionId: 's', length: 10, checkpoint: cosigned })])
      const report = await verifyBundle(bytes, TRUST)
      expect(report.ok).toBe(true)
      expect(report.checkpoints).toEqual([{ sessionId: 's', length: 10, size: 10, status: 'consistent', signed: true, checkpoint: cosigned }])
      // A freshly signed one has no cosignature: the same quorum refuses it.
      const fresh = await exportToMemory(store, 's')
      expect((await verifyBundle(fresh.bytes, TRUST)).findings.map((f) => f.code)).toEqual(['checkpoint_signature'])

      const dest = await memStore()
      const imported = await dest.importBundle(bytes, TRUST)
      expect(imported.sessions).toEqual([expect.objectContaining({ sessionId: 's', checkpoint: cosigned })])
      const proof = await dest.prove(hashes[4]!, { checkpoint: cosigned })
      expect(verifyProofFile(proof, [LOG.verifierKey], { witnesses: [WITNESS.verifierKey], quorum: 1, entryHash: hashes[4]! }).index).toBe(5)
      expect((await dest.verify({ checkpoint: cosigned, ...TRUST })).checkpoint).toMatchObject({ status: 'consistent', method: 'tree' })
    })

    it('an older checkpoint of a session that grew since is carried for its prefix; a fork source is signed with the key', async () => {
      const store = await memStore()
      await store.createSession({ sessionId: 'src', ts: TS })
      const src = await turns(store, 'src', 6)
      const fork = await store.forkAt(src[2]!, { sessionId: 'f' })
      await turns(store, fork.sessionId, 4, 100)
      // A checkpoint of f signed in an earlier export (this store has no key of its own), cosigned; then f grows.
      const old = await store.exportSession('f', join(await tmpDirOf(), 'earlier.bundle'), { signingKey: LOG.signerKey })
      expect(old.sessions.map((s) => s.sessionId)).toEqual(['src', 'f'])
      expect(verifyCheckpoint(old.sessions[1]!.checkpoint!, [LOG.verifierKey]).size).toBe(5)
      const cosigned = addSignatureLines(old.sessions[1]!.checkpoint!, [cosignCheckpoint(old.sessions[1]!.checkpoint!, WITNESS.signerKey, 1_700_000_200)])
      await turns(store, 'f', 3, 200)
      const { bytes, result } = await exportToMemory(store, 'f', { checkpoint: cosigned, signingKey: LOG.signerKey })
      expect(result.sessions.map((s) => [s.sessionId, s.length])).toEqual([
        ['src', 4],
        ['f', 8],
      ])
      expect(result.sessions[1]!.checkpoint).toBe(cosigned)
      expect(result.sessions[0]!.consistency).toBeDefined()
      const report = await verifyBundle(bytes, { keys: [LOG.verifierKey] })
      expect(report.ok).toBe(true)
      expect(report.checkpoints!.map((c) => [c.sessionId, c.size, c.status])).toEqual([
        ['src', 7, 'consistent'],
        ['f', 5, 'consistent'],
      ])
    })

    it('refuses a checkpoint that does not match the session, with a typed error, and writes nothing', async () => {
      const store = await memStore({ signingKey: LOG.signerKey })
      await store.createSession({ sessionId: 's', ts: TS })
      await store.createSession({ sessionId: 't', ts: TS })
      await turns(store, 's', 4)
      await turns(store, 't', 4)
      const ofT = await store.checkpoint('t')
      // Another history under the same session id, signed with the same key.
      const elsewhere = await memStore({ signingKey: LOG.signerKey })
      await elsewhere.createSession({ sessionId: 's', ts: TS })
      await turns(elsewhere, 's', 4, 50)
      const forked = await elsewhere.checkpoint('s')
      await turns(elsewhere, 's', 3, 60)
      const longer = await elsewhere.checkpoint('s')
      const dir = await tmpDirOf()
      const cases: [string, string, string | undefined][] = [
        [ofT, ErrorCodes.INVALID_ARGUMENT, undefined],
        [forked, ErrorCodes.INVALID_PROOF, 'inconsistent'],
        [longer, ErrorCodes.INVALID_ARGUMENT, undefined],
        ['not a note', ErrorCodes.INVALID_NOTE, undefined],
      ]
      for (const [i, [checkpoint, code, reason]] of cases.entries()) {
        const out = join(dir, `x${i}.bundle`)
        const err = await store.exportSession('s', out, { checkpoint }).then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(err).toMatchObject({ code, ...(reason ? { data: { reason } } : {}) })
        expect(existsSync(out)).toBe(false)
      }
    })
  })

  describe('export with a caller-supplied checkpoint and the keys that must have signed it', () => {
    const OTHER = generateKeyPair('chainlog.test/export-given', { seed: sha('export given other key') })

    it('carries it when one of checkpointKeys signed it; refuses it with CHAINLOG_INVALID_SIGNATURE, writing nothing, when none did', async () => {
      const store = await memStore({ signingKey: LOG.signerKey })
      await store.createSession({ sessionId: 's', ts: TS })
      await turns(store, 's', 5)
      const signed = await store.checkpoint('s')
      const { result } = await exportToMemory(store, 's', { checkpoint: signed, checkpointKeys: [OTHER.verifierKey, LOG.verifierKey] })
      expect(result.sessions[0]!.checkpoint).toBe(signed)
      // The same text with its signature bytes changed.
      const lines = signed.split('\n')
      const sig = lines.findIndex((l) => l.startsWith('\u2014 '))
      const b64 = lines[sig]!.split(' ')[2]!
      const raw = Buffer.from(b64, 'base64')
      raw[raw.length - 1] = raw[raw.length - 1]! ^ 1
      const forged = [...lines.slice(0, sig), lines[sig]!.replace(b64, raw.toString('base64')), ...lines.slice(sig + 1)].join('\n')
      const dir = await tmpDirOf()
      for (const [i, [checkpoint, keys, code]] of ([
        [signed, [OTHER.verifierKey], ErrorCodes.INVALID_SIGNATURE],
        [signed, [], ErrorCodes.INVALID_SIGNATURE],
        [forged, [LOG.verifierKey], ErrorCodes.INVALID_SIGNATURE],
        [signed, [LOG.signerKey], ErrorCodes.INVALID_KEY],
      ] as const).entries()) {
        const out = join(dir, `k${i}.bundle`)
        await expect(store.exportSession('s', out, { checkpoint, checkpointKeys: keys })).rejects.toMatchObject({ code })
        expect(existsSync(out)).toBe(false)
      }
      // Keys with no checkpoint to check, or not an array of texts.
      await expect(store.exportSession('s', join(dir, 'n.bundle'), { checkpointKeys: [LOG.verifierKey] })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT })
      await expect(store.exportSession('s', join(dir, 'n.bundle'), { checkpoint: signed, checkpointKeys: LOG.verifierKey as never })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT })
      expect(existsSync(join(dir, 'n.bundle'))).toBe(false)
    })
  })

  async function tmpDirOf(): Promise<string> {
    const d = await mkdtemp(join(tmpdir(), 'chainlog-export-given-'))
    dirs.push(d)
    return d
  }
})
