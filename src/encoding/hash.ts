// SHA-256 and the chain hash. node:crypto (OpenSSL, SHA-NI) under Node, @noble/hashes in a
// browser (platform/); both give the same digests (test/encoding/hash.test.ts).
import { platform } from '../platform/node.js'
import { ascii } from './bytes.js'

type Sha256 = (...parts: Uint8Array[]) => Uint8Array

/** node:crypto's SHA-256 (OpenSSL, SHA-NI) under Node, else undefined. */
export const sha256Node: Sha256 | undefined = platform.name === 'node' ? platform.sha256 : undefined

/** SHA-256 over the concatenation of `parts`: the platform's (node:crypto, or @noble/hashes in a browser). */
export const sha256: Sha256 = platform.sha256

/**
 * Domain tags that start every entry hash input: ASCII "chainlog/entry/v1" or
 * "chainlog/entry/v2" and a zero byte, by the entry format of the record (docs/format.md).
 */
export const ENTRY_DOMAIN_V1 = new Uint8Array([...ascii('chainlog/entry/v1'), 0])
export const ENTRY_DOMAIN_V2 = new Uint8Array([...ascii('chainlog/entry/v2'), 0])
/** The domain tag of the entry format chainlog writes (v2). */
export const ENTRY_DOMAIN = ENTRY_DOMAIN_V2

export const HASH_BYTES = 32
export const ZERO_HASH = new Uint8Array(HASH_BYTES)

/**
 * The first byte of a version-2 entry (a CBOR array of two: the format number, then the entry
 * map). A version-1 entry is a bare map and starts with a map head (0xa0-0xbb), so the byte
 * after `prev` tells the formats apart.
 */
export const ENTRY_V2_MARKER = 0x82

/** The entry format of a record (prev ‖ entry bytes): 2 when its entry starts with the v2 marker, else 1. */
export function recordFormat(record: Uint8Array): 1 | 2 {
  return record[HASH_BYTES] === ENTRY_V2_MARKER ? 2 : 1
}

/**
 * The hash of a stored entry record (prev ‖ entry bytes): SHA-256(domain tag ‖ prev ‖ entry
 * bytes), with the domain tag of the record's entry format.
 */
export function hashRecord(record: Uint8Array): Uint8Array {
  return sha256(recordFormat(record) === 2 ? ENTRY_DOMAIN_V2 : ENTRY_DOMAIN_V1, record)
}

export { fromHex, isHexHash, toHex } from './hex-hash.js'
