// Bundle bytes in tests, independently of src/bundle: export a session to memory, split a bundle
// into its CBOR byte-string items, join items back, and re-seal them with a fresh digest.
import { createHash } from 'node:crypto'
import { Writable } from 'node:stream'
import { expect } from 'vitest'
import type { ExportResult } from '../../src/bundle/bundle.js'
import type { Store } from '../../src/store.js'

/** Domain of the bundle digest (the last, 32-byte item: SHA-256 over the domain and all bytes before it). */
export const BUNDLE_DIGEST_DOMAIN = Buffer.from('chainlog/bundle/v1\0', 'latin1')

/** Export a session to memory: the bytes written and what exportSession reported. */
export async function exportToMemory(store: Store, sessionId: string, options?: Parameters<Store['exportSession']>[2]): Promise<{ bytes: Uint8Array; result: ExportResult }> {
  const chunks: Buffer[] = []
  const out = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(Buffer.from(chunk))
      cb()
    },
  })
  const result = await store.exportSession(sessionId, out, options)
  return { bytes: new Uint8Array(Buffer.concat(chunks)), result }
}

/** Export a session (as a bundle) to memory. */
export async function exportBytes(store: Store, sessionId: string): Promise<Uint8Array> {
  return (await exportToMemory(store, sessionId)).bytes
}

/** Split a bundle into its CBOR byte-string items. */
export function items(buf: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = []
  let pos = 0
  while (pos < buf.length) {
    const ib = buf[pos]!
    expect(ib >> 5).toBe(2)
    const info = ib & 0x1f
    let len: number
    let hl: number
    if (info < 24) [len, hl] = [info, 1]
    else if (info === 24) [len, hl] = [buf[pos + 1]!, 2]
    else if (info === 25) [len, hl] = [(buf[pos + 1]! << 8) | buf[pos + 2]!, 3]
    else if (info === 26) [len, hl] = [Buffer.from(buf.subarray(pos + 1, pos + 5)).readUInt32BE(0), 5]
    else throw new Error(`unexpected length info ${info}`)
    out.push(buf.subarray(pos + hl, pos + hl + len))
    pos += hl + len
  }
  return out
}

/** Join items back into a bundle (shortest CBOR byte-string heads). */
export function joinItems(parts: Uint8Array[]): Uint8Array {
  const chunks: Uint8Array[] = []
  for (const p of parts) {
    const n = p.length
    if (n < 24) chunks.push(Uint8Array.of(0x40 | n))
    else if (n < 0x100) chunks.push(Uint8Array.of(0x58, n))
    else if (n < 0x10000) chunks.push(Uint8Array.of(0x59, n >> 8, n & 0xff))
    else {
      const h = Buffer.alloc(5)
      h[0] = 0x5a
      h.writeUInt32BE(n, 1)
      chunks.push(h)
    }
    chunks.push(p)
  }
  return new Uint8Array(Buffer.concat(chunks))
}

/** Re-assemble a bundle from items (header first), with a fresh, correct digest item last. */
export function reseal(parts: Uint8Array[]): Uint8Array {
  const digest = createHash('sha256').update(BUNDLE_DIGEST_DOMAIN).update(joinItems(parts)).digest()
  return joinItems([...parts, new Uint8Array(digest)])
}
