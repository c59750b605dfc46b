// One store, two openers in this process: the first SharedStore on a directory holds LevelDB
// (isHost true) and the second reaches it over the local socket (isHost false). Everything
// the API returns must be the same either way, so the same deterministic scenario (fixed
// session ids and timestamps) is run through the holder, through the client and through a
// plain in-memory Store, and the results are compared. Typed errors must cross the socket
// with their codes and data; closing the holder hands the store to the client; leases and
// fencing tokens behave the same whichever side holds the lease, and tokens only grow, also
// across a close and reopen of the store.
import { existsSync, mkdirSync } from 'node:fs'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { MemoryLevel } from 'memory-level'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { verifyBundle } from '../../src/bundle/bundle.js'
import { openRecord, sealEntry } from '../../src/encoding/entry-codec.js'
import { fromHex } from '../../src/encoding/hash.js'
import * as K from '../../src/storage/keys.js'
import type { Commit } from '../../src/storage/engine.js'
import { ChainlogError, ErrorCodes, type ErrorCode } from '../../src/errors.js'
import { SharedStore, socketPathFor } from '../../src/host/shared-store.js'
import type { EntryInput, Lease, StoredEntry } from '../../src/storage/session-store.js'
import { type Store } from '../../src/store.js'
import { openStore, type ChainlogStore } from '../../src/open.js'

const TS = 1_700_000_000_000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

let root: string
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'chainlog-shared-'))
})
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true })
})

let dirCount = 0
const toClose: { close(): Promise<void> }[] = []
afterEach(async () => {
  // Clients first, so closing a holder does not make a client take the store over.
  for (const s of toClose.splice(0).reverse()) await s.close()
})

async function shared(dir: string): Promise<SharedStore> {
  const s = (await openStore({ path: dir, durability: 'relaxed' })) as SharedStore
  expect(s).toBeInstanceOf(SharedStore)
  toClose.push(s)
  return s
}

/** A holder and a client on a fresh directory. */
async function pair(): Promise<{ dir: string; holder: SharedStore; client: SharedStore }> {
  const dir = join(root, `s${dirCount++}`)
  const holder = await shared(dir)
  const client = await shared(dir)
  return { dir, holder, client }
}

async function memStore(): Promise<Store> {
  const s = await openStore({ db: new MemoryLevel(), durability: 'relaxed' })
  toClose.push(s)
  return s
}

async function collect(store: ChainlogStore, sessionId: string, options: Parameters<Store['entries']>[1] = {}): Promise<StoredEntry[]> {
  const out: StoredEntry[] = []
  for await (const e of store.entries(sessionId, options)) out.push(e)
  return out
}

function sink(): { stream: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = []
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(Buffer.from(chunk))
      cb()
    },
  })
  return { stream, bytes: () => Buffer.concat(chunks) }
}

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<ChainlogError> {
  try {
    await p
  } catch (err) {
    return err as ChainlogError
  }
  throw new Error('expected the call to fail')
}

async function expectCode(p: Promise<unknown>, code: ErrorCode): Promise<ChainlogError> {
  const err = await rejection(p)
  expect(err).toBeInstanceOf(ChainlogError)
  expect(err.code).toBe(code)
  return err
}

/** Plain data for comparing results across stores: byte strings as hex, whatever their class. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return { bytes: Buffer.from(v).toString('hex') }
  if (Array.isArray(v)) return v.map(plain)
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = plain(x)
    return out
  }
  return v
}

const user = (text: string) => ({ role: 'user', content: text })
const assistant = (text: string) => ({ type: 'message', role: 'assistant', content: [{ type: 'output_text', text }] })
const usage = { historyLength: 2, model: 'm1', inputTokens: 100, cacheReadTokens: 10, cacheWriteTokens: 0, outputTokens: 20, reasoningTokens: 5 }

/** A session exported from a store of its own, to import elsewhere (the same bytes for every run). */
const foreign = new Map<string, Promise<Buffer>>()
function foreignBundle(p: string): Promise<Buffer> {
  let b = foreign.get(p)
  if (!b) foreign.set(p, (b = makeForeignBundle(p)))
  return b
}
async function makeForeignBundle(p: string): Promise<Buffer> {
  const s = await openStore({ db: new MemoryLevel(), durability: 'relaxed' })
  try {
    const { head } = await s.createSession({ sessionId: `${p}-foreign`, systemPrompt: 'from elsewhere', ts: TS })
    await s.appendTurn(`${p}-foreign`, [user('imported?'), assistant('yes')], { expectedHead: head, ts: TS + 1 })
    const out = sink()
    await s.exportSession(`${p}-foreign`, out.stream)
    return out.bytes()
  } finally {
    await s.close()
  }
}

