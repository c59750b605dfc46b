// Unit tests of the pure blob functions: externalize (copy on write, the threshold in UTF-8
// bytes, byte payloads, nested paths, reserved-key and unencodable errors), collectRefs,
// resolveRefs, packBlob/unpackBlob under each compression profile, and mayHaveRefs. The
// expected hashes come from node:crypto, independently of the code under test.
import { createHash } from 'node:crypto'
import { deflateRawSync, deflateSync } from 'node:zlib'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  BALANCED_MIN_COMPRESS,
  BYTES_MEDIA_TYPE,
  DEFAULT_BLOB_THRESHOLD,
  TEXT_MEDIA_TYPE,
  collectRefs,
  externalize,
  isBlobRef,
  mayHaveRefs,
  packBlob,
  resolveRefs,
  unpackBlob,
  type BlobRef,
  type CompressionProfile,
  type NewBlob,
} from '../../src/blobs/blobs.js'
import { decodeCbor, encodeCanonical } from '../../src/encoding/cbor.js'
import { ChainlogError, ErrorCodes, type ErrorCode } from '../../src/errors.js'
import { catchError } from '../support/errors.js'
import { prng, randomBytes } from '../support/random.js'

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex')
const utf8 = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'))
const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

/** Run externalize, collecting new blobs and the references it met. */
function ext(value: unknown, threshold: number, path: (string | number)[] = []) {
  const fresh: NewBlob[] = []
  const refs: { ref: BlobRef; path: (string | number)[] }[] = []
  const out = externalize(
    value,
    threshold,
    (b) => fresh.push(b),
    (ref, p) => refs.push({ ref, path: p }),
    path,
  )
  return { out, fresh, refs }
}

function expectCode(fn: () => unknown, code: ErrorCode): ChainlogError {
  const err = catchError(fn)
  expect(err.code).toBe(code)
  return err
}

/** Text like a tool's output: lines of words from a small vocabulary. Compresses well. */
function logText(bytes: number, seed: number): string {
  const r = prng(seed)
  const words = ['error', 'warning', 'src/index.ts', 'compiled', 'in', 'ms', 'module', 'found', 'test', 'passed', 'failed', 'line', 'column', 'expected', 'received']
  let s = ''
  let line = 0
  while (s.length < bytes) {
    s += `${String(line++).padStart(6, '0')}: `
    const n = 4 + Math.floor(r() * 8)
    for (let i = 0; i < n; i++) s += `${words[Math.floor(r() * words.length)]} `
    s += `${Math.floor(r() * 10_000)}\n`
  }
  return s.slice(0, bytes)
}

const ref = (content: Uint8Array | string, mediaType = typeof content === 'string' ? TEXT_MEDIA_TYPE : BYTES_MEDIA_TYPE): BlobRef => ({
  $blob: `sha256:${sha(content)}`,
  size: typeof content === 'string' ? Buffer.byteLength(content, 'utf8') : content.length,
  mediaType,
})

