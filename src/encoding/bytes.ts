// Byte helpers the core uses, on plain Uint8Arrays. Under Node they go through Buffer (native
// UTF-8, hex, base64 and compare: the append and read paths depend on their speed); where there
// is no Buffer (a browser) they fall back to TextEncoder/TextDecoder and loops. Buffer is looked
// up on globalThis, never imported, so the core bundles for a browser without a polyfill
// (docs/browser.md). Both paths give the same bytes (test/encoding/bytes.test.ts).

type NodeBuffer = Uint8Array & {
  toString(encoding: string, start?: number, end?: number): string
  write(s: string, offset: number, length: number, encoding: string): number
}
interface BufferCtor {
  from(data: ArrayBufferLike, byteOffset?: number, length?: number): NodeBuffer
  from(data: string, encoding: string): NodeBuffer
  allocUnsafe(size: number): NodeBuffer
  byteLength(s: string, encoding: string): number
  compare(a: Uint8Array, b: Uint8Array): number
}

/** Node's Buffer when present; undefined in a browser. Exported for tests that force the fallback. */
export const NodeBuffer: BufferCtor | undefined = (globalThis as { Buffer?: BufferCtor }).Buffer

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: false })

/** A view of `bytes` as a Node Buffer (no copy), or undefined without Buffer. */
function view(bytes: Uint8Array): NodeBuffer | undefined {
  return NodeBuffer?.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/**
 * Arrays up to this many bytes are converted in JS: V8 keeps a typed array this small inside the
 * JS heap until something asks for its .buffer (as a Buffer view does), which moves it to memory
 * of its own; for hashes and keys, that move cost more than the conversion.
 */
const SMALL = 64

/** Bytes for a scratch buffer that is written before it is read (uninitialised under Node). */
export function allocUnsafe(size: number): Uint8Array {
  return NodeBuffer ? NodeBuffer.allocUnsafe(size) : new Uint8Array(size)
}

/** The UTF-8 length of `s` (lone surrogates count as U+FFFD, 3 bytes, as both encoders write them). */
export function utf8Length(s: string): number {
  if (NodeBuffer) return NodeBuffer.byteLength(s, 'utf8')
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4
      i++
    } else n += 3
  }
  return n
}

/** Write `s` as UTF-8 into `out` at `offset`; returns the bytes written (`out` must have room). */
export function writeUtf8(out: Uint8Array, s: string, offset: number, length: number): number {
  if (NodeBuffer && typeof (out as NodeBuffer).write === 'function') return (out as NodeBuffer).write(s, offset, length, 'utf8')
  return encoder.encodeInto(s, out.subarray(offset, offset + length)).written
}

/** UTF-8 bytes of `s`. */
export function utf8(s: string): Uint8Array {
  return NodeBuffer ? NodeBuffer.from(s, 'utf8') : encoder.encode(s)
}

/** The string of UTF-8 `bytes` (malformed sequences become U+FFFD). */
export function fromUtf8(bytes: Uint8Array): string {
  const b = view(bytes)
  return b ? b.toString('utf8') : decoder.decode(bytes)
}

/** One char per byte (code points 0-255): a cheap, exact Map key for binary keys. */
export function latin1(bytes: Uint8Array): string {
  if (bytes.length <= SMALL) return String.fromCharCode.apply(null, bytes as unknown as number[])
  const b = view(bytes)
  if (b) return b.toString('latin1')
  let s = ''
  for (let i = 0; i < bytes.length; i += 4096) s += String.fromCharCode(...bytes.subarray(i, i + 4096))
  return s
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** Lowercase hex of `bytes`. */
export function hex(bytes: Uint8Array): string {
  const b = bytes.length <= SMALL ? undefined : view(bytes)
  if (b) return b.toString('hex')
  let s = ''
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]!]
  return s
}

/** Bytes of an even-length hex string (the caller checks the digits). */
export function fromHexString(s: string): Uint8Array {
  if (NodeBuffer) return new Uint8Array(NodeBuffer.from(s, 'hex'))
  const out = new Uint8Array(s.length >> 1)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16)
  return out
}

/** Bytes of an ASCII string (one byte per char). */
export function ascii(s: string): Uint8Array {
  const out = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff
  return out
}

/** Byte-wise order: negative, zero or positive, as memcmp then length. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  if (NodeBuffer) return NodeBuffer.compare(a, b)
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}

/** Standard base64 (with padding) of `bytes`. */
export function toBase64(bytes: Uint8Array): string {
  const b = view(bytes)
  if (b) return b.toString('base64')
  return btoa(latin1(bytes))
}

/**
 * Bytes of standard base64 `text`. Like Buffer, it stops at the first character outside the
 * alphabet; callers that must refuse such text re-encode and compare.
 */
export function fromBase64(text: string): Uint8Array {
  if (NodeBuffer) return new Uint8Array(NodeBuffer.from(text, 'base64'))
  try {
    return ascii(atob(/^[A-Za-z0-9+/]*/.exec(text)![0]))
  } catch {
    return new Uint8Array(0)
  }
}

/** The first index of `needle` in `haystack`, or -1. */
export function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  const b = view(haystack)
  if (b) return (b as unknown as { indexOf(n: Uint8Array): number }).indexOf(needle)
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer
    return i
  }
  return -1
}