const LONG = 1201 // entries in the long session: three pages of 512 and a bit

/**
 * Every API call once, deterministically (fixed ids and timestamps), returning what each call
 * returned. Run on a holder, a client and a plain Store, the results must be equal.
 */
async function scenario(store: ChainlogStore, p: string, files: string): Promise<Record<string, unknown>> {
  const r: Record<string, unknown> = {}
  const main = `${p}-main`
  const long = `${p}-long`
  const created = await store.createSession({ sessionId: main, systemPrompt: 'be brief', config: { model: 'm1' }, ts: TS })
  r.created = created
  const t1 = await store.appendTurn(
    main,
    [user('list files'), assistant('sure'), { type: 'function_call', call_id: 'c1', name: 'ls', arguments: '{}' }, { type: 'function_call_output', call_id: 'c1', output: 'a b' }],
    { expectedHead: created.head, ts: TS + 1, usage, turnEnd: true },
  )
  r.t1 = t1
  const t2 = await store.appendTurn(main, [user('thanks'), assistant('welcome')], { expectedHead: t1.head, ts: TS + 2, turnEnd: true })
  r.t2 = t2
  // The same append again (same expectedHead, same ts) is a retry: it lands once.
  r.t2again = await store.appendTurn(main, [user('thanks'), assistant('welcome')], { expectedHead: t1.head, ts: TS + 2, turnEnd: true })
  r.config = await store.append(main, { kind: 'config_changed', config: { model: 'm2' }, ts: TS + 3 }, { expectedHead: t2.head })
  r.custom = await store.append(main, { kind: 'custom', namespace: 'test', type: 'note', data: { n: 1 }, ts: TS + 3 })
  r.outcome = await store.append(main, { kind: 'run_outcome', status: 'finished', message: 'done', interrupted: false, ts: TS + 4 })
  r.head = await store.head(main)

  await store.createSession({ sessionId: long, ts: TS })
  for (let b = 0; b < 12; b++) {
    const batch: EntryInput[] = []
    for (let i = 0; i < 100; i++) batch.push({ kind: 'custom', namespace: 'n', type: 't', data: { i: b * 100 + i }, ts: TS + b })
    await store.appendMany(long, batch)
  }
  const seqs = (es: StoredEntry[]) => es.map((e) => `${e.seq}:${e.hash}`)
  r.longForward = seqs(await collect(store, long))
  r.longReverse = seqs(await collect(store, long, { reverse: true }))
  r.longRange = seqs(await collect(store, long, { from: 100, to: 1100 }))
  r.longRangeReverse = seqs(await collect(store, long, { from: 300, to: 1050, reverse: true }))
  r.longTail = seqs(await collect(store, long, { from: 1024 }))
  r.mainEntries = await collect(store, main)

  r.restored = await store.restore(main)
  r.restoredAt = await store.restore(main, { at: t1.head.slice(0, 12) })
  r.entryByPrefix = await store.getEntry(t1.entries[0]!.hash.slice(0, 10))
  r.resolved = await store.resolveHash(t2.head.slice(0, 16))
  r.locate = await store.locate(t2.head)
  r.meta = await store.readMeta(main)

  const fork = await store.forkAt(t1.head.slice(0, 14), { sessionId: `${p}-fork`, ts: TS + 10 })
  r.fork = fork
  r.forkAppend = await store.appendTurn(fork.sessionId, [user('what if'), assistant('then')], { expectedHead: fork.head, ts: TS + 11 })
  r.forkRestored = await store.restore(fork.sessionId)
  r.materialized = await store.forkAt(t2.head, { sessionId: `${p}-mat`, materialize: true, ts: TS + 12 })
  r.compacted = await store.compact(main, { history: [user('summary please'), assistant('we listed files')], summary: 'listed files', sessionId: `${p}-compact`, ts: TS + 13 })
  r.lineageMain = await store.lineage(main)
  r.lineageFork = await store.lineage(fork.sessionId)
  r.ensure = await store.ensureHeadOrFork(main, t1.head, { sessionId: `${p}-ensured`, ts: TS + 14 })

  r.verifyAll = await store.verify()
  r.verifyFork = await store.verify({ sessionId: fork.sessionId, lineage: true, trustedHead: t1.head })

  const file = join(files, `${p}-main.bundle`)
  const toFile = await store.exportSession(main, file)
  const fileBytes = await readFile(file)
  const fileReport = await verifyBundle(fileBytes)
  expect(fileReport.ok).toBe(true)
  r.exportFile = { ...toFile, header: { ...fileReport.header, createdAt: 0 } }
  const out = sink()
  const toStream = await store.exportSession(fork.sessionId, out.stream)
  const streamReport = await verifyBundle(out.bytes())
  expect(streamReport.ok).toBe(true)
  r.exportStream = { ...toStream, header: { ...streamReport.header, createdAt: 0 } }
  const jsonl = sink()
  r.exportJsonl = await store.exportSession(main, jsonl.stream, { format: 'jsonl' })
  r.jsonlLines = jsonl.bytes().toString('utf8').trim().split('\n').length

  const bundle = await foreignBundle(p)
  r.imported = await store.importBundle(bundle)
  r.importedAgain = await store.importBundle(new Uint8Array(bundle))
  r.importedRestored = await store.restore(`${p}-foreign`)
  const ownBundle = join(files, `${p}-main.bundle`)
  const own = await store.importBundle(ownBundle)
  expect(own.entriesAdded).toBe(0)
  // The bundle header records when it was written.
  r.importedOwnFile = { ...own, report: { ...own.report, header: { ...own.report.header, createdAt: 0 } } }

  r.usageAll = await store.usage()
  r.usageMain = await store.usage(main)
  r.figures = await store.figures()
  r.figuresMain = await store.figures(main)
  r.deleted = await store.deleteSession(long)
  r.gc = await store.gc()
  r.sessions = await store.listSessions()
  r.verifyEnd = await store.verify()
  return r
}

