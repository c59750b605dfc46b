// SHA-256 in pure JavaScript (@noble/hashes): the browser build's hash (platform/browser.ts), and
// the reference the tests hold node:crypto's digests to. Under Node the core hashes with
// node:crypto (platform/node.ts) and never loads this module.
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'

/** SHA-256 over the concatenation of `parts`. */
export const sha256Noble = (...parts: Uint8Array[]): Uint8Array => {
  const h = nobleSha256.create()
  for (const p of parts) h.update(p)
  return h.digest()
}
