// Canonical CBOR: our encoder against an independent RFC 8949 encoder (cborg), in both profiles
// (format 1 sorts map keys, format 2 keeps the value's own order), round trips, key order,
// refused values and the non-canonical encodings decodeCanonical rejects.
import { deepStrictEqual } from 'node:assert/strict'
import { encode as cborgEncode, rfc8949EncodeOptions } from 'cborg'
import { negativeZeroEncoder } from 'cborg/taglib'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compareKeys, decodeCanonical, decodeCbor, encodeCanonical } from '../../src/encoding/cbor.js'
import { ChainlogError, ErrorCodes } from '../../src/errors.js'
import { catchError } from '../support/errors.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'))

// The oracle: cborg with its RFC 8949 §4.2 deterministic options, plus our float rule
// ("every non-integer number is a float64", so float64: true instead of preferred
// serialisation's shortest float), plus cborg's own -0 type encoder: cborg's plain RFC 8949
// profile writes -0 as the integer 0 (checked below), ours keeps it as float64 -0. With that,
// -0 is compared too. What the generator leaves out is what we refuse and cborg encodes
// (or also refuses): undefined and sparse holes (cborg: f7), NaN/±Infinity (cborg: float64),
// lone surrogates (cborg: U+FFFD), the key "__proto__" (cborg: an ordinary key), Map (cborg:
// a map), typed arrays other than Uint8Array (cborg: bytes), Date, and bigints outside 64 bits
// (cborg throws as well). Those are covered by the refusal table below instead.
const oracleOptions = { ...rfc8949EncodeOptions, float64: true, typeEncoders: { number: negativeZeroEncoder } }
const oracle = (v: unknown): Uint8Array => cborgEncode(v, oracleOptions)
// Format 2's oracle: the same, with a map sorter that keeps every pair where it is (cborg takes a
// plain object's pairs in Object.keys order, and Array.prototype.sort is stable).
const oracle2 = (v: unknown): Uint8Array => cborgEncode(v, { ...oracleOptions, mapSorter: () => 0 })
const enc1 = (v: unknown): Uint8Array => encodeCanonical(v, 1)

const MAX_U64 = 2n ** 64n - 1n
const MIN_N64 = -(2n ** 64n)

const BOUNDARY_INTS = [
  0, 1, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1,
  -1, -24, -25, -256, -257, -65536, -65537, -(2 ** 32), -(2 ** 32) - 1, -(2 ** 53 - 1),
]

// Keys: arbitrary well-formed Unicode, integer-like keys ("10" sorts after "2": shorter first),
// non-ASCII keys whose UTF-8 order differs from JS's UTF-16 order ("\uff61a" before "😀"),
// and keys long enough to need a one-byte length. "__proto__" is refused by us (tested below).
const keyArb = fc
  .oneof(
    fc.string({ unit: 'binary', maxLength: 6 }),
    fc.string({ unit: 'grapheme-ascii', maxLength: 4 }),
    fc.nat({ max: 120 }).map(String),
    fc.constantFrom('10', '2', '1', '01', 'é', 'z', 'aa', '\uff61a', '😀', '', 'ключ', 'k'.repeat(24), 'k'.repeat(300)),
  )
  .filter((k) => k !== '__proto__')

const scalarArb = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
  fc.string({ unit: 'binary-ascii', minLength: 20, maxLength: 300 }),
  fc.constantFrom(...BOUNDARY_INTS),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer({ min: -1e6, max: 1e6 }).map((n) => n / 64),
  fc.constantFrom(0.1, -0.5, 1.5, 2 ** 53, -(2 ** 53), 2 ** 64, 1e300, 5e-324, Number.MAX_VALUE, Number.MIN_VALUE),
  fc.boolean(),
  fc.constant(null),
  fc.uint8Array({ maxLength: 40 }),
  fc.bigInt({ min: MIN_N64, max: MAX_U64 }),
  fc.constantFrom(MAX_U64, MIN_N64, 2n ** 32n, -(2n ** 32n) - 1n, 2n ** 53n, 2n ** 53n + 1n, -(2n ** 53n), -(2n ** 53n) - 1n, 2n ** 63n, -(2n ** 63n) - 1n),
)