describe('two SharedStores in one process', () => {
  it('the first opener holds the store, the second is a client on the socket', async () => {
    const { dir, holder, client } = await pair()
    expect(holder.isHost).toBe(true)
    expect(holder.local).toBeDefined()
    expect(client.isHost).toBe(false)
    expect(client.local).toBeUndefined()
    expect(holder.socketPath).toBe(join(dir, 'chainlog.sock'))
    expect(socketPathFor(dir)).toBe(holder.socketPath)
    expect((await stat(holder.socketPath)).isSocket()).toBe(true)
    // What one writes, the other reads.
    const { sessionId, head } = await client.createSession({ sessionId: 'hello', ts: TS })
    expect(await holder.head(sessionId)).toBe(head)
  })

  it('holder, client and a plain Store return the same results for the same calls', async () => {
    const { dir, holder, client } = await pair()
    const files = join(dir + '-files')
    mkdirSync(files, { recursive: true })
    const ref = await memStore()
    const refFiles = join(dir + '-ref-files')
    mkdirSync(refFiles, { recursive: true })
    // Same order on both sides, so store-wide results (listSessions, verify, usage, gc) match too.
    const viaHolder = await scenario(holder, 'h', files)
    const refH = await scenario(ref, 'h', refFiles)
    const viaClient = await scenario(client, 'c', files)
    const refC = await scenario(ref, 'c', refFiles)
    expect(holder.isHost).toBe(true)
    expect(client.isHost).toBe(false)
    expect(plain(viaHolder)).toEqual(plain(refH))
    expect(plain(viaClient)).toEqual(plain(refC))
    // And the results say what they should.
    expect((viaClient.t2again as { head: string }).head).toBe((viaClient.t2 as { head: string }).head)
    expect(viaClient.longForward as string[]).toHaveLength(LONG)
    expect((viaClient.longForward as string[]).map((s) => Number(s.split(':')[0]))).toEqual([...Array(LONG).keys()])
    expect(viaClient.longReverse).toEqual([...(viaClient.longForward as string[])].reverse())
    expect(viaClient.longRange).toEqual((viaClient.longForward as string[]).slice(100, 1101))
    expect(viaClient.longRangeReverse).toEqual((viaClient.longForward as string[]).slice(300, 1051).reverse())
    expect(viaClient.longTail).toEqual((viaClient.longForward as string[]).slice(1024))
    expect((viaClient.verifyAll as { ok: boolean }).ok).toBe(true)
    expect((viaClient.verifyEnd as { ok: boolean }).ok).toBe(true)
    expect((viaClient.imported as { entriesAdded: number }).entriesAdded).toBe(3)
    expect((viaClient.importedAgain as { entriesAdded: number }).entriesAdded).toBe(0)
    expect((viaClient.entryByPrefix as StoredEntry).hash).toBe((viaClient.t1 as { entries: { hash: string }[] }).entries[0]!.hash)
    // The holder and the client see the same store.
    expect(plain(await client.listSessions())).toEqual(plain(await holder.listSessions()))
    expect(plain(await collect(client, 'h-main'))).toEqual(plain(await collect(holder, 'h-main')))
    expect(plain(await client.restore('c-fork'))).toEqual(plain(await holder.restore('c-fork')))
    expect(plain(await client.readHead('h-main'))).toEqual(plain(await holder.readHead('h-main')))
  })

  it('typed errors cross the socket with their codes and data', async () => {
    const { holder, client } = await pair()
    const ref = await memStore()
    const failures = async (s: ChainlogStore) => {
      const { head } = await s.createSession({ sessionId: 'e', ts: TS })
      const next = await s.appendTurn('e', [user('one')], { expectedHead: head, ts: TS + 1 })
      const out: ChainlogError[] = []
      // head conflict: a different append after the old head
      out.push(await expectCode(s.appendTurn('e', [user('two')], { expectedHead: head, ts: TS + 2 }), ErrorCodes.HEAD_CONFLICT))
      out.push(await expectCode(s.restore('nope'), ErrorCodes.SESSION_NOT_FOUND))
      out.push(await expectCode(s.append('e', { kind: 'turn_end', turn: -1 } as EntryInput), ErrorCodes.INVALID_ENTRY))
      out.push(await expectCode(s.append('e', { kind: 'user_input', item: 'x' } as EntryInput, { expectedHead: 'abc' }), ErrorCodes.INVALID_ARGUMENT))
      out.push(await expectCode(s.getEntry('ffffffffffff'), ErrorCodes.ENTRY_NOT_FOUND))
      out.push(await expectCode(s.createSession({ sessionId: 'e' }), ErrorCodes.SESSION_EXISTS))
      out.push(await expectCode(s.importBundle(new Uint8Array([1, 2, 3])), ErrorCodes.INVALID_BUNDLE))
      out.push(await expectCode(collect(s, 'nope'), ErrorCodes.SESSION_NOT_FOUND))
      return { head, next: next.head, errors: out }
    }
    const viaClient = await failures(client)
    const viaRef = await failures(ref)
    const conflict = viaClient.errors[0]!
    expect(conflict.data).toMatchObject({ sessionId: 'e', expected: viaClient.head, actual: viaClient.next })
    expect(viaClient.errors[1]!.data).toMatchObject({ sessionId: 'nope' })
    expect(typeof viaClient.errors[2]!.data.path).toBe('string')
    expect(viaClient.errors[2]!.data.path).toMatch(/turn/)
    for (const [i, e] of viaClient.errors.entries()) {
      const want = viaRef.errors[i]!
      expect(e).toBeInstanceOf(ChainlogError)
      expect(e.name).toBe('ChainlogError')
      expect(e.code).toBe(want.code)
      expect(plain(e.data)).toEqual(plain(want.data))
      expect(e.message).toBe(want.message)
    }
    expect(holder.isHost).toBe(true)
    // The connection is still good after errors.
    expect(await client.head('e')).toBe(viaClient.next)
  })

  it('closing the holder makes the client take over; its next call works', async () => {
    const { dir, holder, client } = await pair()
    const { head } = await client.createSession({ sessionId: 'takeover', ts: TS })
    const a = await client.appendTurn('takeover', [user('before'), assistant('ok')], { expectedHead: head, ts: TS + 1 })
    await holder.close()
    expect(holder.isHost).toBe(false)
    const b = await client.appendTurn('takeover', [user('after'), assistant('ok')], { expectedHead: a.head, ts: TS + 2 })
    expect(client.isHost).toBe(true)
    expect(client.local).toBeDefined()
    const entries = await collect(client, 'takeover')
    expect(entries.map((e) => e.hash)).toEqual([head, ...a.entries.map((e) => e.hash), ...b.entries.map((e) => e.hash)])
    expect((await client.verify()).ok).toBe(true)
    // A newcomer now shares the store through the new holder.
    const third = await shared(dir)
    expect(third.isHost).toBe(false)
    expect(await third.head('takeover')).toBe(b.head)
    await expectCode(holder.head('takeover'), ErrorCodes.STORE_CLOSED)
  })

  it('calls in flight when the holder closes are still answered; then the client holds the store', async () => {
    const { holder, client } = await pair()
    const { head } = await client.createSession({ sessionId: 'inflight', ts: TS })
    const turn = [user('in flight'), assistant('answered')]
    const opts = { expectedHead: head, ts: TS + 1 }
    // Sent, but not yet read by the holder when it starts closing.
    const calls = [client.appendTurn('inflight', turn, opts), client.head('inflight'), client.listSessions(), client.verify()] as const
    const settled = Promise.allSettled(calls)
    await holder.close()
    const outcomes = await settled
    expect(outcomes.map((o) => (o.status === 'rejected' ? (o.reason as ChainlogError).code : 'ok'))).toEqual(['ok', 'ok', 'ok', 'ok'])
    const landed = (outcomes[0] as PromiseFulfilledResult<Awaited<(typeof calls)[0]>>).value
    // A retry with the same expectedHead and ts is answered by the new holder without a second write.
    const again = await client.appendTurn('inflight', turn, opts)
    expect(again.head).toBe(landed.head)
    expect(client.isHost).toBe(true)
    const entries = await collect(client, 'inflight')
    expect(entries.map((e) => e.hash)).toEqual([head, ...landed.entries.map((e) => e.hash)])
  })

  it('a retried append (same expectedHead and ts) lands once even after others appended', async () => {
    const { holder, client } = await pair()
    const { head } = await client.createSession({ sessionId: 'retry', ts: TS })
    const first = await client.appendTurn('retry', [user('mine'), assistant('ok')], { expectedHead: head, ts: TS + 1 })
    const other = await holder.appendTurn('retry', [user('theirs')], { expectedHead: first.head, ts: TS + 2 })
    // As if the first answer had been lost: the same call again.
    const again = await client.appendTurn('retry', [user('mine'), assistant('ok')], { expectedHead: head, ts: TS + 1 })
    expect(again.entries).toEqual(first.entries)
    expect(await client.head('retry')).toBe(other.head)
    // A different turn after the old head is a conflict, with both heads in data.
    const e = await expectCode(client.appendTurn('retry', [user('mine'), assistant('ok')], { expectedHead: head, ts: TS + 9 }), ErrorCodes.HEAD_CONFLICT)
    expect(e.data).toMatchObject({ expected: head, actual: other.head })
    expect(await collect(client, 'retry')).toHaveLength(4)
  })

  it('progress callbacks run in the holder (verify, exportSession) and are dropped in a client', async () => {
    const { dir, holder, client } = await pair()
    const { head } = await holder.createSession({ sessionId: 'progress', ts: TS })
    await holder.appendTurn('progress', [user('hi'), assistant('hello')], { expectedHead: head, ts: TS + 1 })
    const seen = { holderVerify: 0, holderExport: 0, holderExportFile: 0, clientVerify: 0, clientExport: 0 }
    expect((await holder.verify({ onProgress: () => void seen.holderVerify++ })).ok).toBe(true)
    const a = sink()
    await holder.exportSession('progress', a.stream, { onProgress: () => void seen.holderExport++ })
    await holder.exportSession('progress', join(dir + '-p.bundle'), { onProgress: () => void seen.holderExportFile++ })
    expect((await client.verify({ onProgress: () => void seen.clientVerify++ })).ok).toBe(true)
    const b = sink()
    await client.exportSession('progress', b.stream, { onProgress: () => void seen.clientExport++ })
    expect(seen).toEqual({ holderVerify: expect.any(Number), holderExport: 1, holderExportFile: 1, clientVerify: 0, clientExport: 0 })
    expect(seen.holderVerify).toBeGreaterThan(0)
    // The same session either way (the header's createdAt aside).
    const ra = await verifyBundle(a.bytes())
    const rb = await verifyBundle(b.bytes())
    expect(ra.ok && rb.ok).toBe(true)
    expect(rb.header!.sessions).toEqual(ra.header!.sessions)
  })

  it('a store whose socket path would be too long listens in the temp directory', async () => {
    const dir = join(root, 'l'.repeat(60), 'm'.repeat(60))
    const path = socketPathFor(dir)
    expect(path.startsWith(tmpdir())).toBe(true)
    expect(path).toMatch(/chainlog-[0-9a-f]{16}\.sock$/)
    const holder = await shared(dir)
    const client = await shared(dir)
    expect(holder.socketPath).toBe(path)
    expect(client.isHost).toBe(false)
    expect(existsSync(path)).toBe(true)
    const { head } = await client.createSession({ sessionId: 'long-path', ts: TS })
    expect(await holder.head('long-path')).toBe(head)
    await client.close()
    await holder.close()
    toClose.length = 0
    expect(existsSync(path)).toBe(false)
  })
})

