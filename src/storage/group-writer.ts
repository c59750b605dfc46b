// Group commit: batches that arrive while a write is in flight are merged into the next single
// LevelDB batch, so N concurrent durable appends cost one fsync, not N. Each caller's ops stay
// together (atomic), and every caller learns the fate of the batch that carried its ops.

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
  resolve: () => void
  reject: (err: unknown) => void
}

export class GroupWriter {
  #pending: Pending[] = []
  #writing = false
  /** Number of LevelDB batches written (for tests and stats). */
  batches = 0
  /** Bytes of keys and values written through this writer. */
  bytesWritten = 0

  constructor(
    private readonly target: BatchTarget,
    private readonly sync: boolean,
    private readonly assemble?: Assembler<unknown>,
  ) {}

  /** Queue ops as one atomic unit; `delta`, if given, goes to the assembler with its batch. */
  write(ops: BatchOp[], delta?: unknown): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ ops, delta, resolve, reject })
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
      try {
        await this.target.batch(ops, { sync: this.sync })
        commit?.()
        this.batches += 1
        this.bytesWritten += bytes
        for (const g of group) g.resolve()
      } catch (err) {
        for (const g of group) g.reject(err)
      }
    }
    this.#writing = false
  }
}
