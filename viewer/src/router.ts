// Hash routes, so every view has a link (#/s/<session>/e/<hash> names one entry) and the
// server only ever serves one page.
import { useEffect, useState } from 'preact/hooks'

export type Route =
  | { page: 'sessions' }
  | { page: 'session'; sessionId: string; hash?: string }
  | { page: 'entry'; hash: string }
  | { page: 'lineage'; sessionId: string }
  | { page: 'verify'; sessionId?: string }
  | { page: 'usage' }
  | { page: 'actions' }
  | { page: 'bundle' }
  | { page: 'missing'; path: string }

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p)
    } catch {
      return p
    }
  })
  const [head, a, b, c] = parts
  if (!head) return { page: 'sessions' }
  if (head === 's' && a) return b === 'e' && c ? { page: 'session', sessionId: a, hash: c } : { page: 'session', sessionId: a }
  if (head === 'e' && a) return { page: 'entry', hash: a }
  if (head === 'lineage' && a) return { page: 'lineage', sessionId: a }
  if (head === 'verify') return a ? { page: 'verify', sessionId: a } : { page: 'verify' }
  if (head === 'usage') return { page: 'usage' }
  if (head === 'actions') return { page: 'actions' }
  if (head === 'bundle') return { page: 'bundle' }
  return { page: 'missing', path: hash }
}

export const link = {
  sessions: () => '#/',
  session: (id: string) => `#/s/${encodeURIComponent(id)}`,
  entry: (id: string, hash: string) => `#/s/${encodeURIComponent(id)}/e/${hash}`,
  lineage: (id: string) => `#/lineage/${encodeURIComponent(id)}`,
  verify: (id?: string) => (id ? `#/verify/${encodeURIComponent(id)}` : '#/verify'),
  usage: () => '#/usage',
  actions: () => '#/actions',
  bundle: () => '#/bundle',
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash))
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash))
    addEventListener('hashchange', on)
    return () => removeEventListener('hashchange', on)
  }, [])
  return route
}

export function go(href: string): void {
  location.hash = href.replace(/^#/, '')
}
