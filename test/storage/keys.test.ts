// Key encodings that every row depends on: u64 is 8 bytes big-endian, so byte order is numeric
// order, for every safe integer (the append path writes it without BigInt).
import { describe, expect, it } from 'vitest'
import { readU64, u64 } from '../../src/storage/keys.js'

const reference = (n: number): Buffer => {
  const b = Buffer.alloc(8)
  b.writeBigUInt64BE(BigInt(n))
  return b
}

describe('u64', () => {
  const values = [0, 1, 255, 256, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 40 + 5, 2 ** 52 + 3, Number.MAX_SAFE_INTEGER]
  it('writes big-endian bytes, as BigInt would, and reads them back', () => {
    for (const n of values) {
      expect(Buffer.from(u64(n)), String(n)).toEqual(reference(n))
      expect(readU64(u64(n))).toBe(n)
      expect(readU64(Uint8Array.of(9, ...u64(n)), 1)).toBe(n)
    }
  })
  it('orders bytes as numbers', () => {
    const sorted = values.map(u64).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    expect(sorted.map((b) => readU64(b))).toEqual(values)
  })
  it('reads values above 2^53 through BigInt, as before', () => {
    expect(readU64(Uint8Array.of(0xff, 0, 0, 0, 0, 0, 0, 0))).toBe(Number(0xff00000000000000n))
  })
})
