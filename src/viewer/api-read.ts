// Read-only JSON routes: sessions, a page of a session's entries, one entry, the lineage graph
// around a session, token usage by model and by day. The data comes from src/views/data.ts,
// which the viewer's bundle page also runs in the browser.
import { entriesView, entryView, lineageView, MAX_PAGE, requireSession, sessionView, sessionsView, usageView } from '../views/data.js'
import type { Handler } from './context.js'
import { badRequest } from './http-errors.js'
import { boolParam, intParam, sendJson } from './http.js'

export type { SessionRow, LineageNode, LineageEdge, DayUsage } from '../views/data.js'
export { MAX_PAGE, requireSession }

export const getInfo: Handler = async ({ res, ctx }) => {
  sendJson(res, 200, { storeDir: ctx.storeDir ?? null })
}

export const listSessions: Handler = async ({ res, ctx }) => {
  sendJson(res, 200, await sessionsView(ctx.store))
}

export const getSession: Handler = async ({ res, ctx, params }) => {
  sendJson(res, 200, await sessionView(ctx.store, params[0]!))
}

export const listEntries: Handler = async ({ res, ctx, params, url }) => {
  const page = { from: intParam(url, 'from', 0), limit: intParam(url, 'limit', 200, MAX_PAGE), blobs: boolParam(url, 'blobs') }
  sendJson(res, 200, await entriesView(ctx.store, params[0]!, page))
}

export const getEntry: Handler = async ({ res, ctx, params }) => {
  const hash = params[0]!.toLowerCase()
  if (!/^[0-9a-f]{4,64}$/.test(hash)) throw badRequest('an entry is named by 4 to 64 hex digits of its hash')
  sendJson(res, 200, await entryView(ctx.store, hash))
}

/** The whole fork/compaction tree that holds a session: from its topmost present source down. */
export const getLineage: Handler = async ({ res, ctx, params }) => {
  sendJson(res, 200, await lineageView(ctx.store, params[0]!))
}

export const getUsage: Handler = async ({ res, ctx }) => {
  sendJson(res, 200, await usageView(ctx.store))
}
