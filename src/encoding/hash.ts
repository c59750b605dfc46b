// SHA-256 and the chain hash. node:crypto (OpenSSL, SHA-NI) where it exists, @noble/hashes
// elsewhere; both give the same digests (test/encoding/hash.test.ts).
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'

type Sha256 = (...parts: Uint8Array[]) => Uint8Array

/** The pure-JS implementation, exported so tests and non-Node hosts can use it directly. */
export const sha256Noble: Sha256 = (...parts) => {
  const h = nobleSha256.create()
  for (const p of parts) h.update(p)
  return h.digest()
}

async function loadNodeSha256(): Promise<Sha256 | undefined> {
  try {
    const crypto = await import('node:crypto')
    return (...parts) => {
      const h = crypto.createHash('sha256')
      for (const p of parts) h.update(p)
      return h.digest()
    }
  } catch {
    return undefined
  }
}

export const sha256Node: Sha256 | undefined = await loadNodeSha256()

/** SHA-256 over the concatenation of `parts`. */
export const sha256: Sha256 = sha256Node ?? sha256Noble

/**
 * Domain tag that starts every entry hash input: ASCII "chainlog/entry/v1" and a zero byte.
 * Its version moves with the format version (docs/format.md).
 */
export const ENTRY_DOMAIN = new Uint8Array([...Buffer.from('chainlog/entry/v1', 'ascii'), 0])

export const HASH_BYTES = 32
export const ZERO_HASH = new Uint8Array(HASH_BYTES)

/**
 * The hash of a stored entry record (prev ‖ canonical entry bytes):
 * SHA-256(ENTRY_DOMAIN ‖ prev ‖ entryBytes).
 */
export function hashRecord(record: Uint8Array): Uint8Array {
  return sha256(ENTRY_DOMAIN, record)
}

/** Lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

const HEX64 = /^[0-9a-f]{64}$/

/** True for a full lowercase 64-digit hex hash. */
export function isHexHash(s: unknown): s is string {
  return typeof s === 'string' && HEX64.test(s)
}

/** 32 raw bytes from a 64-digit lowercase hex hash. */
export function fromHex(hex: string): Uint8Array {
  if (!isHexHash(hex)) throw new TypeError(`not a 64-digit lowercase hex hash: ${hex}`)
  return new Uint8Array(Buffer.from(hex, 'hex'))
}
