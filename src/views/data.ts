// What the viewer shows, computed from a store: sessions, a page of a session's entries, one
// entry, the lineage graph around a session, token usage, a session's verification. Pure of
// any transport: `chainlog serve` sends these as JSON (src/viewer/api-*.ts), and the viewer's
// bundle page computes the same objects in the browser from a store in the page
// (viewer/src/local-api.ts), so both show one thing the same way.
import { ChainlogError, ErrorCodes } from '../errors.js'
import { isHexHash, toHex } from '../encoding/hex-hash.js'
import type { ChainlogStore } from '../open.js'
import type { Descendant, LineageRelation } from '../lineage/lineage.js'
import type { VerifyReport } from '../verify/findings.js'
import { sessionRow, sessionRows, type SessionRow } from './rows.js'

export type { SessionRow }

/** The store calls the views make (a Store, a SharedStore, or a store in a browser page). */
export type ViewStore = Pick<
  ChainlogStore,
  'readHead' | 'readMeta' | 'usage' | 'usageBySession' | 'listSessions' | 'entries' | 'getEntry' | 'lineage' | 'locate' | 'verify'
>

/** The session's length and head; CHAINLOG_SESSION_NOT_FOUND when there is none. */
export async function requireSession(store: Pick<ViewStore, 'readHead'>, sessionId: string): Promise<{ head: string; length: number }> {
  const head = await store.readHead(sessionId)
  if (!head) throw new ChainlogError(ErrorCodes.SESSION_NOT_FOUND, `no session ${sessionId}`, { sessionId })
  return { head: toHex(head.hash), length: head.seq + 1 }
}

export async function sessionsView(store: ViewStore): Promise<{ sessions: SessionRow[] }> {
  return { sessions: await sessionRows(store) }
}

export async function sessionView(store: ViewStore, sessionId: string): Promise<SessionRow> {
  const { head, length } = await requireSession(store, sessionId)
  const meta = await store.readMeta(sessionId)
  if (!meta) throw new ChainlogError(ErrorCodes.SESSION_NOT_FOUND, `no session ${sessionId}`, { sessionId })
  return sessionRow(store, { ...meta, sessionId, head, length })
}

/** The most entries one page holds. */
export const MAX_PAGE = 1000

/**
 * A page of entries as stored. Hashes are not checked on this read (verify's job, whose
 * findings the page shows in place), so a damaged session can still be looked at. Large
 * payloads stay blob references ({ $blob, size, mediaType }) unless `blobs`: the page loads
 * them for one entry when asked.
 */
export async function entriesView(store: ViewStore, sessionId: string, page: { from: number; limit: number; blobs: boolean }) {
  const { head, length } = await requireSession(store, sessionId)
  const { from, blobs } = page
  const limit = Math.min(page.limit, MAX_PAGE)
  const entries = []
  if (limit > 0 && from < length) {
    for await (const e of store.entries(sessionId, { from, to: Math.min(length - 1, from + limit - 1), verify: false, resolveBlobs: blobs })) entries.push(e)
  }
  return { sessionId, head, length, from, entries }
}

/** One entry by hash or unique prefix (4 to 64 hex digits; the caller checks the form). */
export function entryView(store: ViewStore, hashOrPrefix: string) {
  return store.getEntry(hashOrPrefix)
}

export interface LineageNode {
  sessionId: string
  present: boolean
  length: number
  firstUserMessage: string | null
}

export interface LineageEdge {
  from: string
  to: string
  /** `subagent`: an imported subagent session under the session that spawned it. */
  relation: LineageRelation
  /** Null for a subagent spawned at an entry the import did not know. */
  atHash: string | null
  /** The seq of atHash in `from`, when that entry is in the store. */
  atSeq: number | null
  materialized: boolean
}

