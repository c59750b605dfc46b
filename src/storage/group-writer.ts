// Group commit: batches that arrive while a write is in flight are merged into the next single
// LevelDB batch, so N concurrent durable appends cost one fsync, not N. Each caller's ops stay
// together (atomic), and every caller learns the fate of the batch that carried its ops.

import { AsyncLocalStorage } from 'node:async_hooks'

/**
 * Writes made inside `syncRequested.run(true, fn)` are fsynced even on a relaxed writer: a process
 * that holds the store serves other processes' calls this way when they asked for `sync`, so
 * a caller always gets at least the durability it opened the store with.
 */
export const syncRequested = new AsyncLocalStorage<boolean>()

export type BatchOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array }

export interface BatchTarget {
  batch(ops: BatchOp[], options: { sync: boolean }): Promise<void>
}

/**
 * Turns the deltas riding on one batch into ops of that batch (e.g. store-wide counters), and
 * says what to do once the batch has landed.
 */
export type Assembler<D> = (deltas: readonly D[]) => { ops: BatchOp[]; commit: () => void }

interface Pending {
  ops: BatchOp[]
  delta: unknown
  sync: boolean
  resolve: () => void
  reject: (err: unknown) => void
}

export class GroupWriter {
  #pending: Pending[] = []
  #writing = false
  /** Number of LevelDB batches written (for tests and stats). */
  batches = 0
  /** How many of them were fsynced. */
  syncedBatches = 0
  /** Bytes of keys and values written through this writer. */
  bytesWritten = 0

  constructor(
    private readonly target: BatchTarget,
    private readonly sync: boolean,
    private readonly assemble?: Assembler<unknown>,
  ) {}

  /**
   * Queue ops as one atomic unit; `delta`, if given, goes to the assembler with its batch. The
   * batch is fsynced if the writer is `sync` or any write it carries was made under syncRequested.
   */
  write(ops: BatchOp[], delta?: unknown): Promise<void> {
    const sync = this.sync || syncRequested.getStore() === true
    return new Promise((resolve, reject) => {
      this.#pending.push({ ops, delta, sync, resolve, reject })
      if (!this.#writing) void this.#drain()
    })
  }

  async #drain(): Promise<void> {
    this.#writing = true
    while (this.#pending.length > 0) {
      const group = this.#pending.splice(0)
      let ops = group.length === 1 ? group[0]!.ops : group.flatMap((g) => g.ops)
      let commit: (() => void) | undefined
      const deltas = group.filter((g) => g.delta !== undefined).map((g) => g.delta)
      if (deltas.length > 0 && this.assemble) {
        try {
          const extra = this.assemble(deltas)
          ops = [...ops, ...extra.ops]
          commit = extra.commit
        } catch (err) {
          for (const g of group) g.reject(err)
          continue
        }
      }
      let bytes = 0
      for (const op of ops) bytes += op.key.length + (op.type === 'put' ? op.value.length : 0)
      const sync = group.some((g) => g.sync)
      try {
        await this.target.batch(ops, { sync })
        commit?.()
        this.batches += 1
        if (sync) this.syncedBatches += 1
        this.bytesWritten += bytes
        for (const g of group) g.resolve()
      } catch (err) {
        for (const g of group) g.reject(err)
      }
    }
    this.#writing = false
  }
}
