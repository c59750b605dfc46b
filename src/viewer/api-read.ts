// Read-only JSON routes: sessions, a page of a session's entries, one entry, the lineage graph
// around a session, token usage by model and by day.
import { ErrorCodes, ChainlogError, isHexHash, toHex, type ChainlogStore, type Descendant, type LineageRelation, type SessionInfo, type UsageTotals } from '../index.js'
import { sessionRow, sessionRows, type SessionRow } from '../cli/sessions.js'
import type { Handler } from './context.js'
import { badRequest } from './http-errors.js'
import { boolParam, intParam, sendJson } from './http.js'

export type { SessionRow }

export const getInfo: Handler = async ({ res, ctx }) => {
  sendJson(res, 200, { storeDir: ctx.storeDir ?? null })
}

export const listSessions: Handler = async ({ res, ctx }) => {
  sendJson(res, 200, { sessions: await sessionRows(ctx.store) })
}

/** The session's length and head, 404 (CHAINLOG_SESSION_NOT_FOUND) when there is none. */
export async function requireSession(store: ChainlogStore, sessionId: string): Promise<{ head: string; length: number }> {
  const head = await store.readHead(sessionId)
  if (!head) throw new ChainlogError(ErrorCodes.SESSION_NOT_FOUND, `no session ${sessionId}`, { sessionId })
  return { head: toHex(head.hash), length: head.seq + 1 }
}

export const getSession: Handler = async ({ res, ctx, params }) => {
  const sessionId = params[0]!
  const { head, length } = await requireSession(ctx.store, sessionId)
  const meta = await ctx.store.readMeta(sessionId)
  if (!meta) throw new ChainlogError(ErrorCodes.SESSION_NOT_FOUND, `no session ${sessionId}`, { sessionId })
  sendJson(res, 200, await sessionRow(ctx.store, { ...meta, sessionId, head, length }))
}

export const MAX_PAGE = 1000

/**
 * A page of entries as stored. Hashes are not checked on this read (verify's job, whose
 * findings the page shows in place), so a damaged session can still be looked at. Large
 * payloads stay blob references ({ $blob, size, mediaType }) unless `blobs=1`: the page loads
 * them for one entry when asked.
 */
export const listEntries: Handler = async ({ res, ctx, params, url }) => {
  const sessionId = params[0]!
  const { head, length } = await requireSession(ctx.store, sessionId)
  const from = intParam(url, 'from', 0)
  const limit = intParam(url, 'limit', 200, MAX_PAGE)
  const resolveBlobs = boolParam(url, 'blobs')
  const entries = []
  if (limit > 0 && from < length) {
    for await (const e of ctx.store.entries(sessionId, { from, to: Math.min(length - 1, from + limit - 1), verify: false, resolveBlobs })) entries.push(e)
  }
  sendJson(res, 200, { sessionId, head, length, from, entries })
}

export const getEntry: Handler = async ({ res, ctx, params }) => {
  const hash = params[0]!.toLowerCase()
  if (!/^[0-9a-f]{4,64}$/.test(hash)) throw badRequest('an entry is named by 4 to 64 hex digits of its hash')
  sendJson(res, 200, await ctx.store.getEntry(hash))
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
export const getLineage: Handler = async ({ res, ctx, params }) => {
  const sessionId = params[0]!
  const store = ctx.store
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
  sendJson(res, 200, { sessionId, root: above?.sessionId ?? top, nodes: [...nodes.values()], edges })
}

const USAGE_FIELDS = ['inputTokens', 'outputTokens', 'cacheReadTokens', 'cacheWriteTokens', 'reasoningTokens'] as const

export type DayUsage = { day: string; model: string; calls: number } & Record<(typeof USAGE_FIELDS)[number], number>

/**
 * Tokens by model (from the store's usage ledger) and by UTC day and model (from the
 * llm_usage entries themselves, each session's own, so a fork does not count its source twice).
 */
export const getUsage: Handler = async ({ res, ctx }) => {
  const store = ctx.store
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
  sendJson(res, 200, { byModel, byDay })
}
