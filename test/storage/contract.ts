// The session store contract: one suite, run against every backend (memory.test.ts,
// classic.test.ts). Expected hashes and states are computed here, in memory and independently
// of the store (SHA-256 by node:crypto over the documented domain ‖ prev ‖ canonical bytes;
// states by the pure reducer over the entries we expect), and compared with what the store says.
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { encodeCanonical } from '../../src/encoding/cbor.js'
import { ChainlogError, ErrorCodes, type ErrorCode } from '../../src/errors.js'
import type { Entry, Usage } from '../../src/schema/entry.js'
import { reduceEntries, type ChainedEntry, type SessionState } from '../../src/state/reducer.js'
import * as K from '../../src/storage/keys.js'
import { STORE_FORMAT_VERSION } from '../../src/storage/session-store.js'
import type { Store } from '../../src/store.js'
import { dump, writeRows } from '../support/rows.js'
import { reEncodedFigures } from '../support/figures.js'
import { chainHash, entryBytesV2, recordHash } from '../support/entry-spec.js'

/** One backend: `open` a fresh store; `reopen` the same data after the last store was closed. */
export interface StoreHandle {
  open(): Promise<Store>
  reopen?(): Promise<Store>
  cleanup(): Promise<void>
}

export type StoreFactory = () => StoreHandle

// ---- independent oracles --------------------------------------------------------------------

const sha = (...parts: Buffer[]): Buffer => createHash('sha256').update(Buffer.concat(parts)).digest()
/** RFC 9162 MTH over hex entry hashes, written out recursively (node:crypto). */
function mth(hashes: readonly string[]): Buffer {
  if (hashes.length === 1) return sha(Buffer.of(0), Buffer.from(hashes[0]!, 'hex'))
  let k = 1
  while (k * 2 < hashes.length) k *= 2
  return sha(Buffer.of(1), mth(hashes.slice(0, k)), mth(hashes.slice(k)))
}
export const mthHex = (hashes: readonly string[]): string => mth(hashes).toString('hex')

/**
 * The tree row leaf `i` should have (docs/storage.md section 1, store format 3): at a leaf that
 * completes a node of level 3 or more (i mod 8 = 7), the nodes of levels 1..t it completes.
 */
export function expectedTreeRow(hashes: readonly string[], i: number): string | undefined {
  if (i % 8 !== 7) return undefined
  let out = ''
  for (let w = 2; (i + 1) % w === 0; w *= 2) out += mthHex(hashes.slice(i + 1 - w, i + 1))
  return out
}

const ZERO = '0'.repeat(64)
const BIN = { keyEncoding: 'view', valueEncoding: 'view' } as const

export { chainHash }

/** A session's chain as we expect it, built in memory. */
export class Chain {
  readonly entries: ChainedEntry[] = []
  turnCount = 0
  get head(): string {
    return this.entries[this.entries.length - 1]?.hash ?? ZERO
  }
  push(entry: Record<string, unknown>): string {
    const hash = chainHash(this.head, entry)
    this.entries.push({ hash, entry: entry as Entry })
    if (entry.kind === 'turn_end') this.turnCount = entry.turn as number
    return hash
  }
  state(upTo = this.entries.length): SessionState {
    return reduceEntries(this.entries.slice(0, upTo))
  }
}

/** The genesis createSession writes for these inputs. */
function genesisOf(sessionId: string, ts: number, extra: { systemPrompt?: string; config?: object; history?: unknown[] } = {}): Record<string, unknown> {
  const g: Record<string, unknown> = { kind: 'session_start', ts, sessionId, config: extra.config ?? {}, history: extra.history ?? [] }
  if (extra.systemPrompt !== undefined) g.systemPrompt = extra.systemPrompt
  return g
}

type GroupKind = 'user_input' | 'assistant_items' | 'tool_results' | 'hook_injected_items'
interface Tagged {
  group: GroupKind
  item: unknown
}

/** The entries appendTurn must write for items whose group is known (the spec, restated). */
function expectedGroups(items: readonly Tagged[], ts: number): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = []
  for (const { group, item } of items) {
    if (group === 'user_input') {
      out.push({ kind: 'user_input', ts, item })
      continue
    }
    const last = out[out.length - 1]
    if (last && last.kind === group) (last.items as unknown[]).push(item)
    else out.push({ kind: group, ts, items: [item] })
  }
  return out
}

// ---- item fixtures (each with the group the spec puts it in) ------------------------------

const userMsg = (text: string) => ({ role: 'user', content: text })
const asstMsg = (text: string) => ({ type: 'message', role: 'assistant', content: [{ type: 'output_text', text }] })
const fnCall = (id: string) => ({ type: 'function_call', call_id: id, name: 'ls', arguments: '{"path":"."}' })
const toolUse = (id: string) => ({ type: 'tool_use', id, name: 'bash', input: { cmd: 'ls' } })
const reasoning = (text: string) => ({ type: 'reasoning', summary: [{ type: 'summary_text', text }] })
const fnOutput = (id: string, output: string) => ({ type: 'function_call_output', call_id: id, output })
const anthropicResults = (id: string) => ({ role: 'user', content: [{ type: 'tool_result', tool_use_id: id, content: 'ok' }] })
const systemNote = (text: string) => ({ role: 'system', content: text })

const usage = (model: string, n: number): Usage => ({
  historyLength: n,
  model,
  inputTokens: 100 * n,
  cacheReadTokens: 10 * n,
  cacheWriteTokens: 5 * n,
  outputTokens: 20 * n,
  reasoningTokens: n,
})

const scalar = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
)
const payload = fc.oneof(
  scalar,
  fc.array(scalar, { maxLength: 4 }),
  fc.record({ a: scalar, b: fc.array(scalar, { maxLength: 3 }), nested: fc.record({ x: scalar }) }),
)
const text = fc.string({ maxLength: 16 })
const id = fc.stringMatching(/^c[0-9]{1,3}$/)

const taggedItem: fc.Arbitrary<Tagged> = fc.oneof(
  text.map((t) => ({ group: 'user_input' as const, item: userMsg(t) })),
  text.map((t) => ({ group: 'assistant_items' as const, item: asstMsg(t) })),
  id.map((c) => ({ group: 'assistant_items' as const, item: fnCall(c) })),
  id.map((c) => ({ group: 'assistant_items' as const, item: toolUse(c) })),
  text.map((t) => ({ group: 'assistant_items' as const, item: reasoning(t) })),
  fc.tuple(id, payload).map(([c, p]) => ({ group: 'tool_results' as const, item: { ...fnOutput(c, 'x'), output: p } })),
  id.map((c) => ({ group: 'tool_results' as const, item: anthropicResults(c) })),
  text.map((t) => ({ group: 'hook_injected_items' as const, item: systemNote(t) })),
  payload.map((p) => ({ group: 'hook_injected_items' as const, item: { type: 'x_custom_event', payload: p } })),
  text.map((t) => ({ group: 'hook_injected_items' as const, item: t })),
)

type Op =
  | { t: 'turn'; items: Tagged[]; usage: number; turnEnd: 'none' | 'next' | number }
  | { t: 'entry'; entry: Record<string, unknown> }

const usageArb = fc.record({
  historyLength: fc.nat(1000),
  model: fc.constantFrom('m1', 'm2'),
  inputTokens: fc.nat(10_000),
  cacheReadTokens: fc.nat(10_000),
  cacheWriteTokens: fc.nat(10_000),
  outputTokens: fc.nat(10_000),
  reasoningTokens: fc.nat(10_000),
})

const entryArb: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  text.map((t) => ({ kind: 'user_input', item: userMsg(t) })),
  fc.array(taggedItem, { minLength: 1, maxLength: 3 }).map((xs) => ({ kind: 'hook_injected_items', items: xs.map((x) => x.item) })),
  fc.nat(50).map((turn) => ({ kind: 'turn_end', turn })),
  fc.constantFrom('finished', 'paused', 'limit_reached', 'yielded').map((status) => ({ kind: 'run_outcome', status, interrupted: false })),
  text.map((message) => ({ kind: 'run_outcome', status: 'error', message, interrupted: true })),
  usageArb.map((u) => ({ kind: 'llm_usage', ...u })),
  fc.nat(20).map((prefixLength) => ({ kind: 'cache_locked', prefixLength })),
  fc.constant({ kind: 'cache_unlocked' }),
  fc.record({ model: fc.constantFrom('m1', 'm2'), temperature: fc.double({ min: 0, max: 2, noNaN: true }) }).map((config) => ({ kind: 'config_changed', config })),
  payload.map((data) => ({ kind: 'custom', namespace: 'com.example.agent', type: 'note', data })),
)

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ t: fc.constant('turn' as const), items: fc.array(taggedItem, { maxLength: 6 }), usage: fc.nat(2), turnEnd: fc.oneof(fc.constant('none' as const), fc.constant('next' as const), fc.nat(30)) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('entry' as const), entry: entryArb }) },
)

// ---- helpers --------------------------------------------------------------------------------

async function codeOf(fn: () => Promise<unknown>): Promise<ChainlogError> {
  let result: unknown
  try {
    result = await fn()
  } catch (err) {
    expect(err).toBeInstanceOf(ChainlogError)
    return err as ChainlogError
  }
  throw new Error(`expected a ChainlogError, got a result: ${JSON.stringify(result)}`)
}

