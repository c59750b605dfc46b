// `chainlog key generate` and `chainlog witness` end to end (the built CLI in a child process).
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { toHex } from '../../src/encoding/hash.js'
import { signCheckpoint, verifyCheckpoint } from '../../src/proofs/checkpoint.js'
import { MemoryNodeSource, consistencyProof, rootAt } from '../../src/proofs/merkle.js'
import { generateKeyPair, parseSignerKey, parseVerifierKey } from '../../src/proofs/note.js'
import { formatConsistencyFile, formatConsistencyProof } from '../../src/proofs/proof.js'
import { chainlog, chainlogJson, removeTempDirs, tempDir } from './helpers.js'
import { sha } from '../support/proofs.js'

afterAll(removeTempDirs)


describe.concurrent('key generate', () => {
  it('writes the private key 0600 and the verifier key beside it, and prints only the verifier key', async () => {
    const dir = await tempDir()
    const out = join(dir, 'log.key')
    const r = await chainlog(['key', 'generate', '--name', 'example.com/my-store', '--out', out])
    expect(r.code).toBe(0)
    const priv = await readFile(out, 'utf8')
    const pub = await readFile(`${out}.pub`, 'utf8')
    expect((await stat(out)).mode & 0o777).toBe(0o600)
    expect((await stat(`${out}.pub`)).mode & 0o777).toBe(0o644)
    const signer = parseSignerKey(priv)
    const verifier = parseVerifierKey(pub)
    expect(verifier).toMatchObject({ name: 'example.com/my-store', type: 0x01, keyId: signer.keyId })
    expect(r.stdout).toContain(pub.trim())
    const secret = priv.trim().split('+').slice(4).join('+')
    expect(r.stdout + r.stderr).not.toContain(secret)
    expect(r.stdout + r.stderr).not.toContain('PRIVATE')
  })

  it('--witness makes a cosignature key; --json describes it without the private key', async () => {
    const dir = await tempDir()
    const out = join(dir, 'w.key')
    const j = await chainlogJson(['key', 'generate', '--name', 'witness.example/w1', '--out', out, '--witness'])
    const pub = (await readFile(`${out}.pub`, 'utf8')).trim()
    expect(j).toEqual({ name: 'witness.example/w1', keyId: pub.split('+')[1], type: 'cosignature/v1', verifierKey: pub, signerKeyFile: out, verifierKeyFile: `${out}.pub` })
    expect(parseVerifierKey(pub).type).toBe(0x04)
  })

  it('never overwrites a key file; a bad name or a missing directory is refused before anything is written', async () => {
    const dir = await tempDir()
    const out = join(dir, 'k')
    await writeFile(out, 'precious\n')
    const again = await chainlog(['key', 'generate', '--name', 'n', '--out', out])
    expect(again.code).toBe(2)
    expect(again.stderr).toMatch(/refusing to overwrite.*\(CHAINLOG_USAGE\)\n$/)
    expect(await readFile(out, 'utf8')).toBe('precious\n')
    await expect(stat(`${out}.pub`)).rejects.toThrow()

    const pubExists = join(dir, 'p')
    await writeFile(`${pubExists}.pub`, 'old\n')
    expect((await chainlog(['key', 'generate', '--name', 'n', '--out', pubExists])).code).toBe(2)
    await expect(stat(pubExists)).rejects.toThrow() // the private key was removed again

    const badName = await chainlog(['key', 'generate', '--name', 'has space', '--out', join(dir, 'b')])
    expect(badName.code).toBe(2)
    await expect(stat(join(dir, 'b'))).rejects.toThrow()
    expect((await chainlog(['key', 'generate', '--name', 'n', '--out', join(dir, 'no', 'such', 'k')])).code).toBe(4)
  })
})