// ---- reading through pages -------------------------------------------------------------------

const BIN = { keyEncoding: 'view', valueEncoding: 'view' } as const

/**
 * Tamper with a session behind the store's back: re-seal entries `from`..head so that entry
 * `from` links to a wrong prev and every later entry links to the re-sealed one before it.
 * Every record still hashes to its key; only the link into `from` is broken.
 */
async function breakLinkAt(store: Store, sessionId: string, from: number): Promise<void> {
  const head = (await store.readHead(sessionId))!
  const ops: { type: 'put'; key: Uint8Array; value: Uint8Array }[] = []
  let prev = fromHex('ab'.repeat(32))
  let last = prev
  for (let seq = from; seq <= head.seq; seq++) {
    const { entry } = openRecord((await store.db.get(K.recordKey(sessionId, seq), BIN)) as Uint8Array)
    const sealed = sealEntry(prev, entry)
    ops.push(...K.entryRows(sessionId, seq, sealed.hash, sealed.record))
    prev = sealed.hash
    last = sealed.hash
  }
  ops.push({ type: 'put', key: K.headKey(sessionId), value: K.withHead((await store.db.get(K.headKey(sessionId), BIN)) as Uint8Array, last, head.seq) })
  await store.db.batch(ops as never, BIN as never)
  store.invalidate(sessionId)
}

