// Build the viewer's front end into dist/viewer-assets/ (index.html, app.js, app.css): one
// minified bundle, no network at run time. `npm run build` runs this after tsc.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const here = dirname(fileURLToPath(import.meta.url))

const browserPlatform = {
  name: 'chainlog-browser-platform',
  setup(b) {
    b.onResolve({ filter: /\/platform\/node(\.js)?$/ }, (args) => ({ path: join(args.resolveDir, args.path.replace(/node(\.js)?$/, 'browser.ts')) }))
  },
}
const out = process.argv[2] ?? join(here, '..', 'dist', 'viewer-assets')

rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })
await build({
  entryPoints: { app: join(here, 'src', 'main.tsx') },
  outdir: out,
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  logLevel: 'warning',
  // The bundle page runs chainlog's core from src/ in the page: the host-platform module is the
  // browser one, as the package's "browser" field gives it to bundlers using dist/.
  plugins: [browserPlatform],
  // The page's one bundle loads chainlog's core on first use (pages/bundle.tsx), as a chunk.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
})
copyFileSync(join(here, 'index.html'), join(out, 'index.html'))
copyFileSync(join(here, 'styles.css'), join(out, 'app.css'))