const { value: valueArb } = fc.letrec<{ value: unknown; array: unknown[]; object: Record<string, unknown> }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalarArb, tie('array'), tie('object')),
  array: fc.oneof(fc.array(tie('value'), { maxLength: 5 }), fc.array(fc.nat(), { minLength: 24, maxLength: 300 })),
  // fast-check also makes null-prototype objects here; we encode them like plain ones.
  object: fc.dictionary(keyArb, tie('value'), { maxKeys: 6 }),
}))

/** What decoding gives back: safe-range bigints as numbers, plain prototypes, plain Uint8Arrays. */
function normalise(v: unknown): unknown {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v
  if (v instanceof Uint8Array) return new Uint8Array(v)
  if (Array.isArray(v)) return v.map(normalise)
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {}
    for (const k of Object.keys(v)) out[k] = normalise((v as Record<string, unknown>)[k])
    return out
  }
  return v
}

/** A copy with every object's keys inserted in a pseudo-random order drawn from `seed`. */
function shuffleKeys(v: unknown, seed: { s: number }): unknown {
  const next = () => (seed.s = (Math.imul(seed.s, 1103515245) + 12345) >>> 0)
  if (Array.isArray(v)) return v.map((x) => shuffleKeys(x, seed))
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) {
    const keys = Object.keys(v)
    for (let i = keys.length - 1; i > 0; i--) {
      const j = next() % (i + 1)
      ;[keys[i], keys[j]] = [keys[j]!, keys[i]!]
    }
    const out: Record<string, unknown> = {}
    for (const k of keys) out[k] = shuffleKeys((v as Record<string, unknown>)[k], seed)
    return out
  }
  return v
}

describe('encodeCanonical against the cborg RFC 8949 oracle', () => {
  it('cborg’s plain RFC 8949 profile writes -0 as the integer 0 and ours as float64 -0 (why the oracle adds cborg’s -0 encoder)', () => {
    const plain = (v: unknown) => hex(cborgEncode(v, { ...rfc8949EncodeOptions, float64: true }))
    expect(plain(-0)).toBe('00')
    expect(hex(encodeCanonical(-0))).toBe('fb8000000000000000')
    expect(hex(oracle(-0))).toBe('fb8000000000000000')
    expect(plain({ a: 0.5, b: [1, -2] })).toBe(hex(encodeCanonical({ a: 0.5, b: [1, -2] })))
  })

  it('format 1: gives the same bytes as the sorting oracle on random JSON-like values', () => {
    fc.assert(
      fc.property(valueArb, (v) => {
        expect(hex(enc1(v))).toBe(hex(oracle(v)))
      }),
      { numRuns: 1000 },
    )
  })

  it('format 2 (the default): gives the same bytes as the order-keeping oracle on random JSON-like values', () => {
    fc.assert(
      fc.property(valueArb, (v) => {
        expect(hex(encodeCanonical(v))).toBe(hex(oracle2(v)))
        expect(hex(encodeCanonical(v, 2))).toBe(hex(oracle2(v)))
      }),
      { numRuns: 1000 },
    )
  })

  it('agrees with the oracle on every boundary integer, as number and as bigint', () => {
    for (const n of BOUNDARY_INTS) {
      expect(hex(encodeCanonical(n))).toBe(hex(oracle(n)))
      expect(hex(encodeCanonical(BigInt(n)))).toBe(hex(oracle(BigInt(n))))
    }
  })

  it('format 1 sorts keys by their encoded bytes: shorter UTF-8 first, then bytewise (not UTF-16 order)', () => {
    const obj = { '😀': 1, '\uff61a': 2, z: 3, aa: 4, é: 5, '10': 6, '2': 7 }
    const bytes = enc1(obj)
    expect(hex(bytes)).toBe(hex(oracle(obj)))
    // 2, z, 10, aa, é, ｡a, 😀
    expect(hex(bytes)).toBe(
      'a7' + '613207' + '617a03' + '62313006' + '62616104' + '62c3a905' + '64efbda16102' + '64f09f988001',
    )
    const keys = Object.keys(obj).sort(compareKeys)
    expect(keys).toEqual(['2', 'z', '10', 'aa', 'é', '\uff61a', '😀'])
  })

  it('format 2 writes keys in Object.keys order: array-index keys first, ascending, then the rest as inserted', () => {
    const obj = { '😀': 1, z: 3, '10': 6, aa: 4, '2': 7, '4294967295': 8, '01': 9 }
    // JavaScript puts the array indices "2" and "10" first; "4294967295" (2^32-1) and "01" are not indices.
    expect(Object.keys(obj)).toEqual(['2', '10', '😀', 'z', 'aa', '4294967295', '01'])
    expect(hex(encodeCanonical(obj))).toBe(
      'a7' + '613207' + '62313006' + '64f09f988001' + '617a03' + '62616104' + '6a3432393439363732393508' + '62303109',
    )
    expect(hex(encodeCanonical(obj))).toBe(hex(oracle2(obj)))
    expect(JSON.stringify(decodeCanonical(encodeCanonical(obj)))).toBe(JSON.stringify(obj))
  })

  it('matches the documented examples', () => {
    expect(hex(enc1({ b: 1, a: [true, null] }))).toBe('a2616182f5f6616201')
    expect(hex(encodeCanonical({ b: 1, a: [true, null] }))).toBe('a2616201616182f5f6')
  })
})

