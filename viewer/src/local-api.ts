// A bundle opened in the page (docs/viewer.md#bundle): verified here with chainlog's browser
// build, imported into a store held in this page's memory, and browsed through the same views
// the server sends (src/views/data.ts), so every page works on it without a server call. The
// server never sees the file; closing the page forgets it.
import { MemoryLevel } from 'memory-level'
import { openBrowserStore, verifyBundle, type BundleReport, type Store } from '../../src/browser'
import { toJsonSafe } from '../../src/cli/json'
import { describeHttpError, notFound } from '../../src/viewer/http-errors'
import { boolParam, intParam } from '../../src/viewer/http'
import { ApiError } from './api'
import { entriesView, entryView, lineageView, MAX_PAGE, sessionView, sessionsView, usageView, verifySessionView, verifyTotal } from '../../src/views/data'

export interface LocalApi {
  /** The file's name, shown in the header. */
  name: string
  get(path: string): Promise<unknown>
  /** A server-sent-event route run in the page: the same events, then nothing more. */
  stream(path: string, handlers: Record<string, (data: any) => void>): () => void
}

/** The bundle's own check, in the page: nothing is sent anywhere. */
export function checkBundle(bytes: Uint8Array): Promise<BundleReport> {
  return verifyBundle(bytes)
}

/** Import a verified bundle into a store in this page's memory and serve the views from it. */
export async function openLocal(name: string, bytes: Uint8Array): Promise<LocalApi> {
  const store = await openBrowserStore({ db: new MemoryLevel({ keyEncoding: 'view', valueEncoding: 'view' }), durability: 'relaxed' })
  // importBundle verifies the bundle again before it writes anything.
  await store.importBundle(bytes)
  return localApi(name, store)
}

const json = (v: unknown): unknown => JSON.parse(JSON.stringify(toJsonSafe(v)))

/** A failure as the server would reply it: the same status and code (src/viewer/http-errors.ts). */
function asApiError(err: unknown): ApiError {
  const { status, code, message, data } = describeHttpError(err)
  return new ApiError(status, code, message, data)
}

export function localApi(name: string, store: Store): LocalApi {
  const routes: [RegExp, (url: URL, p: string[]) => Promise<unknown>][] = [
    [/^\/api\/info$/, async () => ({ storeDir: null, bundle: name })],
    [/^\/api\/sessions$/, () => sessionsView(store)],
    [/^\/api\/sessions\/([^/]+)$/, (_u, p) => sessionView(store, p[0]!)],
    [/^\/api\/sessions\/([^/]+)\/entries$/, (u, p) => entriesView(store, p[0]!, { from: intParam(u, 'from', 0), limit: intParam(u, 'limit', 200, MAX_PAGE), blobs: boolParam(u, 'blobs') })],
    [/^\/api\/sessions\/([^/]+)\/lineage$/, (_u, p) => lineageView(store, p[0]!)],
    [/^\/api\/sessions\/([^/]+)\/verify$/, (_u, p) => verifySessionView(store, p[0]!)],
    [/^\/api\/entries\/([^/]+)$/, (_u, p) => entryView(store, p[0]!.toLowerCase())],
    [/^\/api\/usage$/, () => usageView(store)],
  ]
  return {
    name,
    async get(path) {
      const url = new URL(path, 'http://page.invalid')
      for (const [re, fn] of routes) {
        const m = re.exec(url.pathname)
        if (!m) continue
        try {
          return json(await fn(url, m.slice(1).map(decodeURIComponent)))
        } catch (err) {
          throw asApiError(err)
        }
      }
      throw asApiError(notFound(`${url.pathname} (in a bundle opened in the page)`))
    },
    stream(path, handlers) {
      const url = new URL(path, 'http://page.invalid')
      let closed = false
      // Live updates: a bundle does not change.
      if (url.pathname !== '/api/verify') return () => undefined
      const send = (event: string, data: unknown) => {
        if (!closed) handlers[event]?.(json(data))
      }
      void (async () => {
        await Promise.resolve()
        const sessionId = url.searchParams.get('session') || undefined
        try {
          const lineage = boolParam(url, 'lineage')
          const total = await verifyTotal(store, sessionId, lineage)
          send('start', { total, sessionId: sessionId ?? null, lineage })
          const report = await store.verify({ ...(sessionId ? { sessionId, lineage } : {}), onProgress: (p) => send('progress', p) })
          send('report', report)
        } catch (err) {
          const e = asApiError(err)
          send('failed', { code: e.code, message: e.message })
        }
      })()
      return () => {
        closed = true
      }
    },
  }
}