describe.concurrent('witness', () => {
  async function setup() {
    const dir = await tempDir()
    // Keys made by the library (key generate has its own tests above): a process start saved per key.
    const keyFiles = async (name: string, file: string, type: 1 | 4) => {
      const pair = generateKeyPair(name, { type })
      await writeFile(join(dir, file), `${pair.signerKey}\n`, { mode: 0o600 })
      await writeFile(join(dir, `${file}.pub`), `${pair.verifierKey}\n`)
    }
    await keyFiles('chainlog.example/s', 'log.key', 1)
    await keyFiles('witness.example/w1', 'w.key', 4)
    await keyFiles('chainlog.example/s', 'other.key', 1)
    const logKey = await readFile(join(dir, 'log.key'), 'utf8')
    const entries = Array.from({ length: 30 }, (_, i) => sha(`cli entry ${i}`))
    const files = {
      async checkpoint(name: string, size: number, es = entries) {
        const source = MemoryNodeSource.fromEntryHashes(es)
        const text = signCheckpoint({ sessionId: 'sess', size, root: await rootAt(size, source), head: toHex(es[size - 1]!) }, logKey)
        await writeFile(join(dir, name), text)
        return join(dir, name)
      },
      async proof(name: string, m: number, n: number, es = entries) {
        await writeFile(join(dir, name), formatConsistencyProof({ oldSize: m, proof: await consistencyProof(m, n, MemoryNodeSource.fromEntryHashes(es)) }))
        return join(dir, name)
      },
    }
    const args = ['--state', join(dir, 'state'), '--key', join(dir, 'w.key'), '--log-key', join(dir, 'log.key.pub')]
    return { dir, entries, files, args }
  }

  it('cosigns the first checkpoint, then one that extends it (with --proof); prints the cosignature line', async () => {
    const { dir, files, args } = await setup()
    const first = await chainlog(['witness', await files.checkpoint('c10', 10), ...args])
    expect(first.code).toBe(0)
    expect(first.stdout).toMatch(/^— witness\.example\/w1 [A-Za-z0-9+/]+=*\n$/)
    expect(first.stderr).toContain('cosigned chainlog.example/s/sess at size 10')
    const cp = (await readFile(join(dir, 'c10'), 'utf8')) + first.stdout
    const wpub = await readFile(join(dir, 'w.key.pub'), 'utf8')
    expect(verifyCheckpoint(cp, [await readFile(join(dir, 'log.key.pub'), 'utf8')], { witnesses: [wpub] }).cosignatures).toHaveLength(1)

    const next = await chainlogJson(['witness', await files.checkpoint('c25', 25), '--proof', await files.proof('p10-25', 10, 25), ...args])
    expect(next).toMatchObject({ origin: 'chainlog.example/s/sess', sessionId: 'sess', size: 25, oldSize: 10, witness: { name: 'witness.example/w1' } })
    expect(next.cosignature).toMatch(/^— witness\.example\/w1 /)
  })

  it('takes a consistency file (old size, proof, blank line, checkpoint) as its one argument, or from stdin', async () => {
    const { dir, entries, files, args } = await setup()
    await chainlog(['witness', await files.checkpoint('c5', 5), ...args])
    const source = MemoryNodeSource.fromEntryHashes(entries)
    const body = formatConsistencyFile({ oldSize: 5, proof: await consistencyProof(5, 9, source) }, await readFile(await files.checkpoint('c9', 9), 'utf8'))
    await writeFile(join(dir, 'req'), body)
    expect((await chainlogJson(['witness', join(dir, 'req'), ...args])).size).toBe(9)
    const body2 = formatConsistencyFile({ oldSize: 9, proof: await consistencyProof(9, 12, source) }, await readFile(await files.checkpoint('c12', 12), 'utf8'))
    expect((await chainlogJson(['witness', '-', ...args], { input: body2 })).size).toBe(12)
  })

  it('refuses a rewritten history signed with the log key: exit 1, CHAINLOG_WITNESS_REFUSED, the reason in --json', async () => {
    const { entries, files, args } = await setup()
    await chainlog(['witness', await files.checkpoint('c12', 12), ...args])
    const rewritten = entries.map((e, i) => (i === 4 ? sha('rewritten') : e))
    const forged = await files.checkpoint('forged', 20, rewritten)
    const proof = await files.proof('pf', 12, 20, rewritten)
    const r = await chainlog(['witness', forged, '--proof', proof, ...args])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/^chainlog: witness refused: .+ \(CHAINLOG_WITNESS_REFUSED\)\n$/)
    const j = await chainlog(['witness', forged, '--proof', proof, ...args, '--json'])
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, error: { code: 'CHAINLOG_WITNESS_REFUSED', data: { reason: 'inconsistent' } } })
    const rollback = await chainlog(['witness', await files.checkpoint('c11', 11), '--proof', await files.proof('p', 12, 12), ...args, '--json'])
    expect(rollback.code).toBe(1)
    expect(JSON.parse(rollback.stdout).error.data.reason).toBe('rollback')
  })

  it('a checkpoint from an untrusted key is exit 1; a bad key file is exit 2; a missing file exit 4', async () => {
    const { dir, files, args } = await setup()
    const cp = await files.checkpoint('c3', 3)
    const untrusted = await chainlog(['witness', cp, ...args.slice(0, -1), join(dir, 'other.key.pub')])
    expect(untrusted.code).toBe(1)
    expect(untrusted.stderr).toContain('CHAINLOG_INVALID_SIGNATURE')
    const logKeyAsWitness = await chainlog(['witness', cp, '--state', join(dir, 'state'), '--key', join(dir, 'log.key'), '--log-key', join(dir, 'log.key.pub')])
    expect(logKeyAsWitness.code).toBe(2)
    const pubAsKey = await chainlog(['witness', cp, '--state', join(dir, 'state'), '--key', join(dir, 'w.key.pub'), '--log-key', join(dir, 'log.key.pub')])
    expect(pubAsKey.code).toBe(2)
    expect(pubAsKey.stderr).toContain('CHAINLOG_INVALID_KEY')
    expect((await chainlog(['witness', join(dir, 'nope'), ...args])).code).toBe(4)
    await writeFile(join(dir, 'garbage'), 'not a checkpoint\n')
    const garbage = await chainlog(['witness', join(dir, 'garbage'), ...args])
    expect(garbage.code).toBe(1)
    expect(garbage.stderr).toContain('CHAINLOG_INVALID_NOTE')
  })
})
