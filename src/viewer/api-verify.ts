// Verification routes: a session's report as JSON (the list's badges, the timeline's findings),
// and a streamed run (session, lineage or whole store) with progress, for the Verify page.
import type { VerifyOptions } from '../index.js'
import type { Handler } from './context.js'
import { describeHttpError } from './http-errors.js'
import { boolParam, sendJson, startEvents } from './http.js'
import { verifySessionView, verifyTotal } from '../views/data.js'

export const verifySession: Handler = async ({ res, ctx, params }) => {
  sendJson(res, 200, await verifySessionView(ctx.store, params[0]!))
}

/** Progress events at most this often. */
const PROGRESS_MS = 100

/**
 * GET /api/verify?session=ID&lineage=1 as server-sent events: `start { total }` (entries to
 * check, for the progress bar), `progress { entries, bytes }`, then `report` or `failed`.
 */
export const verifyStream: Handler = async ({ req, res, ctx, url }) => {
  const sessionId = url.searchParams.get('session') || undefined
  const lineage = boolParam(url, 'lineage')
  const store = ctx.store
  const total = await verifyTotal(store, sessionId, lineage)
  const send = startEvents(res)
  send('start', { total, sessionId: sessionId ?? null, lineage })
  let closed = false
  req.on('close', () => (closed = true))
  let last = 0
  const options: VerifyOptions = {
    ...(sessionId ? { sessionId, lineage } : {}),
    onProgress: (p) => {
      const now = Date.now()
      if (closed || now - last < PROGRESS_MS) return
      last = now
      send('progress', p)
    },
  }
  try {
    const report = await store.verify(options)
    send('report', report)
  } catch (err) {
    const { code, message } = describeHttpError(err)
    send('failed', { code, message })
  }
  res.end()
}
