// Checkpoints and proofs through the shared-store socket, and checkpoints on turn_end: a
// process that does not hold the store gets checkpoints, inclusion and consistency proofs that
// verify offline with only the verifier key. A process with its own signing key signs them
// itself (the holder only reads the tree); one without gets the holder's signature. With
// checkpointOnTurnEnd, every append that adds a turn_end returns a checkpoint at the new size,
// with no extra engine read, also through the socket.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryLevel } from 'memory-level'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ErrorCodes } from '../../src/errors.js'
import { SharedStore } from '../../src/host/shared-store.js'
import { verifyCheckpoint } from '../../src/proofs/checkpoint.js'
import { generateKeyPair } from '../../src/proofs/note.js'
import { verifyConsistencyFile, verifyProofFile } from '../../src/proofs/proof.js'
import type { TurnCheckpoint } from '../../src/storage/session-store.js'
import { openStore, type OpenOptions } from '../../src/open.js'
import type { Store } from '../../src/store.js'

const TS = 1_700_000_000_000
const A = generateKeyPair('chainlog.test/holder', { seed: new Uint8Array(32).fill(21) })
const B = generateKeyPair('chainlog.test/client', { seed: new Uint8Array(32).fill(22) })

let root: string
let n = 0
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'chainlog-shared-proofs-'))
})
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true })
})
const toClose: { close(): Promise<void> }[] = []
afterEach(async () => {
  // Clients first, so closing the holder does not hand the store to a client.
  for (const s of toClose.splice(0).reverse()) await s.close()
})

async function shared(dir: string, options: Partial<OpenOptions> = {}): Promise<SharedStore> {
  const s = (await openStore({ path: dir, durability: 'relaxed', ...options })) as SharedStore
  expect(s).toBeInstanceOf(SharedStore)
  toClose.push(s)
  return s
}

async function pair(holderOptions: Partial<OpenOptions>, clientOptions: Partial<OpenOptions>): Promise<{ holder: SharedStore; client: SharedStore }> {
  const dir = join(root, `s${n++}`)
  const holder = await shared(dir, holderOptions)
  const client = await shared(dir, clientOptions)
  expect(holder.isHost).toBe(true)
  expect(client.isHost).toBe(false)
  return { holder, client }
}

/** A session of `size` entries (turn_end each), its entry hashes. */
async function session(store: SharedStore | Store, id: string, size: number): Promise<string[]> {
  const hashes = [(await store.createSession({ sessionId: id, ts: TS })).head]
  let ts = TS
  while (hashes.length < size) {
    const k = Math.min(size - hashes.length, 3)
    const r = await store.appendMany(id, Array.from({ length: k }, () => ({ kind: 'custom' as const, namespace: 't', type: 'x', ts: ++ts })))
    hashes.push(...r.entries.map((e) => e.hash))
  }
  return hashes
}