describe('durability across processes: a caller gets at least what it opened the store with', () => {
  /** The holder's commits, with whether each asked its engine to make it durable. */
  function recordCommits(holder: SharedStore): boolean[] {
    const engine = holder.local!.engine as { commit: (c: Commit) => Promise<void> }
    const commit = engine.commit.bind(engine)
    const seen: boolean[] = []
    engine.commit = (c) => {
      seen.push(c.sync === true)
      return commit(c)
    }
    return seen
  }

  it('a client opened with sync (the default) gets fsynced appends from a relaxed holder', async () => {
    const dir = join(root, `s${dirCount++}`)
    const holder = await shared(dir) // relaxed
    const client = (await openStore({ path: dir })) as SharedStore // durability: sync by default
    toClose.push(client)
    expect(client.isHost).toBe(false)
    const seen = recordCommits(holder)
    const { sessionId } = await client.createSession({ sessionId: 'durable-client', ts: TS })
    await client.appendTurn(sessionId, [{ role: 'user', content: 'hi' }], { ts: TS + 1 })
    expect(seen).toEqual([true, true])
    // The holder's own appends keep the holder's setting.
    await holder.appendTurn(sessionId, [{ role: 'user', content: 'again' }], { ts: TS + 2 })
    expect(seen).toEqual([true, true, false])
  })

  it('a relaxed client under a relaxed holder is not fsynced', async () => {
    const { holder, client } = await pair()
    const seen = recordCommits(holder)
    const { sessionId } = await client.createSession({ sessionId: 'relaxed-client', ts: TS })
    await client.appendTurn(sessionId, [{ role: 'user', content: 'hi' }], { ts: TS + 1 })
    expect(seen).toEqual([false, false])
  })

  it('a relaxed client under a sync holder is fsynced (the holder never weakens its own setting)', async () => {
    const dir = join(root, `s${dirCount++}`)
    const holder = (await openStore({ path: dir, durability: 'sync' })) as SharedStore
    toClose.push(holder)
    const client = await shared(dir) // relaxed
    const seen = recordCommits(holder)
    const { sessionId } = await client.createSession({ sessionId: 'sync-holder', ts: TS })
    await client.appendTurn(sessionId, [{ role: 'user', content: 'hi' }], { ts: TS + 1 })
    expect(seen).toEqual([true, true])
  })
})

