// Blobs in the store: large payloads are stored once however often sessions, forks and
// compactions repeat them, come back exactly as appended (text as strings, bytes as bytes),
// and references given by callers must name stored blobs. Counts and sizes are read from the
// LevelDB rows themselves (blob rows: key byte 0x42 'B' ‖ sha256(32)).
import { createHash } from 'node:crypto'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { BYTES_MEDIA_TYPE, TEXT_MEDIA_TYPE, isBlobRef, type BlobRef } from '../../src/blobs/blobs.js'
import { decodeCbor } from '../../src/encoding/cbor.js'
import { ErrorCodes } from '../../src/errors.js'
import { MAX_CHUNK, type StoredEntry } from '../../src/storage/session-store.js'
import { Store } from '../../src/store.js'
import { rejects } from '../support/errors.js'
import { prng, randomBytes } from '../support/random.js'
import { blobRows, dump, storedBytes, writeRows } from '../support/rows.js'
import { closeStores, entriesOf } from '../support/stores.js'
import { eachEngine } from '../support/engines.js'

const TS = 1_700_000_000_000
const BLOB_TAG = 0x42

const dirs: string[] = []
const reopened: Store[] = []
afterEach(() => closeStores(reopened, dirs))
eachEngine((engine, memStore) => {

  const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex')
  const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

  /** Items of the entries after genesis, in order (what the turns appended). */
  function itemsAfterGenesis(entries: StoredEntry[]): unknown[] {
    const out: unknown[] = []
    for (const { entry } of entries) {
      if (entry.kind === 'user_input') out.push(entry.item)
      else if (entry.kind === 'assistant_items' || entry.kind === 'tool_results' || entry.kind === 'hook_injected_items') out.push(...entry.items)
    }
    return out
  }

  /** Buffers (as the decoder gives byte strings) compared as plain Uint8Arrays. */
  function plain(v: unknown): unknown {
    if (v instanceof Uint8Array) return new Uint8Array(v)
    if (Array.isArray(v)) return v.map(plain)
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
    return v
  }

  /** A tool output like a file listing or a log: `bytes` long, deterministic per seed. */
  function payload(bytes: number, seed: number): string {
    const r = prng(seed)
    let s = ''
    let i = 0
    while (s.length < bytes) {
      s += `${String(i++).padStart(7, '0')} ${Math.floor(r() * 1e9).toString(36)} src/module-${Math.floor(r() * 500)}/file-${Math.floor(r() * 1e6)}.ts ok\n`
    }
    return s.slice(0, bytes)
  }

  const call = (id: string) => ({ type: 'function_call', call_id: id, name: 'cat', arguments: JSON.stringify({ path: `/var/log/${id}.log` }) })
  const result = (id: string, output: unknown) => ({ type: 'function_call_output', call_id: id, output })

  const P200K = payload(200_000, 1)

  describe('reading blobs back', () => {
    /** Point reads (get) and multi-reads (getMany) the store makes while `fn` runs. */
    async function countReads(store: Store, fn: () => Promise<unknown>): Promise<{ get: number; getMany: number; keys: number }> {
      const engine = store.engine
      const get = engine.get
      const getMany = engine.getMany
      const n = { get: 0, getMany: 0, keys: 0 }
      engine.get = (key) => (n.get++, get.call(engine, key))
      engine.getMany = (keys) => (n.getMany++, (n.keys += keys.length), getMany.call(engine, keys))
      try {
        await fn()
      } finally {
        engine.get = get
        engine.getMany = getMany
      }
      return n
    }

    async function sessionWithBlobs(store: Store, turns: number): Promise<{ sessionId: string; appended: unknown[] }> {
      const { sessionId } = await store.createSession({ ts: TS })
      const appended: unknown[] = []
      for (let i = 0; i < turns; i++) {
        const items = [call(`c${i}`), result(`c${i}`, payload(6_000, i + 1))]
        appended.push(...items)
        await store.appendTurn(sessionId, items, { ts: TS + i })
      }
      return { sessionId, appended }
    }

    it('fetches the blobs of a chunk of entries in one read, however many entries hold references', async () => {
      const store = await memStore()
      const small = await sessionWithBlobs(store, 5)
      const large = await sessionWithBlobs(store, 100)
      const reads: Record<string, { get: number; getMany: number; keys: number }> = {}
      for (const [name, s] of Object.entries({ small, large })) {
        reads[name] = await countReads(store, async () => {
          const state = await store.restore(s.sessionId)
          expect(state.history).toEqual(s.appended)
        })
      }
      // The records come with the range scan of the session; one read fetches their blobs (both
      // sessions fit in one chunk of MAX_CHUNK rows); the number of point reads is the same for 5
      // blob entries and for 100.
      expect(1 + 2 * 100).toBeLessThanOrEqual(MAX_CHUNK)
      expect(reads.large!.get).toBe(reads.small!.get)
      if (engine === 'classic-level') {
        // classic-level's iterator hands over what its buffer holds (bounded in bytes), so the
        // large session's 201 records come in a few chunks: still one blob read per chunk.
        expect(reads.large!.getMany).toBeLessThanOrEqual(4)
      } else {
        expect(reads.large!.getMany).toBe(reads.small!.getMany)
        expect(reads.large!.getMany).toBe(1)
      }
      // The blob read asked for every blob: 100 blobs in the large session.
      expect(reads.large!.keys).toBeGreaterThanOrEqual(100)
    })

    it('reports a blob missing from the store as CORRUPT_STORE when the entry is read', async () => {
      const store = await memStore()
      const { sessionId } = await sessionWithBlobs(store, 3)
      const [victim] = (await blobRows(store)).keys()
      await writeRows(store, [{ type: 'del', key: Uint8Array.from([BLOB_TAG, ...Buffer.from(victim!, 'hex')]) }])
      const err = await rejects(store.restore(sessionId), ErrorCodes.CORRUPT_STORE)
      expect(err.message).toContain(victim!)
      // Without resolving blobs, the entries (and their references) still read.
      expect((await entriesOf(store, sessionId, false)).length).toBe(7)
    })
  })

  describe('a payload repeated 100 times', () => {
    it('is stored once, and the session restores identically', async () => {
      const store = await memStore()
      const { sessionId } = await store.createSession({ sessionId: 'repeat', ts: TS })
      const appended: unknown[] = []
      for (let i = 0; i < 100; i++) {
        const items = [{ role: 'user', content: `show me the log again (${i})` }, call(`c${i}`), result(`c${i}`, P200K)]
        appended.push(...items)
        await store.appendTurn(sessionId, items, { ts: TS + i, turnEnd: true })
      }
      const blobs = await blobRows(store)
      expect([...blobs.keys()]).toEqual([sha(P200K)])
      // One copy at most (it is compressed), plus small entries: far below 100 copies (20 MB).
      const total = await storedBytes(store)
      expect(total).toBeLessThan(P200K.length + 100 * 2_000)
      expect(total).toBeLessThan((100 * 200_000) / 50)

      const state = await store.restore(sessionId)
      expect(state.history).toEqual(appended)
      expect(state.turnCount).toBe(100)
      expect(itemsAfterGenesis(await entriesOf(store, sessionId))).toEqual(appended)
      // What is hashed is the reference: each tool result entry holds the same small reference.
      const raw = await entriesOf(store, sessionId, false)
      const refs = raw.filter((e) => e.entry.kind === 'tool_results').map((e) => (e.entry as { items: { output: unknown }[] }).items[0]!.output)
      expect(refs).toHaveLength(100)
      for (const r of refs) expect(r).toEqual({ $blob: `sha256:${sha(P200K)}`, size: 200_000, mediaType: TEXT_MEDIA_TYPE })
      expect((await store.verify()).ok).toBe(true)
    })

    // Closed and opened again from its directory: LevelDB's own case, once.
    if (engine === 'classic-level') it('is stored once on classic-level too, and survives close and reopen', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'chainlog-blobs-'))
      dirs.push(dir)
      let store = await Store.open({ path: dir, durability: 'relaxed' })
      const { sessionId } = await store.createSession({ sessionId: 'disk', ts: TS })
      const appended: unknown[] = []
      for (let i = 0; i < 100; i++) {
        const items = [call(`c${i}`), result(`c${i}`, P200K)]
        appended.push(...items)
        await store.appendTurn(sessionId, items, { ts: TS + i })
      }
      const before = await store.restore(sessionId)
      await store.close()
      store = await Store.open({ path: dir, durability: 'relaxed' })
      reopened.push(store)
      expect([...(await blobRows(store)).keys()]).toEqual([sha(P200K)])
      expect(await storedBytes(store)).toBeLessThan(P200K.length + 100 * 2_000)
      const after = await store.restore(sessionId)
      expect(after).toEqual(before)
      expect(after.history).toEqual(appended)
      // A new append of the same payload after reopening still writes no second copy.
      await store.appendTurn(sessionId, [call('again'), result('again', P200K)], { ts: TS + 1000 })
      expect((await blobRows(store)).size).toBe(1)
      expect((await store.verify()).ok).toBe(true)
    })
  })

  describe('deduplication across sessions, forks and compactions', () => {
    it('stores an identical payload once wherever it appears', async () => {
      const store = await memStore()
      const P = payload(50_000, 2)
      await store.createSession({ sessionId: 'a', history: [{ role: 'user', content: P }], ts: TS })
      await store.appendTurn('a', [call('a1'), result('a1', P)], { ts: TS + 1, turnEnd: true })
      await store.createSession({ sessionId: 'b', ts: TS })
      await store.appendTurn('b', [call('b1'), result('b1', P)], { ts: TS + 2 })
      await store.appendCustom('b', 'com.example.agent', 'attachment', { file: P })
      const a = await entriesOf(store, 'a')
      await store.forkAt(a[1]!.hash, { sessionId: 'fork', ts: TS + 3 })
      await store.appendTurn('fork', [call('f1'), result('f1', P)], { ts: TS + 4 })
      await store.forkAt(a[2]!.hash, { sessionId: 'mat', materialize: true, ts: TS + 5 })
      await store.appendTurn('mat', [call('m1'), result('m1', P)], { ts: TS + 6 })
      await store.compact('a', { sessionId: 'comp', history: [{ role: 'user', content: `summary; the log was:\n${P}` }, { role: 'user', content: P }], ts: TS + 7 })
      await store.appendTurn('comp', [call('k1'), result('k1', P)], { ts: TS + 8 })

      const blobs = await blobRows(store)
      // P, and the compaction's summary (a different payload).
      expect(new Set(blobs.keys())).toEqual(new Set([sha(P), sha(`summary; the log was:\n${P}`)]))

      const fork = await store.restore('fork')
      expect(fork.history).toEqual([{ role: 'user', content: P }, call('a1'), call('f1'), result('f1', P)])
      const mat = await store.restore('mat')
      expect(mat.history).toEqual([{ role: 'user', content: P }, call('a1'), result('a1', P), call('m1'), result('m1', P)])
      // The materialised genesis carries references, not copies.
      const matGenesis = (await entriesOf(store, 'mat', false))[0]!.entry as { history: { content?: unknown; output?: unknown }[] }
      expect(isBlobRef(matGenesis.history[0]!.content)).toBe(true)
      expect(isBlobRef(matGenesis.history[2]!.output)).toBe(true)
      const comp = await store.restore('comp')
      expect(comp.history[1]).toEqual({ role: 'user', content: P })
      const custom = (await entriesOf(store, 'b')).find((e) => e.entry.kind === 'custom')!
      expect((custom.entry as { data: unknown }).data).toEqual({ file: P })
      expect((await store.verify()).ok).toBe(true)
    })
  })

  describe('reading references and content', () => {
    it('entries() gives references with resolveBlobs: false and content by default', async () => {
      const store = await memStore()
      const P = payload(10_000, 3)
      await store.createSession({ sessionId: 's', ts: TS })
      await store.appendTurn('s', [{ role: 'user', content: P }], { ts: TS + 1 })
      const [, byDefault] = await entriesOf(store, 's')
      const [, raw] = await entriesOf(store, 's', false)
      expect((byDefault!.entry as { item: unknown }).item).toEqual({ role: 'user', content: P })
      const r = (raw!.entry as { item: { content: BlobRef } }).item.content
      expect(isBlobRef(r)).toBe(true)
      expect(r).toEqual({ $blob: `sha256:${sha(P)}`, size: Buffer.byteLength(P, 'utf8'), mediaType: TEXT_MEDIA_TYPE })
      // Same entry, same hash: resolving changes what is returned, not what is stored.
      expect(raw!.hash).toBe(byDefault!.hash)
      const state = await store.restore('s', { resolveBlobs: false })
      expect(isBlobRef((state.history[0] as { content: unknown }).content)).toBe(true)
      // readBlob gives the content, checked against its hash.
      expect(Buffer.from(await store.readBlob(sha(P))).toString('utf8')).toBe(P)
      expect(await store.hasBlob(sha(P))).toBe(true)
      expect(await store.hasBlob(sha('not stored'))).toBe(false)
      await rejects(store.readBlob(sha('not stored')), ErrorCodes.CORRUPT_STORE)
    })

    it('gives byte payloads back as Uint8Array with the same bytes', async () => {
      const store = await memStore()
      const bytes = randomBytes(20_000, 4)
      const small = randomBytes(100, 5)
      const item = { type: 'function_call_output', call_id: 'img', output: { image: bytes, thumb: small } }
      await store.createSession({ sessionId: 's', ts: TS })
      await store.appendTurn('s', [call('img'), item], { ts: TS + 1 })
      const raw = await entriesOf(store, 's', false)
      const ref = (raw[2]!.entry as { items: { output: { image: unknown; thumb: unknown } }[] }).items[0]!.output.image
      expect(ref).toEqual({ $blob: `sha256:${sha(bytes)}`, size: 20_000, mediaType: BYTES_MEDIA_TYPE })
      const state = await store.restore('s')
      const out = (state.history[1] as typeof item).output
      expect(out.image).toBeInstanceOf(Uint8Array)
      expect(hex(out.image)).toBe(hex(bytes))
      expect(out.thumb).toBeInstanceOf(Uint8Array)
      expect(hex(out.thumb)).toBe(hex(small))
      expect(plain(state.history)).toEqual([call('img'), item])
      // A text payload with the same bytes as UTF-8 is a different reference (media type) but the same blob.
      const text = 'é'.repeat(5000)
      await store.appendTurn('s', [{ role: 'user', content: text }, { role: 'user', content: new Uint8Array(Buffer.from(text, 'utf8')) }], { ts: TS + 2 })
      expect((await blobRows(store)).size).toBe(2)
      const h = (await store.restore('s')).history
      expect((h[2] as { content: unknown }).content).toBe(text)
      expect((h[3] as { content: unknown }).content).toBeInstanceOf(Uint8Array)
      expect(Buffer.from((h[3] as { content: Uint8Array }).content).toString('utf8')).toBe(text)
    })
  })

  describe('appends that carry blobs', () => {
    it('an idempotent retry of a turn with a blob returns the same hashes and writes nothing', async () => {
      const store = await memStore()
      const P = payload(30_000, 6)
      const { head: head0 } = await store.createSession({ sessionId: 's', ts: TS })
      const items = [{ role: 'user', content: 'read it' }, call('c1'), result('c1', P)]
      const usage = { historyLength: 3, model: 'm', inputTokens: 10, cacheReadTokens: 0, cacheWriteTokens: 0, outputTokens: 5, reasoningTokens: 0 }
      const first = await store.appendTurn('s', items, { expectedHead: head0, ts: TS + 1, turnEnd: true, usage })
      const rows = await dump(store)
      const batches = store.engine.stats.batches
      const retry = await store.appendTurn('s', items, { expectedHead: head0, ts: TS + 1, turnEnd: true, usage })
      expect(retry.head).toBe(first.head)
      expect(retry.entries).toEqual(first.entries)
      expect(await dump(store)).toEqual(rows)
      expect(store.engine.stats.batches).toBe(batches)
      expect((await blobRows(store)).size).toBe(1)
      expect((await store.usage('s')).m!.calls).toBe(1)
      expect((await store.restore('s')).history).toEqual(items)
    })

    it('refuses a reference to a blob the store lacks, writing nothing', async () => {
      const store = await memStore()
      await store.createSession({ sessionId: 's', ts: TS })
      await store.appendTurn('s', [{ role: 'user', content: 'hello' }], { ts: TS + 1 })
      const rows = await dump(store)
      const missing: BlobRef = { $blob: `sha256:${sha('never stored')}`, size: 12, mediaType: TEXT_MEDIA_TYPE }
      const err = await rejects(store.appendTurn('s', [call('c'), result('c', { file: missing })], { ts: TS + 2 }), ErrorCodes.INVALID_ENTRY)
      // The path names the place of the reference (its exact spelling is not asserted here).
      expect(String(err.data.path)).toMatch(/items.*output\.file$/)
      expect(err.data.blob).toBe(sha('never stored'))
      // Also alongside a fresh blob in the same call: the fresh one is not written either.
      await rejects(store.appendTurn('s', [result('c', payload(9_000, 7)), result('d', missing)], { ts: TS + 3 }), ErrorCodes.INVALID_ENTRY)
      await rejects(store.append('s', { kind: 'user_input', item: { role: 'user', content: missing } }), ErrorCodes.INVALID_ENTRY)
      await rejects(store.createSession({ sessionId: 't', history: [{ role: 'user', content: missing }] }), ErrorCodes.INVALID_ENTRY)
      // A malformed reference is refused the same way.
      const bad = await rejects(store.appendTurn('s', [{ role: 'user', content: { $blob: 'sha256:xyz', size: 1, mediaType: TEXT_MEDIA_TYPE } }]), ErrorCodes.INVALID_ENTRY)
      expect(bad.data.path).toBe('item.content')
      expect(await dump(store)).toEqual(rows)
      expect(await store.head('s')).toBe((await entriesOf(store, 's')).at(-1)!.hash)
    })

    it('accepts a reference to a blob the store has, without storing it again', async () => {
      const store = await memStore()
      const P = payload(20_000, 8)
      await store.createSession({ sessionId: 'a', ts: TS })
      await store.appendTurn('a', [call('c'), result('c', P)], { ts: TS + 1 })
      const ref = ((await entriesOf(store, 'a', false))[2]!.entry as { items: { output: BlobRef }[] }).items[0]!.output
      await store.createSession({ sessionId: 'b', history: [{ role: 'user', content: ref }], ts: TS })
      await store.appendTurn('b', [{ role: 'user', content: ref }], { ts: TS + 2 })
      expect((await blobRows(store)).size).toBe(1)
      expect((await store.restore('b')).history).toEqual([
        { role: 'user', content: P },
        { role: 'user', content: P },
      ])
      expect((await store.verify()).ok).toBe(true)
    })

    it('refuses a large string with a lone surrogate, writing nothing', async () => {
      const store = await memStore()
      await store.createSession({ sessionId: 's', ts: TS })
      const rows = await dump(store)
      await rejects(store.appendTurn('s', [{ role: 'user', content: `\uDC00${'a'.repeat(10_000)}` }]), ErrorCodes.UNENCODABLE_VALUE)
      expect(await dump(store)).toEqual(rows)
    })
  })

  describe('options', () => {
    it('threshold 0 disables blobs: payloads stay inline and no blob rows are written', async () => {
      const store = await memStore({ blobs: { threshold: 0 } })
      await store.createSession({ sessionId: 's', history: [{ role: 'user', content: P200K }], ts: TS })
      await store.appendTurn('s', [call('c'), result('c', P200K), result('d', randomBytes(10_000, 9))], { ts: TS + 1 })
      expect((await blobRows(store)).size).toBe(0)
      const raw = await entriesOf(store, 's', false)
      expect((raw[0]!.entry as { history: { content: unknown }[] }).history[0]!.content).toBe(P200K)
      expect((raw[2]!.entry as { items: { output: unknown }[] }).items[0]!.output).toBe(P200K)
      expect((await store.restore('s')).history[2]).toEqual(result('c', P200K))
    })

    it('a custom threshold applies at exactly threshold + 1 UTF-8 bytes', async () => {
      const store = await memStore({ blobs: { threshold: 100 } })
      await store.createSession({ sessionId: 's', ts: TS })
      await store.appendTurn('s', [{ role: 'user', content: 'a'.repeat(100) }, { role: 'user', content: 'é'.repeat(51) }], { ts: TS + 1 })
      const raw = await entriesOf(store, 's', false)
      expect((raw[1]!.entry as { item: { content: unknown } }).item.content).toBe('a'.repeat(100))
      expect((raw[2]!.entry as { item: { content: unknown } }).item.content).toEqual({ $blob: `sha256:${sha('é'.repeat(51))}`, size: 102, mediaType: TEXT_MEDIA_TYPE })
      expect([...(await blobRows(store)).keys()]).toEqual([sha('é'.repeat(51))])
    })

    it('byte strings stored out of line come back as plain Uint8Arrays under every profile', async () => {
      const bytes = new Uint8Array(64_000).map((_, i) => i % 7)
      for (const profile of ['low-latency', 'balanced', 'compact'] as const) {
        const store = await memStore({ blobs: { profile } })
        await store.createSession({ sessionId: 's', ts: TS })
        await store.appendTurn('s', [{ role: 'user', content: 'see attachment', data: bytes }], { ts: TS + 1 })
        const back = ((await store.restore('s')).history[0] as { data: Uint8Array }).data
        expect(back.constructor, profile).toBe(Uint8Array)
        expect(back, profile).toEqual(bytes)
        const codec = (decodeCbor([...(await blobRows(store)).values()][0]!) as { codec: string }).codec
        expect(codec, profile).toBe(profile === 'low-latency' ? 'raw' : 'br')
      }
    })

    it("'low-latency' (a store directory's default) stores blobs raw; 'balanced' (the default elsewhere) and 'compact' compress text", async () => {
      const fast = await memStore({ blobs: { profile: 'low-latency' } })
      const balanced = await memStore({ blobs: { profile: 'balanced' } })
      const compact = await memStore({ blobs: { profile: 'compact' } })
      expect((await memStore()).blobProfile).toBe(engine === 'classic-level' ? 'low-latency' : 'balanced')
      for (const store of [fast, balanced, compact]) {
        await store.createSession({ sessionId: 's', ts: TS })
        await store.appendTurn('s', [call('c'), result('c', P200K)], { ts: TS + 1 })
        expect((await store.restore('s')).history[1]).toEqual(result('c', P200K))
      }
      const stored = async (store: Store) => decodeCbor([...(await blobRows(store)).values()][0]!) as { codec: string; size: number; data: Uint8Array }
      const raw = await stored(fast)
      expect(raw.codec).toBe('raw')
      expect(raw.size).toBe(200_000)
      expect(Buffer.from(raw.data).toString('utf8')).toBe(P200K)
      const br = await stored(balanced)
      expect(br.codec).toBe('br')
      expect(br.data.length).toBeLessThan(200_000 * 0.9)
      expect((await stored(compact)).codec).toBe('br')
      expect(await storedBytes(balanced)).toBeLessThan(await storedBytes(fast))
    })
  })
})
