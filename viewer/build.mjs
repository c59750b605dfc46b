// Build the viewer's front end into dist/viewer-assets/ (index.html, app.js, app.css): one
// minified bundle, no network at run time. `npm run build` runs this after tsc.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const here = dirname(fileURLToPath(import.meta.url))
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
})
copyFileSync(join(here, 'index.html'), join(out, 'index.html'))
copyFileSync(join(here, 'styles.css'), join(out, 'app.css'))
