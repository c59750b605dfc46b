// Canonical CBOR (RFC 8949 §4.2 deterministic encoding, with one documented map-key rule per
// entry format) for the JSON-like values chainlog hashes. Encoding is our own so that the
// profile is exact; decoding uses cbor-x, and a decoded value is canonical only if re-encoding
// it gives back the same bytes.
//
// Profile (docs/format.md, section 3):
// - null, true, false; text strings (well-formed UTF-16 in, UTF-8 out); byte strings
//   (Uint8Array); arrays; maps with text keys (plain objects); all lengths definite.
// - map keys: format 2 (the default) writes them in the order the object holds them
//   (Object.keys: array-index keys first in ascending order, then the rest in insertion order),
//   so values round-trip with their key order; format 1 sorts them by the bytewise order of
//   their encoded keys (RFC 8949 §4.2.1), and is kept to check version-1 data.
// - integers (safe-integer numbers, and bigints within [-2^64, 2^64-1]) in the shortest form;
// - every other number (fractions, -0, integral values beyond 2^53-1) as a 64-bit float;
// - refused: undefined, NaN, ±Infinity, functions, symbols, cycles, non-plain objects, the
//   key "__proto__", strings with lone surrogates.
import { Decoder } from 'cbor-x'
import { ChainlogError, ErrorCodes, formatPath } from '../errors.js'
import { allocUnsafe, compareBytes, utf8, utf8Length, writeUtf8 } from './bytes.js'

const MAX_DEPTH = 512

/**
 * The canonical profile of an entry format: 2 keeps map keys in the value's own order, 1 sorts
 * them (docs/format.md, section 3.5). Everything else is the same in both.
 */
export type CanonicalFormat = 1 | 2

/** The profile chainlog writes. */
export const CURRENT_FORMAT: CanonicalFormat = 2

class Writer {
  buf: Uint8Array
  view: DataView
  pos = 0
  constructor(size = 4096) {
    this.buf = allocUnsafe(size)
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength)
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.pos + n) size *= 2
    const next = allocUnsafe(size)
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength)
  }
  head(major: number, n: number): void {
    this.ensure(9)
    const m = major << 5
    if (n < 24) {
      this.buf[this.pos++] = m | n
    } else if (n < 0x100) {
      this.buf[this.pos++] = m | 24
      this.buf[this.pos++] = n
    } else if (n < 0x10000) {
      this.buf[this.pos++] = m | 25
      this.view.setUint16(this.pos, n)
      this.pos += 2
    } else if (n < 0x100000000) {
      this.buf[this.pos++] = m | 26
      this.view.setUint32(this.pos, n)
      this.pos += 4
    } else {
      this.buf[this.pos++] = m | 27
      this.view.setUint32(this.pos, Math.floor(n / 0x100000000))
      this.view.setUint32(this.pos + 4, n >>> 0)
      this.pos += 8
    }
  }
  headBig(major: number, n: bigint): void {
    if (n < 0x100000000n) return this.head(major, Number(n))
    this.ensure(9)
    this.buf[this.pos++] = (major << 5) | 27
    this.view.setBigUint64(this.pos, n)
    this.pos += 8
  }
  float64(v: number): void {
    this.ensure(9)
    this.buf[this.pos++] = 0xfb
    this.view.setFloat64(this.pos, v)
    this.pos += 8
  }
  text(s: string): void {
    const n = s.length
    // Fast path for short ASCII, the common case for keys and small values.
    if (n < 24) {
      this.ensure(1 + n * 3)
      let ascii = true
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i)
        if (c >= 0x80) {
          ascii = false
          break
        }
        this.buf[this.pos + 1 + i] = c
      }
      if (ascii) {
        this.buf[this.pos] = 0x60 | n
        this.pos += 1 + n
        return
      }
    }
    const len = utf8Length(s)
    this.head(3, len)
    this.ensure(len)
    writeUtf8(this.buf, s, this.pos, len)
    this.pos += len
  }
  bytes(b: Uint8Array): void {
    this.head(2, b.length)
    this.ensure(b.length)
    this.buf.set(b, this.pos)
    this.pos += b.length
  }
}

const shared = new Writer(1 << 16)

function fail(path: (string | number)[], what: string): never {
  throw new ChainlogError(ErrorCodes.UNENCODABLE_VALUE, `cannot encode ${what} at ${formatPath(path)}`, {
    path: formatPath(path),
  })
}

