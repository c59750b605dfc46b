// Number formatting of the CLI's tables: counts grouped in thousands exactly as
// toLocaleString('en-US') groups them (the CLI avoids that call, whose first use loads ICU).
import { describe, expect, it } from 'vitest'
import { formatCount } from '../../src/cli/format.js'

describe('formatCount', () => {
  it('groups digits in thousands as en-US does, for whole, negative and fractional numbers', () => {
    for (const n of [0, 7, 999, 1000, 12_345, 1_234_567, -1_234_567, 1234.5, 0.25, 123_456_789_012, Number.MAX_SAFE_INTEGER]) {
      expect(formatCount(n), String(n)).toBe(n.toLocaleString('en-US'))
    }
  })
})