describe('externalize', () => {
  it('is copy on write: the input is not mutated and unchanged branches are shared', () => {
    const big = 'x'.repeat(5000)
    const input = {
      type: 'function_call_output',
      call_id: 'c1',
      output: big,
      meta: { small: 'ok', nested: [1, 2, { deep: big }] },
      untouched: { list: [1, 2, 3], text: 'short' },
    }
    const before = structuredClone(input)
    const { out, fresh } = ext(input, 4096)
    expect(input).toEqual(before)
    expect(input.output).toBe(big)
    expect((input.meta.nested[2] as { deep: string }).deep).toBe(big)
    expect(out).not.toBe(input)
    const o = out as typeof input & { output: unknown; meta: { nested: unknown[] } }
    expect(isBlobRef(o.output)).toBe(true)
    expect(isBlobRef((o.meta.nested[2] as { deep: unknown }).deep)).toBe(true)
    // Branches without large payloads are the same objects, not copies.
    expect(o.untouched).toBe(input.untouched)
    expect(o.meta.nested).not.toBe(input.meta.nested)
    expect(o.meta.nested[0]).toBe(1)
    // The same content met twice gives the same reference; the store deduplicates.
    expect(o.output).toEqual((o.meta.nested[2] as { deep: unknown }).deep)
    expect(fresh.map((b) => b.hex)).toEqual([sha(big), sha(big)])
  })

  it('returns values without large payloads as they are (same identity)', () => {
    const v = { a: [1, 'two', null, true, 3.5, { b: new Uint8Array(10) }] }
    const { out, fresh, refs } = ext(v, 4096)
    expect(out).toBe(v)
    expect(fresh).toEqual([])
    expect(refs).toEqual([])
    for (const x of [null, 1, 'str', true, 2.5, 0n]) expect(ext(x, 3).out).toBe(x)
  })

  it('keeps a string of exactly threshold UTF-8 bytes inline and makes one byte more a blob', () => {
    for (const threshold of [1, 100, 4096]) {
      const at = 'a'.repeat(threshold)
      expect(ext(at, threshold).out).toBe(at)
      const over = 'a'.repeat(threshold + 1)
      const { out, fresh } = ext(over, threshold)
      expect(out).toEqual({ $blob: `sha256:${sha(over)}`, size: threshold + 1, mediaType: TEXT_MEDIA_TYPE })
      expect(fresh).toHaveLength(1)
      expect(hex(fresh[0]!.bytes)).toBe(hex(utf8(over)))
      expect(fresh[0]!.hex).toBe(sha(over))
      expect(Buffer.from(fresh[0]!.hash).toString('hex')).toBe(sha(over))
      expect(fresh[0]!.mediaType).toBe(TEXT_MEDIA_TYPE)
    }
  })

  it('measures strings in UTF-8 bytes, not UTF-16 units', () => {
    const threshold = 100
    // 'é' is 1 UTF-16 unit and 2 UTF-8 bytes: 50 of them are exactly 100 bytes.
    const at = 'é'.repeat(50)
    expect(at.length).toBe(50)
    expect(ext(at, threshold).out).toBe(at)
    // One more ASCII character: 51 UTF-16 units, far under 100, but 101 bytes.
    const over = `${at}a`
    expect(over.length).toBe(51)
    const r = ext(over, threshold).out as BlobRef
    expect(r).toEqual({ $blob: `sha256:${sha(over)}`, size: 101, mediaType: TEXT_MEDIA_TYPE })
    // '€' is 3 bytes: 33 are 99 bytes (inline), 34 are 102 bytes (blob).
    expect(ext('€'.repeat(33), threshold).out).toBe('€'.repeat(33))
    expect((ext('€'.repeat(34), threshold).out as BlobRef).size).toBe(102)
    // An emoji is 2 UTF-16 units and 4 bytes: 25 are exactly 100 bytes, 26 are 104.
    expect(ext('😀'.repeat(25), threshold).out).toBe('😀'.repeat(25))
    expect((ext('😀'.repeat(26), threshold).out as BlobRef).size).toBe(104)
    // A string of 100 UTF-16 units that is 100 bytes stays; one of 60 units but 120 bytes goes.
    expect(ext('x'.repeat(100), threshold).out).toBe('x'.repeat(100))
    expect((ext('é'.repeat(60), threshold).out as BlobRef).size).toBe(120)
  })

  it('externalizes Uint8Array payloads over the threshold as application/octet-stream', () => {
    const at = randomBytes(64, 1)
    expect(ext(at, 64).out).toBe(at)
    const over = randomBytes(65, 2)
    const { out, fresh } = ext({ data: over }, 64)
    expect((out as { data: unknown }).data).toEqual({ $blob: `sha256:${sha(over)}`, size: 65, mediaType: BYTES_MEDIA_TYPE })
    expect(fresh).toHaveLength(1)
    expect(hex(fresh[0]!.bytes)).toBe(hex(over))
    expect(fresh[0]!.mediaType).toBe(BYTES_MEDIA_TYPE)
    // A Buffer is a Uint8Array too.
    const buf = Buffer.from(over)
    expect((ext(buf, 64).out as BlobRef).$blob).toBe(`sha256:${sha(over)}`)
  })

  it('replaces payloads at any depth, in arrays and objects', () => {
    const big = logText(5000, 3)
    const bytes = randomBytes(5000, 4)
    const v = [{ a: { b: [0, { c: big }] } }, [[bytes]], 'small']
    const { out, fresh } = ext(v, 4096)
    const o = out as [{ a: { b: [number, { c: unknown }] } }, [[unknown]], string]
    expect(o[0].a.b[1].c).toEqual(ref(big))
    expect(o[1][0][0]).toEqual(ref(bytes))
    expect(o[2]).toBe('small')
    expect(fresh.map((f) => f.hex)).toEqual([sha(big), sha(bytes)])
  })

  it('reports existing references with their paths and leaves them as they are', () => {
    const r1 = ref('a'.repeat(5000))
    const r2 = ref(randomBytes(10, 5))
    const v = [{ role: 'user', content: r1 }, { parts: [{ x: 1 }, r2] }]
    const { out, fresh, refs } = ext(v, 4096, ['items'])
    expect(out).toBe(v)
    expect(fresh).toEqual([])
    expect(refs).toEqual([
      { ref: r1, path: ['items', 0, 'content'] },
      { ref: r2, path: ['items', 1, 'parts', 1] },
    ])
    // A reference at the root.
    expect(ext(r1, 4096).refs).toEqual([{ ref: r1, path: [] }])
  })

  it('rejects an object that uses the reserved "$blob" key but is not a reference, naming its path', () => {
    const good = ref('z'.repeat(5000))
    const hex = good.$blob.slice(7)
    const bad: [string, Record<string, unknown>][] = [
      ['extra key', { ...good, extra: 1 }],
      ['missing size', { $blob: good.$blob, mediaType: TEXT_MEDIA_TYPE }],
      ['missing mediaType', { $blob: good.$blob, size: 5000 }],
      ['no sha256: prefix', { ...good, $blob: hex }],
      ['upper-case hex', { ...good, $blob: `sha256:${hex.toUpperCase()}` }],
      ['short hash', { ...good, $blob: `sha256:${hex.slice(2)}` }],
      ['negative size', { ...good, size: -1 }],
      ['fractional size', { ...good, size: 1.5 }],
      ['string size', { ...good, size: '5000' }],
      ['empty mediaType', { ...good, mediaType: '' }],
      ['non-string $blob', { ...good, $blob: 42 }],
      ['only $blob', { $blob: 'anything' }],
    ]
    for (const [what, obj] of bad) {
      const value = { items: [{ role: 'user', content: 'fine' }, { role: 'tool', content: [obj] }] }
      const err = expectCode(() => ext(value, 4096), ErrorCodes.INVALID_ENTRY)
      expect(err.data.path, what).toBe('items[1].content[0]')
    }
    // With a starting path, as the store calls it.
    const err = expectCode(() => ext([{ $blob: 'x' }], 4096, ['history']), ErrorCodes.INVALID_ENTRY)
    expect(err.data.path).toBe('history[0]')
  })

  it('refuses cycles and over-deep values with CHAINLOG_UNENCODABLE_VALUE', () => {
    const a: Record<string, unknown> = { name: 'a' }
    a.self = a
    const err = expectCode(() => ext({ items: [a] }, 4096), ErrorCodes.UNENCODABLE_VALUE)
    expect(err.data.path).toBe('items[0].self')
    const arr: unknown[] = []
    arr.push([arr])
    expectCode(() => ext(arr, 4096), ErrorCodes.UNENCODABLE_VALUE)
    // Shared (acyclic) references are fine.
    const shared = { big: 'q'.repeat(5000) }
    const { out } = ext([shared, shared], 4096)
    expect(isBlobRef((out as { big: unknown }[])[1]!.big)).toBe(true)
    // Depth.
    let deep: unknown = 'leaf'
    for (let i = 0; i < 600; i++) deep = [deep]
    expectCode(() => ext(deep, 4096), ErrorCodes.UNENCODABLE_VALUE)
  })

  it('refuses a large string with a lone surrogate rather than storing U+FFFD in its place', () => {
    const s = `\uD800${'a'.repeat(5000)}`
    const err = expectCode(() => ext({ output: s }, 4096), ErrorCodes.UNENCODABLE_VALUE)
    expect(err.data.path).toBe('output')
    // A well-formed string with surrogate pairs is fine.
    expect(isBlobRef((ext({ output: '😀'.repeat(2000) }, 4096).out as { output: unknown }).output)).toBe(true)
  })

  it('has a documented default threshold', () => {
    expect(DEFAULT_BLOB_THRESHOLD).toBe(4096)
  })
})

