// Content-addressed blobs: large payloads inside items are stored once, keyed by the SHA-256 of
// their uncompressed bytes, and the entry carries a reference in the form docs/format.md
// reserves: { "$blob": "sha256:<hex>", "size": n, "mediaType": "..." }. The entry hash covers
// the reference, so the blob is bound into the chain.
import { decodeCbor, encodeCanonical } from '../encoding/cbor.js'
import { sha256, toHex } from '../encoding/hash.js'
import { ChainlogError, ErrorCodes, formatPath } from '../errors.js'
import { ascii, fromUtf8, indexOfBytes, utf8 } from '../encoding/bytes.js'
import { platform } from '../platform/node.js'

export const BLOB_KEY = '$blob'
export const TEXT_MEDIA_TYPE = 'text/plain;charset=utf-8'
export const BYTES_MEDIA_TYPE = 'application/octet-stream'

export interface BlobRef {
  $blob: string
  size: number
  mediaType: string
}

/**
 * How blobs are compressed:
 * - low-latency (the default for a store directory): stored as is (LevelDB's own Snappy block
 *   compression still applies): brotli on the append path cost appends 8-11% of their time on
 *   the bench workload for ~4.5% fewer bytes on disk (docs/storage.md, `B`);
 * - balanced (the default on PostgreSQL and for a db given as is): blobs of 32 KiB and more with brotli quality 1 (a third of quality 4's time for ~5% more bytes on the bench text), kept only when it saves at least 10%;
 * - compact: brotli quality 9, same rule.
 */
export type CompressionProfile = 'low-latency' | 'balanced' | 'compact'

/** Codec recorded with each stored blob. */
export type BlobCodec = 'raw' | 'br' | 'deflate'

export interface BlobOptions {
  /** Payloads (strings as UTF-8, byte strings) larger than this many bytes become blobs. 0 or Infinity disables. */
  threshold?: number
  profile?: CompressionProfile
}

/** Default threshold: tool results of a few KB and more go out of line (docs/benchmarks.md, case 7). */
export const DEFAULT_BLOB_THRESHOLD = 4096

const REF_RE = /^sha256:[0-9a-f]{64}$/

/** True when `v` is exactly a blob reference. */
export function isBlobRef(v: unknown): v is BlobRef {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false
  const o = v as Record<string, unknown>
  const keys = Object.keys(o)
  return (
    keys.length === 3 &&
    typeof o.$blob === 'string' &&
    REF_RE.test(o.$blob) &&
    Number.isSafeInteger(o.size) &&
    (o.size as number) >= 0 &&
    typeof o.mediaType === 'string' &&
    o.mediaType.length > 0
  )
}

export function refHash(ref: BlobRef): string {
  return ref.$blob.slice('sha256:'.length)
}

export interface NewBlob {
  hash: Uint8Array
  hex: string
  bytes: Uint8Array
  mediaType: string
}

/**
 * Replace large payloads in `value` by references (copy on write: the input is not changed).
 * Existing references must be well-formed; `onRef` is called for each one found.
 */
export function externalize(
  value: unknown,
  threshold: number,
  onNew: (blob: NewBlob) => void,
  onRef: (ref: BlobRef, path: (string | number)[]) => void,
  path: (string | number)[] = [],
  seen: Set<object> = new Set(),
): unknown {
  if (typeof value === 'string') {
    // A UTF-8 string is at most 3 bytes per UTF-16 unit, and at least 1.
    if (value.length * 3 <= threshold) return value
    // UTF-8 encoding would turn a lone surrogate into U+FFFD: refuse it, as the canonical encoder does.
    if (!(value as unknown as { isWellFormed(): boolean }).isWellFormed()) unencodable(path, 'a string with a lone surrogate')
    const bytes = utf8(value)
    if (bytes.length <= threshold) return value
    return makeRef(bytes, TEXT_MEDIA_TYPE, onNew)
  }
  if (value instanceof Uint8Array) {
    if (value.length <= threshold) return value
    return makeRef(value, BYTES_MEDIA_TYPE, onNew)
  }
  if (value === null || typeof value !== 'object') return value
  // The canonical encoder reports these with the same code; stop here before recursing forever.
  if (seen.has(value)) unencodable(path, 'a cycle')
  if (seen.size >= MAX_DEPTH) unencodable(path, `a value nested deeper than ${MAX_DEPTH}`)
  seen.add(value)
  try {
    return externalizeContainer(value, threshold, onNew, onRef, path, seen)
  } finally {
    seen.delete(value)
  }
}