describe('round trip and key order', () => {
  it('compareKeys orders keys as the bytes of their encodings do, for any well-formed keys (property)', () => {
    const key = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }).filter((k) => (k as unknown as { isWellFormed(): boolean }).isWellFormed()))
    fc.assert(
      fc.property(key, key, (a, b) => {
        const bytes = Math.sign(Buffer.compare(Buffer.from(encodeCanonical(a)), Buffer.from(encodeCanonical(b))))
        expect(Math.sign(compareKeys(a, b))).toBe(bytes)
      }),
      { numRuns: 2000 },
    )
  })

  it('decodeCanonical(encodeCanonical(x)) deep-equals x, in both profiles', () => {
    fc.assert(
      fc.property(valueArb, (v) => {
        for (const format of [1, 2] as const) {
          const bytes = encodeCanonical(v, format)
          deepStrictEqual(normalise(decodeCanonical(bytes, format)), normalise(v))
          deepStrictEqual(normalise(decodeCbor(bytes)), normalise(v))
        }
      }),
      { numRuns: 1000 },
    )
  })

  it('format 2: a decoded value has the same keys in the same order, -0, bigints and plain Uint8Arrays (property)', () => {
    const sameOrder = (a: unknown, b: unknown): void => {
      if (Array.isArray(a)) return a.forEach((x, i) => sameOrder(x, (b as unknown[])[i]))
      if (a instanceof Uint8Array) {
        expect(Object.getPrototypeOf(b)).toBe(Uint8Array.prototype)
        return
      }
      if (a !== null && typeof a === 'object') {
        expect(Object.keys(b as object)).toEqual(Object.keys(a))
        for (const k of Object.keys(a)) sameOrder((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])
        return
      }
      if (typeof a === 'number') expect(Object.is(b, a)).toBe(true)
    }
    fc.assert(
      fc.property(valueArb, (v) => {
        sameOrder(v, decodeCanonical(encodeCanonical(v)))
      }),
      { numRuns: 1000 },
    )
  })

  it('keeps -0, fractions and integral floats beyond 2^53-1 as the same numbers', () => {
    for (const n of [-0, 0.1, -1.5, 2 ** 53, -(2 ** 53), 2 ** 64, 1e300, 5e-324]) {
      expect(Object.is(decodeCanonical(encodeCanonical(n)), n)).toBe(true)
    }
    expect(decodeCanonical(encodeCanonical(2n ** 53n))).toBe(2n ** 53n)
    expect(decodeCanonical(encodeCanonical(MAX_U64))).toBe(MAX_U64)
    expect(decodeCanonical(encodeCanonical(MIN_N64))).toBe(MIN_N64)
    expect(decodeCanonical(encodeCanonical(5n))).toBe(5) // a bigint in the safe range reads back as a number
  })

  it('format 1: the same logical object built with keys in any insertion order gives identical bytes', () => {
    fc.assert(
      fc.property(valueArb, fc.nat(), (v, s) => {
        const shuffled = shuffleKeys(v, { s })
        expect(hex(enc1(shuffled))).toBe(hex(enc1(v)))
      }),
      { numRuns: 500 },
    )
  })

  it('format 2: keys inserted in another order give other bytes, each decoding to its own order', () => {
    const a = { model: 'm', input: { path: 'x', mode: 'r' } }
    const b = { input: { mode: 'r', path: 'x' }, model: 'm' }
    expect(hex(encodeCanonical(a))).not.toBe(hex(encodeCanonical(b)))
    expect(JSON.stringify(decodeCanonical(encodeCanonical(a)))).toBe(JSON.stringify(a))
    expect(JSON.stringify(decodeCanonical(encodeCanonical(b)))).toBe(JSON.stringify(b))
    // Each profile refuses the other's order where they differ.
    expect(catchError(() => decodeCanonical(encodeCanonical(a), 1)).code).toBe(ErrorCodes.DECODE_FAILED)
    expect(catchError(() => decodeCanonical(enc1({ a: 1, '10': 2 }), 2)).code).toBe(ErrorCodes.DECODE_FAILED)
  })

  it('anything decodeCanonical accepts re-encodes to exactly the input bytes (random and mutated input)', () => {
    const mutated = fc.tuple(valueArb, fc.nat(), fc.integer({ min: 1, max: 255 })).map(([v, i, x]) => {
      const b = encodeCanonical(v).slice()
      b[i % b.length]! ^= x
      return b
    })
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 40 }), mutated), fc.constantFrom(1 as const, 2 as const), (bytes, format) => {
        let value: unknown
        try {
          value = decodeCanonical(bytes, format)
        } catch (err) {
          expect((err as ChainlogError).code).toBe(ErrorCodes.DECODE_FAILED)
          return
        }
        expect(hex(encodeCanonical(value, format))).toBe(hex(bytes))
      }),
      { numRuns: 1000 },
    )
  })
})