describe('entries read through the socket are verified like local reads', () => {
  for (const [where, from, reverse] of [
    ['forward, at the first entry of the second page', 512, false],
    ['in reverse, at the first entry of the second page', 1, true],
  ] as const) {
    it(`a broken link ${where} is reported by a client too`, async () => {
      const { holder, client } = await pair()
      await holder.createSession({ sessionId: 'paged', ts: TS })
      const batch: EntryInput[] = []
      for (let i = 0; i < 512; i++) batch.push({ kind: 'custom', namespace: 'n', type: 't', data: { i }, ts: TS })
      await holder.appendMany('paged', batch)
      expect(await collect(client, 'paged', { reverse })).toHaveLength(513)
      await breakLinkAt(holder.local!, 'paged', from)
      // Read in the holding process's own Store: found.
      const local = await expectCode(collect(holder.local!, 'paged', { reverse }), ErrorCodes.CORRUPT_STORE)
      expect(local.data.sessionId).toBe('paged')
      // Read through the SharedStore, in the holder and in the client: found as well.
      await expectCode(collect(holder, 'paged', { reverse }), ErrorCodes.CORRUPT_STORE)
      await expectCode(collect(client, 'paged', { reverse }), ErrorCodes.CORRUPT_STORE)
      // Without verification the same entries read fine through the socket.
      expect(await collect(client, 'paged', { reverse, verify: false })).toHaveLength(513)
    })
  }
})

