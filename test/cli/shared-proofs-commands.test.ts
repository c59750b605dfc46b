// `chainlog checkpoint`, `prove`, `verify --checkpoint` and `export --checkpoint` while another
// process (this test process) holds the store: the CLI goes through the holder's socket and
// signs with its own --key (the holder has none); the results verify offline. verify with a
// checkpoint says how it checked (the stored tree, or --full walking the session).
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { verifyBundle } from '../../src/bundle/bundle.js'
import { addSignatureLines, cosignCheckpoint, verifyCheckpoint } from '../../src/proofs/checkpoint.js'
import { generateKeyPair, SIG_COSIGNATURE_V1 } from '../../src/proofs/note.js'
import { verifyConsistencyFile, verifyProofFile } from '../../src/proofs/proof.js'
import { SharedStore } from '../../src/host/shared-store.js'
import { openStore } from '../../src/open.js'
import { sha } from '../support/proofs.js'
import { chainlog, chainlogJson, removeTempDirs, tempDir } from './helpers.js'

afterAll(removeTempDirs)

const WITNESS = generateKeyPair('cli.test/witness', { type: SIG_COSIGNATURE_V1, seed: sha('cli shared witness') })

describe('proof commands while another process holds the store', () => {
  it('checkpoint, prove, prove --consistency, verify --checkpoint [--full] and export --checkpoint work through the holder', async () => {
    const dir = await tempDir()
    const key = join(dir, 'log.key')
    expect((await chainlog(['key', 'generate', '--name', 'cli.test/shared', '--out', key])).code).toBe(0)
    const vkey = (await readFile(`${key}.pub`, 'utf8')).trim()
    const storeDir = join(dir, 'store')
    const holder = (await openStore({ path: storeDir, durability: 'relaxed' })) as SharedStore
    try {
      expect(holder.isHost).toBe(true)
      const hashes = [(await holder.createSession({ sessionId: 'held', ts: 1 })).head]
      for (let i = 0; i < 12; i++) hashes.push((await holder.append('held', { kind: 'turn_end', ts: 2 + i, turn: i + 1 })).hash)
      const store = ['--store', storeDir]

      const cp = await chainlogJson(['checkpoint', 'held', '--key', key, '--size', '9', ...store])
      expect(cp).toMatchObject({ sessionId: 'held', size: 9, head: hashes[8] })
      expect(verifyCheckpoint(cp.checkpoint, [vkey]).size).toBe(9)
      const cpFile = join(dir, 'cp9')
      await writeFile(cpFile, cp.checkpoint)

      const p = await chainlog(['prove', hashes[6]!.slice(0, 12), '--key', key, ...store])
      expect(p.code, p.stderr).toBe(0)
      expect(verifyProofFile(p.stdout, [vkey], { entryHash: hashes[6]! }).checkpoint.size).toBe(13)
      const p2 = await chainlog(['prove', hashes[2]!, '--checkpoint', cpFile, ...store])
      expect(p2.code, p2.stderr).toBe(0)
      expect(verifyProofFile(p2.stdout, [vkey]).index).toBe(2)
      const c = await chainlog(['prove', '--consistency', cpFile, '--key', key, ...store])
      expect(c.code, c.stderr).toBe(0)
      expect(verifyConsistencyFile(c.stdout, cp.checkpoint, [vkey]).new.size).toBe(13)

      const pub = `${key}.pub`
      const v = await chainlog(['verify', '--checkpoint', cpFile, '--key', pub, ...store])
      expect(v.code, v.stderr).toBe(0)
      expect(v.stdout).toMatch(/checkpoint of held at 9 entries \(the store has 13\): consistent \(checked with the stored tree/)
      const full = await chainlogJson(['verify', '--checkpoint', cpFile, '--key', pub, '--full', ...store])
      expect(full.checkpoint).toEqual({ sessionId: 'held', size: 9, storeSize: 13, status: 'consistent', method: 'walk' })
      expect(full.checked.entries).toBe(13)
      expect((await chainlog(['verify', '--full', ...store])).code).toBe(2)

      // Export carrying the checkpoint a witness cosigned.
      const cosigned = addSignatureLines(cp.checkpoint, [cosignCheckpoint(cp.checkpoint, WITNESS.signerKey, 1_700_000_000)])
      const cosFile = join(dir, 'cp9.cosigned')
      await writeFile(cosFile, cosigned)
      const out = join(dir, 'held.bundle')
      const e = await chainlog(['export', 'held', '--checkpoint', cosFile, '-o', out, ...store])
      expect(e.code, e.stderr).toBe(0)
      const report = await verifyBundle(await readFile(out), { keys: [vkey], witnesses: [WITNESS.verifierKey], quorum: 1 })
      expect(report.ok).toBe(true)
      expect(report.checkpoints?.[0]).toMatchObject({ size: 9, status: 'consistent', signed: true, checkpoint: cosigned })

      // A checkpoint of another history: refused, exit 1, no file.
      const other = await openStore({ path: join(dir, 'other'), exclusive: true, durability: 'relaxed', signingKey: (await readFile(key, 'utf8')).trim() })
      await other.createSession({ sessionId: 'held', ts: 1 })
      for (let i = 0; i < 8; i++) await other.append('held', { kind: 'turn_end', ts: 100 + i, turn: i + 1 })
      const foreign = join(dir, 'foreign')
      await writeFile(foreign, await other.checkpoint('held'))
      await other.close()
      const bad = join(dir, 'bad.bundle')
      const refused = await chainlog(['export', 'held', '--checkpoint', foreign, '-o', bad, ...store])
      expect(refused.code).toBe(1)
      expect(refused.stderr).toContain('CHAINLOG_INVALID_PROOF')
      expect(existsSync(bad)).toBe(false)
      const rewritten = await chainlog(['verify', '--checkpoint', foreign, '--key', pub, ...store])
      expect(rewritten.code).toBe(1)
      expect(rewritten.stdout).toMatch(/checkpoint_rewrite/)
    } finally {
      await holder.close()
    }
  }, 120_000)
})
