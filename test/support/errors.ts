// Catching errors in tests: the ChainlogError a call throws or a promise rejects with, failing
// the test if nothing is thrown or the error is of another kind.
import { expect } from 'vitest'
import { ChainlogError, type ErrorCode } from '../../src/errors.js'

/** The ChainlogError `fn` throws (fails the test if it returns or throws something else). */
export function catchError(fn: () => unknown): ChainlogError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(ChainlogError)
    return err as ChainlogError
  }
  throw new Error('expected a ChainlogError, nothing was thrown')
}

/** The ChainlogError `p` rejects with, checked to carry `code` (fails the test if `p` resolves). */
export async function rejects(p: Promise<unknown>, code: ErrorCode): Promise<ChainlogError> {
  try {
    await p
  } catch (err) {
    expect(err).toBeInstanceOf(ChainlogError)
    expect((err as ChainlogError).code).toBe(code)
    return err as ChainlogError
  }
  throw new Error(`expected ${code}, the call succeeded`)
}