describe('values that cannot be encoded', () => {
  class Point {
    x = 1
  }
  const cycle: Record<string, unknown> = { b: {} }
  ;(cycle.b as Record<string, unknown>).c = cycle
  const arrayCycle: unknown[] = [1]
  arrayCycle.push(arrayCycle)
  // eslint-disable-next-line no-sparse-arrays
  const sparse = [1, , 3]
  let deep: unknown = 1
  for (let i = 0; i < 600; i++) deep = [deep]

  const cases: [string, unknown, string][] = [
    ['undefined at the top level', undefined, '(root)'],
    ['undefined in an array', [1, undefined], '[1]'],
    ['undefined as an object value', { a: { b: undefined } }, 'a.b'],
    ['NaN', { x: [NaN] }, 'x[0]'],
    ['Infinity', { x: Infinity }, 'x'],
    ['-Infinity', [-Infinity], '[0]'],
    ['a function', { f: () => 1 }, 'f'],
    ['a symbol', { s: Symbol('s') }, 's'],
    ['a symbol key', { [Symbol('k')]: 1 }, '(root)'],
    ['a cycle through objects', cycle, 'b.c'],
    ['a cycle through an array', arrayCycle, '[1]'],
    ['a Map', { m: new Map([['a', 1]]) }, 'm'],
    ['a Set', [new Set()], '[0]'],
    ['a Date', { d: new Date(0) }, 'd'],
    ['a class instance', { p: new Point() }, 'p'],
    ['a typed array other than Uint8Array', { f: new Float32Array(2) }, 'f'],
    ['a string with a lone high surrogate', { t: 'a\ud800' }, 't'],
    ['a string with a lone low surrogate', ['\udc00b'], '[0]'],
    ['a key with a lone surrogate', { o: { 'k\ud800': 1 } }, 'o.k\ud800'],
    ['the key "__proto__" at the top level', JSON.parse('{"__proto__":1}'), '(root)'],
    ['the key "__proto__" nested', { o: [JSON.parse('{"a":1,"__proto__":{}}')] }, 'o[0]'],
    ['a bigint above 2^64-1', { n: 2n ** 64n }, 'n'],
    ['a bigint below -2^64', [MIN_N64 - 1n], '[0]'],
    ['a sparse array hole', { s: sparse }, 's[1]'],
  ]

  it.each(cases)('refuses %s with CHAINLOG_UNENCODABLE_VALUE and data.path', (_name, value, path) => {
    const err = catchError(() => encodeCanonical(value))
    expect(err.code).toBe(ErrorCodes.UNENCODABLE_VALUE)
    expect(err.data.path).toBe(path)
  })

  it('refuses values nested deeper than 512 levels', () => {
    expect(catchError(() => encodeCanonical(deep)).code).toBe(ErrorCodes.UNENCODABLE_VALUE)
  })

  it('encodes correctly after a refused value (the shared buffer is reset)', () => {
    expect(() => encodeCanonical({ a: 'x'.repeat(100), b: undefined })).toThrow(ChainlogError)
    expect(hex(encodeCanonical([1, 'a']))).toBe('820161' + '61')
  })

  it('allows the same object twice when it is not a cycle', () => {
    const shared = { k: 1 }
    expect(hex(encodeCanonical([shared, shared]))).toBe('82a1616b01a1616b01')
  })
})