describe('checkpoints and proofs through the shared store', () => {
  it('a client without a key gets the holder-signed checkpoint and proofs, which verify offline', async () => {
    const { client } = await pair({ signingKey: A.signerKey }, {})
    const hashes = await session(client, 'p', 20)
    const cp = await client.checkpoint('p')
    expect(verifyCheckpoint(cp, [A.verifierKey])).toMatchObject({ sessionId: 'p', size: 20, head: hashes[19] })
    const old = await client.checkpoint('p', { size: 7 })
    expect(verifyCheckpoint(old, [A.verifierKey]).size).toBe(7)
    expect((await client.treeHead('p', { size: 7 })).head).toBe(hashes[6])
    const file = await client.prove(hashes[11]!.slice(0, 12))
    expect(verifyProofFile(file, [A.verifierKey], { entryHash: hashes[11]!, sessionId: 'p' }).index).toBe(11)
    const cons = await client.proveConsistency('p', 7)
    expect(verifyConsistencyFile(cons, old, [A.verifierKey]).new.size).toBe(20)
    // Against a checkpoint the caller holds: no key needed anywhere.
    expect(verifyProofFile(await client.prove(hashes[3]!, { checkpoint: old }), [A.verifierKey]).checkpoint.size).toBe(7)
  })

  it('a client with its own key signs with it; the holder needs none', async () => {
    const { holder, client } = await pair({}, { signingKey: B.signerKey })
    const hashes = await session(holder, 'q', 33)
    const cp = await client.checkpoint('q')
    expect(verifyCheckpoint(cp, [B.verifierKey]).size).toBe(33)
    expect(() => verifyCheckpoint(cp, [A.verifierKey])).toThrow()
    const file = await client.prove(hashes[32]!, { size: 33 })
    expect(verifyProofFile(file, [B.verifierKey], { entryHash: hashes[32]! }).index).toBe(32)
    const old = await client.checkpoint('q', { size: 16 })
    expect(verifyConsistencyFile(await client.proveConsistency('q', 16, 30), old, [B.verifierKey]).new.size).toBe(30)
    // The holder itself has no key: it cannot sign, and says so.
    await expect(holder.checkpoint('q')).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT })
  })

  it('nobody has a key: a typed error from the holder; errors of the tree cross the socket', async () => {
    const { client } = await pair({}, {})
    const hashes = await session(client, 'r', 5)
    await expect(client.checkpoint('r')).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT })
    await expect(client.prove(hashes[1]!)).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT })
    await expect(client.proveConsistency('r', 2)).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT })
    const keyed = await shared(join(root, `s${n - 1}`), { signingKey: B.signerKey })
    await expect(keyed.checkpoint('r', { size: 6 })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT, data: { max: 5 } })
    await expect(keyed.prove('00'.repeat(32))).rejects.toMatchObject({ code: ErrorCodes.ENTRY_NOT_FOUND })
  })

  it('a bad signing key or checkpointOnTurnEnd without one is refused before anything is opened', async () => {
    const dir = join(root, `s${n++}`)
    await expect(openStore({ path: dir, signingKey: 'PRIVATE+KEY+nope' })).rejects.toMatchObject({ code: ErrorCodes.INVALID_KEY })
    await expect(openStore({ path: dir, checkpointOnTurnEnd: true })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT })
    await expect(openStore({ db: new MemoryLevel({ keyEncoding: 'view', valueEncoding: 'view' }) as never, checkpointOnTurnEnd: true })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT })
    const w = generateKeyPair('chainlog.test/w', { type: 0x04, seed: new Uint8Array(32).fill(3) })
    await expect(openStore({ path: dir, signingKey: w.signerKey })).rejects.toMatchObject({ code: ErrorCodes.INVALID_KEY })
  })
})