describe('collectRefs', () => {
  it('finds every well-formed reference, in order, at any depth', () => {
    const r1 = ref('a'.repeat(10))
    const r2 = ref(randomBytes(3, 6))
    const r3 = ref('c')
    const v = { kind: 'tool_results', items: [{ output: r1 }, [r2, { x: [{ y: r3 }] }], 'text', 5, null] }
    expect(collectRefs(v)).toEqual([r1, r2, r3])
    expect(collectRefs(r1)).toEqual([r1])
  })

  it('ignores byte strings, primitives and lookalikes', () => {
    expect(collectRefs('sha256:abc')).toEqual([])
    expect(collectRefs(null)).toEqual([])
    expect(collectRefs(new Uint8Array([0x65, 0x24]))).toEqual([])
    expect(collectRefs({ $blob: 'nope', size: 1, mediaType: 'x' })).toEqual([])
    // Inside a malformed lookalike, a real reference is still found.
    const r = ref('inner')
    expect(collectRefs({ $blob: 'nope', inner: r })).toEqual([r])
  })

  it('appends to the array it is given', () => {
    const r = ref('a')
    const out = [ref('b')]
    expect(collectRefs([r], out)).toBe(out)
    expect(out).toHaveLength(2)
  })
})

describe('resolveRefs', () => {
  /** Externalize into a map, as a store would. */
  function roundTrip(value: unknown, threshold: number) {
    const blobs = new Map<string, Uint8Array>()
    const out = externalize(
      value,
      threshold,
      (b) => void blobs.set(b.hex, b.bytes),
      () => undefined,
    )
    return { out, blobs }
  }

  it('gives back the original value: text as strings, bytes as Uint8Array', async () => {
    const text = logText(10_000, 7)
    const bytes = randomBytes(10_000, 8)
    const v = { items: [{ output: text }, { data: bytes, name: 'f.bin' }, { small: 'x' }], n: 3 }
    const { out, blobs } = roundTrip(v, 4096)
    expect(blobs.size).toBe(2)
    const loads: string[] = []
    const back = resolveRefs(out, (hex) => {
      loads.push(hex)
      return blobs.get(hex)!
    })
    expect(back).toEqual(v)
    const b = back as typeof v
    expect(typeof b.items[0]!.output).toBe('string')
    expect(b.items[1]!.data).toBeInstanceOf(Uint8Array)
    expect(Buffer.from(b.items[1]!.data!).equals(Buffer.from(bytes))).toBe(true)
    expect(loads.sort()).toEqual([sha(text), sha(bytes)].sort())
    // Unchanged branches are shared; the input of resolveRefs is not mutated.
    expect(b.items[2]).toBe((out as typeof v).items[2])
    expect(isBlobRef((out as { items: { output: unknown }[] }).items[0]!.output)).toBe(true)
  })

  it('returns a value without references as it is and loads nothing', async () => {
    const v = { a: [1, { b: 'c' }] }
    let calls = 0
    expect(
      resolveRefs(v, () => {
        calls++
        return new Uint8Array()
      }),
    ).toBe(v)
    expect(calls).toBe(0)
  })

  it('propagates the loader error', async () => {
    const r = ref('missing')
    expect(() =>
      resolveRefs([r], () => {
        throw new Error('gone')
      }),
    ).toThrow('gone')
  })

  it('round-trips arbitrary values at arbitrary thresholds (property)', async () => {
    const leaf = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.uint8Array({ maxLength: 40 }).map((a) => new Uint8Array(a)),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
    )
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node'), { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 6 }).filter((k) => k !== '$blob' && k !== '__proto__'), tie('node'), { maxKeys: 4 })),
    })).node
    await fc.assert(
      fc.asyncProperty(value, fc.integer({ min: 1, max: 40 }), async (v, threshold) => {
        const before = encodeCanonical(v)
        const { out, blobs } = roundTrip(v, threshold)
        // Nothing left inline is over the threshold.
        const check = (x: unknown): void => {
          if (typeof x === 'string') expect(Buffer.byteLength(x, 'utf8')).toBeLessThanOrEqual(threshold)
          else if (x instanceof Uint8Array) expect(x.length).toBeLessThanOrEqual(threshold)
          else if (isBlobRef(x)) expect(x.size).toBeGreaterThan(threshold)
          else if (Array.isArray(x)) x.forEach(check)
          else if (x && typeof x === 'object') Object.values(x).forEach(check)
        }
        check(out)
        for (const [hex, bytes] of blobs) expect(sha(bytes)).toBe(hex)
        const back = resolveRefs(out, (hex) => blobs.get(hex)!)
        expect(Buffer.from(encodeCanonical(back)).equals(Buffer.from(before))).toBe(true)
        // The input is unchanged.
        expect(Buffer.from(encodeCanonical(v)).equals(Buffer.from(before))).toBe(true)
      }),
      { numRuns: 200 },
    )
  })
})

