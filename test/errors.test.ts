// Error codes are a public contract: every code is documented in docs/errors.md under its own
// heading, every heading is a real code, and errors serialise as { code, message, data }.
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { CliCodes } from '../src/cli/errors.js'
import { ChainlogError, ErrorCodes, formatPath, isChainlogError } from '../src/errors.js'
import { ViewerCodes } from '../src/viewer/http-errors.js'

const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8')
const headings = [...doc.matchAll(/^## (CHAINLOG_.+)$/gm)].map((m) => m[1]!.trim())
// Every code the library, the CLI or the viewer's HTTP API can produce (the CLI's IO is the library's).
const codes = [...new Set<string>([...Object.values(ErrorCodes), ...Object.values(CliCodes), ...Object.values(ViewerCodes)])]

describe('docs/errors.md', () => {
  it.each(codes)('documents %s under its own heading', (code) => {
    expect(headings.filter((h) => h === code)).toHaveLength(1)
  })

  it('documents every code the source raises or names', () => {
    const src = fileURLToPath(new URL('../src', import.meta.url))
    const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'))
    const used = new Set<string>()
    for (const f of files) {
      const text = readFileSync(join(src, f), 'utf8')
      for (const m of text.matchAll(/\b(?:ErrorCodes|CliCodes)\.([A-Z_]+)/g)) used.add(`CHAINLOG_${m[1]}`)
      for (const m of text.matchAll(/\bViewerCodes\.([A-Z_]+)/g)) used.add(ViewerCodes[m[1] as keyof typeof ViewerCodes] ?? `unknown ViewerCodes.${m[1]}`)
      for (const m of text.matchAll(/['"`](CHAINLOG_[A-Z_]+)['"`]/g)) used.add(m[1]!)
    }
    expect(used.size).toBeGreaterThan(20)
    expect([...used].filter((c) => !headings.includes(c))).toEqual([])
  })

  it('has a heading only for real codes', () => {
    expect(headings.filter((h) => !(codes as string[]).includes(h))).toEqual([])
    expect(headings).toHaveLength(codes.length)
  })
})

describe('CliCodes', () => {
  it('the CLI reuses the library code for the same failure', () => {
    expect(CliCodes.IO).toBe(ErrorCodes.IO)
    for (const code of Object.values(CliCodes)) expect(code).toMatch(/^CHAINLOG_[A-Z_]+$/)
  })
})

describe('ErrorCodes', () => {
  it('every code is CHAINLOG_ followed by its key', () => {
    for (const [key, code] of Object.entries(ErrorCodes)) expect(code).toBe(`CHAINLOG_${key}`)
  })
})

describe('ChainlogError', () => {
  it('toJSON gives { code, message, data }', () => {
    const err = new ChainlogError(ErrorCodes.HEAD_CONFLICT, 'head moved', { sessionId: 's', expected: 'a', actual: 'b' })
    expect(err.toJSON()).toEqual({ code: 'CHAINLOG_HEAD_CONFLICT', message: 'head moved', data: { sessionId: 's', expected: 'a', actual: 'b' } })
    expect(Object.keys(err.toJSON())).toEqual(['code', 'message', 'data'])
    expect(JSON.parse(JSON.stringify(err))).toEqual({ code: 'CHAINLOG_HEAD_CONFLICT', message: 'head moved', data: { sessionId: 's', expected: 'a', actual: 'b' } })
  })

  it('data defaults to {} and the cause is kept', () => {
    const cause = new Error('inner')
    const err = new ChainlogError(ErrorCodes.STORE_CLOSED, 'closed', undefined, { cause })
    expect(err.toJSON()).toEqual({ code: 'CHAINLOG_STORE_CLOSED', message: 'closed', data: {} })
    expect(err.cause).toBe(cause)
    expect(err).toBeInstanceOf(Error)
    expect(err.name).toBe('ChainlogError')
  })

  it('isChainlogError checks the class and, when given, the code', () => {
    const err = new ChainlogError(ErrorCodes.SESSION_NOT_FOUND, 'no session', { sessionId: 'x' })
    expect(isChainlogError(err)).toBe(true)
    expect(isChainlogError(err, ErrorCodes.SESSION_NOT_FOUND)).toBe(true)
    expect(isChainlogError(err, ErrorCodes.SESSION_EXISTS)).toBe(false)
    expect(isChainlogError(new Error('x'))).toBe(false)
    expect(isChainlogError({ code: ErrorCodes.SESSION_NOT_FOUND })).toBe(false)
  })

  it('formatPath cuts a path of more than 16 parts in the middle', () => {
    const deep = ['item', 'content', ...new Array<number>(10_000).fill(0)]
    const p = formatPath(deep)
    expect(p).toBe(`item.content${'[0]'.repeat(8)}…(+${deep.length - 14})…${'[0]'.repeat(4)}`)
    expect(p.length).toBeLessThan(80)
    expect(formatPath(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q'])).toBe('a.b.c.d.e.f.g.h.i.j…(+3)….n.o.p.q')
    const sixteen = Array.from({ length: 16 }, (_, i) => i)
    expect(formatPath(sixteen)).toBe(sixteen.map((i) => `[${i}]`).join(''))
  })

  it('formatPath renders paths as documented', () => {
    expect(formatPath([])).toBe('(root)')
    expect(formatPath(['history', 3, 'content'])).toBe('history[3].content')
    expect(formatPath([1, 'a'])).toBe('[1].a')
  })
})
