// Installs the benchmarks' own dependencies (bench/package.json: the SQLite peer) on first use,
// so the default `npm ci` of chainlog stays fast. `npm run bench` runs this before bench/run.mjs;
// it does nothing once bench/node_modules holds every dependency bench/package.json names.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const HERE = path.dirname(fileURLToPath(import.meta.url))

/** Names in bench/package.json's dependencies that bench/node_modules does not hold yet. */
export function missingBenchDeps() {
  const pkg = JSON.parse(fs.readFileSync(path.join(HERE, 'package.json'), 'utf8'))
  return Object.keys(pkg.dependencies ?? {}).filter((name) => !fs.existsSync(path.join(HERE, 'node_modules', name, 'package.json')))
}

/** Run `npm ci --prefix bench` when a dependency is missing (better-sqlite3 may compile: minutes). */
export function ensureBenchDeps() {
  const missing = missingBenchDeps()
  if (missing.length === 0) return false
  console.error(`bench: installing ${missing.join(', ')} into bench/node_modules (first run only; better-sqlite3 may take a few minutes to build)`)
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  execFileSync(npm, ['ci', '--prefix', HERE, '--no-audit', '--no-fund'], { stdio: ['ignore', process.stderr, process.stderr], shell: process.platform === 'win32' })
  return true
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) ensureBenchDeps()
