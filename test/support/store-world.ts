// A small store with every kind of thing a move between engines must carry (sessions with turns,
// a fork, a fork of a fork, a materialised fork, a compaction, blobs, the usage ledger, a lease, a
// deleted session's tombstone), and a snapshot of what a store holds, to compare two stores by.
import { createHash } from 'node:crypto'
import type { ChainlogStore } from '../../src/open.js'
import type { Store } from '../../src/store.js'
import type { UsageByModel } from '../../src/storage/usage-ledger.js'

const TS = 1_700_000_000_000

const usage = (n: number, model = 'model-a') => ({ historyLength: n, model, inputTokens: 100 * n, cacheReadTokens: 7 * n, cacheWriteTokens: 0, outputTokens: 10 * n, reasoningTokens: n })

/** Deterministic text of `n` bytes, different for every `tag` (large ones become blobs). */
export function bulkText(tag: string, n: number): string {
  let out = ''
  for (let i = 0; out.length < n; i++) out += createHash('sha256').update(`${tag}/${i}`).digest('hex')
  return out.slice(0, n)
}

/** `n` turns on `id`: a user message, a tool call whose output is a blob when `big`, a reply, usage, turn_end. */
export async function addTurns(store: ChainlogStore, id: string, n: number, options: { from?: number; big?: boolean; model?: string } = {}): Promise<void> {
  const from = options.from ?? 0
  for (let t = from; t < from + n; t++) {
    await store.appendTurn(
      id,
      [
        { role: 'user', content: `${id} asks ${t}` },
        { type: 'function_call', call_id: `c${t}`, name: 'cat', arguments: `{"f":"${t}.txt"}` },
        { type: 'function_call_output', call_id: `c${t}`, output: options.big ? bulkText(`${id}/${t}`, 6000) : `small ${t}` },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: `${id} answers ${t}` }] },
      ],
      { ts: TS + t, usage: usage(t + 1, options.model), turnEnd: true },
    )
  }
}

/** The sessions `buildWorld` makes, by role. */
export const WORLD = { a: 'sess-a', fork: 'fork-a', forkOfFork: 'fork-fa', materialized: 'mat-a', b: 'sess-b', compacted: 'comp-b', gone: 'gone' } as const

/**
 * A with a fork F (and FF forked from F) and a materialised fork; B compacted into C; a session
 * that was deleted (its tombstone stays); blobs in A and B; usage on every session with turns;
 * a lease on B. `scale` multiplies the turns.
 */
export async function buildWorld(store: Store, scale = 1): Promise<void> {
  const w = WORLD
  await store.createSession({ sessionId: w.a, systemPrompt: 'be brief', ts: TS })
  await addTurns(store, w.a, 3 * scale, { big: true })
  const mid = (await entriesHashes(store, w.a))[5]!
  await store.forkAt(mid, { sessionId: w.fork, ts: TS + 100 })
  await addTurns(store, w.fork, 2 * scale, { from: 10, model: 'model-b' })
  await store.forkAt((await store.head(w.fork))!, { sessionId: w.forkOfFork, ts: TS + 200 })
  await addTurns(store, w.forkOfFork, 1, { from: 20 })
  await store.forkAt(mid, { sessionId: w.materialized, materialize: true, ts: TS + 300 })
  await store.createSession({ sessionId: w.b, ts: TS + 400 })
  await addTurns(store, w.b, 2 * scale, { from: 30, big: true, model: 'model-b' })
  await store.compact(w.b, { history: [{ role: 'user', content: 'summary of b' }], summary: 'b so far', sessionId: w.compacted, ts: TS + 500 })
  await addTurns(store, w.compacted, 1, { from: 40 })
  await store.createSession({ sessionId: w.gone, ts: TS + 600 })
  await addTurns(store, w.gone, 1, { from: 50 })
  await store.deleteSession(w.gone)
  await store.claimSession(w.b, { owner: 'runtime-b', ttlMs: 3_600_000 })
}

async function entriesHashes(store: ChainlogStore, id: string): Promise<string[]> {
  const out: string[] = []
  for await (const e of store.entries(id, { verify: false, resolveBlobs: false })) out.push(e.hash)
  return out
}

export interface StoreSnapshot {
  /** Session ids, in id order, with head and length. */
  sessions: { sessionId: string; head: string; length: number }[]
  /** Entry hashes of every session. */
  hashes: Record<string, string[]>
  /** Every blob hash the entries reference, with the SHA-256 of its content as read back. */
  blobs: Record<string, string>
  /** The usage ledger of every session, and of the store. */
  usage: Record<string, UsageByModel>
  storeUsage: UsageByModel
}

/** What a store holds, read through the public API (so any engine, any way of holding it). */
export async function snapshotStore(store: Store): Promise<StoreSnapshot> {
  const sessions = (await store.listSessions()).map((s) => ({ sessionId: s.sessionId, head: s.head, length: s.length }))
  const hashes: Record<string, string[]> = {}
  const usageOf: Record<string, UsageByModel> = {}
  const refs = new Set<string>()
  for (const s of sessions) {
    hashes[s.sessionId] = []
    for await (const e of store.entries(s.sessionId, { resolveBlobs: false })) {
      hashes[s.sessionId]!.push(e.hash)
      for (const m of JSON.stringify(e.entry).matchAll(/"\$blob":"sha256:([0-9a-f]{64})"/g)) refs.add(m[1]!)
    }
    usageOf[s.sessionId] = await store.usage(s.sessionId)
  }
  const blobs: Record<string, string> = {}
  for (const hex of [...refs].sort()) blobs[hex] = createHash('sha256').update(await store.readBlob(hex)).digest('hex')
  return { sessions, hashes, blobs, usage: usageOf, storeUsage: await store.usage() }
}
