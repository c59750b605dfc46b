// Items come back exactly as appended (entry format 2): the same values AND the same key order,
// -0, large integers and byte strings included, through every read path: restore, entries,
// getEntry, a bundle exported and imported, a client of a shared store over the socket, and a
// second process. JSON-shaped items must satisfy JSON.stringify(restored) === JSON.stringify(appended).
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import fc from 'fast-check'
import { MemoryLevel } from 'memory-level'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SharedStore } from '../../src/host/shared-store.js'
import { openStore, type ChainlogStore } from '../../src/open.js'

const run = promisify(execFile)
const TS = 1_700_000_000_000

/** JSON with the values JSON cannot say spelled out, so that a string comparison checks them too. */
const tagged = (v: unknown): string =>
  JSON.stringify(v, (_k, x) => {
    if (typeof x === 'bigint') return { $bigint: String(x) }
    if (typeof x === 'number' && Object.is(x, -0)) return { $negzero: true }
    if (x instanceof Uint8Array) return { $bytes: Buffer.from(x).toString('hex'), plain: Object.getPrototypeOf(x) === Uint8Array.prototype }
    return x
  })

// Keys in every order a runtime produces: reversed alphabet, integer-like keys (which JavaScript
// itself puts first), non-ASCII keys; values at the edges of the profile.
const keyArb = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('z', 'a', 'type', 'id', '10', '2', '0', 'é', '😀', 'input', 'content')).filter((k) => k !== '__proto__' && k !== '$blob')
const scalarArb = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(-0, 2 ** 53, -(2 ** 53), 1e300, 0.1),
  fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n - 1n }).filter((b) => b < BigInt(Number.MIN_SAFE_INTEGER) || b > BigInt(Number.MAX_SAFE_INTEGER)),
  fc.uint8Array({ maxLength: 8 }),
  fc.boolean(),
  fc.constant(null),
)
const { value: valueArb } = fc.letrec<{ value: unknown; object: Record<string, unknown> }>((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, scalarArb, fc.array(tie('value'), { maxLength: 4 }), tie('object')),
  object: fc.dictionary(keyArb, tie('value'), { maxKeys: 6 }),
}))
const itemArb = fc.dictionary(keyArb, valueArb, { minKeys: 1, maxKeys: 6 })

/** Real-looking items whose key order canonical sorting would change. */
const REAL_ITEMS = [
  { type: 'message', role: 'user', content: [{ type: 'text', text: 'hi' }] },
  { type: 'tool_use', id: 'toolu_01', name: 'Bash', input: { command: 'ls -la', description: 'List files', timeout: 120000 } },
  { role: 'assistant', model: 'm', id: 'msg_1', type: 'message', content: [], stop_reason: null, usage: { input_tokens: 3, output_tokens: 5, cache_read_input_tokens: 0 } },
  { z: 1, y: { '10': 'a', '2': 'b', b: -0, a: 18446744073709551615n }, x: new Uint8Array([0, 255]) },
]

let root: string
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'chainlog-roundtrip-'))
})
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true })
})

async function itemsVia(store: ChainlogStore, sessionId: string): Promise<Record<string, unknown[]>> {
  const viaEntries: unknown[] = []
  const hashes: string[] = []
  for await (const e of store.entries(sessionId)) {
    hashes.push(e.hash)
    if (e.entry.kind === 'user_input') viaEntries.push(e.entry.item)
  }
  const viaGetEntry: unknown[] = []
  for (const h of hashes.slice(1)) {
    const e = await store.getEntry(h)
    if (e.entry.kind === 'user_input') viaGetEntry.push(e.entry.item)
  }
  return { restore: (await store.restore(sessionId)).history, entries: viaEntries, getEntry: viaGetEntry }
}

async function appendAll(store: ChainlogStore, sessionId: string, items: unknown[]): Promise<void> {
  await store.createSession({ sessionId, ts: TS })
  for (const [i, item] of items.entries()) await store.append(sessionId, { kind: 'user_input', ts: TS + i, item })
}

