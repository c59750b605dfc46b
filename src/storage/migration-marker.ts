// The format row's part in a numbered migration of a store (docs/storage.md section 11), shared by
// the steps to format 3 (migrate-v3.ts) and 4 (migrate-v4.ts). The first commit sets the row to
// `{ version: to, migrating: from }`, durably: a chainlog that reads only `from` refuses the store
// from then on, and this code knows to resume. Every later commit of the step holds only while the
// row is still that marker, and the last one sets `{ version: to }`, durably.
//
// On an engine several processes share (PostgreSQL), two may run the same step at once: a process
// that finds the marker set by another carries on beside it (both write the same rows), and one
// that finds the step finished stops, since sessions may have moved on since in the new format.
import { bytesEqual, encodeCanonical } from '../encoding/cbor.js'
import { PreconditionFailed, type BatchOp, type StorageEngine } from './engine.js'
import * as K from './keys.js'

export class MigrationMarker {
  readonly #marker: Uint8Array
  readonly #done: Uint8Array

  constructor(
    private readonly engine: StorageEngine,
    from: number,
    to: number,
  ) {
    this.#marker = encodeCanonical({ version: to, migrating: from })
    this.#done = encodeCanonical({ version: to })
  }

  /** Set the marker (unless it is set already). False when another process has finished the step. */
  async begin(): Promise<boolean> {
    const row = await this.engine.get(K.formatKey())
    if (row !== undefined && bytesEqual(row, this.#marker)) return true
    try {
      await this.engine.commit({ ops: [{ type: 'put', key: K.formatKey(), value: this.#marker }], expect: [{ key: K.formatKey(), value: row }], sync: true })
      return true
    } catch (err) {
      if (!(err instanceof PreconditionFailed)) throw err
      const now = await this.engine.get(K.formatKey())
      if (now !== undefined && bytesEqual(now, this.#done)) return false
      if (now === undefined || !bytesEqual(now, this.#marker)) throw err
      return true
    }
  }

  /** A commit of the step, not made durable. False when another process finished the step first (stop). */
  async commit(ops: BatchOp[]): Promise<boolean> {
    return this.#commit(ops, false)
  }

  /** The last commit: `ops` and the format row `{ version: to }`, durably (or the step finished by another process). */
  async finish(ops: BatchOp[]): Promise<void> {
    await this.#commit([...ops, { type: 'put', key: K.formatKey(), value: this.#done }], true)
  }

  async #commit(ops: BatchOp[], sync: boolean): Promise<boolean> {
    try {
      await this.engine.commit({ ops, expect: [{ key: K.formatKey(), value: this.#marker }], sync })
      return true
    } catch (err) {
      const now = err instanceof PreconditionFailed ? await this.engine.get(K.formatKey()) : undefined
      if (now === undefined || !bytesEqual(now, this.#done)) throw err
      return false
    }
  }
}