describe('decodeCanonical rejects non-canonical and malformed bytes', () => {
  const format1Only: [string, string][] = [
    ['map keys out of order', 'a2 6162 01 6161 02'], // {b:1, a:2}
    ['a longer key before a shorter one', 'a2 626161 01 6162 02'], // {aa:1, b:2}
  ]
  const format2Only: [string, string][] = [
    ['an array-index key after another key', 'a2 6161 01 6131 02'], // {a:1, "1":2}
    ['array-index keys out of ascending order', 'a2 623130 01 6132 02'], // {"10":1, "2":2}
  ]
  it.each(format1Only)('format 1 rejects %s; format 2 accepts it', (_name, h) => {
    expect(catchError(() => decodeCanonical(unhex(h), 1)).code).toBe(ErrorCodes.DECODE_FAILED)
    expect(hex(encodeCanonical(decodeCanonical(unhex(h), 2)))).toBe(h.replace(/ /g, ''))
  })
  it.each(format2Only)('format 2 rejects %s (JavaScript cannot hold that order)', (_name, h) => {
    expect(catchError(() => decodeCanonical(unhex(h), 2)).code).toBe(ErrorCodes.DECODE_FAILED)
  })
  const cases: [string, string][] = [
    ['0 in a one-byte argument (0x1800)', '1800'],
    ['23 in a two-byte argument', '190017'],
    ['255 in a four-byte argument', '1a000000ff'],
    ['-1 in a one-byte argument', '3800'],
    ['a string length not in its shortest form', '780161'],
    ['an array length not in its shortest form', '980101'],
    ['1.5 as a float32', 'fa3fc00000'],
    ['1.5 as a float16', 'f93e00'],
    ['0.0 as a float32', 'fa00000000'],
    ['an integral value (1) as a float64', 'fb3ff0000000000000'],
    ['an indefinite-length array', '9f01ff'],
    ['an indefinite-length map', 'bf616101ff'],
    ['an indefinite-length text string', '7f6161ff'],
    ['a tag 64 (typed array) byte string', 'd84043010203'],
    ['a bignum tag for a small integer', 'c24101'],
    ['a self-describe tag', 'd9d9f701'],
    ['a date tag', 'c11a00000000'],
    ['duplicate map keys', 'a2 6161 01 6161 02'],
    ['an integer map key', 'a1 01 02'],
    ['a "__proto__" key', 'a1 695f5f70726f746f5f5f 01'],
    ['trailing bytes', '0000'],
    ['a trailing byte after a map', 'a1616101f6'],
    ['truncated: empty input', ''],
    ['truncated: 8-byte integer cut short', '1b0000'],
    ['truncated: string shorter than its length', '6261'],
    ['truncated: map without its value', 'a16161'],
    ['undefined', 'f7'],
    ['NaN', 'fb7ff8000000000000'],
    ['Infinity', 'fb7ff0000000000000'],
    ['an unassigned simple value', 'f0'],
    ['invalid UTF-8', '62c328'],
    ['a UTF-8-encoded lone surrogate', '63eda080'],
    ['a surrogate pair encoded as two 3-byte sequences (CESU-8)', '66eda0bdedb880'],
  ]

  it.each(cases)('rejects %s with CHAINLOG_DECODE_FAILED, in both profiles', (_name, h) => {
    expect(catchError(() => decodeCanonical(unhex(h), 1)).code).toBe(ErrorCodes.DECODE_FAILED)
    expect(catchError(() => decodeCanonical(unhex(h), 2)).code).toBe(ErrorCodes.DECODE_FAILED)
  })

  it('accepts the canonical forms of the same values', () => {
    for (const h of ['a2616102616201', '00', '17', '18ff', '20', 'fb3ff8000000000000', '8101', 'a16161 01', '43010203', 'f6']) {
      expect(hex(encodeCanonical(decodeCanonical(unhex(h))))).toBe(h.replace(/ /g, ''))
    }
  })
})