async function expectCode(fn: () => Promise<unknown>, code: ErrorCode): Promise<ChainlogError> {
  const err = await codeOf(fn)
  expect(err.code, err.message).toBe(code)
  return err
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

async function all(store: Store, sessionId: string, options: Parameters<Store['entries']>[1] = {}) {
  const out = []
  for await (const e of store.entries(sessionId, options)) out.push(e)
  return out
}

/** Read a whole chain with verification on and check it link by link against our oracle. */
async function expectIntact(store: Store, sessionId: string): Promise<string[]> {
  const es = await all(store, sessionId, { verify: true })
  let prev = ZERO
  for (const [i, e] of es.entries()) {
    expect(e.seq).toBe(i)
    expect(e.prev).toBe(prev)
    // The stored record is prev ‖ entry bytes, under its session and seq, and hashes to the hash the chain gives it.
    const record = (await store.getRaw(K.recordKey(sessionId, i)))!
    expect(hex(record.subarray(0, 32))).toBe(prev)
    expect(recordHash(record)).toBe(e.hash)
    prev = e.hash
  }
  expect(es[0]?.entry.kind).toBe('session_start')
  expect(await store.head(sessionId)).toBe(prev)
  return es.map((e) => e.hash)
}

const T0 = 1_700_000_000_000

/** `n` custom entries with timestamps from `ts` on, to pad a session (appendMany: one commit). */
const pads = (ts: number, n: number) => Array.from({ length: n }, (_, k) => ({ kind: 'custom' as const, ts: ts + k, namespace: 'test', type: 'pad' }))

// ---- the suite ------------------------------------------------------------------------------

export function storeContract(name: string, factory: StoreFactory): void {
  describe(`session store contract: ${name}`, () => {
    let h: StoreHandle
    let store: Store
    const opened: Store[] = []
    const open = async (): Promise<Store> => {
      const s = await h.open()
      opened.push(s)
      return s
    }
    const reopen = async (): Promise<Store> => {
      if (!h.reopen) throw new Error('this backend cannot reopen')
      await store.close()
      const s = await h.reopen()
      opened.push(s)
      return s
    }

    beforeEach(async () => {
      h = factory()
      store = await open()
    })

    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close().catch(() => undefined)
      await h.cleanup()
    })

    describe('createSession', () => {
      it('writes a genesis that binds the session id, in one batch, and restores to an empty state', async () => {
        const b0 = store.engine.stats.batches
        const input = { sessionId: 'sess-1', systemPrompt: 'be brief', config: { model: 'm1', tools: ['ls'] }, history: [userMsg('hi')], ts: T0 }
        const r = await store.createSession(input)
        expect(store.engine.stats.batches - b0).toBe(1)
        expect(r.sessionId).toBe('sess-1')
        const chain = new Chain()
        expect(r.head).toBe(chain.push(genesisOf('sess-1', T0, input)))
        expect(await store.head('sess-1')).toBe(r.head)
        const state = await store.restore('sess-1')
        expect(state).toEqual(chain.state())
        expect(state).toMatchObject({ sessionId: 'sess-1', systemPrompt: 'be brief', history: [userMsg('hi')], turnCount: 0, length: 1, head: r.head })

        // Same content, other id: another genesis hash.
        const other = await store.createSession({ ...input, sessionId: 'sess-2' })
        expect(other.head).not.toBe(r.head)
      })

      it('defaults to a UUIDv7 id, empty config and history, ts now', async () => {
        const before = Date.now()
        const r = await store.createSession()
        expect(r.sessionId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
        const g = await store.getEntry(r.head)
        expect(g).toMatchObject({ sessionId: r.sessionId, seq: 0, prev: ZERO, hash: r.head })
        expect(g.entry).toEqual({ kind: 'session_start', ts: g.entry.ts, sessionId: r.sessionId, config: {}, history: [] })
        expect(g.entry.ts).toBeGreaterThanOrEqual(before)
        expect(g.entry.ts).toBeLessThanOrEqual(Date.now())
        expect(chainHash(ZERO, g.entry)).toBe(r.head)
      })

      it('refuses an existing or invalid session id and writes nothing', async () => {
        await store.createSession({ sessionId: 'dup', ts: T0 })
        const before = await dump(store)
        const b0 = store.engine.stats.batches
        const e = await expectCode(() => store.createSession({ sessionId: 'dup', ts: T0 + 1 }), ErrorCodes.SESSION_EXISTS)
        expect(e.data.sessionId).toBe('dup')
        await expectCode(() => store.createSession({ sessionId: 'has space' }), ErrorCodes.INVALID_ENTRY)
        await expectCode(() => store.createSession({ sessionId: '' }), ErrorCodes.INVALID_ENTRY)
        await expectCode(() => store.createSession({ sessionId: 'x', history: [undefined] }), ErrorCodes.INVALID_ENTRY)
        await expectCode(() => store.createSession({ sessionId: 'y', config: { bad: NaN } }), ErrorCodes.UNENCODABLE_VALUE)
        expect(await dump(store)).toEqual(before)
        expect(store.engine.stats.batches).toBe(b0)
      })

      it('concurrent creates of one id: exactly one wins', async () => {
        const rs = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => store.createSession({ sessionId: 'race', ts: T0 + i })))
        expect(rs.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
        for (const r of rs) if (r.status === 'rejected') expect((r.reason as ChainlogError).code).toBe(ErrorCodes.SESSION_EXISTS)
        expect(await expectIntact(store, 'race')).toHaveLength(1)
      })
    })

    describe('append and the helpers', () => {
      it('append returns consecutive seqs and the chain hash, and moves the head', async () => {
        const chain = new Chain()
        chain.push(genesisOf('s', T0))
        await store.createSession({ sessionId: 's', ts: T0 })
        const bodies: Record<string, unknown>[] = [
          { kind: 'user_input', ts: T0 + 1, item: userMsg('hello') },
          { kind: 'assistant_items', ts: T0 + 2, items: [asstMsg('hi'), fnCall('c1')] },
          { kind: 'tool_results', ts: T0 + 3, items: [fnOutput('c1', 'a b')] },
          { kind: 'hook_injected_items', ts: T0 + 4, items: [systemNote('remember')] },
          { kind: 'turn_end', ts: T0 + 5, turn: 1 },
        ]
        for (const [i, body] of bodies.entries()) {
          const b0 = store.engine.stats.batches
          const r = await store.append('s', body as never)
          expect(store.engine.stats.batches - b0).toBe(1)
          expect(r).toEqual({ seq: i + 1, hash: chain.push(body) })
          expect(await store.head('s')).toBe(r.hash)
        }
        expect(await store.restore('s')).toEqual(chain.state())
      })

      it('append fills in ts when it is left out', async () => {
        await store.createSession({ sessionId: 's', ts: T0 })
        const before = Date.now()
        const r = await store.append('s', { kind: 'cache_unlocked' })
        const e = await store.getEntry(r.hash)
        expect(e.entry.ts).toBeGreaterThanOrEqual(before)
        expect(e.entry.ts).toBeLessThanOrEqual(Date.now())
      })

      it('helpers write the entries they name, and the state follows', async () => {
        await store.createSession({ sessionId: 's', ts: T0, config: { model: 'm0' } })
        const chain = new Chain()
        chain.push(genesisOf('s', T0, { config: { model: 'm0' } }))
        const steps: [() => Promise<{ hash: string; seq: number }>, Record<string, unknown>][] = [
          [() => store.appendTurnEnd('s', 4), { kind: 'turn_end', turn: 4 }],
          [() => store.appendUsage('s', usage('m1', 2)), { kind: 'llm_usage', ...usage('m1', 2) }],
          [() => store.appendUsage('s', usage('m1', 3)), { kind: 'llm_usage', ...usage('m1', 3) }],
          [() => store.changeConfig('s', { model: 'm2', tools: [] }), { kind: 'config_changed', config: { model: 'm2', tools: [] } }],
          [() => store.recordOutcome('s', { status: 'paused' }), { kind: 'run_outcome', status: 'paused', interrupted: false }],
          [() => store.recordOutcome('s', { status: 'error', message: 'boom', interrupted: true }), { kind: 'run_outcome', status: 'error', message: 'boom', interrupted: true }],
          [() => store.lockCache('s', 7), { kind: 'cache_locked', prefixLength: 7 }],
          [() => store.unlockCache('s'), { kind: 'cache_unlocked' }],
          [() => store.lockCache('s', 3), { kind: 'cache_locked', prefixLength: 3 }],
          [() => store.appendCustom('s', 'com.example.agent', 'checkpoint', { n: 1, tags: ['a'] }), { kind: 'custom', namespace: 'com.example.agent', type: 'checkpoint', data: { n: 1, tags: ['a'] } }],
          [() => store.appendCustom('s', 'com.example.agent', 'ping'), { kind: 'custom', namespace: 'com.example.agent', type: 'ping' }],
        ]
        for (const [i, [call, body]] of steps.entries()) {
          const r = await call()
          expect(r.seq).toBe(i + 1)
          const stored = await store.getEntry(r.hash)
          expect(stored.entry).toEqual({ ...body, ts: stored.entry.ts })
          expect(r.hash).toBe(chain.push({ ...body, ts: stored.entry.ts }))
          expect(await store.head('s')).toBe(r.hash)
        }
        const state = await store.restore('s')
        expect(state).toEqual(chain.state())
        expect(state).toMatchObject({
          turnCount: 4,
          config: { model: 'm2', tools: [] },
          lastOutcome: { status: 'error', message: 'boom', interrupted: true },
          cacheLockedPrefix: 3,
          usage: [usage('m1', 2), usage('m1', 3)],
          length: steps.length + 1,
        })
        expect(state.usageTotals.m1).toEqual({ calls: 2, inputTokens: 500, cacheReadTokens: 50, cacheWriteTokens: 25, outputTokens: 100, reasoningTokens: 5 })
      })

      it('one append writes exactly its record, hash index row and session row (head ‖ meta), and the tree row at the end of each 8 entries', async () => {
        await store.createSession({ sessionId: 'k', ts: T0 })
        const before = new Map(await dump(store))
        const r = await store.append('k', { kind: 'turn_end', ts: T0 + 1, turn: 1 })
        const after = new Map(await dump(store))
        const changed = [...after].filter(([k, v]) => before.get(k) !== v).map(([k]) => k)
        const hashBytes = Buffer.from(r.hash, 'hex')
        const expected = [K.recordKey('k', 1), K.hashKey(hashBytes), K.headKey('k')].map(hex)
        expect(changed.sort()).toEqual(expected.sort())
        expect([...before.keys()].filter((k) => !after.has(k))).toEqual([])
        // The values, byte for byte.
        const genesis = (await store.getEntry(r.hash)).prev
        expect(after.get(hex(K.hashKey(hashBytes)))).toBe('0000000000000001' + Buffer.from('k').toString('hex'))
        // The session row: the head, then the canonical CBOR of the metadata (store format 4).
        const meta = await store.readMeta('k')
        expect(meta).toMatchObject({ createdAt: T0, updatedAt: T0 + 1 })
        expect(after.get(hex(K.headKey('k')))).toBe(r.hash + '0000000000000001' + hex(encodeCanonical(meta)))
        const record = after.get(hex(K.recordKey('k', 1)))!
        expect(record).toBe(genesis + hex(entryBytesV2({ kind: 'turn_end', ts: T0 + 1, turn: 1 })))
        expect(recordHash(Buffer.from(record, 'hex'))).toBe(r.hash)
        // The format row was written when the store was created.
        expect(after.get(hex(K.formatKey()))).toBe(hex(encodeCanonical({ version: STORE_FORMAT_VERSION })))
        // Leaf 7 completes nodes of levels 1, 2 and 3: the append of seq 7 also writes its tree row.
        const hashes = [genesis, r.hash]
        for (let i = 2; i <= 6; i++) hashes.push((await store.append('k', { kind: 'turn_end', ts: T0 + i, turn: i })).hash)
        const before7 = new Map(await dump(store))
        const r7 = await store.append('k', { kind: 'turn_end', ts: T0 + 7, turn: 7 })
        hashes.push(r7.hash)
        const after7 = new Map(await dump(store))
        const changed7 = [...after7].filter(([k, v]) => before7.get(k) !== v).map(([k]) => k)
        expect(changed7.sort()).toEqual([K.recordKey('k', 7), K.hashKey(Buffer.from(r7.hash, 'hex')), K.headKey('k'), K.treeKey('k', 7)].map(hex).sort())
        expect(after7.get(hex(K.treeKey('k', 7)))).toBe(mthHex(hashes.slice(6, 8)) + mthHex(hashes.slice(4, 8)) + mthHex(hashes))
      })
      it('a batch that fails leaves no trace: heads and caches do not move', async () => {
        const { head: h0 } = await store.createSession({ sessionId: 'f', ts: T0 })
        // The engine's next commit fails (a full disk, a lost connection): as if its write failed.
        const engine = store.engine
        const real = engine.commit
        const failNextBatch = () => {
          engine.commit = function () {
            engine.commit = real
            return Promise.reject(new Error('disk full'))
          }
        }
        const before = await dump(store)
        failNextBatch()
        const turn = () => store.appendTurn('f', [userMsg('lost')], { ts: T0 + 1, usage: usage('m1', 1), turnEnd: true, expectedHead: h0 })
        await expect(turn()).rejects.toThrow('disk full')
        expect(await dump(store)).toEqual(before)
        expect(await store.head('f')).toBe(h0)
        expect((await store.listSessions())[0]).toMatchObject({ length: 1, head: h0, counts: { user: 0 } })
        // The same turn again lands where the failed one would have, as if it never happened.
        const r = await turn()
        const chain = new Chain()
        chain.push(genesisOf('f', T0))
        for (const e of [
          { kind: 'user_input', ts: T0 + 1, item: userMsg('lost') },
          { kind: 'llm_usage', ts: T0 + 1, ...usage('m1', 1) },
          { kind: 'turn_end', ts: T0 + 1, turn: 1 },
        ]) chain.push(e)
        expect(r.entries).toEqual(chain.entries.slice(1).map((e, i) => ({ seq: i + 1, hash: e.hash })))
        expect(await store.restore('f')).toEqual(chain.state())
        expect((await store.listSessions())[0]).toMatchObject({ length: 4, head: r.head, firstUserMessage: 'lost', counts: { user: 1 } })

        // Several sessions' appends in flight: those whose batch failed left nothing behind.
        const ids = ['g1', 'g2', 'g3', 'g4']
        for (const sid of ids) await store.createSession({ sessionId: sid, ts: T0 })
        failNextBatch()
        const rs = await Promise.allSettled(ids.map((sid) => store.appendTurn(sid, [userMsg(sid)], { ts: T0 + 1 })))
        expect(rs.some((x) => x.status === 'rejected')).toBe(true)
        for (const [i, sid] of ids.entries()) {
          const hashes = await expectIntact(store, sid)
          const res = rs[i]!
          if (res.status === 'fulfilled') expect(hashes).toEqual([hashes[0], res.value.head])
          else expect(hashes).toHaveLength(1)
          // Either way the next append follows on from what is stored.
          const next = await store.appendTurn(sid, [userMsg('again')], { ts: T0 + 2, expectedHead: hashes[hashes.length - 1] })
          expect(next.entries[0]!.seq).toBe(hashes.length)
        }
      })

      it('the usage ledger only counts usage that landed, even when a batch fails', async () => {
        const ids = ['u1', 'u2', 'u3', 'u4']
        for (const sid of ids) await store.createSession({ sessionId: sid, ts: T0 })
        const engine = store.engine
        const real = engine.commit
        const u = (n: number): Usage => ({ ...usage('m1', 1), inputTokens: n })
        for (let round = 0; round < 3; round++) {
          engine.commit = function () {
            engine.commit = real
            return Promise.reject(new Error('disk full'))
          }
          const rs = await Promise.allSettled(ids.map((sid, i) => store.appendTurn(sid, [userMsg(`r${round}`)], { ts: T0 + round, usage: u(10 ** i), turnEnd: true })))
          // Only the failed batch's own appends fail, and with its error (as CHAINLOG_IO's cause).
          for (const r of rs) {
            if (r.status === 'rejected') {
              expect((r.reason as { code?: string }).code).toBe('CHAINLOG_IO')
              expect(((r.reason as Error).cause as Error).message).toBe('disk full')
            }
          }
          expect(rs.some((r) => r.status === 'rejected')).toBe(true)
          // Per session and store-wide, the ledger equals what the chains say.
          let sum = 0
          for (const sid of ids) {
            const fromChain = (await store.restore(sid)).usageTotals.m1?.inputTokens ?? 0
            expect((await store.usage(sid)).m1?.inputTokens ?? 0).toBe(fromChain)
            sum += fromChain
          }
          expect((await store.usage()).m1?.inputTokens ?? 0).toBe(sum)
        }
      })

      it('large items come back verbatim, in one batch, and retry idempotently', async () => {
        const { head: h0 } = await store.createSession({ sessionId: 'big', ts: T0 })
        const huge = 'ab\u00e9'.repeat(30_000)
        const bytes = new Uint8Array(50_000).map((_, i) => i % 251)
        // Byte strings come back as plain Uint8Arrays (README), inline or out of line, whatever
        // the blob profile (the default stores them raw; balanced and compact through zlib).
        const items = [userMsg(huge), fnCall('c1'), { type: 'function_call_output', call_id: 'c1', output: huge, raw: bytes }, asstMsg('small')]
        const opts = { ts: T0 + 1, expectedHead: h0 }
        const b0 = store.engine.stats.batches
        const r = await store.appendTurn('big', items, opts)
        expect(store.engine.stats.batches - b0).toBe(1)
        const history = (await store.restore('big')).history
        expect(history).toEqual(items)
        expect((history[2] as { raw: Uint8Array }).raw.constructor).toBe(Uint8Array)
        expect((await all(store, 'big')).slice(1).map((e) => e.entry)).toEqual([
          { kind: 'user_input', ts: T0 + 1, item: items[0] },
          { kind: 'assistant_items', ts: T0 + 1, items: [items[1]] },
          { kind: 'tool_results', ts: T0 + 1, items: [items[2]] },
          { kind: 'assistant_items', ts: T0 + 1, items: [items[3]] },
        ])
        const before = await dump(store)
        const again = await store.appendTurn('big', items, opts)
        expect(again.entries).toEqual(r.entries)
        expect(await dump(store)).toEqual(before)
        await expectIntact(store, 'big')
      })
    })

    describe('appendTurn', () => {
      it('groups items as specified and writes usage and turn_end, all in one batch', async () => {
        await store.createSession({ sessionId: 't', ts: T0 })
        const chain = new Chain()
        chain.push(genesisOf('t', T0))
        const items = [
          userMsg('first'),
          userMsg('second'),
          asstMsg('thinking aloud'),
          fnCall('c1'),
          reasoning('hmm'),
          toolUse('c2'),
          fnOutput('c1', 'out1'),
          anthropicResults('c2'),
          systemNote('a reminder'),
          'a bare string',
          userMsg('third'),
          fnCall('c3'),
          fnOutput('c3', 'out3'),
          { type: 'x_unknown', v: 1 },
        ]
        const ts = T0 + 10
        const expected: Record<string, unknown>[] = [
          { kind: 'user_input', ts, item: items[0] },
          { kind: 'user_input', ts, item: items[1] },
          { kind: 'assistant_items', ts, items: items.slice(2, 6) },
          { kind: 'tool_results', ts, items: items.slice(6, 8) },
          { kind: 'hook_injected_items', ts, items: items.slice(8, 10) },
          { kind: 'user_input', ts, item: items[10] },
          { kind: 'assistant_items', ts, items: [items[11]] },
          { kind: 'tool_results', ts, items: [items[12]] },
          { kind: 'hook_injected_items', ts, items: [items[13]] },
          { kind: 'llm_usage', ts, ...usage('m1', 1) },
          { kind: 'llm_usage', ts, ...usage('m2', 2) },
          { kind: 'turn_end', ts, turn: 1 },
        ]
        const b0 = store.engine.stats.batches
        const r = await store.appendTurn('t', items, { ts, usage: [usage('m1', 1), usage('m2', 2)], turnEnd: true })
        expect(store.engine.stats.batches - b0).toBe(1)
        expect(r.entries).toEqual(expected.map((e, i) => ({ seq: i + 1, hash: chain.push(e) })))
        expect(r.head).toBe(chain.head)
        expect((await all(store, 't')).map((e) => e.entry)).toEqual(chain.entries.map((e) => e.entry))
        const state = await store.restore('t')
        expect(state).toEqual(chain.state())
        expect(state.history).toEqual(items)
        expect(state.turnCount).toBe(1)
      })

      it('a single usage object, an explicit turn number, no turn_end', async () => {
        await store.createSession({ sessionId: 't', ts: T0 })
        const r1 = await store.appendTurn('t', [userMsg('a')], { ts: T0 + 1, usage: usage('m1', 1), turnEnd: 5 })
        expect((await all(store, 't', { from: 1 })).map((e) => e.entry)).toEqual([
          { kind: 'user_input', ts: T0 + 1, item: userMsg('a') },
          { kind: 'llm_usage', ts: T0 + 1, ...usage('m1', 1) },
          { kind: 'turn_end', ts: T0 + 1, turn: 5 },
        ])
        const r2 = await store.appendTurn('t', [asstMsg('b')], { ts: T0 + 2 })
        expect(r2.entries).toEqual([{ seq: 4, hash: r2.head }])
        expect(r1.head).not.toBe(r2.head)
        // Only usage, no items.
        const r3 = await store.appendTurn('t', [], { ts: T0 + 3, usage: usage('m1', 2) })
        expect((await store.getEntry(r3.head)).entry.kind).toBe('llm_usage')
      })

      it('turnEnd: true counts on from the last turn_end', async () => {
        await store.createSession({ sessionId: 't', ts: T0 })
        for (let i = 1; i <= 3; i++) {
          await store.appendTurn('t', [userMsg(`q${i}`), asstMsg(`a${i}`)], { turnEnd: true })
          expect((await store.restore('t')).turnCount).toBe(i)
        }
        await store.appendTurnEnd('t', 10)
        await store.appendTurn('t', [userMsg('q')], { turnEnd: true })
        expect((await store.restore('t')).turnCount).toBe(11)
      })

      it('concurrent turns with turnEnd: true each count a turn', async () => {
        await store.createSession({ sessionId: 't', ts: T0 })
        await Promise.all(Array.from({ length: 5 }, (_, i) => store.appendTurn('t', [userMsg(`q${i}`)], { turnEnd: true, ts: T0 + 1 })))
        const turns = (await all(store, 't')).flatMap((e) => (e.entry.kind === 'turn_end' ? [e.entry.turn] : []))
        expect(turns).toEqual([1, 2, 3, 4, 5])
        expect((await store.restore('t')).turnCount).toBe(5)
      })

      it('uses a custom classifier when given', async () => {
        await store.createSession({ sessionId: 't', ts: T0 })
        const classify = (item: unknown) => ((item as { who: string }).who === 'me' ? ('user_message' as const) : ('tool_result' as const))
        await store.appendTurn('t', [{ who: 'me' }, { who: 'tool' }, { who: 'tool' }], { ts: T0 + 1, classify })
        expect((await all(store, 't', { from: 1 })).map((e) => e.entry)).toEqual([
          { kind: 'user_input', ts: T0 + 1, item: { who: 'me' } },
          { kind: 'tool_results', ts: T0 + 1, items: [{ who: 'tool' }, { who: 'tool' }] },
        ])
      })
    })

    describe('restore', () => {
      it('equals the reducer over the entries we expect, after any sequence of appends', async () => {
        let n = 0
        await fc.assert(
          fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 8 }), async (ops) => {
            const sid = `prop-${n++}`
            let ts = T0
            const chain = new Chain()
            await store.createSession({ sessionId: sid, ts, systemPrompt: 'sys', config: { model: 'm0' } })
            chain.push(genesisOf(sid, ts, { systemPrompt: 'sys', config: { model: 'm0' } }))
            for (const op of ops) {
              ts += 1000
              if (op.t === 'turn') {
                const body = expectedGroups(op.items, ts)
                const usages = Array.from({ length: op.usage }, (_, i) => usage(`m${i}`, i + 1))
                for (const u of usages) body.push({ kind: 'llm_usage', ts, ...u })
                if (op.turnEnd !== 'none') body.push({ kind: 'turn_end', ts, turn: op.turnEnd === 'next' ? chain.turnCount + 1 : op.turnEnd })
                const opts = { ts, usage: usages, ...(op.turnEnd === 'none' ? {} : { turnEnd: op.turnEnd === 'next' ? (true as const) : op.turnEnd }) }
                if (body.length === 0) {
                  await expectCode(() => store.appendTurn(sid, op.items.map((x) => x.item), opts), ErrorCodes.INVALID_ARGUMENT)
                  continue
                }
                const seq0 = chain.entries.length
                const r = await store.appendTurn(sid, op.items.map((x) => x.item), opts)
                expect(r.entries).toEqual(body.map((e, i) => ({ seq: seq0 + i, hash: chain.push(e) })))
              } else {
                const body = { ...op.entry, ts }
                const r = await store.append(sid, body as never)
                expect(r).toEqual({ seq: chain.entries.length, hash: chain.push(body) })
              }
            }
            const stored = await all(store, sid)
            expect(stored.map((e) => ({ hash: e.hash, entry: e.entry }))).toEqual(chain.entries)
            expect(await store.restore(sid)).toEqual(chain.state())
            for (let i = 0; i < chain.entries.length; i++) {
              const at = chain.entries[i]!.hash
              expect(await store.restore(sid, { at })).toEqual(chain.state(i + 1))
            }
            const last = chain.entries[chain.entries.length - 1]!.hash
            expect(await store.restore(sid, { at: last.slice(0, 12) })).toEqual(chain.state())
          }),
          { numRuns: 30 },
        )
      })

      it('refuses an `at` from another session or unknown', async () => {
        await store.createSession({ sessionId: 'a', ts: T0 })
        const b = await store.createSession({ sessionId: 'b', ts: T0 })
        const e = await expectCode(() => store.restore('a', { at: b.head }), ErrorCodes.ENTRY_NOT_FOUND)
        expect(e.data).toMatchObject({ hash: b.head, sessionId: 'a' })
        await expectCode(() => store.restore('a', { at: chainHash(ZERO, { nothing: 1 }) }), ErrorCodes.ENTRY_NOT_FOUND)
        await expectCode(() => store.restore('nope'), ErrorCodes.SESSION_NOT_FOUND)
      })

      it('checks each record hash, prev link and seq continuity while reading', async () => {
        await store.createSession({ sessionId: 'v', ts: T0 })
        const rs = await store.appendMany('v', [
          { kind: 'custom', ts: T0 + 1, namespace: 'test', type: 'x', data: 'aaaaaaaa' },
          { kind: 'custom', ts: T0 + 2, namespace: 'test', type: 'x', data: 'bbbbbbbb' },
          { kind: 'custom', ts: T0 + 3, namespace: 'test', type: 'x', data: 'cccccccc' },
        ])
        const other = await store.createSession({ sessionId: 'w', ts: T0 })
        const r2 = K.recordKey('v', 2)
        const good = (await store.getRaw(r2))!

        // 1. Record bytes changed (still valid CBOR, still the same kind): hash mismatch.
        const bad = Buffer.from(good)
        bad.set(Buffer.from('bbbbbbbz'), bad.indexOf('bbbbbbbb'))
        await writeRows(store, [{ type: 'put', key: r2, value: bad }])
        let e = await expectCode(() => all(store, 'v'), ErrorCodes.CORRUPT_STORE)
        expect(e.data).toMatchObject({ sessionId: 'v', seq: 2 })
        await expectCode(() => store.restore('v'), ErrorCodes.CORRUPT_STORE)
        await expectCode(() => all(store, 'v', { reverse: true }), ErrorCodes.CORRUPT_STORE)
        // Without verify, the same read goes through (and shows the changed bytes).
        expect((await all(store, 'v', { verify: false }))[2]!.entry).toMatchObject({ data: 'bbbbbbbz' })
        // A prefix that stops before the bad record restores.
        expect((await store.restore('v', { at: rs.entries[0]!.hash })).length).toBe(2)
        await writeRows(store, [{ type: 'put', key: r2, value: good }])
        await expectIntact(store, 'v')

        // 2. A valid record of another chain put in its place: broken link.
        await writeRows(store, [{ type: 'put', key: r2, value: (await store.getRaw(K.recordKey('w', 0)))! }])
        e = await expectCode(() => all(store, 'v'), ErrorCodes.CORRUPT_STORE)
        expect(e.data.seq).toBe(2)
        await expectCode(() => store.restore('v'), ErrorCodes.CORRUPT_STORE)
        await writeRows(store, [{ type: 'put', key: r2, value: good }])
        await expectIntact(store, 'v')
        expect(other.sessionId).toBe('w')

        // 3. A hole in the sequence (a missing record), with or without verify.
        await writeRows(store, [{ type: 'del', key: r2 }])
        await expectCode(() => all(store, 'v'), ErrorCodes.CORRUPT_STORE)
        await expectCode(() => all(store, 'v', { verify: false }), ErrorCodes.CORRUPT_STORE)
        await expectCode(() => all(store, 'v', { reverse: true }), ErrorCodes.CORRUPT_STORE)
        await expectCode(() => store.restore('v'), ErrorCodes.CORRUPT_STORE)
        await writeRows(store, [{ type: 'put', key: r2, value: good }])
        await expectIntact(store, 'v')
      })
    })

    describe('concurrency', () => {
      it('100 concurrent turns with the same expectedHead: one lands, 99 conflict', async () => {
        const { head: h0 } = await store.createSession({ sessionId: 'c', ts: T0 })
        const before = store.engine.stats.batches
        const rs = await Promise.allSettled(
          Array.from({ length: 100 }, (_, i) =>
            store.appendTurn('c', [userMsg(`attempt ${i}`), asstMsg(`answer ${i}`)], { expectedHead: h0, ts: T0 + 1, turnEnd: 1 }),
          ),
        )
        const won = rs.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
        const lost = rs.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []))
        expect(won).toHaveLength(1)
        expect(lost).toHaveLength(99)
        const winner = won[0]!
        for (const err of lost) {
          expect(err).toBeInstanceOf(ChainlogError)
          expect((err as ChainlogError).code).toBe(ErrorCodes.HEAD_CONFLICT)
          expect((err as ChainlogError).data).toMatchObject({ sessionId: 'c', expected: h0, actual: winner.head })
        }
        expect(store.engine.stats.batches - before).toBe(1)
        const hashes = await expectIntact(store, 'c')
        expect(hashes).toEqual([h0, ...winner.entries.map((e) => e.hash)])
        expect(hashes).toHaveLength(4)
        const i = rs.findIndex((r) => r.status === 'fulfilled')
        expect((await store.restore('c')).history).toEqual([userMsg(`attempt ${i}`), asstMsg(`answer ${i}`)])
      })

      it('100 concurrent turns without expectedHead all land, whole and in some order', async () => {
        const { head: h0 } = await store.createSession({ sessionId: 'c', ts: T0 })
        const rs = await Promise.all(
          Array.from({ length: 100 }, (_, i) => store.appendTurn('c', [userMsg(`q${i}`), asstMsg(`a${i}`)], { ts: T0 + i })),
        )
        const hashes = await expectIntact(store, 'c')
        expect(hashes).toHaveLength(1 + 200)
        expect(hashes[0]).toBe(h0)
        const returned = rs.flatMap((r) => r.entries)
        expect(new Set(returned.map((e) => e.hash)).size).toBe(200)
        for (const e of returned) {
          expect(hashes.filter((x) => x === e.hash)).toHaveLength(1)
          expect(hashes[e.seq]).toBe(e.hash)
        }
        // Each turn's two entries are adjacent: turns never interleave.
        for (const r of rs) expect(r.entries[1]!.seq).toBe(r.entries[0]!.seq + 1)
        const history = (await store.restore('c')).history as { content: unknown }[]
        expect(history).toHaveLength(200)
        for (let k = 0; k < 200; k += 2) {
          const q = (history[k] as { content: string }).content
          expect(history[k + 1]).toEqual(asstMsg(`a${q.slice(1)}`))
        }
        expect(await store.head('c')).toBe(hashes[200])
      })

      it('group commit: 16 sessions appending at once take fewer batches than appends', async () => {
        const ids = Array.from({ length: 16 }, (_, i) => `g${String(i).padStart(2, '0')}`)
        for (const sid of ids) await store.createSession({ sessionId: sid, ts: T0 })
        const b0 = store.engine.stats.batches
        const perSession = 8
        const results = await Promise.all(
          ids.map(async (sid) => {
            const out = []
            for (let k = 0; k < perSession; k++) out.push(await store.append(sid, { kind: 'custom', ts: T0 + k, namespace: 'test', type: 'g', data: k }))
            return out
          }),
        )
        const batches = store.engine.stats.batches - b0
        expect(batches).toBeGreaterThan(0)
        expect(batches).toBeLessThan(ids.length * perSession)
        for (const [i, sid] of ids.entries()) {
          const hashes = await expectIntact(store, sid)
          expect(hashes.slice(1)).toEqual(results[i]!.map((r) => r.hash))
        }
      })
    })

    describe('idempotent retries', () => {
      it('re-sending a landed turn with the same expectedHead and ts returns it and writes nothing', async () => {
        const { head: h0 } = await store.createSession({ sessionId: 'i', ts: T0 })
        const items = [userMsg('q'), fnCall('c1'), fnOutput('c1', 'r')]
        const opts = { expectedHead: h0, ts: T0 + 5, usage: usage('m1', 1), turnEnd: 1 }
        const first = await store.appendTurn('i', items, opts)
        const before = await dump(store)
        const b0 = store.engine.stats.batches
        const again = await store.appendTurn('i', items, opts)
        expect({ head: again.head, entries: again.entries }).toEqual({ head: first.head, entries: first.entries })
        expect(store.engine.stats.batches).toBe(b0)
        expect(await dump(store)).toEqual(before)
        expect(await expectIntact(store, 'i')).toHaveLength(1 + first.entries.length)

        // Still idempotent after later appends moved the head on.
        await store.append('i', { kind: 'turn_end', ts: T0 + 6, turn: 2 })
        const later = await store.appendTurn('i', items, opts)
        expect(later.entries).toEqual(first.entries)
        expect(await expectIntact(store, 'i')).toHaveLength(2 + first.entries.length)

        // A different ts is a different entry: a conflict, not a retry.
        const e = await expectCode(() => store.appendTurn('i', items, { ...opts, ts: T0 + 7 }), ErrorCodes.HEAD_CONFLICT)
        expect(e.data).toMatchObject({ expected: h0, actual: await store.head('i') })
        // So is different content.
        await expectCode(() => store.appendTurn('i', [userMsg('other')], opts), ErrorCodes.HEAD_CONFLICT)
      })

      it('single appends retry the same way', async () => {
        const { head: h0 } = await store.createSession({ sessionId: 'i', ts: T0 })
        const body = { kind: 'cache_locked', ts: T0 + 1, prefixLength: 2 } as const
        const a = await store.append('i', body, { expectedHead: h0 })
        const b0 = store.engine.stats.batches
        const b = await store.append('i', body, { expectedHead: h0 })
        expect(b).toEqual(a)
        expect(store.engine.stats.batches).toBe(b0)
        // A retry without expectedHead is a new append (nothing to compare against).
        const c = await store.append('i', body)
        expect(c.seq).toBe(2)
        expect(c.hash).not.toBe(a.hash)
      })

      it('concurrent identical retries all get the same answer and write once', async () => {
        const { head: h0 } = await store.createSession({ sessionId: 'i', ts: T0 })
        const b0 = store.engine.stats.batches
        const rs = await Promise.all(Array.from({ length: 20 }, () => store.appendTurn('i', [userMsg('same')], { expectedHead: h0, ts: T0 + 1 })))
        expect(store.engine.stats.batches - b0).toBe(1)
        for (const r of rs) expect(r.entries).toEqual(rs[0]!.entries)
        expect(await expectIntact(store, 'i')).toHaveLength(2)
      })

      it('a retried turn with turnEnd: true is still idempotent', async () => {
        const { head: h0 } = await store.createSession({ sessionId: 'i', ts: T0 })
        const opts = { expectedHead: h0, ts: T0 + 1, turnEnd: true as const }
        const first = await store.appendTurn('i', [userMsg('q')], opts)
        const again = await store.appendTurn('i', [userMsg('q')], opts)
        expect(again.entries).toEqual(first.entries)
        expect(await expectIntact(store, 'i')).toHaveLength(3)
      })

      it('a reader that stops after a few entries reads a few chunks, not 768 records', async () => {
        await store.createSession({ sessionId: 'tail', ts: T0 })
        // 100 entries a commit: the rows 1000 single appends leave, in 10 commits, not 1000 (each a round trip on PostgreSQL).
        for (let i = 0; i < 1000; i += 100) await store.appendMany('tail', pads(T0 + i, 100))
        // Records read: rows the engine's range scans hand over.
        let records = 0
        const scan = store.engine.scan.bind(store.engine)
        store.engine.scan = async function* (...a: Parameters<typeof scan>) {
          for await (const rows of scan(...a)) {
            records += rows.length
            yield rows
          }
        }
        let seen = 0
        for await (const _ of store.entries('tail', { reverse: true })) if (++seen === 5) break
        // Scanning back, chunks grow 8, 16, 32, ...: the first and the two read ahead of it.
        expect(records).toBeLessThanOrEqual(8 + 16 + 32)
        // A tail read asks for its range: one chunk, no more records than it holds.
        records = 0
        let tail = 0
        for await (const _ of store.entries('tail', { from: 901 })) tail++
        expect(tail).toBe(100)
        expect(records).toBe(100) // the last of them is the head: no row past it is read
        records = 0
        expect(await all(store, 'tail')).toHaveLength(1001)
        expect(records).toBe(1001)
      })

      it('turnEnd: true counts turns without reading the session once the count is known', async () => {
        await store.createSession({ sessionId: 'tc', ts: T0 })
        // Long enough that a scan from the head back to the last turn_end would be visible.
        for (let i = 0; i < 300; i += 100) await store.appendMany('tc', pads(T0 + i, 100))
        store.invalidate('tc')
        let iterators = 0
        const engine = store.engine
        const scan = engine.scan.bind(engine)
        engine.scan = (...a) => (iterators++, scan(...a))
        const t1 = await store.appendTurn('tc', [userMsg('one')], { ts: T0 + 1000, turnEnd: true })
        expect(iterators).toBe(1) // the first count after a cold start reads back to the genesis
        const t2 = await store.appendTurn('tc', [userMsg('two')], { ts: T0 + 1001, turnEnd: true })
        await store.append('tc', { kind: 'custom', ts: T0 + 1002, namespace: 'test', type: 'pad' })
        const t3 = await store.appendTurn('tc', [userMsg('three')], { ts: T0 + 1003, turnEnd: true, expectedHead: await store.head('tc') })
        expect(iterators).toBe(1)
        const turns = [t1, t2, t3].map((t) => t.entries.length)
        expect(turns).toEqual([2, 2, 2])
        expect((await store.restore('tc')).turnCount).toBe(3)
        const ends = (await all(store, 'tc')).filter((e) => e.entry.kind === 'turn_end').map((e) => (e.entry as { turn: number }).turn)
        expect(ends).toEqual([1, 2, 3])
      })
    })

    describe('invalid input is rejected with a typed code and changes nothing', () => {
      const cyclic: Record<string, unknown> = { role: 'user' }
      cyclic.self = cyclic
      const deep = (n: number): unknown => {
        let v: unknown = 'leaf'
        for (let i = 0; i < n; i++) v = { role: 'user', content: [v] }
        return v
      }
      const cases: [string, (s: Store, head: string) => Promise<unknown>, ErrorCode][] = [
        ['undefined inside an item', (s) => s.appendTurn('x', [userMsg('ok'), { role: 'user', content: undefined }]), ErrorCodes.UNENCODABLE_VALUE],
        ['undefined deep inside an item', (s) => s.appendTurn('x', [{ type: 'function_call_output', call_id: 'c', output: [1, { a: undefined }] }]), ErrorCodes.UNENCODABLE_VALUE],
        ['an undefined item', (s) => s.appendTurn('x', [userMsg('ok'), undefined]), ErrorCodes.INVALID_ENTRY],
        ['NaN inside an item', (s) => s.appendTurn('x', [asstMsg('ok'), { role: 'assistant', content: NaN }]), ErrorCodes.UNENCODABLE_VALUE],
        ['Infinity in custom data', (s) => s.appendCustom('x', 'com.example', 't', { v: Infinity }), ErrorCodes.UNENCODABLE_VALUE],
        ['a cycle', (s) => s.appendTurn('x', [cyclic]), ErrorCodes.UNENCODABLE_VALUE],
        ['a Date', (s) => s.appendTurn('x', [{ role: 'user', content: new Date(0) }]), ErrorCodes.UNENCODABLE_VALUE],
        ['an item nested 100000 deep', (s) => s.appendTurn('x', [deep(100_000)]), ErrorCodes.UNENCODABLE_VALUE],
        ['NaN ts', (s) => s.append('x', { kind: 'turn_end', turn: 1, ts: NaN }), ErrorCodes.INVALID_ENTRY],
        ['NaN turn', (s) => s.appendTurnEnd('x', NaN), ErrorCodes.INVALID_ENTRY],
        ['an unknown kind', (s) => s.append('x', { kind: 'telepathy' } as never), ErrorCodes.INVALID_ENTRY],
        ['an unknown envelope key', (s) => s.append('x', { kind: 'turn_end', turn: 1, extra: true } as never), ErrorCodes.INVALID_ENTRY],
        ['a non-object entry', (s) => s.append('x', 42 as never), ErrorCodes.INVALID_ENTRY],
        ['session_start via append', (s) => s.append('x', { kind: 'session_start', sessionId: 'x', config: {}, history: [] } as never), ErrorCodes.INVALID_ENTRY],
        ['session_start inside appendMany', (s) => s.appendMany('x', [{ kind: 'cache_unlocked' }, { kind: 'session_start', sessionId: 'x', config: {}, history: [] } as never]), ErrorCodes.INVALID_ENTRY],
        ['an error outcome without a message', (s) => s.recordOutcome('x', { status: 'error' }), ErrorCodes.INVALID_ENTRY],
        ['a bad custom namespace', (s) => s.appendCustom('x', 'Not A Namespace', 't'), ErrorCodes.INVALID_ENTRY],
        ['negative usage', (s) => s.appendTurn('x', [userMsg('q')], { usage: { ...usage('m', 1), outputTokens: -1 } }), ErrorCodes.INVALID_ENTRY],
        ['an unknown usage key', (s) => s.appendUsage('x', { ...usage('m', 1), cost: 3 } as never), ErrorCodes.INVALID_ENTRY],
        ['a bad expectedHead', (s) => s.append('x', { kind: 'cache_unlocked' }, { expectedHead: 'abc' }), ErrorCodes.INVALID_ARGUMENT],
        ['an upper-case expectedHead', (s, head) => s.append('x', { kind: 'cache_unlocked' }, { expectedHead: head.toUpperCase() }), ErrorCodes.INVALID_ARGUMENT],
        ['a stale expectedHead', (s) => s.append('x', { kind: 'cache_unlocked', ts: T0 }, { expectedHead: 'ab'.repeat(32) }), ErrorCodes.HEAD_CONFLICT],
        ['an unknown session', (s) => s.append('nope', { kind: 'cache_unlocked' }), ErrorCodes.SESSION_NOT_FOUND],
        ['a turn for an unknown session', (s) => s.appendTurn('nope', [userMsg('q')], { turnEnd: 1 }), ErrorCodes.SESSION_NOT_FOUND],
        ['an empty turn', (s) => s.appendTurn('x', []), ErrorCodes.INVALID_ARGUMENT],
        ['an empty appendMany', (s) => s.appendMany('x', []), ErrorCodes.INVALID_ARGUMENT],
        ['items that are not an array', (s) => s.appendTurn('x', 'hello' as never), ErrorCodes.INVALID_ARGUMENT],
      ]
      for (const [what, call, code] of cases) {
        it(what, async () => {
          const { head } = await store.createSession({ sessionId: 'x', ts: T0 })
          await store.appendTurn('x', [userMsg('q'), asstMsg('a')], { ts: T0 + 1, turnEnd: 1 })
          const h = await store.head('x')
          const before = await dump(store)
          const b0 = store.engine.stats.batches
          await expectCode(() => call(store, h), code)
          expect(await dump(store)).toEqual(before)
          expect(store.engine.stats.batches).toBe(b0)
          expect(await store.head('x')).toBe(h)
          expect(head).not.toBe(h)
          // The store is still usable and the chain intact.
          await store.append('x', { kind: 'cache_unlocked', ts: T0 + 2 }, { expectedHead: h })
          expect(await expectIntact(store, 'x')).toHaveLength(5)
        })
      }

      it('a bad entry anywhere in appendMany rejects the whole batch and names its index', async () => {
        await store.createSession({ sessionId: 'x', ts: T0 })
        const before = await dump(store)
        const e = await expectCode(
          () => store.appendMany('x', [{ kind: 'cache_unlocked' }, { kind: 'turn_end', turn: 1 }, { kind: 'turn_end', turn: -1 }]),
          ErrorCodes.INVALID_ENTRY,
        )
        expect(e.data.entryIndex).toBe(2)
        expect(e.data.path).toBe('turn')
        expect(await dump(store)).toEqual(before)
      })
    })

    describe('reads', () => {
      async function sample(): Promise<{ hashes: string[] }> {
        await store.createSession({ sessionId: 'r', ts: T0 })
        await store.appendMany('r', Array.from({ length: 9 }, (_, i) => ({ kind: 'custom' as const, ts: T0 + i, namespace: 'test', type: 'n', data: i })))
        return { hashes: (await all(store, 'r')).map((e) => e.hash) }
      }

      it('entries() forward, reverse, from and to', async () => {
        const { hashes } = await sample()
        const fwd = await all(store, 'r')
        expect(fwd.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
        expect(fwd.every((e) => e.sessionId === 'r')).toBe(true)
        expect(fwd.slice(1).map((e) => e.prev)).toEqual(hashes.slice(0, -1))
        expect(fwd[3]!.entry).toEqual({ kind: 'custom', ts: T0 + 2, namespace: 'test', type: 'n', data: 2 })
        const rev = await all(store, 'r', { reverse: true })
        expect(rev).toEqual([...fwd].reverse())
        expect((await all(store, 'r', { from: 3, to: 6 })).map((e) => e.seq)).toEqual([3, 4, 5, 6])
        expect((await all(store, 'r', { from: 3, to: 6, reverse: true })).map((e) => e.hash)).toEqual(hashes.slice(3, 7).reverse())
        expect((await all(store, 'r', { from: 7 })).map((e) => e.seq)).toEqual([7, 8, 9])
        expect((await all(store, 'r', { to: 1 })).map((e) => e.seq)).toEqual([0, 1])
        expect((await all(store, 'r', { to: 100 })).map((e) => e.seq)).toHaveLength(10)
        expect(await all(store, 'r', { from: 10 })).toEqual([])
        expect(await all(store, 'r', { from: 5, to: 4 })).toEqual([])
        expect(await all(store, 'r', { from: 4, to: 4 })).toEqual([fwd[4]])
        await expectCode(() => all(store, 'nope'), ErrorCodes.SESSION_NOT_FOUND)
      })

      it('entries() streams a long session and stays consistent with concurrent appends', async () => {
        await store.createSession({ sessionId: 'long', ts: T0 })
        for (let k = 0; k < 5; k++) {
          await store.appendMany('long', Array.from({ length: 200 }, (_, i) => ({ kind: 'custom' as const, ts: T0 + i, namespace: 'test', type: 'n', data: k * 200 + i })))
        }
        let n = 0
        for await (const e of store.entries('long')) {
          if (n === 10) await store.append('long', { kind: 'cache_unlocked', ts: T0 })
          expect(e.seq).toBe(n++)
        }
        // The read is bounded by the head when it started.
        expect(n).toBe(1001)
        expect(await expectIntact(store, 'long')).toHaveLength(1002)
      })

      it('getEntry by full hash, by unique prefix (any case); unknown and malformed', async () => {
        const { hashes } = await sample()
        const h = hashes[4]!
        const byFull = await store.getEntry(h)
        expect(byFull).toEqual({ sessionId: 'r', seq: 4, hash: h, prev: hashes[3], entry: { kind: 'custom', ts: T0 + 3, namespace: 'test', type: 'n', data: 3 }, format: 2 })
        const others = hashes.filter((x) => x !== h)
        let len = 4
        while (others.some((x) => x.startsWith(h.slice(0, len)))) len++
        expect(await store.getEntry(h.slice(0, len))).toEqual(byFull)
        expect(await store.getEntry(h.slice(0, len).toUpperCase())).toEqual(byFull)
        expect(await store.resolveHash(h.slice(0, 20))).toBe(h)
        const genesis = await store.getEntry(hashes[0]!)
        expect(genesis).toMatchObject({ seq: 0, prev: ZERO, entry: { kind: 'session_start', sessionId: 'r' } })

        const unknownFull = chainHash(ZERO, { not: 'stored' })
        expect((await expectCode(() => store.getEntry(unknownFull), ErrorCodes.ENTRY_NOT_FOUND)).data.hash).toBe(unknownFull)
        let p = 0
        while (hashes.some((x) => x.startsWith(p.toString(16).padStart(4, '0')))) p++
        await expectCode(() => store.getEntry(p.toString(16).padStart(4, '0')), ErrorCodes.ENTRY_NOT_FOUND)
        for (const bad of ['abc', 'xyz1', '', h + '0', 'g'.repeat(64)]) await expectCode(() => store.getEntry(bad), ErrorCodes.INVALID_ARGUMENT)
      })

      it('an ambiguous prefix is refused with both matches named', async () => {
        const { hashes } = await sample()
        const seen = new Map<string, string>()
        let pair: [string, string] | undefined
        const note = (hash: string) => {
          const p = hash.slice(0, 4)
          const other = seen.get(p)
          if (other && !pair) pair = [other, hash]
          seen.set(p, hash)
        }
        hashes.forEach(note)
        const all: string[] = [...hashes]
        for (let round = 0; !pair && round < 100; round++) {
          const r = await store.appendMany('r', Array.from({ length: 100 }, (_, i) => ({ kind: 'custom' as const, ts: T0, namespace: 'test', type: 'fill', data: round * 100 + i })))
          for (const e of r.entries) {
            all.push(e.hash)
            note(e.hash)
          }
        }
        expect(pair).toBeDefined()
        const [a, b] = pair!
        const prefix = a.slice(0, 4)
        const err = await expectCode(() => store.getEntry(prefix), ErrorCodes.AMBIGUOUS_PREFIX)
        expect(err.data.prefix).toBe(prefix)
        const matches = err.data.matches as string[]
        expect(matches).toHaveLength(2)
        expect(new Set(matches).size).toBe(2)
        for (const m of matches) {
          expect(m.startsWith(prefix)).toBe(true)
          expect(all).toContain(m)
        }
        await expectCode(() => store.restore('r', { at: prefix }), ErrorCodes.AMBIGUOUS_PREFIX)
        await expectCode(() => store.forkAt(prefix), ErrorCodes.AMBIGUOUS_PREFIX)
        // A longer prefix tells them apart.
        for (const x of [a, b]) {
          let len = 5
          while (all.some((y) => y !== x && y.startsWith(x.slice(0, len)))) len++
          expect((await store.getEntry(x.slice(0, len))).hash).toBe(x)
        }
      })

      it('listSessions: first user message, counts, length, head, origin, in id order', async () => {
        await store.createSession({ sessionId: 's1', ts: T0 + 100, systemPrompt: 'sys' })
        await store.appendTurn('s1', [userMsg('  hello\n   world '), asstMsg('hi'), fnCall('c1'), fnOutput('c1', 'x'), anthropicResults('c2'), reasoning('r'), systemNote('n')], { ts: T0 + 200, turnEnd: true })
        const last = await store.appendTurn('s1', [userMsg('second question')], { ts: T0 + 300 })
        await store.createSession({ sessionId: 's2', ts: T0 + 50, history: [systemNote('sys'), userMsg('from history')] })
        await store.createSession({ sessionId: 's0', ts: T0 })
        const at = (await all(store, 's1'))[2]!.hash
        const fork = await store.forkAt(at, { sessionId: 's3', ts: T0 + 400 })
        const s2head = await store.head('s2')
        const comp = await store.compact('s2', { history: [userMsg('summary')], sessionId: 's4', ts: T0 + 500 })

        const list = await store.listSessions()
        expect(list.map((s) => s.sessionId)).toEqual(['s0', 's1', 's2', 's3', 's4'])
        const [s0, s1, s2, s3, s4] = list
        const zero = { user: 0, assistant: 0, toolCalls: 0, toolResults: 0, reasoning: 0, other: 0 }
        expect(s0).toMatchObject({ head: await store.head('s0'), length: 1, createdAt: T0, updatedAt: T0, counts: zero })
        expect(s0!.firstUserMessage).toBeUndefined()
        expect(s1).toMatchObject({
          head: last.head,
          length: 1 + 6 + 1,
          createdAt: T0 + 100,
          updatedAt: T0 + 300,
          firstUserMessage: 'hello world',
          counts: { user: 2, assistant: 1, toolCalls: 1, toolResults: 2, reasoning: 1, other: 1 },
        })
        expect(s1!.forkedFrom).toBeUndefined()
        expect(s1!.compactedFrom).toBeUndefined()
        expect(s2).toMatchObject({ head: s2head, length: 1, firstUserMessage: 'from history', counts: { ...zero, user: 1, other: 1 } })
        expect(s3).toMatchObject({ head: fork.head, length: 1, forkedFrom: { sessionId: 's1', atHash: at }, counts: zero, createdAt: T0 + 400 })
        expect(s3!.firstUserMessage).toBeUndefined()
        expect(s4).toMatchObject({ head: comp.head, length: 1, compactedFrom: { sessionId: 's2', atHash: s2head }, firstUserMessage: 'summary' })
        // Lengths and heads agree with the chains.
        for (const s of list) {
          const hashes = await expectIntact(store, s.sessionId)
          expect(s.length).toBe(hashes.length)
          expect(s.head).toBe(hashes[hashes.length - 1])
        }
      })

      it('listSessions orders newest or oldest first, limits, and reads no row per session', async () => {
        // Updated at T0+30, T0+10, T0+20, T0+10: the tie (b, d) goes by id.
        for (const [id, created, updated] of [['a', 0, 30], ['b', 1, 10], ['c', 2, 20], ['d', 3, 10]] as const) {
          await store.createSession({ sessionId: id, ts: T0 + created })
          await store.append(id, { kind: 'turn_end', ts: T0 + updated, turn: 1 })
        }
        // Nothing cached: every row must come from the two scans.
        store.invalidate()
        const gets = { n: 0 }
        const engine = store.engine
        const [get, getMany] = [engine.get.bind(engine), engine.getMany.bind(engine)]
        engine.get = (...a) => (gets.n++, get(...a))
        engine.getMany = (...a) => (gets.n++, getMany(...a))
        expect((await store.listSessions({ order: 'newest' })).map((s) => s.sessionId)).toEqual(['a', 'c', 'b', 'd'])
        expect((await store.listSessions({ order: 'oldest', limit: 3 })).map((s) => s.sessionId)).toEqual(['b', 'd', 'c'])
        expect((await store.listSessions({ limit: 2 })).map((s) => s.sessionId)).toEqual(['a', 'b'])
        expect(await store.listSessions({ limit: 0 })).toEqual([])
        expect(gets.n).toBe(0)
        await expectCode(() => store.listSessions({ limit: -1 }), ErrorCodes.INVALID_ARGUMENT)
        await expectCode(() => store.listSessions({ order: 'sideways' as never }), ErrorCodes.INVALID_ARGUMENT)
        expect(await store.usageBySession()).toEqual({})
      })
    })

    describe('figures', () => {
      /** What `chainlog stats` counted before figures(): each session's entries read one by one, re-encoded. */
      const oracle = (ids: string[]) => reEncodedFigures(store, ids)

      /** Calls of each engine read while `fn` runs. */
      async function engineReads(fn: () => Promise<unknown>): Promise<{ get: number; getMany: number; scan: number }> {
        const n = { get: 0, getMany: 0, scan: 0 }
        const engine = store.engine
        const { get, getMany, scan } = engine
        engine.get = (...a) => (n.get++, get.apply(engine, a))
        engine.getMany = (...a) => (n.getMany++, getMany.apply(engine, a))
        engine.scan = (...a) => (n.scan++, scan.apply(engine, a))
        try {
          await fn()
        } finally {
          Object.assign(engine, { get, getMany, scan })
          for (const k of ['get', 'getMany', 'scan'] as const) delete (engine as unknown as Record<string, unknown>)[k]
        }
        return n
      }

      async function smallSessions(from: number, to: number): Promise<void> {
        for (let i = from; i < to; i++) {
          const id = `m${String(i).padStart(4, '0')}`
          await store.createSession({ sessionId: id, ts: T0 + i })
          await store.appendTurn(id, [userMsg(`question ${i}`), asstMsg('answer')], { ts: T0 + i, turnEnd: true, usage: usage('m1', i) })
        }
      }

      it('counts entries and stored bytes by kind as the entries say, for the store and for each session', async () => {
        await store.createSession({ sessionId: 'plain', ts: T0, systemPrompt: 'sys' })
        // An item large enough to be stored as a blob: its bytes are the reference's, not the text's.
        await store.appendTurn('plain', [userMsg('x'.repeat(20_000)), asstMsg('a'), fnCall('c1'), fnOutput('c1', 'out')], { ts: T0 + 1, turnEnd: true, usage: usage('m1', 5) })
        const at = (await all(store, 'plain'))[2]!.hash
        await store.forkAt(at, { sessionId: 'fork', ts: T0 + 2 })
        await store.append('fork', { kind: 'cache_unlocked', ts: T0 + 3 })
        await store.compact('plain', { history: [userMsg('summary')], sessionId: 'compacted', ts: T0 + 4 })
        await store.createSession({ sessionId: 'gone', ts: T0 + 5 })
        await store.deleteSession('gone')
        await store.createSession({ sessionId: 'plain-2', ts: T0 + 6 })
        await store.changeConfig('plain-2', { model: 'm2' })
        const ids = (await store.listSessions()).map((s) => s.sessionId)
        expect(ids).toEqual(['compacted', 'fork', 'plain', 'plain-2'])
        const want = await oracle(ids)
        const got = await store.figures()
        expect(got).toEqual(want)
        // Kinds in the order they are first met, as stats printed them in --json.
        expect(Object.keys(got.byKind)).toEqual(Object.keys(want.byKind))
        expect(want.byKind.user_input!.bytes).toBeLessThan(1000)
        for (const id of ids) expect(await store.figures(id)).toEqual(await oracle([id]))
        await expectCode(() => store.figures('gone'), ErrorCodes.SESSION_NOT_FOUND)
        await expectCode(() => store.figures('never'), ErrorCodes.SESSION_NOT_FOUND)
        expect(await store.figures(undefined)).toEqual(want)
      })

      it('reads the store in two scans whatever the number of sessions: no point read or iterator per session', async () => {
        expect(await store.figures()).toEqual({ sessions: 0, entries: 0, bytes: 0, byKind: {} })
        await smallSessions(0, 10)
        store.invalidate()
        const ten = await engineReads(() => store.figures())
        await smallSessions(10, 60)
        store.invalidate()
        let sixty: Awaited<ReturnType<Store['figures']>> | undefined
        const reads = await engineReads(async () => (sixty = await store.figures()))
        // Session rows (head and metadata in one, store format 4), records: one scan each; nothing per session.
        expect(reads).toEqual({ get: 0, getMany: 0, scan: 2 })
        expect(reads).toEqual(ten)
        expect(sixty).toEqual(await oracle((await store.listSessions()).map((s) => s.sessionId)))
        expect(sixty!.sessions).toBe(60)
        expect(sixty!.entries).toBe(60 * 5)
        // One session: its head, then its records.
        store.invalidate()
        expect(await engineReads(() => store.figures('m0007'))).toEqual({ get: 1, getMany: 0, scan: 1 })
      })

      it('reports a gap below a head or an unreadable record as a corrupt store, and skips rows of no session', async () => {
        await smallSessions(0, 3)
        const whole = await store.figures()
        // A record past the head (not the session's yet) and records of a session that has no head are not counted.
        const record = (await store.getRaw(K.recordKey('m0001', 4)))!
        await writeRows(store, [
          { type: 'put', key: K.recordKey('m0001', 5), value: record },
          { type: 'put', key: K.recordKey('m0000x', 0), value: record },
          { type: 'put', key: K.recordKey('zz', 0), value: record },
        ])
        expect(await store.figures()).toEqual(whole)
        // A missing seq below the head.
        await writeRows(store, [{ type: 'del', key: K.recordKey('m0001', 2) }])
        const gap = await expectCode(() => store.figures(), ErrorCodes.CORRUPT_STORE)
        expect(gap.data).toMatchObject({ sessionId: 'm0001', seq: 2 })
        await expectCode(() => store.figures('m0001'), ErrorCodes.CORRUPT_STORE)
        // Records that stop before the head.
        await writeRows(store, [
          { type: 'put', key: K.recordKey('m0001', 2), value: record },
          { type: 'del', key: K.recordKey('m0002', 3) },
          { type: 'del', key: K.recordKey('m0002', 4) },
        ])
        expect((await expectCode(() => store.figures(), ErrorCodes.CORRUPT_STORE)).data).toMatchObject({ sessionId: 'm0002' })
        // A record that does not decode.
        await writeRows(store, [
          { type: 'put', key: K.recordKey('m0002', 3), value: record },
          { type: 'put', key: K.recordKey('m0002', 4), value: Uint8Array.from([...record.subarray(0, 32), 0x82, 0x02, 0xff]) },
        ])
        expect((await expectCode(() => store.figures('m0002'), ErrorCodes.CORRUPT_STORE)).data).toMatchObject({ sessionId: 'm0002', seq: 4 })
      })
    })

    describe('ensureHeadOrFork', () => {
      it('continues in the session when the head is current', async () => {
        const { head } = await store.createSession({ sessionId: 'src', ts: T0 })
        const n = (await store.listSessions()).length
        expect(await store.ensureHeadOrFork('src', head)).toEqual({ sessionId: 'src', head, forked: false })
        expect(await store.listSessions()).toHaveLength(n)
      })

      it('forks at a stale head; the fork restores to the source at that head plus its own appends', async () => {
        await store.createSession({ sessionId: 'src', ts: T0, systemPrompt: 'sys', config: { model: 'm1' } })
        await store.appendTurn('src', [userMsg('q1'), asstMsg('a1')], { ts: T0 + 1, turnEnd: true, usage: usage('m1', 1) })
        await store.lockCache('src', 2)
        const stale = await store.head('src')
        const atStale = await store.restore('src', { at: stale })
        await store.appendTurn('src', [userMsg('q2'), asstMsg('a2')], { ts: T0 + 2, turnEnd: true })
        await store.changeConfig('src', { model: 'm2' })
        const srcBefore = await store.restore('src')
        const srcDump = (await all(store, 'src')).map((e) => e.hash)

        const r = await store.ensureHeadOrFork('src', stale, { sessionId: 'fork', ts: T0 + 10 })
        expect(r).toMatchObject({ sessionId: 'fork', forked: true })
        const g = await store.getEntry(r.head)
        expect(g.entry).toEqual({ kind: 'session_start', ts: T0 + 10, sessionId: 'fork', config: {}, history: [], forkedFrom: { sessionId: 'src', atHash: stale } })
        expect(chainHash(ZERO, g.entry)).toBe(r.head)
        const forkState = await store.restore('fork')
        expect(forkState).toEqual({ ...atStale, sessionId: 'fork', head: r.head, length: 1, forkedFrom: { sessionId: 'src', atHash: stale }, createdAt: T0 + 10, updatedAt: T0 + 10 })

        // Appends to the fork go on from the source's state at the fork point.
        const t = await store.appendTurn('fork', [userMsg('q2 again'), asstMsg('different')], { ts: T0 + 11, turnEnd: true, expectedHead: r.head })
        const forkChain = new Chain()
        forkChain.push(g.entry as Record<string, unknown>)
        for (const e of (await all(store, 'fork')).slice(1)) forkChain.push(e.entry as Record<string, unknown>)
        expect(forkChain.head).toBe(t.head)
        const after = await store.restore('fork')
        expect(after).toEqual(reduceEntries(forkChain.entries, atStale))
        expect(after.history).toEqual([userMsg('q1'), asstMsg('a1'), userMsg('q2 again'), asstMsg('different')])
        expect(after.turnCount).toBe(2)
        expect(after.cacheLockedPrefix).toBe(2)
        expect(after.config).toEqual({ model: 'm1' })

        // The source is untouched.
        expect(await store.restore('src')).toEqual(srcBefore)
        expect((await all(store, 'src')).map((e) => e.hash)).toEqual(srcDump)
      })

      it('a unique prefix of the current head continues too', async () => {
        const { head } = await store.createSession({ sessionId: 'src', ts: T0 })
        expect(await store.ensureHeadOrFork('src', head.slice(0, 16))).toMatchObject({ sessionId: 'src', head, forked: false })
        expect(await store.listSessions()).toHaveLength(1)
      })

      it('refuses a head from another session', async () => {
        await store.createSession({ sessionId: 'a', ts: T0 })
        await store.append('a', { kind: 'cache_unlocked', ts: T0 })
        const b = await store.createSession({ sessionId: 'b', ts: T0 })
        const before = await dump(store)
        await expectCode(() => store.ensureHeadOrFork('a', b.head), ErrorCodes.ENTRY_NOT_FOUND)
        expect(await dump(store)).toEqual(before)
      })
    })

    describe('merkle tree rows', () => {
      /** Every tree row of a session, leaf -> hex value, by a scan of the engine. */
      const treeRows = async (s: Store, sessionId: string): Promise<Map<number, string>> => {
        const out = new Map<number, string>()
        for await (const rows of s.engine.scan(K.treeRange(sessionId), 256)) for (const [k, v] of rows) out.set(K.readU64(k, k.length - 8), hex(v))
        return out
      }
      const hashesOf = async (s: Store, sessionId: string): Promise<string[]> => {
        const out: string[] = []
        for await (const e of s.entries(sessionId, { resolveBlobs: false })) out.push(e.hash)
        return out
      }
      const expectTree = async (s: Store, sessionId: string): Promise<void> => {
        const hashes = await hashesOf(s, sessionId)
        const want = new Map<number, string>()
        hashes.forEach((_, i) => {
          const row = expectedTreeRow(hashes, i)
          if (row !== undefined) want.set(i, row)
        })
        expect(await treeRows(s, sessionId)).toEqual(want)
      }

      it('appends of any batch size write the tree rows of their entries, as an independent RFC 9162 tree gives them', async () => {
        await store.createSession({ sessionId: 't', ts: T0 })
        await expectTree(store, 't')
        let ts = T0
        for (const n of [1, 3, 1, 7, 2, 16, 1, 5]) {
          await store.appendMany('t', Array.from({ length: n }, () => ({ kind: 'turn_end' as const, ts: ++ts, turn: ts })))
          await expectTree(store, 't')
        }
        // A second handle on the same data (it reads the frontier back from the rows) continues it.
        if (h.reopen) {
          store = await reopen()
          await store.appendMany('t', [{ kind: 'turn_end', ts: ++ts, turn: 1 }, { kind: 'turn_end', ts: ++ts, turn: 2 }])
          await expectTree(store, 't')
        }
      })

      it('a session without tree rows gets all of them with its next append, in the same commit', async () => {
        await store.createSession({ sessionId: 'u', ts: T0 })
        for (let i = 1; i <= 24; i++) await store.append('u', { kind: 'turn_end', ts: T0 + i, turn: i })
        // As a session written before trees: no rows at all.
        const dels = [...(await treeRows(store, 'u')).keys()].map((leaf) => ({ type: 'del' as const, key: K.treeKey('u', leaf) }))
        expect(dels.length).toBe(3)
        await store.engine.commit({ ops: dels })
        store.invalidate()
        const b0 = store.engine.stats.batches
        await store.append('u', { kind: 'turn_end', ts: T0 + 13, turn: 13 })
        expect(store.engine.stats.batches - b0).toBe(1)
        await expectTree(store, 'u')
        expect((await store.verify({ sessionId: 'u' })).ok).toBe(true)
      })

      it('verify reports a tree row that does not match the entries, and one beyond the session', async () => {
        await store.createSession({ sessionId: 'v', ts: T0 })
        for (let i = 1; i <= 16; i++) await store.append('v', { kind: 'turn_end', ts: T0 + i, turn: i })
        expect((await store.verify({ sessionId: 'v' })).ok).toBe(true)
        const row = (await treeRows(store, 'v')).get(7)!
        const bad = Buffer.from(row, 'hex')
        bad[40] = bad[40]! ^ 1
        await store.engine.commit({ ops: [{ type: 'put', key: K.treeKey('v', 7), value: new Uint8Array(bad) }, { type: 'put', key: K.treeKey('v', 23), value: new Uint8Array(32) }] })
        store.invalidate()
        const r = await store.verify({ sessionId: 'v' })
        expect(r.ok).toBe(false)
        expect(r.findings.map((f) => [f.code, f.seq])).toEqual([
          ['tree_mismatch', 7],
          ['tree_mismatch', 23],
        ])
      })

      it('a missing row in a complete tree is reported; a tree with no rows yet is not', async () => {
        await store.createSession({ sessionId: 'w', ts: T0 })
        for (let i = 1; i <= 15; i++) await store.append('w', { kind: 'turn_end', ts: T0 + i, turn: i })
        await store.engine.commit({ ops: [{ type: 'del', key: K.treeKey('w', 7) }] })
        const r = await store.verify({ sessionId: 'w' })
        expect(r.findings.map((f) => [f.code, f.seq])).toEqual([['tree_mismatch', 7]])
        const all = [...(await treeRows(store, 'w')).keys()].map((leaf) => ({ type: 'del' as const, key: K.treeKey('w', leaf) }))
        await store.engine.commit({ ops: all })
        expect((await store.verify({ sessionId: 'w' })).ok).toBe(true)
      })

      it('deleting a session removes its tree rows; forks have trees over their own entries', async () => {
        await store.createSession({ sessionId: 'x', ts: T0 })
        const hs: string[] = []
        for (let i = 1; i <= 6; i++) hs.push((await store.append('x', { kind: 'turn_end', ts: T0 + i, turn: i })).hash)
        const fork = await store.forkAt(hs[2]!, { sessionId: 'x-fork' })
        for (let i = 1; i <= 8; i++) await store.append(fork.sessionId, { kind: 'turn_end', ts: T0 + 10 + i, turn: i })
        await expectTree(store, 'x-fork')
        expect((await hashesOf(store, 'x-fork')).length).toBe(9)
        expect((await treeRows(store, 'x-fork')).size).toBe(1)
        await store.deleteSession('x-fork')
        expect((await treeRows(store, 'x-fork')).size).toBe(0)
        await expectTree(store, 'x')
      })
    })

    describe('lifecycle', () => {
      it('a closed store refuses calls with CHAINLOG_STORE_CLOSED; close is idempotent', async () => {
        await store.createSession({ sessionId: 'z', ts: T0 })
        await store.close()
        await store.close()
        await expectCode(() => store.append('z', { kind: 'cache_unlocked' }), ErrorCodes.STORE_CLOSED)
        await expectCode(() => store.createSession(), ErrorCodes.STORE_CLOSED)
        await expectCode(() => store.restore('z'), ErrorCodes.STORE_CLOSED)
        await expectCode(() => store.listSessions(), ErrorCodes.STORE_CLOSED)
        await expectCode(() => store.getEntry('abcd'), ErrorCodes.STORE_CLOSED)
        await expectCode(() => all(store, 'z'), ErrorCodes.STORE_CLOSED)
      })

      it('data survives close and reopen; appends, CAS and retries carry on', async (ctx) => {
        if (!h.reopen) return ctx.skip()
        const { head: h0 } = await store.createSession({ sessionId: 'p', ts: T0, systemPrompt: 'sys' })
        const turnOpts = { ts: T0 + 1, expectedHead: h0, turnEnd: 1, usage: usage('m1', 1) }
        const t1 = await store.appendTurn('p', [userMsg('q'), asstMsg('a')], turnOpts)
        await store.createSession({ sessionId: 'q', ts: T0 })
        const stateBefore = await store.restore('p')
        const listBefore = await store.listSessions()
        const entriesBefore = await all(store, 'p')
        const dumpBefore = await dump(store)

        store = await reopen()
        expect(await dump(store)).toEqual(dumpBefore)
        expect(await store.listSessions()).toEqual(listBefore)
        expect(await store.restore('p')).toEqual(stateBefore)
        expect(await all(store, 'p')).toEqual(entriesBefore)
        expect(await store.head('p')).toBe(t1.head)
        // Retry after reopen: idempotent.
        const b0 = store.engine.stats.batches
        expect((await store.appendTurn('p', [userMsg('q'), asstMsg('a')], turnOpts)).entries).toEqual(t1.entries)
        expect(store.engine.stats.batches).toBe(b0)
        // Stale head after reopen: conflict.
        await expectCode(() => store.append('p', { kind: 'cache_unlocked', ts: T0 + 2 }, { expectedHead: h0 }), ErrorCodes.HEAD_CONFLICT)
        // And appends continue the chain.
        const next = await store.appendTurn('p', [userMsg('q2')], { ts: T0 + 3, turnEnd: true, expectedHead: t1.head })
        expect(next.entries[0]!.seq).toBe(t1.entries[t1.entries.length - 1]!.seq + 1)
        expect((await store.restore('p')).turnCount).toBe(2)
        await expectIntact(store, 'p')
      })

      it('closing with appends in flight: each append either lands or is refused as closed', async (ctx) => {
        if (!h.reopen) return ctx.skip()
        const ids = Array.from({ length: 6 }, (_, i) => `f${i}`)
        for (const sid of ids) await store.createSession({ sessionId: sid, ts: T0 })
        const landed = new Map(ids.map((sid) => [sid, 0]))
        const errors = new Set<string>()
        // Close at different moments: before anything ran, mid-read, mid-write.
        const waits: (() => Promise<unknown>)[] = [
          () => Promise.resolve(),
          () => new Promise((r) => setImmediate(r)),
          () => new Promise((r) => setTimeout(r, 1)),
          () => new Promise((r) => setTimeout(r, 3)),
          () => new Promise((r) => setTimeout(r, 6)),
        ]
        for (const wait of waits) {
          const pending = ids.flatMap((sid) =>
            Array.from({ length: 8 }, (_, k) =>
              store
                .appendTurn(sid, [userMsg(`q${k}`)], { ts: T0 + k, turnEnd: true, usage: usage('m1', 1) })
                .then((r) => ({ sid, r }), (e: unknown) => ({ sid, e })),
            ),
          )
          await wait()
          await store.close()
          const outcomes = await Promise.all(pending)
          store = await reopen()
          for (const o of outcomes) {
            if ('e' in o) {
              const code = (o.e as ChainlogError).code ?? String(o.e)
              if (code !== ErrorCodes.STORE_CLOSED) errors.add(code)
            } else {
              expect(await store.getEntry(o.r.head)).toMatchObject({ sessionId: o.sid, seq: o.r.entries.at(-1)!.seq })
              landed.set(o.sid, landed.get(o.sid)! + o.r.entries.length)
            }
          }
          for (const sid of ids) expect(await expectIntact(store, sid)).toHaveLength(1 + landed.get(sid)!)
        }
        expect([...errors], 'appends refused with something other than CHAINLOG_STORE_CLOSED').toEqual([])
      })

      it('refuses a store of a newer format version', async (ctx) => {
        if (!h.reopen) return ctx.skip()
        await store.createSession({ sessionId: 'v', ts: T0 })
        await writeRows(store, [{ type: 'put', key: new Uint8Array([0x46]), value: encodeCanonical({ version: 99 }) }])
        await store.close()
        const err = await expectCode(() => h.reopen!(), ErrorCodes.UNSUPPORTED_VERSION)
        expect(err.data).toMatchObject({ found: 99, supported: STORE_FORMAT_VERSION })
      })

      it('opens a store of the current format version', async (ctx) => {
        if (!h.reopen) return ctx.skip()
        await writeRows(store, [{ type: 'put', key: K.formatKey(), value: encodeCanonical({ version: STORE_FORMAT_VERSION }) }])
        store = await reopen()
        expect(await store.listSessions()).toEqual([])
      })
    })
  })
}
