// The witness: it cosigns a checkpoint only when it extends the last one it cosigned for that
// origin, keeps that checkpoint in a state file written atomically, and refuses a rollback, a
// split view and a rewritten history, even one signed with the log's own key.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { toHex } from '../../src/encoding/hash.js'
import { ErrorCodes, isChainlogError } from '../../src/errors.js'
import { signCheckpoint, verifyCheckpoint } from '../../src/proofs/checkpoint.js'
import { MemoryNodeSource, consistencyProof, rootAt } from '../../src/proofs/merkle.js'
import { SIG_COSIGNATURE_V1, generateKeyPair } from '../../src/proofs/note.js'
import { formatConsistencyFile } from '../../src/proofs/proof.js'
import { Witness } from '../../src/proofs/witness.js'
import { sha } from '../support/proofs.js'

const log = generateKeyPair('chainlog.example/witnessed', { seed: sha('log') })
const stranger = generateKeyPair('chainlog.example/witnessed', { seed: sha('stranger') })
const wkey = generateKeyPair('witness.example/w1', { type: SIG_COSIGNATURE_V1, seed: sha('w1') })
const SESSION = 'sess-1'

const dirs: string[] = []
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})
async function stateDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'chainlog-witness-'))
  dirs.push(d)
  return join(d, 'state')
}

/** A session's history as the log sees it: entry hashes, checkpoints and proofs from them. */
class History {
  constructor(readonly entries: Uint8Array[], readonly sessionId = SESSION, readonly key = log.signerKey) {}
  static of(n: number, sessionId = SESSION): History {
    return new History(Array.from({ length: n }, (_, i) => sha(`${sessionId} entry ${i}`)), sessionId)
  }
  get source() {
    return MemoryNodeSource.fromEntryHashes(this.entries)
  }
  async checkpoint(size: number): Promise<string> {
    return signCheckpoint({ sessionId: this.sessionId, size, root: await rootAt(size, this.source), head: toHex(this.entries[size - 1]!) }, this.key)
  }
  async proof(oldSize: number, newSize: number) {
    return { oldSize, proof: await consistencyProof(oldSize, newSize, this.source) }
  }
}

function witness(dir: string, now = 1_750_000_000, extra: Partial<ConstructorParameters<typeof Witness>[0]> = {}): Witness {
  let t = now
  return new Witness({ stateDir: dir, key: wkey.signerKey, logKeys: [log.verifierKey], now: () => t++, ...extra })
}

async function refusal(p: Promise<unknown>): Promise<{ code: string; reason?: string; data: Record<string, unknown> }> {
  try {
    await p
  } catch (err) {
    if (!isChainlogError(err)) throw err
    return { code: err.code, reason: err.data.reason as string | undefined, data: err.data }
  }
  throw new Error('the witness cosigned')
}

async function stateFiles(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const f of await readdir(dir)) out[f] = await readFile(join(dir, f), 'utf8')
  return out
}

describe('cosigning', () => {
  it('cosigns the first checkpoint of an origin (old size 0), then each one that extends it', async () => {
    const dir = await stateDir()
    const w = witness(dir)
    const h = History.of(30)
    const first = await w.add(await h.checkpoint(5))
    expect(first).toMatchObject({ origin: `chainlog.example/witnessed/${SESSION}`, sessionId: SESSION, size: 5, oldSize: 0, timestamp: 1_750_000_000, head: toHex(h.entries[4]!) })
    expect(first.cosignature).toMatch(/^— witness\.example\/w1 [A-Za-z0-9+/]+=*\n$/)
    // The cosigned checkpoint verifies with the witness's verifier key.
    const cp = verifyCheckpoint(first.checkpoint, [log.verifierKey], { witnesses: [wkey.verifierKey] })
    expect(cp.cosignatures).toEqual([{ name: 'witness.example/w1', keyId: expect.any(Number), timestamp: 1_750_000_000 }])

    let size = 5
    for (const next of [6, 8, 16, 17, 30]) {
      const r = await w.add(await h.checkpoint(next), await h.proof(size, next))
      expect([r.oldSize, r.size]).toEqual([size, next])
      size = next
    }
    expect(await w.latest(`chainlog.example/witnessed/${SESSION}`)).toBe(await h.checkpoint(30))
  })

  it('cosigns the same checkpoint again (old size = size, no proof) with a fresh timestamp', async () => {
    const w = witness(await stateDir())
    const h = History.of(9)
    const a = await w.add(await h.checkpoint(9))
    const b = await w.add(await h.checkpoint(9), { oldSize: 9, proof: [] })
    expect(b.timestamp).toBeGreaterThan(a.timestamp)
    expect(b.size).toBe(9)
  })

  it('takes a consistency file (old size, proof, blank line, checkpoint), as tlog-witness add-checkpoint does', async () => {
    const w = witness(await stateDir())
    const h = History.of(12)
    await w.add(await h.checkpoint(4))
    const r = await w.addFile(formatConsistencyFile(await h.proof(4, 12), await h.checkpoint(12)))
    expect([r.oldSize, r.size]).toEqual([4, 12])
  })

  it('keeps each origin (session) apart', async () => {
    const w = witness(await stateDir())
    const a = History.of(10, 'sess-a')
    const b = History.of(3, 'sess-b')
    await w.add(await a.checkpoint(10))
    expect((await w.add(await b.checkpoint(3))).oldSize).toBe(0)
    expect((await w.add(await b.checkpoint(3), { oldSize: 3, proof: [] })).oldSize).toBe(3)
  })
})

