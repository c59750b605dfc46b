// Vitest globalSetup (both configs): the tests that run child processes (the CLI, other holders,
// crash and failover loops, the bench harness) run the built package in dist/. Build it once,
// before any test file starts, when it is missing or older than src/. One build in one place:
// test files run in parallel workers, and builds started from several of them raced.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/** True when every .ts file under src/ has its .js under dist/, written after the source last changed. */
function distIsFresh(src: string, dist: string): boolean {
  for (const e of readdirSync(src, { withFileTypes: true })) {
    const from = join(src, e.name)
    if (e.isDirectory()) {
      if (!distIsFresh(from, join(dist, e.name))) return false
    } else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
      const to = join(dist, e.name.replace(/\.ts$/, '.js'))
      if (!existsSync(to) || statSync(to).mtimeMs < statSync(from).mtimeMs) return false
    }
  }
  return true
}

export default function setup(): void {
  if (distIsFresh(join(ROOT, 'src'), join(ROOT, 'dist'))) return
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'pipe' })
  } catch (err) {
    const out = (err as { stdout?: Buffer }).stdout?.toString() ?? String(err)
    throw new Error(`tsc -p tsconfig.build.json failed; the tests that run dist/ need it:\n${out}`)
  }
}