/** Compare two map keys by the bytewise order of their canonical encodings (RFC 8949 §4.2.1). */
export function compareKeys(a: string, b: string): number {
  const la = utf8Length(a)
  const lb = utf8Length(b)
  if (la !== lb) return la - lb
  if (la === a.length && lb === b.length) return a < b ? -1 : a > b ? 1 : 0
  return compareBytes(utf8(a), utf8(b))
}

function isWellFormed(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed()
}

interface Mode {
  /** Sort map keys (format 1) instead of keeping the value's order (format 2, the wire). */
  sortKeys: boolean
  /** The socket protocol's frames may carry undefined (0xf7); hashed data never does. */
  undefinedOk: boolean
}
const MODES: Record<CanonicalFormat, Mode> = { 1: { sortKeys: true, undefinedOk: false }, 2: { sortKeys: false, undefinedOk: false } }
const WIRE: Mode = { sortKeys: false, undefinedOk: true }

function encodeValue(w: Writer, v: unknown, path: (string | number)[], seen: Set<object>, mode: Mode): void {
  switch (typeof v) {
    case 'string':
      if (!isWellFormed(v)) fail(path, 'a string with a lone surrogate')
      w.text(v)
      return
    case 'number':
      if (Number.isSafeInteger(v) && !Object.is(v, -0)) {
        if (v >= 0) w.head(0, v)
        else w.head(1, -1 - v)
      } else if (Number.isFinite(v)) {
        w.float64(v)
      } else {
        fail(path, Number.isNaN(v) ? 'NaN' : 'an infinite number')
      }
      return
    case 'boolean':
      w.ensure(1)
      w.buf[w.pos++] = v ? 0xf5 : 0xf4
      return
    case 'bigint':
      if (v >= 0n) {
        if (v > 0xffffffffffffffffn) fail(path, 'a bigint above 2^64-1')
        w.headBig(0, v)
      } else {
        if (v < -0x10000000000000000n) fail(path, 'a bigint below -2^64')
        w.headBig(1, -1n - v)
      }
      return
    case 'object': {
      if (v === null) {
        w.ensure(1)
        w.buf[w.pos++] = 0xf6
        return
      }
      if (v instanceof Uint8Array) {
        w.bytes(v)
        return
      }
      if (seen.has(v)) fail(path, 'a cycle')
      if (path.length >= MAX_DEPTH) fail(path, `a value nested deeper than ${MAX_DEPTH}`)
      seen.add(v)
      if (Array.isArray(v)) {
        w.head(4, v.length)
        for (let i = 0; i < v.length; i++) {
          // Holes in sparse arrays read as undefined and are refused below.
          path.push(i)
          encodeValue(w, v[i], path, seen, mode)
          path.pop()
        }
      } else {
        const proto = Object.getPrototypeOf(v)
        if (proto !== Object.prototype && proto !== null) {
          fail(path, `an object of type ${(v as object).constructor?.name ?? 'unknown'}`)
        }
        const keys = Object.keys(v)
        if (Object.getOwnPropertySymbols(v).length > 0) fail(path, 'a symbol key')
        if (mode.sortKeys) keys.sort(compareKeys)
        w.head(5, keys.length)
        const obj = v as Record<string, unknown>
        for (const k of keys) {
          if (k === '__proto__') fail(path, 'the reserved key "__proto__"')
          path.push(k)
          if (!isWellFormed(k)) fail(path, 'a key with a lone surrogate')
          w.text(k)
          encodeValue(w, obj[k], path, seen, mode)
          path.pop()
        }
      }
      seen.delete(v)
      return
    }
    case 'undefined':
      if (mode.undefinedOk) {
        w.ensure(1)
        w.buf[w.pos++] = 0xf7
        return
      }
      fail(path, 'undefined')
    // eslint-disable-next-line no-fallthrough
    default:
      fail(path, `a ${typeof v}`)
  }
}

/**
 * Encode a JSON-like value as canonical CBOR, in the profile of entry format 2 (keys in the
 * value's own order) unless `format` is 1 (keys sorted).
 * @example encodeCanonical({ b: 1, a: [true, null] })    // a2 61 62 01 61 61 82 f5 f6
 * @example encodeCanonical({ b: 1, a: [true, null] }, 1) // a2 61 61 82 f5 f6 61 62 01
 * @throws ChainlogError CHAINLOG_UNENCODABLE_VALUE with data.path
 */
export function encodeCanonical(value: unknown, format: CanonicalFormat = CURRENT_FORMAT): Uint8Array {
  const view = encodeShared(value, MODES[format])
  const out = new Uint8Array(view.length)
  out.set(view)
  releaseShared()
  return out
}