describe('refusals (CHAINLOG_WITNESS_REFUSED), with the state left as it was', () => {
  async function seeded() {
    const dir = await stateDir()
    const w = witness(dir)
    const h = History.of(20)
    await w.add(await h.checkpoint(12))
    return { dir, w, h, before: await stateFiles(dir) }
  }

  it('a rollback: a smaller checkpoint than the last cosigned', async () => {
    const { dir, w, h, before } = await seeded()
    const r = await refusal(w.add(await h.checkpoint(11), { oldSize: 12, proof: [] }))
    expect(r).toMatchObject({ code: ErrorCodes.WITNESS_REFUSED, reason: 'rollback' })
    expect(r.data).toMatchObject({ oldSize: 12, newSize: 11, latestSize: 12 })
    expect(await stateFiles(dir)).toEqual(before)
  })

  it('a split view: the same size with another root', async () => {
    const { dir, w, h, before } = await seeded()
    const other = new History(h.entries.map((e, i) => (i === 11 ? sha('other 11') : e)))
    expect(await refusal(w.add(await other.checkpoint(12), { oldSize: 12, proof: [] }))).toMatchObject({ code: ErrorCodes.WITNESS_REFUSED, reason: 'split_view' })
    expect(await stateFiles(dir)).toEqual(before)
  })

  it('a rewriter who holds the signing key rewrites history and signs a new checkpoint: refused', async () => {
    const { dir, w, h, before } = await seeded()
    // Same key, same session: entry 3 is rewritten, the session grows to 20, every signature is valid.
    const rewritten = new History(h.entries.map((e, i) => (i === 3 ? sha('what the rewriter wishes had happened') : e)))
    const forged = await rewritten.checkpoint(20)
    expect(verifyCheckpoint(forged, [log.verifierKey]).size).toBe(20) // a perfectly signed checkpoint
    // The best proof the rewriter can make from its own tree does not lead from what the witness saw.
    expect(await refusal(w.add(forged, await rewritten.proof(12, 20)))).toMatchObject({ code: ErrorCodes.WITNESS_REFUSED, reason: 'inconsistent' })
    // Nor can it pretend the witness never saw the session, or that it saw a smaller one.
    expect(await refusal(w.add(forged))).toMatchObject({ reason: 'old_size_mismatch', data: { latestSize: 12 } })
    expect(await refusal(w.add(forged, await rewritten.proof(3, 20)))).toMatchObject({ reason: 'old_size_mismatch' })
    // A proof taken from the honest tree does not lead to the rewritten root either.
    expect(await refusal(w.add(forged, await h.proof(12, 20)))).toMatchObject({ reason: 'inconsistent' })
    expect(await stateFiles(dir)).toEqual(before)
    // The honest continuation is still cosigned.
    expect((await w.add(await h.checkpoint(20), await h.proof(12, 20))).size).toBe(20)
  })

  it('a proof from another old size than the last cosigned, with the size the witness has', async () => {
    const { w, h } = await seeded()
    expect(await refusal(w.add(await h.checkpoint(20), await h.proof(10, 20)))).toMatchObject({ reason: 'old_size_mismatch', data: { latestSize: 12, proofOldSize: 10 } })
  })

  it('a checkpoint no trusted log key signed: INVALID_SIGNATURE, nothing stored', async () => {
    const dir = await stateDir()
    const w = witness(dir)
    const forged = await new History(History.of(5).entries, SESSION, stranger.signerKey).checkpoint(5)
    expect(await refusal(w.add(forged))).toMatchObject({ code: ErrorCodes.INVALID_SIGNATURE })
    expect(await readdir(dir).catch(() => [])).toEqual([])
  })
})

