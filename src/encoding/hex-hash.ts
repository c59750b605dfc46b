// Hex spellings of SHA-256 hashes, apart from the hashing itself (hash.ts), so that code that only
// checks or converts a hash's text (the CLI's argument parsing, the viewer's routes) loads no
// SHA-256 implementation: `chainlog --help` starts without node:crypto's hashing or @noble/hashes.
import { fromHexString, hex } from './bytes.js'

const HEX64 = /^[0-9a-f]{64}$/

/** Lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return hex(bytes)
}

/** True for a full lowercase 64-digit hex hash. */
export function isHexHash(s: unknown): s is string {
  return typeof s === 'string' && HEX64.test(s)
}

/** 32 raw bytes from a 64-digit lowercase hex hash. */
export function fromHex(hex: string): Uint8Array {
  if (!isHexHash(hex)) throw new TypeError(`not a 64-digit lowercase hex hash: ${hex}`)
  return fromHexString(hex)
}