describe('packBlob / unpackBlob', () => {
  const profiles: CompressionProfile[] = ['low-latency', 'balanced', 'compact']
  const text = utf8(logText(200_000, 9))
  const noise = randomBytes(50_000, 10)

  const stored = (b: Uint8Array) => decodeCbor(b) as { codec: string; size: number; data: Uint8Array }

  it('round-trips every payload under every profile', () => {
    for (const profile of profiles) {
      for (const payload of [text, noise, new Uint8Array(0), utf8('short'), randomBytes(300, 11)]) {
        const packed = packBlob(payload, profile)
        const back = unpackBlob(packed)
        expect(Buffer.from(back).equals(Buffer.from(payload)), profile).toBe(true)
        expect(stored(packed).size).toBe(payload.length)
      }
    }
  })

  it('stores compressible text as brotli under balanced and compact, and smaller', () => {
    const sizes: Record<string, number> = {}
    for (const profile of ['balanced', 'compact'] as const) {
      const packed = packBlob(text, profile)
      const s = stored(packed)
      expect(s.codec, profile).toBe('br')
      expect(s.size).toBe(text.length)
      expect(s.data.length).toBeLessThan(text.length * 0.9)
      expect(packed.length).toBeLessThan(text.length / 2)
      sizes[profile] = packed.length
    }
    // compact spends more time for a smaller (never larger) result on this text.
    expect(sizes.compact).toBeLessThanOrEqual(sizes.balanced!)
  })

  it('keeps incompressible bytes raw under every profile', () => {
    for (const profile of profiles) {
      const s = stored(packBlob(noise, profile))
      expect(s.codec, profile).toBe('raw')
      expect(Buffer.from(s.data).equals(Buffer.from(noise))).toBe(true)
    }
  })

  it('always stores raw under low-latency, even compressible text', () => {
    const s = stored(packBlob(text, 'low-latency'))
    expect(s.codec).toBe('raw')
    expect(s.data.length).toBe(text.length)
  })

  it('does not compress payloads under 256 bytes; balanced only from BALANCED_MIN_COMPRESS up', () => {
    for (const profile of profiles) expect(stored(packBlob(utf8('a'.repeat(255)), profile)).codec).toBe('raw')
    expect(stored(packBlob(utf8('a'.repeat(256)), 'compact')).codec).toBe('br')
    expect(stored(packBlob(utf8('a'.repeat(BALANCED_MIN_COMPRESS - 1)), 'balanced')).codec).toBe('raw')
    expect(stored(packBlob(utf8('a'.repeat(BALANCED_MIN_COMPRESS)), 'balanced')).codec).toBe('br')
  })

  it('writes canonical CBOR { codec, size, data }', () => {
    const packed = packBlob(text, 'balanced')
    const s = stored(packed)
    expect(Object.keys(s).sort()).toEqual(['codec', 'data', 'size'])
    expect(Buffer.from(encodeCanonical({ codec: s.codec, size: s.size, data: new Uint8Array(s.data) })).equals(Buffer.from(packed))).toBe(true)
  })

  it('reads the deflate codec', () => {
    const d = deflateRawSync(text)
    const packed = encodeCanonical({ codec: 'deflate', size: text.length, data: new Uint8Array(d.buffer, d.byteOffset, d.byteLength) })
    expect(Buffer.from(unpackBlob(packed)).equals(Buffer.from(text))).toBe(true)
  })

  it('deflate is raw DEFLATE (RFC 1951): a zlib-framed stream (RFC 1950 header and Adler-32) is not read (docs/storage.md)', () => {
    const z = deflateSync(text)
    expect(z[0]).toBe(0x78) // the zlib header
    const packed = encodeCanonical({ codec: 'deflate', size: text.length, data: new Uint8Array(z.buffer, z.byteOffset, z.byteLength) })
    expect(catchError(() => unpackBlob(packed)).code).toBe(ErrorCodes.DECODE_FAILED)
  })

  it('fails with CHAINLOG_DECODE_FAILED on a corrupted stored form', () => {
    const br = packBlob(text, 'balanced')
    const s = stored(br)
    const data = new Uint8Array(s.data)
    const cases: [string, Uint8Array][] = [
      ['not CBOR', Uint8Array.of(0xff, 0xfe, 0x00)],
      ['empty', new Uint8Array(0)],
      ['cut short', br.subarray(0, br.length - 10)],
      ['truncated brotli stream', encodeCanonical({ codec: 'br', size: s.size, data: data.subarray(0, Math.floor(data.length / 2)) })],
      ['garbage brotli stream', encodeCanonical({ codec: 'br', size: s.size, data: randomBytes(data.length, 12) })],
      ['wrong size (br)', encodeCanonical({ codec: 'br', size: s.size + 1, data })],
      ['wrong size (raw)', encodeCanonical({ codec: 'raw', size: 4, data: Uint8Array.of(1, 2, 3) })],
      ['unknown codec', encodeCanonical({ codec: 'zstd', size: 3, data: Uint8Array.of(1, 2, 3) })],
      ['no data', encodeCanonical({ codec: 'raw', size: 3 })],
      ['data is text', encodeCanonical({ codec: 'raw', size: 3, data: 'abc' })],
      ['not a map', encodeCanonical(42)],
      ['null', encodeCanonical(null)],
    ]
    for (const [what, bytes] of cases) {
      const err = catchError(() => unpackBlob(bytes))
      expect(err.code, what).toBe(ErrorCodes.DECODE_FAILED)
    }
  })
})

