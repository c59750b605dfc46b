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

/**
 * The row of one session. Its usage totals come with its metadata (the session row holds both,
 * store format 4); `usageTotals` overrides them.
 */
export async function sessionRow(_store: RowStore, s: SessionInfo, usageTotals?: Record<string, UsageTotals>): Promise<SessionRow> {
  return rowOf(s, usageTotals ?? s.usage ?? {})
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

/**
 * Sessions newest first (the newest `limit` if given), as rows: one range scan of the session
 * rows, which hold each session's head, metadata and usage totals (store format 4), whatever
 * the number of sessions.
 */
export async function sessionRows(store: RowStore, limit?: number): Promise<SessionRow[]> {
  const sessions = await store.listSessions({ order: 'newest', limit })
  return sessions.map((s) => rowOf(s, s.usage ?? {}))
}

