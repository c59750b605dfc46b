// The usage ledger: token totals per session and store-wide, by model, kept up to date in the
// same batch as the llm_usage entries that change them, so reading them never scans entries.
// A session's ledger counts its own llm_usage entries (what was spent in that session; a fork
// does not count its source's usage again), and the store-wide ledger is their sum.
//
// Session rows are computed under the session's lock. Store-wide rows are shared by every
// session, so an append only hands the group writer a delta; the writer turns the deltas of one
// batch into store-wide rows when it assembles that batch, and the in-memory totals move only
// once the batch has landed. A failed batch therefore changes nothing, and the next batch
// starts from what is really on disk.
import { decodeCbor, encodeCanonical } from '../encoding/cbor.js'
import type { Usage } from '../schema/entry.js'
import { addUsage, emptyTotals, type UsageTotals } from '../state/reducer.js'
import type { AnyLevel } from './level-engine.js'
import type { BatchOp } from './group-writer.js'
import * as K from './keys.js'

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
  #committed: UsageByModel | undefined
  #loading: Promise<UsageByModel> | undefined

  constructor(private readonly db: AnyLevel) {}

  async #read(sessionId: string | undefined): Promise<UsageByModel> {
    const out: UsageByModel = {}
    for await (const [key, value] of this.db.iterator({ ...usageRange(sessionId), ...K.BIN })) {
      const k = key as Uint8Array
      const zero = k.indexOf(0, 1)
      out[dec.decode(k.subarray(zero + 1))] = decodeCbor(value as Uint8Array) as UsageTotals
    }
    return out
  }

  /**
   * Every session's totals, by one scan of the ledger (not one read per session): for listings
   * of many sessions. Sessions without usage are absent.
   */
  async bySession(): Promise<Record<string, UsageByModel>> {
    const out: Record<string, UsageByModel> = {}
    // Session rows are `U ‖ sessionId ‖ 0x00 ‖ model`; store-wide rows (`U ‖ 0x00 ‖ model`) sort first and are skipped.
    const gte = new Uint8Array([K.TAG.usage, 0x01])
    const lt = new Uint8Array([K.TAG.usage + 1])
    for await (const [key, value] of this.db.iterator({ gte, lt, ...K.BIN })) {
      const k = key as Uint8Array
      const zero = k.indexOf(0, 1)
      const sid = dec.decode(k.subarray(1, zero))
      ;(out[sid] ??= {})[dec.decode(k.subarray(zero + 1))] = decodeCbor(value as Uint8Array) as UsageTotals
    }
    return out
  }

  /** Load the store-wide totals into memory (once). Call before queueing a write with a delta. */
  async ready(): Promise<void> {
    if (this.#committed) return
    this.#loading ??= this.#read(undefined)
    this.#committed = await this.#loading
  }

  /** Forget the in-memory totals; the next read loads them from disk (for tools and tests). */
  reset(): void {
    this.#committed = undefined
    this.#loading = undefined
  }

  /** Totals by model for one session, or store-wide when sessionId is undefined. */
  async totals(sessionId?: string): Promise<UsageByModel> {
    if (sessionId === undefined) {
      await this.ready()
      return structuredClone(this.#committed!)
    }
    return this.#read(sessionId)
  }

  /** A session's current totals (the caller holds the session's lock). */
  sessionTotals(sessionId: string): Promise<UsageByModel> {
    return this.#read(sessionId)
  }

  /**
   * Ops that add `usages` to a session's rows (its current totals in `sessionTotals`), and the
   * delta the store-wide rows must take when the batch is assembled.
   */
  addOps(sessionId: string, sessionTotals: UsageByModel, usages: readonly Usage[], ops: BatchOp[]): UsageByModel {
    const delta: UsageByModel = {}
    for (const u of usages) {
      addUsage(sessionTotals, u)
      addUsage(delta, u)
    }
    for (const m of Object.keys(delta)) {
      ops.push({ type: 'put', key: usageKey(sessionId, m), value: encodeCanonical(sessionTotals[m]!) })
    }
    return delta
  }

  /** Ops that remove a session's rows, and the (negative) store-wide delta. */
  async removeOps(sessionId: string, ops: BatchOp[]): Promise<UsageByModel> {
    const mine = await this.#read(sessionId)
    const delta: UsageByModel = {}
    for (const [m, t] of Object.entries(mine)) {
      ops.push({ type: 'del', key: usageKey(sessionId, m) })
      delta[m] = subtract(emptyTotals(), t)
    }
    return delta
  }

  /**
   * Called by the group writer with the deltas of one batch: the store-wide rows to add to it,
   * and `commit` to run once the batch has landed.
   */
  assemble(deltas: readonly UsageByModel[]): { ops: BatchOp[]; commit: () => void } {
    const base = this.#committed
    if (!base) throw new Error('usage ledger used before ready()')
    const next: UsageByModel = {}
    for (const d of deltas) {
      for (const [m, t] of Object.entries(d)) {
        const cur = next[m] ?? base[m] ?? emptyTotals()
        next[m] = subtract(cur, subtract(emptyTotals(), t))
      }
    }
    const ops: BatchOp[] = []
    for (const [m, t] of Object.entries(next)) {
      if (t.calls <= 0) ops.push({ type: 'del', key: usageKey(undefined, m) })
      else ops.push({ type: 'put', key: usageKey(undefined, m), value: encodeCanonical(t) })
    }
    return {
      ops,
      commit: () => {
        for (const [m, t] of Object.entries(next)) {
          if (t.calls <= 0) delete base[m]
          else base[m] = t
        }
      },
    }
  }
}
