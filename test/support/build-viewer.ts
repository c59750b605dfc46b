// Vitest globalSetup: the viewer's tests serve the built front end (dist/viewer-assets/).
// Build it once, before any test file starts, when it is missing or older than viewer/.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

function newest(dir: string): number {
  let t = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs)
  }
  return t
}

export default function setup(): void {
  const built = join(ROOT, 'dist', 'viewer-assets', 'app.js')
  if (existsSync(built) && statSync(built).mtimeMs >= newest(join(ROOT, 'viewer'))) return
  try {
    execFileSync(process.execPath, [join(ROOT, 'viewer', 'build.mjs')], { cwd: ROOT, stdio: 'pipe' })
  } catch (err) {
    const out = (err as { stderr?: Buffer }).stderr?.toString() ?? String(err)
    throw new Error(`node viewer/build.mjs failed; the viewer's tests need it:\n${out}`)
  }
}
