// The byte helpers give the same results with Node's Buffer and without it (the browser path),
// so a store written by one reads the same under the other.
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import * as withNode from '../../src/encoding/bytes.js'

type Bytes = typeof withNode
let without: Bytes

beforeAll(async () => {
  vi.stubGlobal('Buffer', undefined)
  vi.resetModules()
  without = await import('../../src/encoding/bytes.js')
  vi.unstubAllGlobals()
})
afterAll(() => vi.unstubAllGlobals())

const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }))
const bytes = fc.uint8Array({ maxLength: 300 })

describe('byte helpers without Buffer', () => {
  it('really runs without Buffer', () => {
    expect(withNode.NodeBuffer).toBeDefined()
    expect(without.NodeBuffer).toBeUndefined()
  })

  it('UTF-8: same length, same bytes, same write and the same string back', () => {
    fc.assert(
      fc.property(text, (s) => {
        const a = withNode.utf8(s)
        const b = without.utf8(s)
        expect(Array.from(b)).toEqual(Array.from(a))
        expect(without.utf8Length(s)).toBe(a.length)
        const out = new Uint8Array(a.length + 3)
        expect(without.writeUtf8(out, s, 3, a.length)).toBe(a.length)
        expect(Array.from(out.subarray(3))).toEqual(Array.from(a))
        expect(without.fromUtf8(a)).toBe(withNode.fromUtf8(a))
      }),
    )
  })

  it('lone surrogates count and encode as U+FFFD on both paths', () => {
    for (const s of ['\ud800', 'a\udc00b', '\ud83d\ude00\ud800']) {
      expect(without.utf8Length(s)).toBe(withNode.utf8Length(s))
      expect(Array.from(without.utf8(s))).toEqual(Array.from(withNode.utf8(s)))
    }
  })

  it('hex, latin1, base64 and compare agree', () => {
    fc.assert(
      fc.property(bytes, bytes, (a, b) => {
        expect(without.hex(a)).toBe(withNode.hex(a))
        expect(Array.from(without.fromHexString(withNode.hex(a)))).toEqual(Array.from(a))
        expect(without.latin1(a)).toBe(withNode.latin1(a))
        expect(without.toBase64(a)).toBe(withNode.toBase64(a))
        expect(Array.from(without.fromBase64(withNode.toBase64(a)))).toEqual(Array.from(a))
        expect(Math.sign(without.compareBytes(a, b))).toBe(Math.sign(withNode.compareBytes(a, b)))
      }),
    )
  })

  it('latin1 of a large key does not overflow the call stack', () => {
    const big = new Uint8Array(100_000).map((_, i) => i & 0xff)
    expect(without.latin1(big)).toBe(withNode.latin1(big))
  })

  it('indexOfBytes finds the first occurrence, or -1', () => {
    fc.assert(
      fc.property(bytes, fc.uint8Array({ minLength: 1, maxLength: 4 }), (hay, needle) => {
        expect(without.indexOfBytes(hay, needle)).toBe(withNode.indexOfBytes(hay, needle))
      }),
    )
  })
})
