// Error codes are a public contract: every code is documented in docs/errors.md under its own
// heading, every heading is a real code, and errors serialise as { code, message, data }.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ChainlogError, ErrorCodes, formatPath, isChainlogError } from '../src/errors.js'

const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8')
const headings = [...doc.matchAll(/^## (.+)$/gm)].map((m) => m[1]!.trim())
const codes = Object.values(ErrorCodes)

describe('docs/errors.md', () => {
  it.each(codes)('documents %s under its own heading', (code) => {
    expect(headings.filter((h) => h === code)).toHaveLength(1)
  })

  it('has a heading only for real codes', () => {
    expect(headings.filter((h) => !(codes as string[]).includes(h))).toEqual([])
    expect(headings).toHaveLength(codes.length)
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

  it('formatPath renders paths as documented', () => {
    expect(formatPath([])).toBe('(root)')
    expect(formatPath(['history', 3, 'content'])).toBe('history[3].content')
    expect(formatPath([1, 'a'])).toBe('[1].a')
  })
})