const MAX_DEPTH = 512

function unencodable(path: (string | number)[], what: string): never {
  throw new ChainlogError(ErrorCodes.UNENCODABLE_VALUE, `cannot encode ${what} at ${formatPath(path)}`, { path: formatPath(path) })
}

function externalizeContainer(
  value: object,
  threshold: number,
  onNew: (blob: NewBlob) => void,
  onRef: (ref: BlobRef, path: (string | number)[]) => void,
  path: (string | number)[],
  seen: Set<object>,
): unknown {
  if (Array.isArray(value)) {
    let out: unknown[] | undefined
    for (let i = 0; i < value.length; i++) {
      path.push(i)
      const x = externalize(value[i], threshold, onNew, onRef, path, seen)
      path.pop()
      if (x !== value[i]) {
        out ??= value.slice()
        out[i] = x
      }
    }
    return out ?? value
  }
  const o = value as Record<string, unknown>
  if (Object.prototype.hasOwnProperty.call(o, BLOB_KEY)) {
    if (!isBlobRef(o)) {
      throw new ChainlogError(ErrorCodes.INVALID_ENTRY, `invalid blob reference at ${formatPath(path)}: the key "$blob" is reserved for { $blob: "sha256:<hex>", size, mediaType }`, {
        path: formatPath(path),
      })
    }
    onRef(o, path.slice())
    return o
  }
  let out: Record<string, unknown> | undefined
  for (const k of Object.keys(o)) {
    path.push(k)
    const x = externalize(o[k], threshold, onNew, onRef, path, seen)
    path.pop()
    if (x !== o[k]) {
      out ??= { ...o }
      out[k] = x
    }
  }
  return out ?? value
}

function makeRef(bytes: Uint8Array, mediaType: string, onNew: (blob: NewBlob) => void): BlobRef {
  const hash = sha256(bytes)
  const hex = toHex(hash)
  onNew({ hash, hex, bytes, mediaType })
  return { $blob: `sha256:${hex}`, size: bytes.length, mediaType }
}

/** Every blob reference inside a value. */
export function collectRefs(value: unknown, out: BlobRef[] = []): BlobRef[] {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return out
  if (Array.isArray(value)) {
    for (const x of value) collectRefs(x, out)
    return out
  }
  const o = value as Record<string, unknown>
  if (Object.prototype.hasOwnProperty.call(o, BLOB_KEY) && isBlobRef(o)) {
    out.push(o)
    return out
  }
  for (const k of Object.keys(o)) collectRefs(o[k], out)
  return out
}

/**
 * Where a value holds a map with the reserved key "$blob" that is not exactly a reference
 * (docs/format.md section 7): the paths (as in error messages), in document order. Appends
 * refuse such maps (CHAINLOG_INVALID_ENTRY); verify reports each as a `blob_invalid` finding.
 */
export function malformedRefs(value: unknown, path: (string | number)[] = [], out: string[] = []): string[] {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return out
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      path.push(i)
      malformedRefs(value[i], path, out)
      path.pop()
    }
    return out
  }
  const o = value as Record<string, unknown>
  if (Object.prototype.hasOwnProperty.call(o, BLOB_KEY)) {
    if (!isBlobRef(o)) out.push(formatPath(path))
    return out
  }
  for (const k of Object.keys(o)) {
    path.push(k)
    malformedRefs(o[k], path, out)
    path.pop()
  }
  return out
}

const MARKER = new Uint8Array([0x65, ...ascii(BLOB_KEY)]) // CBOR text(5) "$blob"

/** Fast test on canonical entry bytes: could they contain a blob reference? */
export function mayHaveRefs(entryBytes: Uint8Array): boolean {
  return indexOfBytes(entryBytes, MARKER) >= 0
}

/**
 * Replace references with their content (strings for text media types, bytes otherwise).
 * `load` returns a blob's checked content; callers fetch a chunk's blobs in one read first
 * (collectRefs), so this walk is synchronous: an awaited read per reference cost a thread-pool
 * round trip each (bench case 5).
 */
