// Live sessions: GET /api/sessions/:id/live streams `head { head, length }` whenever the
// session's head moves, so a page showing a session a runtime is appending to follows it
// without a reload. The head is polled (one index read), which works the same whether this
// process holds the store or reaches it through the process that does.
import { toHex } from '../index.js'
import type { Handler } from './context.js'
import { startEvents } from './http.js'
import { requireSession } from './api-read.js'

/** A comment line now and then keeps proxies and the browser from timing the stream out. */
const KEEPALIVE_MS = 15_000

export const liveSession: Handler = async ({ req, res, ctx, params }) => {
  const sessionId = params[0]!
  let current = await requireSession(ctx.store, sessionId)
  const send = startEvents(res)
  send('head', current)
  let lastWrite = Date.now()
  await new Promise<void>((resolve) => {
    let busy = false
    const timer = setInterval(async () => {
      if (busy) return
      busy = true
      try {
        const h = await ctx.store.readHead(sessionId)
        if (!h) {
          send('gone', { sessionId })
          stop()
          return
        }
        const head = toHex(h.hash)
        if (head !== current.head) {
          current = { head, length: h.seq + 1 }
          send('head', current)
          lastWrite = Date.now()
        } else if (Date.now() - lastWrite > KEEPALIVE_MS) {
          res.write(': keepalive\n\n')
          lastWrite = Date.now()
        }
      } catch {
        // The store is closing or was handed over; the client reconnects on its own.
        stop()
      } finally {
        busy = false
      }
    }, ctx.pollMs)
    const stop = () => {
      clearInterval(timer)
      resolve()
    }
    req.on('close', stop)
    res.on('close', stop)
  })
  if (!res.writableEnded) res.end()
}