/** Encode into the shared writer; the view is valid until the next encode (no copy made). */
function encodeShared(value: unknown, mode: Mode, prefix?: Uint8Array): Uint8Array {
  shared.pos = 0
  if (prefix) {
    shared.ensure(prefix.length)
    shared.buf.set(prefix, 0)
    shared.pos = prefix.length
  }
  try {
    encodeValue(shared, value, [], new Set(), mode)
  } catch (err) {
    shared.pos = 0
    throw err
  }
  return shared.buf.subarray(0, shared.pos)
}

function releaseShared(): void {
  if (shared.buf.length > 1 << 20) {
    shared.buf = allocUnsafe(1 << 16) // don't pin huge buffers
    shared.view = new DataView(shared.buf.buffer, shared.buf.byteOffset, shared.buf.byteLength)
  }
}

/** Encode into `prefix.length + n` bytes with `prefix` first, saving a copy on the append path. */
export function encodeCanonicalWithPrefix(prefix: Uint8Array, value: unknown, format: CanonicalFormat = CURRENT_FORMAT): Uint8Array {
  const view = encodeShared(value, MODES[format], prefix)
  const out = new Uint8Array(view.length)
  out.set(view)
  releaseShared()
  return out
}

/**
 * Encode a value for the socket protocol: the profile of format 2 (so items cross processes
 * with their key order, -0, large integers and byte strings as they are), plus `undefined`,
 * which calls use for absent arguments. `prefix` bytes (a frame header) are written first.
 */
export function encodeWire(value: unknown, prefix?: Uint8Array): Uint8Array {
  const view = encodeShared(value, WIRE, prefix)
  const out = allocUnsafe(view.length)
  out.set(view)
  releaseShared()
  return out
}

// copyBuffers: decoded byte strings must not alias (or pin) the record they came from.
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true, copyBuffers: true })

// cbor-x gives every 8-byte integer as a bigint; ours are numbers when they are safe. Byte
// strings come back as Node Buffers; ours are plain Uint8Arrays (a view, no copy), as appended:
// a Buffer is not deep-equal to a Uint8Array and JSON.stringify spells it differently.
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER)
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)

function normaliseInts(v: unknown): unknown {
  // Every timestamp in milliseconds is an 8-byte integer, so nearly every record has one.
  if (typeof v === 'bigint') return v >= MIN_SAFE && v <= MAX_SAFE ? Number(v) : v
  if (v === null || typeof v !== 'object') return v
  if (v instanceof Uint8Array) return v.constructor === Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x = v[i]
      if (x !== null && (typeof x === 'object' || typeof x === 'bigint')) v[i] = normaliseInts(x)
    }
  } else {
    const o = v as Record<string, unknown>
    for (const k in o) {
      const x = o[k]
      if (x !== null && (typeof x === 'object' || typeof x === 'bigint')) o[k] = normaliseInts(x)
    }
  }
  return v
}

/**
 * Decode CBOR bytes. Does not check canonical form; use decodeCanonical for that.
 * @throws ChainlogError CHAINLOG_DECODE_FAILED
 */
export function decodeCbor(bytes: Uint8Array): unknown {
  let value: unknown
  try {
    value = decoder.decode(bytes)
  } catch (err) {
    throw new ChainlogError(ErrorCodes.DECODE_FAILED, `not valid CBOR: ${(err as Error).message}`, {}, { cause: err })
  }
  return normaliseInts(value)
}

/**
 * Decode bytes and check they are exactly the canonical encoding of what they decode to, in the
 * profile of entry format `format` (2 unless given).
 * @throws ChainlogError CHAINLOG_DECODE_FAILED
 */
export function decodeCanonical(bytes: Uint8Array, format: CanonicalFormat = CURRENT_FORMAT): unknown {
  const value = decodeCbor(bytes)
  // Re-encoded into the shared writer and compared there: no copy per record (verify and
  // restore decode every record).
  let same: boolean
  try {
    same = bytesEqual(encodeShared(value, MODES[format]), bytes)
  } catch (err) {
    throw new ChainlogError(ErrorCodes.DECODE_FAILED, `decoded value is outside the canonical profile: ${(err as Error).message}`, {}, { cause: err })
  } finally {
    releaseShared()
  }
  if (!same) throw new ChainlogError(ErrorCodes.DECODE_FAILED, 'bytes are not in canonical form (re-encoding differs)')
  return value
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && compareBytes(a, b) === 0
}