describe('checkpoints on turn_end', () => {
  it('a store with checkpointOnTurnEnd returns a checkpoint at the new size for appends with a turn_end, and reads nothing more', async () => {
    const seen: TurnCheckpoint[] = []
    const mem = () => new MemoryLevel({ keyEncoding: 'view', valueEncoding: 'view' }) as never
    const store = await openStore({ db: mem(), durability: 'relaxed', signingKey: A.signerKey, checkpointOnTurnEnd: true, onCheckpoint: (c) => seen.push(c) })
    const plain = await openStore({ db: mem(), durability: 'relaxed', signingKey: A.signerKey })
    toClose.push(store, plain)
    for (const s of [store, plain]) await session(s, 't', 10)
    // Reads per append, counted on the engine: the same with and without checkpoints.
    const reads = (s: Store) => {
      const e = s.engine
      const counts = { get: 0, rows: 0 }
      const get = e.get.bind(e)
      const getMany = e.getMany.bind(e)
      e.get = (k) => (counts.get++, get(k))
      e.getMany = (ks) => ((counts.rows += ks.length), getMany(ks))
      return counts
    }
    const [rs, rp] = [reads(store), reads(plain)]
    const turn = await store.appendTurn('t', [{ role: 'user', content: 'hi' }], { turnEnd: true, ts: TS + 100 })
    const turnPlain = await plain.appendTurn('t', [{ role: 'user', content: 'hi' }], { turnEnd: true, ts: TS + 100 })
    expect(rs).toEqual(rp)
    expect(turnPlain.checkpoint).toBeUndefined()
    expect(turn.head).toBe(turnPlain.head)
    const v = verifyCheckpoint(turn.checkpoint!, [A.verifierKey])
    expect(v).toMatchObject({ sessionId: 't', size: 12, head: turn.head })
    // The same checkpoint the store signs on demand at that size.
    expect(turn.checkpoint).toBe(await store.checkpoint('t', { size: 12 }))
    expect(seen).toEqual([{ sessionId: 't', size: 12, checkpoint: turn.checkpoint }])
    // No turn_end, no checkpoint.
    const other = await store.appendCustom('t', 'n', 'x', undefined, { expectedHead: turn.head })
    expect(other.checkpoint).toBeUndefined()
    expect(Object.keys(other).sort()).toEqual(['hash', 'seq'])
    // One entry: the checkpoint is on the entry's result.
    const te = await store.append('t', { kind: 'turn_end', turn: 2, ts: TS + 200 })
    expect(verifyCheckpoint(te.checkpoint!, [A.verifierKey])).toMatchObject({ size: te.seq + 1, head: te.hash })
    // A retry of an append that already landed returns the same checkpoint (read from the tree).
    const again = await store.append('t', { kind: 'turn_end', turn: 2, ts: TS + 200 }, { expectedHead: other.hash })
    expect(again).toMatchObject({ hash: te.hash, seq: te.seq, checkpoint: te.checkpoint })
    expect(seen.map((c) => c.size)).toEqual([12, 14, 14])
    // A callback that throws does not fail the append, which has landed.
    const throwing = await openStore({ db: mem(), durability: 'relaxed', signingKey: A.signerKey, checkpointOnTurnEnd: true, onCheckpoint: () => { throw new Error('boom') } })
    toClose.push(throwing)
    await throwing.createSession({ sessionId: 'x', ts: TS })
    expect((await throwing.appendTurnEnd('x', 1)).checkpoint).toBeDefined()
  })

  it('through the socket: each process that asks signs with its own key; the holder signs its own', async () => {
    const holderSeen: TurnCheckpoint[] = []
    const clientSeen: TurnCheckpoint[] = []
    const { holder, client } = await pair(
      { signingKey: A.signerKey, checkpointOnTurnEnd: true, onCheckpoint: (c) => holderSeen.push(c) },
      { signingKey: B.signerKey, checkpointOnTurnEnd: true, onCheckpoint: (c) => clientSeen.push(c) },
    )
    await session(holder, 'u', 4)
    const byClient = await client.appendTurn('u', [{ role: 'assistant', content: 'ok' }], { turnEnd: true })
    expect(verifyCheckpoint(byClient.checkpoint!, [B.verifierKey])).toMatchObject({ sessionId: 'u', size: 6, head: byClient.head })
    expect(clientSeen).toEqual([{ sessionId: 'u', size: 6, checkpoint: byClient.checkpoint }])
    // The holder's own option covers every append it makes, the forwarded ones too.
    expect(holderSeen.map((c) => [c.size, verifyCheckpoint(c.checkpoint, [A.verifierKey]).head])).toEqual([[6, byClient.head]])
    const one = await client.appendTurnEnd('u', 9)
    expect(verifyCheckpoint(one.checkpoint!, [B.verifierKey])).toMatchObject({ size: 7, head: one.hash })
    expect(Object.keys(one).sort()).toEqual(['checkpoint', 'hash', 'seq'])
    const none = await client.appendCustom('u', 'n', 'x')
    expect(Object.keys(none).sort()).toEqual(['hash', 'seq'])
    const byHolder = await holder.appendTurnEnd('u', 10)
    expect(verifyCheckpoint(byHolder.checkpoint!, [A.verifierKey]).size).toBe(9)
    expect(clientSeen.map((c) => c.size)).toEqual([6, 7])

    // A client that does not ask gets the holder's checkpoint: the holder signs every turn_end append it makes.
    const quiet = await shared(join(root, `s${n - 1}`))
    const q = await quiet.appendTurnEnd('u', 11)
    expect(Object.keys(q).sort()).toEqual(['checkpoint', 'hash', 'seq'])
    expect(verifyCheckpoint(q.checkpoint!, [A.verifierKey]).size).toBe(10)
  })

  it('through the socket with a holder that does not sign: the client still gets its checkpoints', async () => {
    const { holder, client } = await pair({}, { signingKey: B.signerKey, checkpointOnTurnEnd: true })
    await session(holder, 'w', 3)
    const r = await client.appendMany('w', [{ kind: 'custom', namespace: 'n', type: 'x' }, { kind: 'turn_end', turn: 1 }])
    expect(verifyCheckpoint(r.checkpoint!, [B.verifierKey])).toMatchObject({ size: 5, head: r.head })
    expect((await holder.appendTurnEnd('w', 2)).checkpoint).toBeUndefined()
  })
})