describe('entriesAt through the socket', () => {
  it('a client gets what the holder gets: the entries at the seqs asked, in that order, checked against the chain', async () => {
    const { holder, client } = await pair()
    expect(client.isHost).toBe(false)
    await holder.createSession({ sessionId: 'at', ts: TS })
    const batch: EntryInput[] = []
    for (let i = 0; i < 40; i++) batch.push({ kind: 'custom', namespace: 'n', type: 't', data: { i, key: { z: 1, a: [i, -0] } }, ts: TS })
    await client.appendMany('at', batch)
    const seqs = [40, 3, 17, 0]
    const viaClient = await client.entriesAt('at', seqs)
    expect(viaClient.map((e) => e.seq)).toEqual(seqs)
    expect(viaClient).toEqual(await holder.entriesAt('at', seqs))
    // The caller's data keeps its key order (z before a) and its -0 across the socket.
    expect(JSON.stringify((viaClient[1]!.entry as { data: unknown }).data)).toBe(JSON.stringify({ i: 2, key: { z: 1, a: [2, -0] } }))
    expect(Object.is((viaClient[1]!.entry as { data: { key: { a: number[] } } }).data.key.a[1], -0)).toBe(true)
    // Bad input and a broken chain come back as the same typed errors as in the holder.
    await expectCode(client.entriesAt('nope', [0]), ErrorCodes.SESSION_NOT_FOUND)
    await breakLinkAt(holder.local!, 'at', 17)
    await expectCode(holder.entriesAt('at', [16]), ErrorCodes.CORRUPT_STORE)
    await expectCode(client.entriesAt('at', [16]), ErrorCodes.CORRUPT_STORE)
  })
})

// ---- leases ---------------------------------------------------------------------------------

