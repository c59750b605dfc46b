// The built front end (dist/viewer-assets/), read once at start into a table of URL path ->
// bytes. Only paths in that table are served: no request path is ever joined to a directory,
// so nothing outside the built assets can be reached.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { extname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
}

/** Where index.html carries the run's write token. */
export const TOKEN_PLACEHOLDER = '%CHAINLOG_TOKEN%'

export interface Asset {
  type: string
  body: Buffer
}

/**
 * The built assets: beside the compiled server (dist/viewer -> dist/viewer-assets), or, when
 * the server runs from src/ (tests), in dist/viewer-assets of the package.
 */
export function defaultAssetsDir(): string {
  const candidates = [new URL('../viewer-assets/', import.meta.url), new URL('../../dist/viewer-assets/', import.meta.url)]
  for (const c of candidates) {
    const dir = fileURLToPath(c)
    if (existsSync(join(dir, 'index.html'))) return dir
  }
  return fileURLToPath(candidates[0]!)
}

function walk(dir: string, out: string[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) walk(p, out)
    else if (e.isFile()) out.push(p)
  }
}

/** Load every built asset; index.html gets the token written in. */
export function loadAssets(dir: string, token: string): Map<string, Asset> {
  if (!existsSync(join(dir, 'index.html'))) {
    throw new Error(`the viewer's built assets are missing from ${dir} (run: npm run build)`)
  }
  const files: string[] = []
  walk(dir, files)
  const table = new Map<string, Asset>()
  for (const file of files) {
    const ext = extname(file)
    const type = TYPES[ext]
    if (!type) continue
    const path = `/${relative(dir, file).split(sep).join('/')}`
    let body = readFileSync(file)
    if (path === '/index.html') body = Buffer.from(body.toString('utf8').replaceAll(TOKEN_PLACEHOLDER, token))
    table.set(path, { type, body })
  }
  table.set('/', table.get('/index.html')!)
  return table
}
