// The usage ledger: token totals per session, by model, kept up to date in the same commit as
// the llm_usage entries that change them, so reading them never scans entries. A session's
// ledger counts its own llm_usage entries (what was spent in that session; a fork does not count
// its source's usage again). Store-wide totals are the sum of the session rows, read by one scan
// of the ledger table: store format 1 kept them in shared rows that every append with usage
// rewrote, a hot spot no engine with many writers can hold (the migration drops those rows).
// Session rows are computed under the session's lock and written with the compare-and-set of
// its head, so two writers can never both add to the same totals.
import { decodeCbor, encodeCanonical } from '../encoding/cbor.js'
import type { Usage } from '../schema/entry.js'
import { addUsage, emptyTotals, type UsageTotals } from '../state/reducer.js'
import type { BatchOp, StorageEngine } from './engine.js'
import * as K from './keys.js'

const enc = new TextEncoder()
const dec = new TextDecoder()

export type UsageByModel = Record<string, UsageTotals>

function usageKey(sessionId: string, model: string): Uint8Array {
  const sid = enc.encode(sessionId)
  const m = enc.encode(model)
  const out = new Uint8Array(2 + sid.length + m.length)
  out[0] = K.TAG.usage
  out.set(sid, 1)
  out[1 + sid.length] = 0
  out.set(m, 2 + sid.length)
  return out
}

function usageRange(sessionId: string): { gte: Uint8Array; lt: Uint8Array } {
  const sid = enc.encode(sessionId)
  const gte = new Uint8Array(2 + sid.length)
  gte[0] = K.TAG.usage
  gte.set(sid, 1)
  const lt = gte.slice()
  lt[1 + sid.length] = 1
  return { gte, lt }
}

export class UsageLedger {
  constructor(private readonly engine: StorageEngine) {}

  async #scan(range: { gte: Uint8Array; lt: Uint8Array }, row: (sessionId: string, model: string, totals: UsageTotals) => void): Promise<void> {
    for await (const rows of this.engine.scan(range, 1024)) {
      for (const [k, value] of rows) {
        const zero = k.indexOf(0, 1)
        row(dec.decode(k.subarray(1, zero)), dec.decode(k.subarray(zero + 1)), decodeCbor(value) as UsageTotals)
      }
    }
  }

  /**
   * Every session's totals, by one scan of the ledger (not one read per session): for listings
   * of many sessions. Sessions without usage are absent.
   */
  async bySession(): Promise<Record<string, UsageByModel>> {
    const out: Record<string, UsageByModel> = {}
    await this.#scan(tableRange(), (sid, model, t) => void ((out[sid] ??= {})[model] = t))
    return out
  }

  /** Totals by model for one session, or store-wide (the sum over sessions) when sessionId is undefined. */
  async totals(sessionId?: string): Promise<UsageByModel> {
    const out: UsageByModel = {}
    if (sessionId !== undefined) {
      await this.#scan(usageRange(sessionId), (_sid, model, t) => void (out[model] = t))
      return out
    }
    await this.#scan(tableRange(), (_sid, model, t) => void (out[model] = add(out[model] ?? emptyTotals(), t)))
    return out
  }

  /**
   * Ops that add `usages` to a session's rows, given its current totals (the caller holds the
   * session's lock, and commits these ops with the compare-and-set of the session's head).
   */
  addOps(sessionId: string, sessionTotals: UsageByModel, usages: readonly Usage[], ops: BatchOp[]): void {
    const touched = new Set<string>()
    for (const u of usages) {
      addUsage(sessionTotals, u)
      touched.add(u.model)
    }
    for (const m of touched) ops.push({ type: 'put', key: usageKey(sessionId, m), value: encodeCanonical(sessionTotals[m]!) })
  }

  /** Ops that remove a session's rows. */
  async removeOps(sessionId: string, ops: BatchOp[]): Promise<void> {
    await this.#scan(usageRange(sessionId), (_sid, model) => void ops.push({ type: 'del', key: usageKey(sessionId, model) }))
  }
}

function add(a: UsageTotals, b: UsageTotals): UsageTotals {
  return {
    calls: a.calls + b.calls,
    inputTokens: a.inputTokens + b.inputTokens,
    cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
    cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    reasoningTokens: a.reasoningTokens + b.reasoningTokens,
  }
}

/** The session rows of the ledger (`U ‖ sessionId ‖ 0x00 ‖ model`; session ids are never empty). */
function tableRange(): { gte: Uint8Array; lt: Uint8Array } {
  return { gte: new Uint8Array([K.TAG.usage, 0x01]), lt: new Uint8Array([K.TAG.usage + 1]) }
}

/** Store-wide rows of store format 1 (`U ‖ 0x00 ‖ model`), removed by the migration. */
export function storeWideRangeV1(): { gte: Uint8Array; lt: Uint8Array } {
  return { gte: new Uint8Array([K.TAG.usage, 0x00]), lt: new Uint8Array([K.TAG.usage, 0x01]) }
}
