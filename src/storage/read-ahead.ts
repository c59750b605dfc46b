// A read-ahead pipeline for chunked scans (entries(), restore, verify). Each chunk is read in
// one or more stages (a nextv of index rows, then getMany of the records, then getMany of the
// blobs they reference); between stages the main thread must run. With one chunk in flight,
// the stages of chunk k+1 could only advance once the caller had finished chunk k, so the
// caller then waited for the later stages with nothing to do (bench case 4 spent 35% idle).
// Keeping `depth` chunks in flight lets every stage of the next chunk finish meanwhile.

export class ReadAhead<R, T> {
  readonly #queue: Promise<T | undefined>[] = []
  /** Reads are started one after another: an iterator allows one nextv at a time. */
  #chain: Promise<unknown> = Promise.resolve()
  #ended = false

  /**
   * @param read the first stage: the next chunk of rows, or undefined at the end (called in order, one at a time)
   * @param prepare the later stages for one chunk (may run while other chunks are read or used)
   * @param depth how many chunks are kept in flight
   */
  constructor(
    private readonly read: () => Promise<R | undefined>,
    private readonly prepare: (rows: R) => Promise<T>,
    private readonly depth = 2,
  ) {
    for (let i = 0; i < depth; i++) this.#fill()
  }

  #fill(): void {
    const rows = this.#chain.then(() => (this.#ended ? undefined : this.read()))
    this.#chain = rows.catch(() => undefined)
    const out = rows.then((r) => {
      if (r === undefined) {
        this.#ended = true
        return undefined
      }
      return this.prepare(r)
    })
    // Errors reach the caller through next(); this only keeps an unawaited one from being unhandled.
    out.catch(() => undefined)
    this.#queue.push(out)
  }

  /** The next prepared chunk, in order; undefined once the rows are exhausted. */
  next(): Promise<T | undefined> {
    const p = this.#queue.shift()!
    this.#fill()
    return p
  }

  /** Wait for every read in flight (before closing the iterator they use); errors are dropped. */
  async settle(): Promise<void> {
    this.#ended = true
    await Promise.allSettled(this.#queue)
    await this.#chain
  }
}
