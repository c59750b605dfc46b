// docs/verification.md documents every finding code under its own `## <code>` heading, and
// documents no code that does not exist.
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { FindingCodes } from '../../src/verify/findings.js'

const DOC = join(dirname(fileURLToPath(import.meta.url)), '../../docs/verification.md')

describe('docs/verification.md', () => {
  it('has a `## <code>` heading for every finding code, and a code for every such heading', async () => {
    const text = await readFile(DOC, 'utf8')
    // Code headings are level-2 headings made only of lowercase letters and underscores;
    // section headings ("## 1. The report") never look like that.
    const headings = [...text.matchAll(/^## ([a-z_]+)\s*$/gm)].map((m) => m[1]!)
    expect(new Set(headings).size).toBe(headings.length)
    expect([...headings].sort()).toEqual([...FindingCodes].sort())
  })

  it('gives every code a meaning, a severity, a location and a way to check it by hand', async () => {
    const text = await readFile(DOC, 'utf8')
    for (const code of FindingCodes) {
      const start = text.indexOf(`\n## ${code}\n`)
      expect(start, code).toBeGreaterThanOrEqual(0)
      const next = text.indexOf('\n## ', start + 1)
      const section = text.slice(start, next < 0 ? undefined : next)
      for (const part of ['**Meaning.**', '**Severity.**', '**Location.**', '**By hand.**']) {
        expect(section, `${code}: ${part}`).toContain(part)
      }
    }
  })
})
