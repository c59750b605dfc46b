// Cross-references in the docs must land: every link to another page of docs/ (or README.md)
// names a page that exists and, with #anchor, a heading of it (GitHub's heading slugs).
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const pages = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]

/** GitHub's anchor for a heading: lower case, punctuation dropped (but - and _), spaces to -. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-')
}

function anchors(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '')
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)))
}

describe('docs cross-references', () => {
  it.each(pages)('every local link in %s lands on a page and a heading', (page) => {
    const text = readFileSync(join(ROOT, page), 'utf8').replace(/```[\s\S]*?```/g, '')
    const broken: string[] = []
    for (const m of text.matchAll(/\]\(([^)\s]+\.md)(?:#([^)\s]+))?\)/g)) {
      const [, target, anchor] = m
      if (/^[a-z]+:/.test(target!)) continue // another site
      const file = resolve(dirname(join(ROOT, page)), target!)
      if (!existsSync(file)) {
        broken.push(`${target} (no such page)`)
        continue
      }
      if (anchor && !anchors(file).has(anchor)) broken.push(`${target}#${anchor} (no such heading)`)
    }
    expect(broken).toEqual([])
  })
})
