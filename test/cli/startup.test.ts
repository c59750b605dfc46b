// What `chainlog --help` (and every command, before its action runs) loads: the static import
// graph of dist/cli/main.js, every `import … from` and `export … from` followed, dynamic
// `import()` not (the commands load the store, the importers, the viewer and the hashing only
// when they run). A module that slips into this graph is paid by every start of the CLI
// (docs/benchmarks.md, case 8).
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const STATIC = /^\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]/gm

/** Files of the package (relative to the root) and packages (by name) in the static graph of `entry`. */
function staticGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>()
  const packages = new Set<string>()
  const require = createRequire(entry)
  const todo = [entry]
  while (todo.length > 0) {
    const file = todo.pop()!
    const rel = relative(ROOT, file)
    if (files.has(rel)) continue
    files.add(rel)
    for (const m of readFileSync(file, 'utf8').matchAll(STATIC)) {
      const spec = (m[1] ?? m[2])!
      if (spec.startsWith('node:')) continue
      if (spec.startsWith('.')) todo.push(join(dirname(file), spec))
      else {
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!
        packages.add(name)
        require.resolve(spec) // it exists
      }
    }
  }
  return { files, packages }
}

describe('chainlog start-up', () => {
  it('loads the command definitions, commander and no store, encoder, schema, hashing or platform module', () => {
    const { files, packages } = staticGraph(join(ROOT, 'dist', 'cli', 'main.js'))
    expect([...packages].sort()).toEqual(['commander'])
    expect(files.has('dist/cli/program.js')).toBe(true)
    expect(files.has('dist/cli/commands/verify.js')).toBe(true)
    for (const heavy of ['dist/platform/node.js', 'dist/encoding/hash.js', 'dist/encoding/cbor.js', 'dist/schema/entry.js', 'dist/storage/session-store.js', 'dist/store.js', 'dist/open.js']) {
      expect(files.has(heavy), heavy).toBe(false)
    }
    // A bound, so that the graph growing is a decision: 42 files when this test was written.
    expect(files.size).toBeLessThanOrEqual(50)
  })
})