describe('mayHaveRefs', () => {
  const r = ref('x'.repeat(5000))

  it('is true for canonical entry bytes that hold a reference, false for entries without one', () => {
    expect(mayHaveRefs(encodeCanonical({ kind: 'user_input', ts: 1, item: { role: 'user', content: r } }))).toBe(true)
    expect(mayHaveRefs(encodeCanonical({ kind: 'tool_results', ts: 1, items: [{ output: [1, { deep: [r] }] }] }))).toBe(true)
    expect(mayHaveRefs(encodeCanonical({ kind: 'user_input', ts: 1, item: { role: 'user', content: 'hello $ blob' } }))).toBe(false)
    expect(mayHaveRefs(encodeCanonical({ kind: 'turn_end', ts: 1, turn: 3 }))).toBe(false)
    expect(mayHaveRefs(new Uint8Array(0))).toBe(false)
  })

  it('may report false positives (the text "$blob" as a value), never false negatives', () => {
    expect(mayHaveRefs(encodeCanonical({ note: '$blob' }))).toBe(true)
    fc.assert(
      // jsonValue may produce a "__proto__" key, which the encoder refuses: leave those out.
      fc.property(fc.jsonValue({ maxDepth: 3 }).filter(encodable), (v) => {
        expect(mayHaveRefs(encodeCanonical([v, r]))).toBe(true)
        expect(mayHaveRefs(encodeCanonical({ a: v, b: { c: r } }))).toBe(true)
      }),
      { numRuns: 100 },
    )
  })

  it('looks only inside the view it is given', () => {
    const bytes = encodeCanonical({ item: r })
    const padded = new Uint8Array(bytes.length + 64)
    padded.set(bytes, 0)
    padded.set(encodeCanonical({ item: 'plain' }), bytes.length)
    expect(mayHaveRefs(padded.subarray(bytes.length, bytes.length + encodeCanonical({ item: 'plain' }).length))).toBe(false)
    expect(mayHaveRefs(padded.subarray(0, bytes.length))).toBe(true)
    // A record: prev(32) ‖ entry bytes, checked from byte 32.
    const record = new Uint8Array(32 + bytes.length)
    record.set(bytes, 32)
    expect(mayHaveRefs(record.subarray(32))).toBe(true)
  })
})

function encodable(v: unknown): boolean {
  try {
    encodeCanonical(v)
    return true
  } catch {
    return false
  }
}