describe('state', () => {
  it('one JSON file per origin holding the last cosigned checkpoint; no temporary or lock files left', async () => {
    const dir = await stateDir()
    const w = witness(dir)
    const h = History.of(8)
    await w.add(await h.checkpoint(3))
    await w.add(await h.checkpoint(8), await h.proof(3, 8))
    const files = await stateFiles(dir)
    const origin = `chainlog.example/witnessed/${SESSION}`
    const name = `${createHash('sha256').update(origin).digest('hex')}.json`
    expect(Object.keys(files)).toEqual([name])
    expect(JSON.parse(files[name]!)).toEqual({ version: 1, origin, checkpoint: await h.checkpoint(8), cosignedAt: 1_750_000_001 })
  })

  it('survives a restart: a new witness on the same directory refuses a rollback', async () => {
    const dir = await stateDir()
    const h = History.of(8)
    await witness(dir).add(await h.checkpoint(8))
    expect(await refusal(witness(dir).add(await h.checkpoint(7), { oldSize: 8, proof: [] }))).toMatchObject({ reason: 'rollback' })
  })

  it('a damaged state file is CORRUPT_STORE, not a fresh start', async () => {
    const dir = await stateDir()
    const h = History.of(8)
    const w = witness(dir)
    await w.add(await h.checkpoint(8))
    const [file] = await readdir(dir)
    await writeFile(join(dir, file!), '{"version":1,')
    expect(await refusal(w.add(await h.checkpoint(8)))).toMatchObject({ code: ErrorCodes.CORRUPT_STORE })
  })

  it('concurrent adds for one origin are serialised: never two cosignatures that disagree', async () => {
    for (const sameInstance of [true, false]) {
      const dir = await stateDir()
      const h = History.of(20)
      const a = witness(dir)
      await a.add(await h.checkpoint(10))
      const b = sameInstance ? a : witness(dir) // another instance goes through the lock file
      const results = await Promise.allSettled([a.add(await h.checkpoint(15), await h.proof(10, 15)), b.add(await h.checkpoint(12), await h.proof(10, 12))])
      expect(results.filter((r) => r.status === 'fulfilled'), `same instance: ${sameInstance}`).toHaveLength(1)
      const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult
      expect(failed.reason.code).toBe(ErrorCodes.WITNESS_REFUSED)
      expect(['rollback', 'old_size_mismatch']).toContain(failed.reason.data.reason)
      expect((await readdir(dir)).filter((f) => !f.endsWith('.json'))).toEqual([])
    }
  })

  it('waits for a lock held by a live process, then gives up with STORE_LOCKED; takes over a dead one', async () => {
    const dir = await stateDir()
    const h = History.of(4)
    const w = witness(dir, 1, { lockTimeoutMs: 150 })
    await w.add(await h.checkpoint(2))
    const [file] = await readdir(dir)
    const lock = join(dir, `${file}.lock`)
    await writeFile(lock, String(process.pid)) // held by a live process (this one)
    expect(await refusal(w.add(await h.checkpoint(4), await h.proof(2, 4)))).toMatchObject({ code: ErrorCodes.STORE_LOCKED, data: { path: dir } })
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString()
    await writeFile(lock, dead) // held by a process that has exited
    expect((await w.add(await h.checkpoint(4), await h.proof(2, 4))).size).toBe(4)
    expect(await readdir(dir)).toEqual([file])
  })

  it('refuses a log key as its own key', () => {
    expect(() => new Witness({ stateDir: '/nonexistent', key: log.signerKey, logKeys: [log.verifierKey] })).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_KEY }))
  })
})
