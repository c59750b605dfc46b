// The viewer's API in one table: method, path, whether it writes (writes need the run's token),
// and the handler. docs/viewer.md#api lists the same routes.
import { exportSession, fork, importBundle } from './api-actions.js'
import { getEntry, getInfo, getLineage, getSession, getUsage, listEntries, listSessions } from './api-read.js'
import { verifySession, verifyStream } from './api-verify.js'
import type { Handler } from './context.js'
import { liveSession } from './live.js'

export interface Route {
  method: 'GET' | 'POST'
  path: RegExp
  write: boolean
  handler: Handler
}

const S = '([^/]+)'

export const ROUTES: readonly Route[] = [
  { method: 'GET', path: /^\/api\/info$/, write: false, handler: getInfo },
  { method: 'GET', path: /^\/api\/sessions$/, write: false, handler: listSessions },
  { method: 'GET', path: new RegExp(`^/api/sessions/${S}$`), write: false, handler: getSession },
  { method: 'GET', path: new RegExp(`^/api/sessions/${S}/entries$`), write: false, handler: listEntries },
  { method: 'GET', path: new RegExp(`^/api/sessions/${S}/lineage$`), write: false, handler: getLineage },
  { method: 'GET', path: new RegExp(`^/api/sessions/${S}/verify$`), write: false, handler: verifySession },
  { method: 'GET', path: new RegExp(`^/api/sessions/${S}/live$`), write: false, handler: liveSession },
  { method: 'GET', path: new RegExp(`^/api/sessions/${S}/export$`), write: false, handler: exportSession },
  { method: 'GET', path: new RegExp(`^/api/entries/${S}$`), write: false, handler: getEntry },
  { method: 'GET', path: /^\/api\/usage$/, write: false, handler: getUsage },
  { method: 'GET', path: /^\/api\/verify$/, write: false, handler: verifyStream },
  { method: 'POST', path: /^\/api\/fork$/, write: true, handler: fork },
  { method: 'POST', path: /^\/api\/import$/, write: true, handler: importBundle },
]

/** The route for a method and path: the route and its params, 'method' when only the method is wrong, or undefined. */
export function matchRoute(method: string, path: string): { route: Route; params: string[] } | 'method' | undefined {
  let pathMatched = false
  for (const route of ROUTES) {
    const m = route.path.exec(path)
    if (!m) continue
    pathMatched = true
    if (route.method === method || (method === 'HEAD' && route.method === 'GET')) return { route, params: m.slice(1) }
  }
  return pathMatched ? 'method' : undefined
}