describe.each([
  ['the holder', 'holder'],
  ['a client', 'client'],
] as const)('leases held through %s', (_name, side) => {
  let dir: string
  let owner: SharedStore // where the lease is claimed
  let other: SharedStore // the other opener of the same store
  let head: string
  const sid = 'leased'

  beforeEach(async () => {
    const p = await pair()
    dir = p.dir
    owner = side === 'holder' ? p.holder : p.client
    other = side === 'holder' ? p.client : p.holder
    head = (await owner.createSession({ sessionId: sid, ts: TS })).head
    expect(owner.isHost).toBe(side === 'holder')
  })

  it('claim gives token 1; another owner gets LEASE_HELD; after expiry it claims token 2 and the old lease is stale', async () => {
    const a = await owner.claimSession(sid, { owner: 'A', ttlMs: 800 })
    expect(a).toMatchObject({ sessionId: sid, owner: 'A', token: 1 })
    expect(a.expiresAt).toBeGreaterThan(Date.now())
    const held = await expectCode(other.claimSession(sid, { owner: 'B', ttlMs: 1000 }), ErrorCodes.LEASE_HELD)
    expect(held.data).toMatchObject({ sessionId: sid, owner: 'A', expiresAt: a.expiresAt })
    // Appends with the lease work.
    const r = await owner.appendTurn(sid, [user('mine')], { lease: a, expectedHead: head, ts: TS + 1 })
    await sleep(a.expiresAt - Date.now() + 30)
    // Own lease, expired, nobody else claimed: expired.
    const expired = await expectCode(owner.append(sid, { kind: 'custom', namespace: 'n', type: 't' } as EntryInput, { lease: a }), ErrorCodes.LEASE_INVALID)
    expect(expired.data).toMatchObject({ sessionId: sid, token: 1, current: 1, reason: 'expired' })
    const b = await other.claimSession(sid, { owner: 'B', ttlMs: 10_000 })
    expect(b.token).toBe(2)
    const stale = await expectCode(owner.appendTurn(sid, [user('late')], { lease: a, expectedHead: r.head, ts: TS + 2 }), ErrorCodes.LEASE_INVALID)
    expect(stale.data).toMatchObject({ sessionId: sid, token: 1, current: 2, reason: 'stale' })
    expect(await owner.head(sid)).toBe(r.head)
    const byB = await other.appendTurn(sid, [user('B now')], { lease: b, expectedHead: r.head, ts: TS + 3 })
    expect(await owner.head(sid)).toBe(byB.head)
  })

  it('appends without a lease while one is held get LEASE_HELD, from either side', async () => {
    const a = await owner.claimSession(sid, { owner: 'A', ttlMs: 10_000 })
    for (const s of [owner, other]) {
      const e = await expectCode(s.appendTurn(sid, [user('sneaky')], { expectedHead: head, ts: TS + 1 }), ErrorCodes.LEASE_HELD)
      expect(e.data).toMatchObject({ sessionId: sid, owner: 'A', expiresAt: a.expiresAt })
      await expectCode(s.append(sid, { kind: 'custom', namespace: 'n', type: 't' } as EntryInput), ErrorCodes.LEASE_HELD)
    }
    expect(await owner.head(sid)).toBe(head)
    // The same owner claiming again is a new claim: a new token; the old one is stale.
    const again = await owner.claimSession(sid, { owner: 'A', ttlMs: 10_000 })
    expect(again.token).toBe(2)
    const stale = await expectCode(owner.append(sid, { kind: 'custom', namespace: 'n', type: 't' } as EntryInput, { lease: a }), ErrorCodes.LEASE_INVALID)
    expect(stale.data.reason).toBe('stale')
  })

  it('renew extends the lease past its first expiry', async () => {
    const a = await owner.claimSession(sid, { owner: 'A', ttlMs: 800 })
    const renewed = await owner.renewLease(a, { ttlMs: 5_000 })
    expect(renewed.token).toBe(a.token)
    expect(renewed.expiresAt).toBeGreaterThan(a.expiresAt)
    await sleep(a.expiresAt - Date.now() + 30)
    // Past the first expiry: still held, and the lease (old or renewed object: same token) works.
    await expectCode(other.claimSession(sid, { owner: 'B', ttlMs: 1000 }), ErrorCodes.LEASE_HELD)
    const r = await owner.appendTurn(sid, [user('still mine')], { lease: renewed, expectedHead: head, ts: TS + 1 })
    expect(r.entries).toHaveLength(1)
    // An expired lease cannot be renewed.
    const short = await owner.renewLease(renewed, { ttlMs: 50 })
    await sleep(short.expiresAt - Date.now() + 30)
    const e = await expectCode(owner.renewLease(short, { ttlMs: 5_000 }), ErrorCodes.LEASE_INVALID)
    expect(e.data.reason).toBe('expired')
  })

  it('after release, the released lease is LEASE_INVALID (released); others may append and claim', async () => {
    const a = await owner.claimSession(sid, { owner: 'A', ttlMs: 10_000 })
    await owner.releaseLease(a)
    const e = await expectCode(owner.appendTurn(sid, [user('after release')], { lease: a, expectedHead: head, ts: TS + 1 }), ErrorCodes.LEASE_INVALID)
    expect(e.data).toMatchObject({ sessionId: sid, token: 1, current: 1, reason: 'released' })
    await expectCode(owner.releaseLease(a), ErrorCodes.LEASE_INVALID)
    const free = await other.appendTurn(sid, [user('no lease needed')], { expectedHead: head, ts: TS + 2 })
    expect(free.entries).toHaveLength(1)
    const b = await other.claimSession(sid, { owner: 'B', ttlMs: 10_000 })
    expect(b.token).toBe(2)
  })

  it('fencing tokens only grow, across release and claim and across closing and reopening the store', async () => {
    const tokens: number[] = []
    for (let i = 0; i < 3; i++) {
      const l = await owner.claimSession(sid, { owner: i % 2 ? 'A' : 'B', ttlMs: 10_000 })
      tokens.push(l.token)
      await owner.releaseLease(l)
    }
    const last: Lease = await other.claimSession(sid, { owner: 'C', ttlMs: 10_000 })
    tokens.push(last.token)
    expect(tokens).toEqual([1, 2, 3, 4])
    // Close both openers; reopen the directory.
    for (const s of toClose.splice(0).reverse()) await s.close()
    const holder = await shared(dir)
    const client = await shared(dir)
    const reopened = side === 'holder' ? holder : client
    // The lease written before the close is still in force.
    await expectCode(reopened.claimSession(sid, { owner: 'D', ttlMs: 10_000 }), ErrorCodes.LEASE_HELD)
    const stillValid = await reopened.appendTurn(sid, [user('C after reopen')], { lease: last, expectedHead: head, ts: TS + 1 })
    expect(stillValid.entries).toHaveLength(1)
    await reopened.releaseLease(last)
    const next = await reopened.claimSession(sid, { owner: 'D', ttlMs: 10_000 })
    expect(next.token).toBe(5)
    const stale = await expectCode(reopened.append(sid, { kind: 'custom', namespace: 'n', type: 't' } as EntryInput, { lease: last }), ErrorCodes.LEASE_INVALID)
    expect(stale.data.reason).toBe('stale')
  })
})
