// The usage ledger: token totals per session, by model, kept in the session's own row (`P`, the
// `usage` field of its metadata; store format 4) and rewritten in the same commit as the
// llm_usage entries that change them, so reading them never scans entries. A session's ledger
// counts its own llm_usage entries (what was spent in that session; a fork does not count its
// source's usage again). Store-wide totals are the sum over the session rows, read by one scan of
// `P`: store format 1 kept them in shared rows that every append with usage rewrote, a hot spot
// no engine with many writers can hold. A session's totals are computed under the session's lock
// and written with the compare-and-set of its row, so two writers can never both add to them.
// Formats 2 and 3 kept them in rows of their own (`U ‖ sessionId ‖ 0x00 ‖ model`), which the
// migration to format 4 moves into the session rows (migrate-v4.ts).
import { decodeCbor } from '../encoding/cbor.js'
import type { Usage } from '../schema/entry.js'
import { addUsage, emptyTotals, type UsageTotals } from '../state/reducer.js'
import type { StorageEngine } from './engine.js'
import * as K from './keys.js'
import type { SessionMeta } from './session-meta.js'

export type UsageByModel = Record<string, UsageTotals>

/** The usage totals of a session row's value, or undefined when it has none (or no metadata). */
export function rowUsage(value: Uint8Array): UsageByModel | undefined {
  if (value.length <= K.HEAD_BYTES) return undefined
  const meta = decodeCbor(K.rowMetaBytes(value)) as SessionMeta | null
  return meta?.usage
}

export class UsageLedger {
  constructor(private readonly engine: StorageEngine) {}

  async #scan(row: (sessionId: string, usage: UsageByModel) => void): Promise<void> {
    for await (const rows of this.engine.scan(K.tableRange(K.TAG.head), 1024)) {
      for (const [k, value] of rows) {
        const usage = rowUsage(value)
        if (usage) row(K.sessionIdFromKey(k), usage)
      }
    }
  }

  /**
   * Every session's totals, by one scan of the session rows (not one read per session): for
   * listings of many sessions. Sessions without usage are absent.
   */
  async bySession(): Promise<Record<string, UsageByModel>> {
    const out: Record<string, UsageByModel> = {}
    await this.#scan((sid, usage) => void (out[sid] = usage))
    return out
  }

  /** Totals by model for one session, or store-wide (the sum over sessions) when sessionId is undefined. */
  async totals(sessionId?: string): Promise<UsageByModel> {
    if (sessionId !== undefined) {
      const raw = await this.engine.get(K.headKey(sessionId))
      return (raw && rowUsage(raw)) ?? {}
    }
    const out: UsageByModel = {}
    await this.#scan((_sid, usage) => {
      for (const [model, t] of Object.entries(usage)) out[model] = add(out[model] ?? emptyTotals(), t)
    })
    return out
  }
}

/**
 * A session's totals with `usages` added (a new object: `totals`, which may be cached metadata,
 * is not changed). The caller holds the session's lock and commits the result in the session's
 * row with the compare-and-set of that row.
 */
export function withUsages(totals: UsageByModel | undefined, usages: readonly Usage[]): UsageByModel {
  const out: UsageByModel = {}
  for (const [model, t] of Object.entries(totals ?? {})) out[model] = { ...t }
  for (const u of usages) addUsage(out, u)
  return out
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

/** The session rows of the format-2/3 ledger (`U ‖ sessionId ‖ 0x00 ‖ model`; session ids are never empty), migration only. */
export function sessionRangeV3(): { gte: Uint8Array; lt: Uint8Array } {
  return { gte: new Uint8Array([K.TAG_V3.usage, 0x01]), lt: new Uint8Array([K.TAG_V3.usage + 1]) }
}

/** Store-wide rows of store format 1 (`U ‖ 0x00 ‖ model`), removed by the migration. */
export function storeWideRangeV1(): { gte: Uint8Array; lt: Uint8Array } {
  return { gte: new Uint8Array([K.TAG_V3.usage, 0x00]), lt: new Uint8Array([K.TAG_V3.usage, 0x01]) }
}
