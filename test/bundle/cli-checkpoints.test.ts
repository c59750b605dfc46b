// `chainlog export --key`, `chainlog verify --bundle --key` and `chainlog import --key` end to end
// (the built CLI in a child process): the exported bundle carries signed checkpoints, verify and
// import check them with the verifier key, a checkpoint signed by another key is refused with
// nothing written, and the importing store proves an entry against the carried checkpoint.
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { BundleHeader } from '../../src/bundle/bundle.js'
import { decodeCanonical } from '../../src/encoding/cbor.js'
import { verifyProofFile } from '../../src/proofs/proof.js'
import { chainlog, chainlogJson, removeTempDirs, tempDir, withDir } from '../cli/helpers.js'
import { items } from '../support/bundle-bytes.js'

afterAll(removeTempDirs)

async function setup() {
  const dir = await tempDir()
  const key = join(dir, 'log.key')
  const other = join(dir, 'other.key')
  expect((await chainlog(['key', 'generate', '--name', 'cli.test/bundles', '--out', key])).code).toBe(0)
  expect((await chainlog(['key', 'generate', '--name', 'cli.test/bundles', '--out', other])).code).toBe(0)
  const storeDir = join(dir, 'store')
  const hashes = await withDir(storeDir, async (s) => {
    const out = [(await s.createSession({ sessionId: 'src', ts: 1 })).head]
    for (let i = 0; i < 6; i++) out.push((await s.append('src', { kind: 'turn_end', ts: 2 + i, turn: i + 1 })).hash)
    await s.forkAt(out[3]!, { sessionId: 'child', ts: 20 })
    await s.append('child', { kind: 'turn_end', ts: 21, turn: 1 })
    return out
  })
  return { dir, store: ['--store', storeDir], key, pub: `${key}.pub`, other, otherPub: `${other}.pub`, hashes }
}

describe.concurrent('bundles with checkpoints on the command line', () => {
  it('export --key; verify --bundle --key; import --key; prove against the carried checkpoint', async () => {
    const { dir, store, key, pub, otherPub } = await setup()
    const bundle = join(dir, 'child.bundle')
    const e = await chainlog(['export', 'child', '-o', bundle, '--key', key, ...store])
    expect(e.code).toBe(0)
    expect(e.stdout).toContain('with 2 signed checkpoints')
    const header = decodeCanonical(items(new Uint8Array(await readFile(bundle)))[0]!, 1) as BundleHeader
    expect(header.sessions.map((s) => [s.sessionId, s.length, s.consistency !== undefined])).toEqual([
      ['src', 4, true],
      ['child', 2, false],
    ])

    const v = await chainlog(['verify', '--bundle', bundle, '--key', pub])
    expect(v.code).toBe(0)
    expect(v.stdout).toContain('checkpoint of 7 entries (4 carried) of src, signature verified: consistent')
    const unkeyed = await chainlogJson(['verify', '--bundle', bundle])
    expect(unkeyed.checkpoints.map((c: { signed: boolean }) => c.signed)).toEqual([false, false])
    const wrong = await chainlog(['verify', '--bundle', bundle, '--key', otherPub, '--json'])
    expect(wrong.code).toBe(1)
    expect(JSON.parse(wrong.stdout).findings.map((f: { code: string }) => f.code)).toEqual(['checkpoint_signature', 'checkpoint_signature'])

    const target = ['--store', join(dir, 'target')]
    await chainlog([...target, 'init'])
    const refused = await chainlog([...target, 'import', bundle, '--key', otherPub])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('checkpoint_signature')
    expect((await chainlogJson([...target, 'ls'])).sessions).toEqual([])

    const imported = await chainlogJson([...target, 'import', bundle, '--key', pub])
    const carried = imported.sessions.find((s: { sessionId: string }) => s.sessionId === 'child').checkpoint as string
    expect(carried).toBe(header.sessions[1]!.checkpoint)
    const cpFile = join(dir, 'child.cp')
    await writeFile(cpFile, carried)
    const vkey = (await readFile(pub, 'utf8')).trim()
    const p = await chainlogJson([...target, 'prove', header.sessions[1]!.head, '--checkpoint', cpFile])
    expect(verifyProofFile(p.proof, [vkey], { sessionId: 'child' }).index).toBe(1)
    expect((await chainlog([...target, 'verify', 'child', '--checkpoint', cpFile, '--key', pub])).code).toBe(0)
  })

  it('export --checkpoint --checkpoint-key: carried when one of the keys signed it, else refused (exit 1) with no file written', async () => {
    const { dir, store, key, pub, otherPub } = await setup()
    const cp = join(dir, 'child.cp')
    const c = await chainlogJson(['checkpoint', 'child', '--key', key, ...store])
    await writeFile(cp, c.checkpoint as string)
    const good = join(dir, 'good.bundle')
    const e = await chainlog(['export', 'child', '-o', good, '--checkpoint', cp, '--checkpoint-key', otherPub, '--checkpoint-key', pub, ...store])
    expect(e.code).toBe(0)
    expect(e.stdout).toContain('with a signed checkpoint')
    const bad = join(dir, 'bad.bundle')
    const r = await chainlog(['export', 'child', '-o', bad, '--checkpoint', cp, '--checkpoint-key', otherPub, ...store])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('CHAINLOG_INVALID_SIGNATURE')
    await expect(readFile(bad)).rejects.toMatchObject({ code: 'ENOENT' })
    // Without --checkpoint there is nothing to check.
    expect((await chainlog(['export', 'child', '-o', bad, '--checkpoint-key', pub, ...store])).code).toBe(2)
  })

  it('usage: --key with --from, --bundle with --checkpoint, a signer key given where a verifier key belongs', async () => {
    const { dir, store, key } = await setup()
    expect((await chainlog(['import', dir, '--from', 'pi', '--key', key, ...store])).code).toBe(2)
    expect((await chainlog(['verify', '--bundle', 'x.bundle', '--checkpoint', 'cp', '--key', key])).code).toBe(2)
    const bundle = join(dir, 'b.bundle')
    expect((await chainlog(['export', 'child', '-o', bundle, ...store])).code).toBe(0)
    // A signer key file is not a verifier key.
    expect((await chainlog(['verify', '--bundle', bundle, '--key', key])).code).toBe(2)
    // A witness key cannot sign checkpoints.
    const w = join(dir, 'w.key')
    expect((await chainlog(['key', 'generate', '--witness', '--name', 'cli.test/w', '--out', w])).code).toBe(0)
    expect((await chainlog(['export', 'child', '-o', bundle, '--key', w, ...store])).code).toBe(2)
  })
})