describe('integer boundaries', () => {
  const cases: [string, number | bigint, string][] = [
    ['0', 0, '00'],
    ['23', 23, '17'],
    ['24', 24, '1818'],
    ['255', 255, '18ff'],
    ['256', 256, '190100'],
    ['65535', 65535, '19ffff'],
    ['65536', 65536, '1a00010000'],
    ['2^32-1', 2 ** 32 - 1, '1affffffff'],
    ['2^32', 2 ** 32, '1b0000000100000000'],
    ['2^53-1', 2 ** 53 - 1, '1b001fffffffffffff'],
    ['-1', -1, '20'],
    ['-24', -24, '37'],
    ['-25', -25, '3818'],
    ['-256', -256, '38ff'],
    ['-257', -257, '390100'],
    ['-2^32', -(2 ** 32), '3affffffff'],
    ['-2^32-1', -(2 ** 32) - 1, '3b0000000100000000'],
    ['-(2^53-1)', -(2 ** 53 - 1), '3b001ffffffffffffe'],
    ['2^53 as a bigint', 2n ** 53n, '1b0020000000000000'],
    ['2^64-1 as a bigint', MAX_U64, '1bffffffffffffffff'],
    ['-2^64 as a bigint', MIN_N64, '3bffffffffffffffff'],
    ['2^53 as a number (float)', 2 ** 53, 'fb4340000000000000'],
    ['-0 (float)', -0, 'fb8000000000000000'],
  ]

  it.each(cases)('%s encodes as its exact shortest form', (_name, n, h) => {
    expect(hex(encodeCanonical(n))).toBe(h)
    const back = decodeCanonical(unhex(h))
    expect(Object.is(back, typeof n === 'bigint' && n >= -(2n ** 53n) + 1n && n <= 2n ** 53n - 1n ? Number(n) : n)).toBe(true)
  })
})