describe('items round-trip exactly, key order included', () => {
  it('restore, entries and getEntry give back every item as appended (property, memory-level)', async () => {
    const store = await openStore({ db: new MemoryLevel(), durability: 'relaxed' })
    let n = 0
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(itemArb, { minLength: 1, maxLength: 5 }), async (items) => {
          const sid = `p${n++}`
          await appendAll(store, sid, items)
          const want = tagged(items)
          for (const [path, got] of Object.entries(await itemsVia(store, sid))) expect(tagged(got), path).toBe(want)
        }),
        { numRuns: 150 },
      )
    } finally {
      await store.close()
    }
  })

  it('JSON-shaped items: JSON.stringify(restored) === JSON.stringify(appended), also after a bundle round trip', async () => {
    const src = await openStore({ db: new MemoryLevel(), durability: 'relaxed' })
    const dst = await openStore({ db: new MemoryLevel(), durability: 'relaxed' })
    try {
      const items = REAL_ITEMS.slice(0, 3)
      await appendAll(src, 'json', items)
      expect(JSON.stringify((await src.restore('json')).history)).toBe(JSON.stringify(items))
      const file = join(root, 'json.bundle')
      await src.exportSession('json', file)
      await dst.importBundle(file)
      expect(JSON.stringify((await dst.restore('json')).history)).toBe(JSON.stringify(items))
      // And every read path of the importing store, with -0, bigints and bytes too.
      await appendAll(src, 'edge', REAL_ITEMS)
      await src.exportSession('edge', join(root, 'edge.bundle'))
      await dst.importBundle(join(root, 'edge.bundle'))
      for (const [path, got] of Object.entries(await itemsVia(dst, 'edge'))) expect(tagged(got), path).toBe(tagged(REAL_ITEMS))
    } finally {
      await src.close()
      await dst.close()
    }
  })

  it('a client of a shared store (over the socket) and a second process get the same items and order', async () => {
    const dir = join(root, 'shared')
    const holder = (await openStore({ path: dir, durability: 'relaxed' })) as SharedStore
    const client = (await openStore({ path: dir, durability: 'relaxed' })) as SharedStore
    try {
      expect(holder.isHost).toBe(true)
      expect(client.isHost).toBe(false)
      // Appended through the socket, read back through it and in the holder.
      await appendAll(client, 'sock', REAL_ITEMS)
      for (const [path, got] of Object.entries(await itemsVia(client, 'sock'))) expect(tagged(got), `client ${path}`).toBe(tagged(REAL_ITEMS))
      for (const [path, got] of Object.entries(await itemsVia(holder, 'sock'))) expect(tagged(got), `holder ${path}`).toBe(tagged(REAL_ITEMS))
      // Random items through the socket (property).
      let n = 0
      await fc.assert(
        fc.asyncProperty(fc.array(itemArb, { minLength: 1, maxLength: 3 }), async (items) => {
          const sid = `sp${n++}`
          await appendAll(client, sid, items)
          expect(tagged((await client.restore(sid)).history)).toBe(tagged(items))
        }),
        { numRuns: 40 },
      )
      // A second process, reaching the holder over the socket.
      const script = new URL('./fixtures/reader.mjs', import.meta.url).pathname
      const { stdout } = await run(process.execPath, [script, dir, 'sock'], { timeout: 60_000 })
      const out = JSON.parse(stdout) as { isHost: boolean; history: unknown[] }
      expect(out.isHost, `holder still hosts: ${holder.isHost}`).toBe(false)
      expect(JSON.stringify(out.history)).toBe(tagged(REAL_ITEMS))
    } finally {
      await client.close()
      await holder.close()
    }
  })
})

describe('usage details (entry format 2)', () => {
  it('an llm_usage carries what else the provider reported, verbatim, without changing the totals', async () => {
    const store = await openStore({ db: new MemoryLevel(), durability: 'relaxed' })
    try {
      await store.createSession({ sessionId: 'u', ts: TS })
      const details = { costUsd: 0.0042, cacheCreation: { ephemeral_5m_input_tokens: 10, ephemeral_1h_input_tokens: 0 }, serviceTier: 'standard' }
      const usage = { historyLength: 2, model: 'm', inputTokens: 100, cacheReadTokens: 50, cacheWriteTokens: 10, outputTokens: 7, reasoningTokens: 0 }
      await store.appendTurn('u', [{ role: 'user', content: 'q' }], { ts: TS + 1, usage: [{ ...usage, details }] })
      const state = await store.restore('u')
      expect(JSON.stringify(state.usage[0]!.details)).toBe(JSON.stringify(details))
      expect(await store.usage('u')).toEqual({ m: { calls: 1, inputTokens: 100, cacheReadTokens: 50, cacheWriteTokens: 10, outputTokens: 7, reasoningTokens: 0 } })
      // A materialised fork carries the record, details included, and verifies.
      const fork = await store.forkAt(state.head, { materialize: true })
      expect((await store.restore(fork.sessionId)).usage[0]!.details).toEqual(details)
      expect((await store.verify()).ok).toBe(true)
    } finally {
      await store.close()
    }
  })
})