export function resolveRefs(value: unknown, load: (hex: string) => Uint8Array): unknown {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return value
  if (Array.isArray(value)) {
    let out: unknown[] | undefined
    for (let i = 0; i < value.length; i++) {
      const x = resolveRefs(value[i], load)
      if (x !== value[i]) {
        out ??= value.slice()
        out[i] = x
      }
    }
    return out ?? value
  }
  const o = value as Record<string, unknown>
  if (isBlobRef(o)) {
    const bytes = load(refHash(o))
    return o.mediaType === TEXT_MEDIA_TYPE ? fromUtf8(bytes) : bytes
  }
  let out: Record<string, unknown> | undefined
  for (const k of Object.keys(o)) {
    const x = resolveRefs(o[k], load)
    if (x !== o[k]) {
      out ??= { ...o }
      out[k] = x
    }
  }
  return out ?? value
}

/** Under the balanced profile, blobs smaller than this are stored raw. */
export const BALANCED_MIN_COMPRESS = 32 * 1024

/** The stored form of a blob: canonical CBOR { codec, size, data }. */
export function packBlob(bytes: Uint8Array, profile: CompressionProfile): Uint8Array {
  let codec: BlobCodec = 'raw'
  let data = bytes
  // Brotli on the append path was a third of append time for ~10 KB tool results (bench case 1),
  // while LevelDB's Snappy already shrinks them; balanced compresses only the large payloads.
  const min = profile === 'compact' ? 256 : profile === 'balanced' ? BALANCED_MIN_COMPRESS : Infinity
  if (bytes.length >= min) {
    const quality = profile === 'compact' ? 9 : 1
    const packed = platform.brotliCompress(bytes, quality)
    if (packed && packed.length <= bytes.length * 0.9) {
      codec = 'br'
      data = packed
    }
  }
  return encodeCanonical({ codec, size: bytes.length, data })
}

const plain = (b: Uint8Array): Uint8Array => (b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength))

/**
 * The uncompressed bytes of a stored blob.
 * @throws ChainlogError CHAINLOG_DECODE_FAILED when the stored form cannot be read
 */
export function unpackBlob(stored: Uint8Array): Uint8Array {
  let v: { codec?: unknown; size?: unknown; data?: unknown }
  try {
    v = decodeCbor(stored) as typeof v
  } catch (err) {
    throw new ChainlogError(ErrorCodes.DECODE_FAILED, `stored blob is not CBOR: ${(err as Error).message}`, {}, { cause: err })
  }
  if (!v || !(v.data instanceof Uint8Array)) throw new ChainlogError(ErrorCodes.DECODE_FAILED, 'stored blob has no data', {})
  let out: Uint8Array
  try {
    switch (v.codec) {
      case 'raw':
        out = v.data
        break
      // zlib gives Node Buffers: handed out as plain Uint8Arrays (no copy), as every byte string
      // comes back (README), whatever codec stored it.
      case 'br':
        out = plain(platform.brotliDecompress(v.data))
        break
      case 'deflate':
        out = plain(platform.inflateRaw(v.data))
        break
      default:
        throw new Error(`unknown codec ${String(v.codec)}`)
    }
  } catch (err) {
    throw new ChainlogError(ErrorCodes.DECODE_FAILED, `stored blob cannot be decompressed: ${(err as Error).message}`, {}, { cause: err })
  }
  if (out.length !== v.size) throw new ChainlogError(ErrorCodes.DECODE_FAILED, `stored blob has ${out.length} bytes, recorded ${String(v.size)}`, {})
  return out
}

/**
 * A stored blob's content checked against the hash it is filed under, or what is wrong with it:
 * missing, unreadable (not CBOR, unknown codec, bad size) or hashing to something else. Reads
 * (which throw) and verify (which reports) both judge blobs by this one rule.
 */
export function openStoredBlob(
  hex: string,
  raw: Uint8Array | undefined,
): { bytes: Uint8Array } | { problem: 'missing' } | { problem: 'unreadable'; error: Error } | { problem: 'mismatch'; actual: string } {
  if (!raw) return { problem: 'missing' }
  let bytes: Uint8Array
  try {
    bytes = unpackBlob(raw)
  } catch (err) {
    return { problem: 'unreadable', error: err as Error }
  }
  const actual = blobHash(bytes)
  return actual === hex ? { bytes } : { problem: 'mismatch', actual }
}

/** SHA-256 of a blob's content, hex. */
export function blobHash(bytes: Uint8Array): string {
  return toHex(sha256(bytes))
}

