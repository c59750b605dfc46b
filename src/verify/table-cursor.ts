// A forward cursor over one key range, for merging a table with a walk that visits keys in the
// same order: verify of a whole store reads each session's row (`P`: head and metadata) and tree
// rows (`T`) from one scan of each table, taken as the walk of the records (`R`) reaches the
// session, instead of a point read or an iterator per session (bench case 11). Chunks are read
// one ahead of the rows being taken. A request behind rows already taken cannot be served from
// the cursor (`canServe`): the caller then reads the engine directly, so a walk whose order
// differs from the table's (damaged keys) is slower, never wrong.
import type { KeyRange, Row, StorageEngine } from '../storage/engine.js'
import { compareBytes } from '../encoding/bytes.js'

/** Byte order of two keys (the order every engine scans in). */
export function compareKeys(a: Uint8Array, b: Uint8Array): number {
  return compareBytes(a, b)
}

/** The least key after `key`: key ‖ 0x00. */
export function keyAfter(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1)
  out.set(key)
  return out
}

export class TableCursor {
  readonly #it: AsyncIterator<Row[]>
  #rows: Row[] = []
  #i = 0
  /** The next chunk, read while the rows of this one are taken. */
  #ahead: Promise<IteratorResult<Row[]>> | undefined
  #ended = false
  /** Every row before this key has been taken (undefined: none yet). */
  #floor: Uint8Array | undefined
  #all = false

  constructor(engine: Pick<StorageEngine, 'scan'>, range: KeyRange, chunk: number, maxChunk = chunk) {
    this.#it = engine.scan(range, chunk, maxChunk)[Symbol.asyncIterator]()
    // The first chunk is read at once, to be there when the walk first needs it.
    this.#ahead = this.#it.next()
    this.#ahead.catch(() => undefined)
  }

  /** Whether rows from `key` on are all still in the cursor (requests must come in key order). */
  canServe(key: Uint8Array): boolean {
    return !this.#all && (this.#floor === undefined || compareKeys(key, this.#floor) >= 0)
  }

  /**
   * Take every row before `lt` (to the end when undefined), in key order, handing each to `fn`;
   * with `max`, at most that many, and true when rows before `lt` may be left (take again).
   */
  async take(lt: Uint8Array | undefined, fn?: (row: Row) => void, max = Infinity): Promise<boolean> {
    let n = 0
    for (;;) {
      while (this.#i < this.#rows.length) {
        const row = this.#rows[this.#i]!
        if (lt !== undefined && compareKeys(row[0], lt) >= 0) {
          this.#raise(lt)
          return false
        }
        if (n === max) {
          this.#raise(row[0])
          return true
        }
        this.#i++
        n++
        fn?.(row)
      }
      if (!(await this.#next())) {
        if (lt === undefined) this.#all = true
        else this.#raise(lt)
        return false
      }
    }
  }

  #raise(lt: Uint8Array): void {
    if (this.#floor === undefined || compareKeys(lt, this.#floor) > 0) this.#floor = lt
  }

  async #next(): Promise<boolean> {
    if (this.#ended) return false
    const r = await (this.#ahead ?? this.#it.next())
    this.#ahead = undefined
    if (r.done) {
      this.#ended = true
      return false
    }
    this.#rows = r.value
    this.#i = 0
    this.#ahead = this.#it.next()
    // Errors reach the caller through the next take(); this only keeps an unawaited one from being unhandled.
    this.#ahead.catch(() => undefined)
    return true
  }

  /** Stop reading (after a read in flight, if any, has finished). */
  async close(): Promise<void> {
    this.#ended = true
    if (this.#ahead) await this.#ahead.catch(() => undefined)
    this.#ahead = undefined
    await this.#it.return?.()
  }
}
