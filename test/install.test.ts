// The default install stays lean (issue 18, item 17): what only the benchmarks need lives in
// bench/package.json with its own lockfile, installed by `npm run bench` on first use, so
// `npm ci` compiles nothing from source.
import { readFileSync, readdirSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const readJson = (p: string) => JSON.parse(readFileSync(join(root, p), 'utf8'))

type Pkg = { dependencies?: Record<string, string>; devDependencies?: Record<string, string>; scripts?: Record<string, string> }
type Lock = { packages: Record<string, { dependencies?: Record<string, string>; hasInstallScript?: boolean }> }

/**
 * Packages with an install script that ship prebuilt binaries for our platforms (nothing to
 * compile): classic-level and cbor-extract carry them in the package; esbuild's script only
 * checks that its platform package (@esbuild/linux-x64, an optional dependency) is there.
 */
const PREBUILT = new Set(['classic-level', 'cbor-extract', 'esbuild'])

function benchSources(dir = join(root, 'bench')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    if (d.name === 'node_modules' || d.name === 'results') return []
    const p = join(dir, d.name)
    return d.isDirectory() ? benchSources(p) : p.endsWith('.mjs') ? [p] : []
  })
}

/** The package name of each bare import specifier (static or dynamic) in a source file. */
function importedPackages(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const specs = [...text.matchAll(/(?:from\s+|import\s*\(\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]!)
  return specs
    .filter((s) => !s.startsWith('.') && !s.startsWith('/') && !s.startsWith('node:') && !builtinModules.includes(s))
    .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!))
}

describe('install', () => {
  const rootPkg: Pkg = readJson('package.json')
  const benchPkg: Pkg = readJson('bench/package.json')
  const rootDeps = { ...rootPkg.dependencies, ...rootPkg.devDependencies }
  const benchDeps = benchPkg.dependencies ?? {}

  it('keeps the benchmarks-only dependencies out of the root package', () => {
    expect(Object.keys(benchDeps)).toContain('better-sqlite3')
    for (const name of Object.keys(benchDeps)) expect(rootDeps, name).not.toHaveProperty(name)
  })

  it('root lockfile holds no package that compiles on install', () => {
    const lock: Lock = readJson('package-lock.json')
    const compiled = Object.keys(lock.packages)
      .filter((k) => lock.packages[k]!.hasInstallScript)
      .map((k) => k.slice(k.lastIndexOf('node_modules/') + 'node_modules/'.length))
      .filter((name) => !PREBUILT.has(name))
    expect(compiled).toEqual([])
  })

  it('bench has its own lockfile matching bench/package.json', () => {
    const lock: Lock = readJson('bench/package-lock.json')
    expect(lock.packages['']!.dependencies).toEqual(benchDeps)
    for (const name of Object.keys(benchDeps)) expect(lock.packages, name).toHaveProperty(`node_modules/${name}`)
  })

  it("bench's own install shadows none of chainlog's dependencies (the bench runs a dist snapshot from bench/results/)", () => {
    const lock: Lock = readJson('bench/package-lock.json')
    const installed = Object.keys(lock.packages).map((k) => k.slice(k.lastIndexOf('node_modules/') + 'node_modules/'.length))
    expect(installed.filter((name) => name in (rootPkg.dependencies ?? {}))).toEqual([])
  })

  it('every package the bench imports is declared by the root or bench package', () => {
    const files = benchSources()
    expect(files.length).toBeGreaterThan(3)
    for (const f of files) {
      for (const name of importedPackages(f)) {
        expect(name in rootDeps || name in benchDeps, `${f} imports ${name}`).toBe(true)
      }
    }
  })

  it('npm run bench installs the bench dependencies before running', () => {
    expect(rootPkg.scripts!.bench).toMatch(/^node bench\/install-deps\.mjs && node bench\/run\.mjs$/)
  })
})
