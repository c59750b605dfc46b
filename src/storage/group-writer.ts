// Group commit: batches that arrive while a write is in flight are merged into the next single
// LevelDB batch, so N concurrent durable appends cost one fsync, not N. Each caller's ops stay
// together (atomic), and every caller learns the fate of the batch that carried its ops.

export type BatchOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array }

export interface BatchTarget {
  batch(ops: BatchOp[], options: { sync: boolean }): Promise<void>
}

interface Pending {
  ops: BatchOp[]
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
  ) {}

  write(ops: BatchOp[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ ops, resolve, reject })
      if (!this.#writing) void this.#drain()
    })
  }

  async #drain(): Promise<void> {
    this.#writing = true
    while (this.#pending.length > 0) {
      const group = this.#pending.splice(0)
      const ops = group.length === 1 ? group[0]!.ops : group.flatMap((g) => g.ops)
      let bytes = 0
      for (const op of ops) bytes += op.key.length + (op.type === 'put' ? op.value.length : 0)
      try {
        await this.target.batch(ops, { sync: this.sync })
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