/** The whole fork/compaction tree that holds a session: from its topmost present source down. */
export async function lineageView(store: ViewStore, sessionId: string) {
  const own = await store.lineage(sessionId)
  const infos = new Map((await store.listSessions()).map((s) => [s.sessionId, s]))
  const top = [...own.ancestors].reverse().find((a) => a.present)?.sessionId ?? sessionId
  const tree = top === sessionId ? own : await store.lineage(top)
  const nodes = new Map<string, LineageNode>()
  const edges: LineageEdge[] = []
  const node = (id: string) => {
    if (nodes.has(id)) return
    const s = infos.get(id)
    nodes.set(id, { sessionId: id, present: s !== undefined, length: s?.length ?? 0, firstUserMessage: s?.firstUserMessage ?? null })
  }
  const edge = async (from: string, to: string, relation: LineageEdge['relation'], atHash: string | null, materialized: boolean) => {
    const loc = atHash !== null && isHexHash(atHash) ? await store.locate(atHash) : undefined
    edges.push({ from, to, relation, atHash, atSeq: loc && loc.sessionId === from ? loc.seq : null, materialized })
  }
  node(top)
  // A deleted source above the top is drawn as a missing node.
  const above = tree.ancestors[0]
  if (above) {
    node(above.sessionId)
    await edge(above.sessionId, top, above.relation, above.atHash, above.relation === 'subagent' || infos.get(top)?.materialized === true)
  }
  const walk = async (from: string, kids: Descendant[]) => {
    for (const k of kids) {
      node(k.sessionId)
      await edge(from, k.sessionId, k.relation, k.atHash, k.materialized)
      await walk(k.sessionId, k.children)
    }
  }
  await walk(top, tree.descendants)
  return { sessionId, root: above?.sessionId ?? top, nodes: [...nodes.values()], edges }
}

const USAGE_FIELDS = ['inputTokens', 'outputTokens', 'cacheReadTokens', 'cacheWriteTokens', 'reasoningTokens'] as const

export type DayUsage = { day: string; model: string; calls: number } & Record<(typeof USAGE_FIELDS)[number], number>

/**
 * Tokens by model (from the store's usage ledger) and by UTC day and model (from the
 * llm_usage entries themselves, each session's own, so a fork does not count its source twice).
 */
export async function usageView(store: ViewStore) {
  const byModel = await store.usage()
  const days = new Map<string, DayUsage>()
  for (const s of await store.listSessions()) {
    for await (const e of store.entries(s.sessionId, { verify: false, resolveBlobs: false })) {
      if (e.entry.kind !== 'llm_usage') continue
      const day = new Date(e.entry.ts).toISOString().slice(0, 10)
      const key = `${day} ${e.entry.model}`
      let row = days.get(key)
      if (!row) {
        row = { day, model: e.entry.model, calls: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }
        days.set(key, row)
      }
      row.calls++
      for (const f of USAGE_FIELDS) row[f] += Number(e.entry[f])
    }
  }
  const byDay = [...days.values()].sort((a, b) => (a.day === b.day ? (a.model < b.model ? -1 : 1) : a.day < b.day ? -1 : 1))
  return { byModel, byDay }
}

/**
 * The entries a verify will check (the progress bar's end): one session, with its sources when
 * `lineage`, or the whole store.
 */
export async function verifyTotal(store: ViewStore, sessionId: string | undefined, lineage: boolean): Promise<number> {
  if (!sessionId) {
    let total = 0
    for (const s of await store.listSessions()) total += s.length
    return total
  }
  let total = (await requireSession(store, sessionId)).length
  if (lineage) {
    for (const a of (await store.lineage(sessionId)).ancestors) {
      // verify follows forks and compactions; a subagent does not need the session above it.
      if (a.relation === 'subagent') break
      const h = a.present ? await store.readHead(a.sessionId) : undefined
      if (h) total += h.seq + 1
    }
  }
  return total
}

/** A session's verification report (the list's badges, the timeline's findings). */
export async function verifySessionView(store: ViewStore, sessionId: string): Promise<VerifyReport> {
  await requireSession(store, sessionId)
  return store.verify({ sessionId })
}
