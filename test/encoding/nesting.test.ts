// The 512-container nesting limit of docs/format.md (sections 3.6 and 3.7, rule 7), as the code
// applies it to entries (issue 18, item 15): the entry map is the first of the 512 containers;
// format 2's envelope `82 02` is not counted. One level more is refused on write
// (CHAINLOG_UNENCODABLE_VALUE) and on read (CHAINLOG_DECODE_FAILED: the finding `non_canonical`).
import { describe, expect, it } from 'vitest'
import { encodeCanonical } from '../../src/encoding/cbor.js'
import { openRecord, sealEntry } from '../../src/encoding/entry-codec.js'
import { ZERO_HASH } from '../../src/encoding/hash.js'
import { ChainlogError, ErrorCodes } from '../../src/errors.js'
import { checkRecord } from '../../src/verify/record-check.js'

/** `n` arrays, one inside the other, around 0. */
const nest = (n: number): unknown => {
  let v: unknown = 0
  for (let i = 0; i < n; i++) v = [v]
  return v
}

/** A format-2 user_input record whose item is `item`, built by hand (no depth check on the way). */
function recordWithItem(itemBytes: Uint8Array): Uint8Array {
  // {kind, ts, item: 0} in format 2's order; the trailing 00 (item: 0) is replaced by the item's bytes.
  const map = encodeCanonical({ kind: 'user_input', ts: 1, item: 0 })
  return new Uint8Array([...ZERO_HASH, 0x82, 0x02, ...map.subarray(0, map.length - 1), ...itemBytes])
}

const code = (fn: () => unknown): string | undefined => {
  try {
    fn()
    return undefined
  } catch (err) {
    return err instanceof ChainlogError ? err.code : 'not a ChainlogError'
  }
}

describe('the nesting limit counts the entry map, not the 82 02 envelope', () => {
  it('an entry map holding 511 nested containers (512 with it) is written and read', () => {
    const { record } = sealEntry(ZERO_HASH, { kind: 'user_input', ts: 1, item: nest(511) })
    expect(openRecord(record).entry).toMatchObject({ kind: 'user_input' })
    expect(checkRecord(record).error).toBeUndefined()
    // The same bytes built by hand: what a verifier reads.
    expect(recordWithItem(encodeCanonical(nest(511)))).toEqual(record)
  })

  it('one more (513 with the entry map) is refused on write and on read', () => {
    expect(code(() => sealEntry(ZERO_HASH, { kind: 'user_input', ts: 1, item: nest(512) }))).toBe(ErrorCodes.UNENCODABLE_VALUE)
    const record = recordWithItem(new Uint8Array([0x81, ...encodeCanonical(nest(511))]))
    expect(code(() => openRecord(record))).toBe(ErrorCodes.DECODE_FAILED)
    expect(checkRecord(record).error?.code).toBe('non_canonical')
  })
})
