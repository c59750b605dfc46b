// `chainlog checkpoint`, `chainlog prove` and `chainlog verify --checkpoint` end to end (the
// built CLI in a child process), checked with the pure verifiers and the verifier key alone.
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { verifyCheckpoint } from '../../src/proofs/checkpoint.js'
import { verifyConsistencyFile, verifyProofFile } from '../../src/proofs/proof.js'
import * as K from '../../src/storage/keys.js'
import { chainlog, chainlogJson, removeTempDirs, tempDir, withDir } from './helpers.js'

afterAll(removeTempDirs)

async function setup(): Promise<{ dir: string; store: string[]; key: string; pub: string; hashes: string[] }> {
  const dir = await tempDir()
  const key = join(dir, 'log.key')
  expect((await chainlog(['key', 'generate', '--name', 'cli.test/store', '--out', key])).code).toBe(0)
  const storeDir = join(dir, 'store')
  const hashes = await withDir(storeDir, async (s) => {
    const out = [(await s.createSession({ sessionId: 'cli-s', ts: 1 })).head]
    for (let i = 0; i < 10; i++) out.push((await s.append('cli-s', { kind: 'turn_end', ts: 2 + i, turn: i + 1 })).hash)
    return out
  })
  return { dir, store: ['--store', storeDir], key, pub: `${key}.pub`, hashes }
}

describe.concurrent('checkpoint, prove and verify --checkpoint', () => {
  it('checkpoint prints a note the verifier key checks; prove prints a proof file that verifies offline', async () => {
    const { dir, store, key, pub, hashes } = await setup()
    const vkey = (await readFile(pub, 'utf8')).trim()
    const r = await chainlog(['checkpoint', 'cli-s', '--key', key, ...store])
    expect(r.code).toBe(0)
    const v = verifyCheckpoint(r.stdout, [vkey])
    expect(v).toMatchObject({ sessionId: 'cli-s', size: 11, head: hashes[10] })
    const j = await chainlogJson(['checkpoint', 'cli-s', '--key', key, '--size', '4', '--json', ...store])
    expect(j).toMatchObject({ sessionId: 'cli-s', size: 4, head: hashes[3] })
    expect(verifyCheckpoint(j.checkpoint, [vkey]).size).toBe(4)
    const p = await chainlog(['prove', hashes[5]!.slice(0, 10), '--key', key, ...store])
    expect(p.code).toBe(0)
    expect(verifyProofFile(p.stdout, [vkey], { entryHash: hashes[5]! }).index).toBe(5)
    // Against a checkpoint held from before, without the key.
    const held = join(dir, 'cp4')
    await writeFile(held, j.checkpoint)
    const p2 = await chainlogJson(['prove', hashes[2]!, '--checkpoint', held, '--json', ...store])
    expect(p2).toMatchObject({ entry: hashes[2], index: 2, size: 4 })
    expect(verifyProofFile(p2.proof, [vkey]).checkpoint.size).toBe(4)
    // Consistency from the held checkpoint, and from a size.
    const c = await chainlog(['prove', '--consistency', held, '--key', key, ...store])
    expect(c.code).toBe(0)
    expect(verifyConsistencyFile(c.stdout, j.checkpoint, [vkey]).new.size).toBe(11)
    const c2 = await chainlogJson(['prove', 'cli-s', '--consistency', '4', '7', '--key', key, '--json', ...store])
    expect(c2).toMatchObject({ sessionId: 'cli-s', oldSize: 4, newSize: 7 })
    expect(verifyConsistencyFile(c2.proof, j.checkpoint, [vkey]).new.size).toBe(7)
  })

  it('verify --checkpoint passes while the session only grows, and fails with checkpoint_truncated once entries are cut off', async () => {
    const { dir, store, key, pub, hashes } = await setup()
    const cpFile = join(dir, 'cp')
    await writeFile(cpFile, (await chainlog(['checkpoint', 'cli-s', '--key', key, ...store])).stdout)
    const ok = await chainlogJson(['verify', '--checkpoint', cpFile, '--key', pub, '--json', ...store])
    expect(ok.ok).toBe(true)
    expect(ok.checkpoint.status).toBe('consistent')
    // Truncate consistently: the last three entries, their rows, the head moved back.
    await withDir(join(dir, 'store'), async (s) => {
      const ops = []
      for (let seq = 8; seq <= 10; seq++) ops.push({ type: 'del' as const, key: K.recordKey('cli-s', seq) })
      for (const leaf of [8, 9, 10]) ops.push({ type: 'del' as const, key: K.treeKey('cli-s', leaf) })
      ops.push({ type: 'put' as const, key: K.headKey('cli-s'), value: K.withHead(await s.engine.get(K.headKey('cli-s')), Buffer.from(hashes[7]!, 'hex'), 7) })
      await s.engine.commit({ ops })
    })
    const bad = await chainlog(['verify', '--checkpoint', cpFile, '--key', pub, ...store])
    expect(bad.code).toBe(1)
    expect(bad.stdout).toContain('checkpoint_truncated')
    expect(bad.stdout).toContain('truncated')
    // A usage error without the key.
    expect((await chainlog(['verify', '--checkpoint', cpFile, ...store])).code).not.toBe(0)
  })
})
