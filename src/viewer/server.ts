// The viewer's HTTP server: checks every request (host, then for writes origin and token),
// routes it to the API table or the built assets, and turns every failure into a JSON error
// reply. Nothing a request does can stop the server.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { ChainlogStore } from '../index.js'
import { defaultAssetsDir, loadAssets, type Asset } from './assets.js'
import type { ViewerContext } from './context.js'
import { HttpError, ViewerCodes, badRequest, notFound } from './http-errors.js'
import { sendError } from './http.js'
import { matchRoute } from './routes.js'
import { checkOrigin, checkToken, makeHostCheck, newToken, setSecurityHeaders } from './security.js'

export interface ViewerOptions {
  store: ChainlogStore
  /** Shown in the page; the store's directory. */
  storeDir?: string
  /** Default 127.0.0.1. Anything else exposes the store's contents to that network. */
  host?: string
  /** Default 0 (any free port). */
  port?: number
  /** Default: a new random token for this run. */
  token?: string
  /** Default: dist/viewer-assets. */
  assetsDir?: string
  /** How often live streams poll a session's head (default 250 ms). */
  pollMs?: number
  /** The largest bundle an import accepts (default 512 MiB). */
  maxImportBytes?: number
}

export interface Viewer {
  server: Server
  url: string
  host: string
  port: number
  /** The run's write token (also written into the page). */
  token: string
  /** Stop listening and end open streams; the store stays open (the caller owns it). */
  close(): Promise<void>
}

export { DEFAULT_HOST } from './security.js'
import { DEFAULT_HOST } from './security.js'

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1'
  return host.includes(':') ? `[${host}]` : host
}

export async function startViewer(options: ViewerOptions): Promise<Viewer> {
  const host = options.host ?? DEFAULT_HOST
  const token = options.token ?? newToken()
  const assets = loadAssets(options.assetsDir ?? defaultAssetsDir(), token)
  const ctx: ViewerContext = {
    store: options.store,
    storeDir: options.storeDir,
    pollMs: options.pollMs ?? 250,
    maxImportBytes: options.maxImportBytes ?? 512 * 1024 * 1024,
  }
  const checkHost = makeHostCheck(host)
  const server = createServer((req, res) => {
    handle(req, res, { ctx, assets, token, checkHost }).catch((err) => {
      try {
        sendError(res, err)
      } catch {
        res.destroy() // not even an error reply could be written; the server goes on
      }
    })
  })
  // A malformed request line or headers: answer 400 rather than drop or crash.
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n')
    else socket.destroy()
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  return {
    server,
    url: `http://${urlHost(host)}:${port}/`,
    host,
    port,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

interface Deps {
  ctx: ViewerContext
  assets: Map<string, Asset>
  token: string
  checkHost: (req: IncomingMessage) => void
}

async function handle(req: IncomingMessage, res: ServerResponse, deps: Deps): Promise<void> {
  setSecurityHeaders(res)
  deps.checkHost(req)
  const method = req.method ?? 'GET'
  let url: URL
  try {
    url = new URL(req.url ?? '/', 'http://viewer.invalid')
  } catch {
    throw badRequest('malformed request URL')
  }
  const path = url.pathname
  if (path.startsWith('/api/')) {
    const match = matchRoute(method, path)
    if (match === undefined) throw notFound(path)
    if (match === 'method') throw new HttpError(405, ViewerCodes.METHOD_NOT_ALLOWED, `${method} is not allowed on ${path}`)
    if (match.route.write) {
      checkOrigin(req)
      checkToken(req, deps.token)
    }
    let params: string[]
    try {
      params = match.params.map((p) => decodeURIComponent(p))
    } catch {
      throw badRequest('malformed path')
    }
    await match.route.handler({ req, res, url, params, ctx: deps.ctx })
    return
  }
  const asset = deps.assets.get(path)
  if (!asset) throw notFound(path)
  if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, ViewerCodes.METHOD_NOT_ALLOWED, `${method} is not allowed on ${path}`)
  res.writeHead(200, { 'content-type': asset.type, 'content-length': asset.body.length, 'cache-control': path === '/' || path === '/index.html' ? 'no-store' : 'no-cache' })
  res.end(method === 'HEAD' ? undefined : asset.body)
}
