// The usage ledger: token totals per session and store-wide, by model, kept up to date in the
// same batch as the llm_usage entries that change them, so reading them never scans entries.
// A session's ledger counts its own llm_usage entries (what was spent in that session; a fork
// does not count its source's usage again), and the store-wide ledger is their sum.
//
// Store-wide rows are shared by every session, so their new values are computed synchronously
// from an in-memory copy as each append builds its batch; batches land in the order they were
// built (group-writer), so the last row written always carries every earlier increment.
import { decodeCbor, encodeCanonical } from '../encoding/cbor.js'
import type { Usage } from '../schema/entry.js'
import { addUsage, emptyTotals, type UsageTotals } from '../state/reducer.js'
import type { AnyLevel } from './session-store.js'
import type { BatchOp } from './group-writer.js'
import * as K from './keys.js'

const BIN = { keyEncoding: 'view', valueEncoding: 'view' } as const
const enc = new TextEncoder()
const dec = new TextDecoder()

export type UsageByModel = Record<string, UsageTotals>

function usageKey(sessionId: string | undefined, model: string): Uint8Array {
  const sid = sessionId === undefined ? new Uint8Array(0) : enc.encode(sessionId)
  const m = enc.encode(model)
  const out = new Uint8Array(2 + sid.length + m.length)
  out[0] = K.TAG.usage
  out.set(sid, 1)
  out[1 + sid.length] = 0
  out.set(m, 2 + sid.length)
  return out
}

function usageRange(sessionId: string | undefined): { gte: Uint8Array; lt: Uint8Array } {
  const sid = sessionId === undefined ? new Uint8Array(0) : enc.encode(sessionId)
  const gte = new Uint8Array(2 + sid.length)
  gte[0] = K.TAG.usage
  gte.set(sid, 1)
  const lt = gte.slice()
  lt[1 + sid.length] = 1
  return { gte, lt }
}

function subtract(a: UsageTotals, b: UsageTotals): UsageTotals {
  return {
    calls: a.calls - b.calls,
    inputTokens: a.inputTokens - b.inputTokens,
    cacheReadTokens: a.cacheReadTokens - b.cacheReadTokens,
    cacheWriteTokens: a.cacheWriteTokens - b.cacheWriteTokens,
    outputTokens: a.outputTokens - b.outputTokens,
    reasoningTokens: a.reasoningTokens - b.reasoningTokens,
  }
}

export class UsageLedger {
  #store: UsageByModel | undefined
  #loading: Promise<UsageByModel> | undefined

  constructor(private readonly db: AnyLevel) {}

  async #read(sessionId: string | undefined): Promise<UsageByModel> {
    const out: UsageByModel = {}
    for await (const [key, value] of this.db.iterator({ ...usageRange(sessionId), ...BIN })) {
      const k = key as Uint8Array
      const zero = k.indexOf(0, 1)
      out[dec.decode(k.subarray(zero + 1))] = decodeCbor(value as Uint8Array) as UsageTotals
    }
    return out
  }

  /** Load the store-wide totals into memory (once). Call before building ops. */
  async ready(): Promise<void> {
    if (this.#store) return
    this.#loading ??= this.#read(undefined)
    this.#store = await this.#loading
  }

  /** Forget the in-memory copy (after a failed write, or writes that bypass the ledger). */
  reset(): void {
    this.#store = undefined
    this.#loading = undefined
  }

  /** Totals by model for one session, or store-wide when sessionId is undefined. */
  async totals(sessionId?: string): Promise<UsageByModel> {
    if (sessionId === undefined) {
      await this.ready()
      return structuredClone(this.#store!)
    }
    return this.#read(sessionId)
  }

  /**
   * Ops that add `usages` to a session's and the store's totals. `sessionTotals` is the
   * session's current ledger (the caller holds the session's lock). Must follow ready().
   */
  addOps(sessionId: string, sessionTotals: UsageByModel, usages: readonly Usage[], ops: BatchOp[]): void {
    if (usages.length === 0) return
    const store = this.#store!
    const touched = new Set<string>()
    for (const u of usages) {
      addUsage(sessionTotals, u)
      addUsage(store, u)
      touched.add(u.model)
    }
    for (const m of touched) {
      ops.push({ type: 'put', key: usageKey(sessionId, m), value: encodeCanonical(sessionTotals[m]!) })
      ops.push({ type: 'put', key: usageKey(undefined, m), value: encodeCanonical(store[m]!) })
    }
  }

  /** Ops that remove a session's ledger and take its totals out of the store's. */
  async removeOps(sessionId: string, ops: BatchOp[]): Promise<void> {
    await this.ready()
    const mine = await this.#read(sessionId)
    const store = this.#store!
    for (const [m, t] of Object.entries(mine)) {
      ops.push({ type: 'del', key: usageKey(sessionId, m) })
      const left = subtract(store[m] ?? emptyTotals(), t)
      if (left.calls <= 0) {
        delete store[m]
        ops.push({ type: 'del', key: usageKey(undefined, m) })
      } else {
        store[m] = left
        ops.push({ type: 'put', key: usageKey(undefined, m), value: encodeCanonical(left) })
      }
    }
  }

  /** A session's current totals, to pass to addOps. */
  sessionTotals(sessionId: string): Promise<UsageByModel> {
    return this.#read(sessionId)
  }
}
