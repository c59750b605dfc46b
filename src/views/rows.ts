// The rows a session listing shows (`chainlog ls --json`, the viewer's session list), from any
// store: portable (no Node built-ins), so the viewer builds it into the page too.
import type { ChainlogStore } from '../open.js'
import type { Origin } from '../schema/entry.js'
import type { SessionInfo } from '../storage/session-store.js'
import type { UsageTotals } from '../state/reducer.js'

/** What a listing reads from a store: the Store, a SharedStore, or a store in a browser page. */
export type RowStore = Pick<ChainlogStore, 'usage' | 'usageBySession' | 'listSessions'>

export type Relation = 'fork' | 'compaction'

export interface OriginView {
  relation: Relation
  sessionId: string
  atHash: string
  materialized: boolean
}

export function originOf(s: { forkedFrom?: Origin; compactedFrom?: Origin; materialized?: boolean }): OriginView | null {
  if (s.forkedFrom) return { relation: 'fork', ...s.forkedFrom, materialized: s.materialized === true }
  if (s.compactedFrom) return { relation: 'compaction', ...s.compactedFrom, materialized: true }
  return null
}

// Usage totals are added the way the reducer adds them.
export { emptyTotals, mergeTotals as addTotals } from '../state/reducer.js'

/** A session as `chainlog ls --json` and the viewer's session list give it. */
export interface SessionRow {
  sessionId: string
  head: string
  length: number
  createdAt: number
  updatedAt: number
  firstUserMessage: string | null
  counts: SessionInfo['counts']
  /** Where a fork or compaction starts from. */
  origin: OriginView | null
  usageTotals: Record<string, UsageTotals>
}

/** The row of one session; `usageTotals` from the caller when it read them in bulk. */
export async function sessionRow(store: RowStore, s: SessionInfo, usageTotals?: Record<string, UsageTotals>): Promise<SessionRow> {
  return rowOf(s, usageTotals ?? (await store.usage(s.sessionId)))
}

function rowOf(s: SessionInfo, usageTotals: Record<string, UsageTotals>): SessionRow {
  return {
    sessionId: s.sessionId,
    head: s.head,
    length: s.length,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    firstUserMessage: s.firstUserMessage ?? null,
    counts: s.counts,
    origin: originOf(s),
    usageTotals,
  }
}

/** Above this many sessions asked for, the listing reads the whole usage ledger. */
const BULK_USAGE = 64

/**
 * Sessions newest first (the newest `limit` if given), as rows. A few sessions read their own
 * ledger rows; many read the whole ledger in one scan, so the listing costs a few range scans
 * whatever the number of sessions. The ledger scan runs alongside the listing's scans.
 */
export async function sessionRows(store: RowStore, limit?: number): Promise<SessionRow[]> {
  const bulk = limit === undefined || limit > BULK_USAGE ? store.usageBySession() : undefined
  let sessions: SessionInfo[]
  try {
    sessions = await store.listSessions({ order: 'newest', limit })
  } catch (err) {
    await bulk?.catch(() => undefined)
    throw err
  }
  const all = await bulk
  if (all) return sessions.map((s) => rowOf(s, all[s.sessionId] ?? {}))
  const rows: SessionRow[] = []
  for (const s of sessions) rows.push(await sessionRow(store, s))
  return rows
}

