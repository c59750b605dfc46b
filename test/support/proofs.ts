// Helpers shared by the proof tests: a deterministic 32-byte value from a label (key seeds, leaf
// hashes), and the typed error a call throws, with its reason.
import { createHash } from 'node:crypto'
import { isChainlogError } from '../../src/errors.js'

/** SHA-256 of a label: the same bytes every run. */
export const sha = (label: string): Uint8Array => new Uint8Array(createHash('sha256').update(label).digest())

/** The code (and data.reason) of the ChainlogError `fn` throws; fails the test if it throws nothing or something else. */
export function codeOf(fn: () => unknown): { code: string; reason?: string } {
  try {
    fn()
  } catch (err) {
    if (!isChainlogError(err)) throw err
    return { code: err.code, ...(typeof err.data.reason === 'string' ? { reason: err.data.reason } : {}) }
  }
  throw new Error('nothing was thrown')
}
