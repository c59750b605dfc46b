// A LangGraph.js checkpointer on a chainlog store (docs/adapters.md). A thread (with its
// checkpoint namespace) is a chain of chainlog sessions: checkpoints and pending writes are
// custom entries, a put whose parent is not the thread's latest checkpoint continues in a fork
// at that parent (no copies), and a marker at the end of the old session names the fork.
import {
  BaseCheckpointSaver,
  TASKS,
  WRITES_IDX_MAP,
  copyCheckpoint,
  maxChannelVersion,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointPendingWrite,
  type CheckpointTuple,
  type PendingWrite,
  type SerializerProtocol,
} from '@langchain/langgraph-checkpoint'
import type { RunnableConfig } from '@langchain/core/runnables'
import { randomBytes } from 'node:crypto'
import { ChainlogError, ErrorCodes, isChainlogError } from '../index.js'
import type { AppendOptions, ChainlogStore, EntryInput, StoredEntry } from '../index.js'

type Head = { hash: Uint8Array; seq: number }
import {
  applyToView,
  checkpointRow,
  customEntry,
  enc,
  foldWrites,
  indexRowsOf,
  newView,
  orderedWrites,
  ourData,
  parseRoot,
  resetView,
  textPieces,
  type BranchData,
  type CheckpointData,
  type CheckpointRef,
  type CheckpointRow,
  type ThreadRow,
  type WritesPos,
  type StoredValue,
  type ThreadView,
  type WritesData,
} from './langgraph-thread.js'

export { LANGGRAPH_NAMESPACE, threadSessionId } from './langgraph-thread.js'
export type { BranchData, CheckpointData, StoredValue, WritesData } from './langgraph-thread.js'

/** Checkpoint entries whose data a saver keeps decoded. */
const DATA_CACHE_SIZE = 1024
/** At least this many entries of a session, dense, are read in one range read rather than by seq. */
const DENSE_RUN = 64
/** Seqs at most this far apart belong to one run (a linear thread alternates checkpoints and writes). */
const RUN_GAP = 4
/** Seqs per store.entriesAt call (its limit). */
const ENTRIES_AT_MAX = 1024
/** Looks at a head that is behind an index row before the row is taken as stale (about 2 s). */
const HEAD_WAITS = 400
/** Threads a saver keeps a view of, unless told otherwise. */
const DEFAULT_MAX_THREADS = 1000
/** Checkpoints `list` reads ahead at a time (well under DATA_CACHE_SIZE). */
const LIST_PAGE = 128

const isConflict = (err: unknown) => isChainlogError(err, ErrorCodes.HEAD_CONFLICT)
const isGone = (err: unknown) => isChainlogError(err, ErrorCodes.SESSION_NOT_FOUND) || isChainlogError(err, ErrorCodes.ENTRY_NOT_FOUND)
const utf8Fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
/** The text of UTF-8 bytes, or undefined if they are not valid UTF-8. */
const strictUtf8 = (b: Uint8Array): string | undefined => {
  try {
    return utf8Fatal.decode(b)
  } catch {
    return undefined
  }
}
const hexOf = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

/** The session a thread continues in, as a write needs it. */
interface Current {
  id: string
  head: string
  seq: number
  /** The last checkpoint put in this session. */
  latest: string | undefined
  /** The thread's greatest checkpoint id. */
  max: string | undefined
  /** The view was read from the log (no usable index): the next append writes the whole index. */
  rebuild: boolean
}

/**
 * A LangGraph.js `BaseCheckpointSaver` on a chainlog store.
 * @example const graph = builder.compile({ checkpointer: new ChainlogSaver(await openStore('./.chainlog')) })
 */
export class ChainlogSaver extends BaseCheckpointSaver {
  readonly store: ChainlogStore
  #views = new Map<string, ThreadView>()
  /**
   * Checkpoint entries' data by entry hash, most recently used last. An entry never changes, so
   * this needs no invalidation: it saves re-reading a parent on every put and the entry that
   * holds an unchanged channel on every read.
   */
  #data = new Map<string, CheckpointData>()

  readonly #maxThreads: number

  /**
   * @param serde LangGraph's serializer (JsonPlusSerializer unless given).
   * @param options.maxThreads threads whose view the saver keeps (default 1000, least recently
   *   used dropped first); a dropped thread is read again from the log when next used.
   */
  constructor(store: ChainlogStore, serde?: SerializerProtocol, options: { maxThreads?: number } = {}) {
    super(serde)
    if (!store) throw new TypeError('ChainlogSaver needs a store')
    const maxThreads = options.maxThreads ?? DEFAULT_MAX_THREADS
    if (!Number.isInteger(maxThreads) || maxThreads < 1) throw new TypeError('maxThreads must be a positive integer')
    this.store = store
    this.#maxThreads = maxThreads
  }

  /**
   * Where reads go: the store itself, or, while this process holds a store opened by path, the
   * store it holds (a SharedStore forwards each call to it; reading it directly skips that layer).
   */
  get #reader(): ChainlogStore {
    return (this.store as { local?: ChainlogStore }).local ?? this.store
  }

  /** Threads whose view this saver holds now (for tests and monitoring). */
  get threadsInView(): number {
    return this.#views.size
  }

  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const threadId = config.configurable?.thread_id
    if (threadId === undefined || threadId === null) return undefined
    const view = this.#view(String(threadId), config.configurable?.checkpoint_ns ?? '')
    return this.#locked(view, async () => {
      await this.#sync(view)
      const id: string | undefined = config.configurable?.checkpoint_id || this.#maxId(view)
      const ref = id === undefined ? undefined : await this.#ref(view, id)
      return ref ? this.#tuple(view, ref) : undefined
    })
  }

  async *list(config: RunnableConfig, options: CheckpointListOptions = {}): AsyncGenerator<CheckpointTuple> {
    const { before, filter } = options
    let limit = options.limit
    const threadId = config.configurable?.thread_id
    const ns: string | undefined = config.configurable?.checkpoint_ns
    const only: string | undefined = config.configurable?.checkpoint_id
    const beforeId: string | undefined = before?.configurable?.checkpoint_id
    let threads: { threadId: string; ns: string }[]
    if (threadId !== undefined && ns !== undefined) threads = [{ threadId: String(threadId), ns }]
    else {
      threads = (await this.store.listSessions())
        .map((s) => parseRoot(s.sessionId))
        .filter((t): t is { threadId: string; ns: string } => t !== undefined)
        .filter((t) => (threadId === undefined || t.threadId === String(threadId)) && (ns === undefined || t.ns === ns))
    }
    const matches = async (ref: CheckpointRef) => {
      if (!filter) return true
      const metadata = (await this.#load(ref.metadata)) as Record<string, unknown>
      return Object.entries(filter).every(([k, v]) => metadata?.[k] === v)
    }
    for (const t of threads) {
      const view = this.#view(t.threadId, t.ns)
      const indexed = await this.#locked(view, async () => {
        await this.#sync(view)
        return only === undefined && view.row !== undefined
      })
      if (indexed) {
        // Newest first through the index, a page at a time: one reverse scan of the `c:` rows,
        // then what the page's checkpoints need in one read per session (a range when dense).
        // The next page is read while this one's tuples are built (a page ahead, no more).
        const pageSize = (yielding: number) => (filter || limit === undefined ? LIST_PAGE : Math.min(LIST_PAGE, limit - yielding))
        const readPage = (lt: string, size: number) => {
          const p = this.#reader.scanIndex(view.root, { gte: 'c:', lt, reverse: true, limit: size }).then(async (rows) => {
            const items = rows.map(([name, row]): [string, CheckpointRow] => [name.slice(2), row as CheckpointRow])
            return { items, lt: rows.length > 0 ? rows[rows.length - 1]![0] : lt, got: await this.#readRows(items) }
          })
          // A list the caller stops early leaves the last read-ahead unawaited: its failure is not theirs.
          p.catch(() => undefined)
          return p
        }
        let size = pageSize(0)
        let next = size > 0 ? readPage(beforeId !== undefined ? `c:${beforeId}` : 'c;', size) : undefined
        while (next) {
          const page = await next
          next = undefined
          if (page.items.length === 0) break
          const refs = await this.#locked(view, () => this.#refsAt(view, page.items, page.got))
          if (page.items.length === size) {
            size = pageSize(refs.length)
            if (size > 0) next = readPage(page.lt, size)
          }
          for (const ref of refs) {
            if (!(await matches(ref))) continue
            if (limit !== undefined) {
              if (limit <= 0) break
              limit -= 1
            }
            yield await this.#locked(view, () => this.#tuple(view, ref))
          }
          // With a filter, pages are read whole: stop once the limit is met.
          if (limit !== undefined && limit <= 0) break
        }
        if (limit !== undefined && limit <= 0) return
        continue
      }
      const refs = await this.#locked(view, async () => {
        if (only !== undefined) {
          const ref = await this.#ref(view, only)
          return ref ? [ref] : []
        }
        await this.#readAll(view)
        return [...view.checkpoints.values()].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
      })
      const selected: CheckpointRef[] = []
      for (const ref of refs) {
        if (only && ref.id !== only) continue
        if (beforeId !== undefined && ref.id >= beforeId) continue
        if (!(await matches(ref))) continue
        if (limit !== undefined) {
          if (limit <= 0) break
          limit -= 1
        }
        selected.push(ref)
      }
      for (let i = 0; i < selected.length; i += LIST_PAGE) {
        const page = selected.slice(i, i + LIST_PAGE)
        await this.#prefetch(page)
        for (const ref of page) yield await this.#locked(view, () => this.#tuple(view, ref))
      }
      if (limit !== undefined && limit <= 0) return
    }
  }

  async put(config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata, newVersions: ChannelVersions): Promise<RunnableConfig> {
    const threadId = config.configurable?.thread_id
    if (threadId === undefined || threadId === null) {
      throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'put needs config.configurable.thread_id', {})
    }
    const ns: string = config.configurable?.checkpoint_ns ?? ''
    const parent: string | undefined = config.configurable?.checkpoint_id || undefined
    const view = this.#view(String(threadId), ns)
    const { channel_values: channelValues, ...rest } = copyCheckpoint(checkpoint)
    const values: Record<string, StoredValue> = {}
    for (const ch of Object.keys(newVersions)) {
      if (Object.hasOwn(channelValues, ch)) values[ch] = await this.#dump(channelValues[ch])
    }
    const base = { id: checkpoint.id, versions: { ...checkpoint.channel_versions }, checkpoint: await this.#dump(rest), metadata: await this.#dump(metadata), values }
    await this.#locked(view, async () => {
      // The first try trusts what this saver last wrote or read (no read of the head): the append
      // is compare-and-set on that head, and a refused one reads the thread again.
      for (let attempt = 0; ; attempt++) {
        if (attempt > 0 || !view.row) await this.#sync(view)
        try {
          const data: CheckpointData = { ...base, refs: await this.#refsFrom(view, parent, base) }
          if (parent !== undefined) data.parent = parent
          if (await this.#place(view, data)) return
        } catch (err) {
          // Unsynced, the thread may have been deleted since this saver last looked: look, and try again.
          if (!(attempt === 0 && isGone(err))) throw err
        }
      }
    })
    return { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: checkpoint.id } }
  }

  async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath?: string): Promise<void> {
    const threadId = config.configurable?.thread_id
    const checkpointId: string | undefined = config.configurable?.checkpoint_id
    if (threadId === undefined || threadId === null) throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'putWrites needs config.configurable.thread_id', {})
    if (!checkpointId) throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'putWrites needs config.configurable.checkpoint_id', {})
    const view = this.#view(String(threadId), config.configurable?.checkpoint_ns ?? '')
    const all: [number, string, StoredValue][] = []
    for (let i = 0; i < writes.length; i++) {
      const [channel, value] = writes[i]!
      all.push([WRITES_IDX_MAP[channel] || i, channel, await this.#dump(value)])
    }
    await this.#locked(view, async () => {
      for (let attempt = 0; ; attempt++) {
        const synced = attempt > 0 || !view.row
        if (synced) await this.#sync(view)
        await this.#loadWrites(view, checkpointId)
        // As every saver does: a task's regular write lands once; special ones (errors, interrupts) are replaced.
        const have = view.writes.get(checkpointId)
        const fresh = all.filter(([idx]) => idx < 0 || !have?.has(`${taskId},${idx}`))
        if (fresh.length === 0) {
          // Nothing to write, by what this saver knew: make sure of it (the thread may have been deleted since).
          if (!synced) continue
          return
        }
        const data: WritesData = { checkpoint: checkpointId, task: taskId, path: taskPath ?? '', writes: fresh }
        const cur = await this.#current(view)
        const pos: WritesPos = [cur.id, cur.seq + 1]
        const w = [...(view.writePos.get(checkpointId) ?? []), pos]
        // The checkpoint's own row lists its writes, so that a read finds them with the checkpoint.
        const known = view.rows.get(checkpointId) ?? this.#rowFromView(view, checkpointId) ?? (await this.#checkpointRow(view, checkpointId))
        const rows: [string, unknown][] = known ? [[`c:${checkpointId}`, { ...known, w }]] : [[`w:${checkpointId}`, w]]
        if (known && known.w === undefined) rows.push([`w:${checkpointId}`, null])
        const entry = customEntry('writes', data)
        try {
          const r = await this.store.append(cur.id, entry, this.#indexed(view, cur, { cur: cur.id, seq: cur.seq + 1, latest: cur.latest ?? null, max: cur.max ?? null }, rows))
          this.#landed(view, cur, r, entry, { cur: cur.id, seq: r.seq, latest: cur.latest ?? null, max: cur.max ?? null })
          if (known) view.rows.set(checkpointId, { ...known, w })
          return
        } catch (err) {
          if (!isConflict(err) && !(attempt === 0 && isGone(err))) throw err
        }
      }
    })
  }

  async deleteThread(threadId: string): Promise<void> {
    const prefix = `lg:${enc(String(threadId))}:`
    const ids = (await this.store.listSessions()).map((s) => s.sessionId).filter((id) => id.startsWith(prefix))
    for (const id of ids.filter((i) => parseRoot(i))) {
      try {
        await this.store.deleteSession(id, { dependants: 'delete' })
      } catch (err) {
        if (!isChainlogError(err, ErrorCodes.SESSION_NOT_FOUND)) throw err
      }
    }
    // Forks a crash left unreferenced.
    for (const s of await this.store.listSessions()) {
      if (s.sessionId.startsWith(prefix)) await this.store.deleteSession(s.sessionId, { dependants: 'delete' }).catch(() => undefined)
    }
    for (const [key, view] of this.#views) if (view.threadId === String(threadId)) this.#views.delete(key)
  }

  // ---- internals ----

  #view(threadId: string, ns: string): ThreadView {
    const key = JSON.stringify([threadId, ns])
    let view = this.#views.get(key)
    if (view) this.#views.delete(key)
    else view = newView(threadId, ns)
    this.#views.set(key, view)
    // A view dropped while an operation still uses it is harmless: that operation finishes on
    // it, and the next one reads the thread again (writes are compare-and-set either way).
    if (this.#views.size > this.#maxThreads) this.#views.delete(this.#views.keys().next().value!)
    return view
  }

  /** One operation at a time per thread in this saver (other savers are kept apart by compare-and-set). */
  #locked<T>(view: ThreadView, fn: () => Promise<T>): Promise<T> {
    const run = view.queue.then(fn, fn)
    view.queue = run.catch(() => undefined)
    return run
  }

  /**
   * Bring the view up to date. A thread whose index row matches its current session's head is
   * read through the index (one head read when nobody else wrote since this saver's last call;
   * the row again when someone did). A thread without a usable index (written before it, or by
   * other means) is read from the log, as far as this view has not read it yet.
   */
  async #sync(view: ThreadView): Promise<void> {
    if (view.row) {
      const h = await this.#reader.readHead(view.row.cur)
      if (h && h.seq === view.row.seq) return
    }
    const row = (await this.#reader.readIndex(view.root, 'thread')) as ThreadRow | undefined
    if (row) {
      const h = await this.#headReaches(row.cur, row.seq)
      if (h && h.seq === row.seq) {
        // Another writer moved the thread (or this view is new): what the view cached may be stale.
        resetView(view)
        view.row = row
        view.curHead = hexOf(h.hash)
        return
      }
    }
    if (view.row || !view.complete) resetView(view)
    await this.#refresh(view)
    view.complete = true
  }

  /** Read the whole thread into the view (list of everything): the log once, then kept up to date. */
  async #readAll(view: ThreadView): Promise<void> {
    if (view.complete) return
    const row = view.row
    const curHead = view.curHead
    resetView(view)
    await this.#refresh(view)
    view.complete = true
    // Still indexed if nobody moved the thread while it was read.
    const cur = view.sessions[view.sessions.length - 1]
    if (row && cur && cur.id === row.cur && cur.seq === row.seq) {
      view.row = row
      view.curHead = curHead
    }
  }

  #maxId(view: ThreadView): string | undefined {
    return view.row ? (view.row.max ?? undefined) : view.maxId
  }

  /** Where a checkpoint is: from the view, else (indexed, not all read) its index row. */
  async #ref(view: ThreadView, id: string): Promise<CheckpointRef | undefined> {
    const have = view.checkpoints.get(id)
    if (have || view.complete || !view.row) return have
    const row = await this.#checkpointRow(view, id)
    return row ? this.#refAt(view, id, row) : undefined
  }

  /** A checkpoint's index row as a complete view knows it. */
  #rowFromView(view: ThreadView, id: string): CheckpointRow | undefined {
    const ref = view.complete ? view.checkpoints.get(id) : undefined
    if (!ref) return undefined
    const row = checkpointRow(ref.sessionId, ref.seq, ref.parent)
    const w = view.writePos.get(id)
    if (w) row.w = [...w]
    return row
  }

  async #checkpointRow(view: ThreadView, id: string): Promise<CheckpointRow | undefined> {
    const have = view.rows.get(id)
    if (have) return have
    const row = (await this.#reader.readIndex(view.root, `c:${id}`)) as CheckpointRow | undefined
    if (row) view.rows.set(id, row)
    return row
  }

  /** A checkpoint's entry from its index row, with its pending writes (#refsAt). */
  async #refAt(view: ThreadView, id: string, row: CheckpointRow): Promise<CheckpointRef> {
    return (await this.#refsAt(view, [[id, row]]))[0]!
  }

  /**
   * Checkpoints from their index rows, with their pending writes and the entries that hold their
   * unchanged channels (those the data cache lacks): what they need is read in one batched point
   * read per session (store.entriesAt), or, for a dense run of many (a page of `list`), one range
   * read. Nothing else of the thread is read. The view learns where they are and their writes.
   */
  async #refsAt(view: ThreadView, items: [string, CheckpointRow][], read?: Map<string, StoredEntry>): Promise<CheckpointRef[]> {
    const out: (CheckpointRef | undefined)[] = []
    const got = new Map<string, StoredEntry>(read)
    const need = new Map<string, Set<number>>()
    const add = (s: string, q: number) => {
      if (got.has(`${q} ${s}`)) return
      const set = need.get(s)
      if (set) set.add(q)
      else need.set(s, new Set([q]))
    }
    const writesAt: WritesPos[][] = []
    for (const [i, [id, row]] of items.entries()) {
      view.rows.set(id, row)
      // The entries holding its unchanged channels, unless cached (even for a checkpoint the view has).
      for (const [hash, [s, q]] of Object.entries(row.r ?? {})) if (!this.#data.has(hash)) add(s, q)
      const have = view.checkpoints.get(id)
      if (have && have.sessionId === row.s && have.seq === row.q && (view.complete || view.loadedWrites.has(id)) && this.#data.has(have.hash)) {
        out[i] = have
        writesAt[i] = []
        continue
      }
      add(row.s, row.q)
      const w = row.w ?? ((await this.#reader.readIndex(view.root, `w:${id}`)) as WritesPos[] | undefined) ?? []
      writesAt[i] = w
      for (const [s, q] of w) add(s, q)
    }
    for (const [s, set] of need) for (const e of await this.#entriesAt(s, [...set].sort((a, b) => a - b))) got.set(`${e.seq} ${s}`, e)
    for (const [i, [id, row]] of items.entries()) {
      // The entries holding its unchanged channels: taken only if each is the entry its hash names.
      for (const [hash, [s, q]] of Object.entries(row.r ?? {})) {
        const e = got.get(`${q} ${s}`)
        const d = e && e.hash === hash ? ourData<CheckpointData>(e, 'checkpoint') : undefined
        if (d) this.#remember(hash, d)
      }
      if (out[i]) continue
      const e = got.get(`${row.q} ${row.s}`)!
      const data = ourData<CheckpointData>(e, 'checkpoint')
      if (!data || data.id !== id) {
        throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `the index of thread session ${view.root} names ${row.s} seq ${row.q} for checkpoint ${id}, which holds something else; run verify`, { sessionId: row.s, seq: row.q })
      }
      this.#remember(e.hash, data)
      const ref: CheckpointRef = { id, hash: e.hash, sessionId: row.s, seq: row.q, metadata: data.metadata }
      if (data.parent !== undefined) ref.parent = data.parent
      view.checkpoints.set(id, ref)
      if (!view.complete) await this.#foldWritesAt(view, id, writesAt[i]!, got)
      out[i] = ref
    }
    return out as CheckpointRef[]
  }

  /**
   * The entries a page of `c:` rows names (checkpoints, their writes, the entries holding their
   * unchanged channels that the data cache lacks), read without touching a view: `list` reads
   * the next page with this while it builds the tuples of the current one. By `seq session`.
   */
  async #readRows(items: [string, CheckpointRow][]): Promise<Map<string, StoredEntry>> {
    const need = new Map<string, Set<number>>()
    const add = (s: string, q: number) => {
      const set = need.get(s)
      if (set) set.add(q)
      else need.set(s, new Set([q]))
    }
    for (const [, row] of items) {
      add(row.s, row.q)
      for (const [s, q] of row.w ?? []) add(s, q)
      for (const [hash, [s, q]] of Object.entries(row.r ?? {})) if (!this.#data.has(hash)) add(s, q)
    }
    const got = new Map<string, StoredEntry>()
    for (const [s, set] of need) for (const e of await this.#entriesAt(s, [...set].sort((a, b) => a - b))) got.set(`${e.seq} ${s}`, e)
    return got
  }

  /**
   * The entries at `seqs` (ascending) of a session, checked against the chain: one batched point
   * read, or one range read for a long dense run of them (a page of a list) and a batched point
   * read of the others.
   */
  async #entriesAt(sessionId: string, seqs: number[]): Promise<StoredEntry[]> {
    const last = seqs[seqs.length - 1]!
    // An index row can be seen a moment before the head of the commit that wrote it.
    const h = await this.#headReaches(sessionId, last)
    if (!h) throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `session ${sessionId} has no entry at seq ${last}; run verify`, { sessionId, seq: last })
    const out: StoredEntry[] = []
    const points: number[] = []
    // Runs of seqs close together: a long dense one is read as a range; the rest (a page's few
    // far-away entries, such as one holding a channel set at the thread's start) by point reads.
    let start = 0
    for (let i = 1; i <= seqs.length; i++) {
      if (i < seqs.length && seqs[i]! - seqs[i - 1]! <= RUN_GAP) continue
      const from = seqs[start]!
      const to = seqs[i - 1]!
      if (i - start >= DENSE_RUN && to - from + 1 <= 2 * (i - start)) {
        const want = new Set(seqs.slice(start, i))
        for await (const e of this.#reader.entries(sessionId, { from, to })) if (want.has(e.seq)) out.push(e)
      } else for (let k = start; k < i; k++) points.push(seqs[k]!)
      start = i
    }
    for (let i = 0; i < points.length; i += ENTRIES_AT_MAX) out.push(...(await this.#reader.entriesAt(sessionId, points.slice(i, i + ENTRIES_AT_MAX))))
    return out
  }

  /** Make sure the view holds every pending write of a checkpoint (indexed: from its index rows). */
  async #loadWrites(view: ThreadView, id: string): Promise<void> {
    if (view.complete || !view.row || view.loadedWrites.has(id)) return
    const row = await this.#checkpointRow(view, id)
    const pos = row?.w ?? ((await this.#reader.readIndex(view.root, `w:${id}`)) as WritesPos[] | undefined) ?? []
    await this.#foldWritesAt(view, id, pos, new Map())
  }

  /** Fold the writes entries at `pos` into the view (those in `got`, by `seq session`, already read). */
  async #foldWritesAt(view: ThreadView, id: string, pos: WritesPos[], got: Map<string, StoredEntry>): Promise<void> {
    view.writes.delete(id)
    view.writePos.delete(id)
    for (const [s, q] of pos) {
      const e = got.get(`${q} ${s}`) ?? (await this.#entryAt(s, q))
      const w = ourData<WritesData>(e, 'writes')
      if (!w || w.checkpoint !== id) {
        throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `the index of thread session ${view.root} names ${s} seq ${q} for writes of ${id}, which holds something else; run verify`, { sessionId: s, seq: q })
      }
      foldWrites(view, w, [s, q])
    }
    view.loadedWrites.add(id)
  }

  /** The entry at a position (one short range read, its hash checked against the chain). */
  async #entryAt(sessionId: string, seq: number): Promise<StoredEntry> {
    for (let attempt = 0; ; attempt++) {
      for await (const e of this.#reader.entries(sessionId, { from: seq, to: seq })) return e
      // An index row can be seen a moment before the head of the commit that wrote it.
      if (attempt > 0 || !(await this.#headReaches(sessionId, seq))) break
    }
    throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `session ${sessionId} has no entry at seq ${seq}; run verify`, { sessionId, seq })
  }

  /**
   * Wait until a session's head is at `seq` or past it: rows of a commit still under way (its
   * sync not yet done) can be read before the store's head says it landed. False if it does not
   * get there (the session is behind the row: rows not written by this adapter's appends).
   */
  async #headReaches(sessionId: string, seq: number): Promise<Head | undefined> {
    for (let i = 0; i < HEAD_WAITS; i++) {
      const h = await this.#reader.readHead(sessionId)
      if (!h || h.seq >= seq) return h && h.seq >= seq ? h : undefined
      await new Promise((r) => setTimeout(r, i < 8 ? 0 : 5))
    }
    return undefined
  }

  /** Read what other writers appended since this view last looked, following branch markers. */
  async #refresh(view: ThreadView): Promise<void> {
    if (view.sessions.length === 0) {
      if (!(await this.#reader.readHead(view.root))) return
      view.sessions.push({ id: view.root, seq: -1, head: undefined })
    }
    for (;;) {
      const cur = view.sessions[view.sessions.length - 1]!
      let head: string
      try {
        head = await this.#reader.head(cur.id)
      } catch (err) {
        if (!isChainlogError(err, ErrorCodes.SESSION_NOT_FOUND)) throw err
        // Deleted by another saver: start over from nothing.
        resetView(view)
        return
      }
      if (head === cur.head) return
      const before = view.sessions.length
      for await (const e of this.#reader.entries(cur.id, { from: cur.seq + 1 })) {
        applyToView(view, e)
        // Keep what was decoded anyway: a list that follows reads the newest checkpoints from here.
        const cp = ourData<CheckpointData>(e, 'checkpoint')
        if (cp) this.#remember(e.hash, cp)
        if (view.sessions.length > before) break
      }
      if (view.sessions.length === before) return
    }
  }

  /**
   * The session the thread continues in, with its head, the last checkpoint put in it and the
   * thread's greatest checkpoint id; the thread's first session is created if it has none yet.
   */
  async #current(view: ThreadView): Promise<Current> {
    if (view.row) return { id: view.row.cur, head: view.curHead!, seq: view.row.seq, latest: view.row.latest ?? undefined, max: view.row.max ?? undefined, rebuild: false }
    if (view.sessions.length === 0) {
      try {
        const created = await this.store.createSession({ sessionId: view.root, config: { langgraph: { thread_id: view.threadId, checkpoint_ns: view.ns } } })
        view.sessions.push({ id: view.root, seq: 0, head: created.head })
        view.genesis = created.head
        view.complete = true
      } catch (err) {
        if (!isChainlogError(err, ErrorCodes.SESSION_EXISTS)) throw err
        await this.#refresh(view)
      }
    }
    const s = view.sessions[view.sessions.length - 1]!
    // Read from the log: the next append writes the index of everything read so far.
    return { id: s.id, head: s.head!, seq: s.seq, latest: view.latest, max: view.maxId, rebuild: true }
  }

  /** Append options: compare-and-set on the head, and the thread's index rows in the same commit. */
  #indexed(view: ThreadView, cur: Current, row: ThreadRow, rows: [string, unknown][]): AppendOptions {
    const all = new Map<string, unknown>(cur.rebuild ? indexRowsOf(view) : [])
    for (const [name, value] of rows) all.set(name, value)
    all.set('thread', row)
    return { expectedHead: cur.head, index: { sessionId: view.root, rows: [...all] } }
  }

  /** After an append of ours landed in `cur`: the view and its index row follow it. */
  #landed(view: ThreadView, cur: Current, r: { hash: string; seq: number }, entry: EntryInput, row: ThreadRow): void {
    applyToView(view, { sessionId: cur.id, seq: r.seq, hash: r.hash, prev: cur.head, entry: entry as StoredEntry['entry'], format: 2 })
    if (row.cur === cur.id) {
      view.row = row
      view.curHead = r.hash
    }
  }

  /** The index row of a checkpoint being put (with the writes a complete view already knows for its id). */
  #newRow(view: ThreadView, data: CheckpointData, sessionId: string, seq: number): CheckpointRow {
    const row = checkpointRow(sessionId, seq, data.parent)
    const w = view.complete ? view.writePos.get(data.id) : undefined
    if (w) row.w = [...w]
    // Where its unchanged channels are held: the parent itself, or where the parent's row says.
    const parent = data.parent !== undefined ? view.checkpoints.get(data.parent) : undefined
    const prow = data.parent !== undefined ? view.rows.get(data.parent) : undefined
    for (const hash of new Set(Object.values(data.refs))) {
      const pos: WritesPos | undefined = parent && parent.hash === hash ? [parent.sessionId, parent.seq] : prow?.r?.[hash]
      if (pos) (row.r ??= {})[hash] = pos
    }
    return row
  }

  /** The hash of the thread's first entry (a fork with no parent starts there). */
  async #genesis(view: ThreadView): Promise<string | undefined> {
    if (view.genesis === undefined && (await this.#reader.readHead(view.root))) view.genesis = (await this.#entryAt(view.root, 0)).hash
    return view.genesis
  }

  /** Channels the new checkpoint carries unchanged from its parent: where their values are stored. */
  async #refsFrom(view: ThreadView, parent: string | undefined, cp: { versions: ChannelVersions; values: Record<string, StoredValue> }): Promise<Record<string, string>> {
    const refs: Record<string, string> = {}
    const ref = parent === undefined ? undefined : await this.#ref(view, parent)
    if (!ref) return refs
    const p = await this.#checkpointData(ref.hash)
    for (const [ch, version] of Object.entries(cp.versions)) {
      if (Object.hasOwn(cp.values, ch) || p.versions[ch] !== version) continue
      const holder = Object.hasOwn(p.values, ch) ? ref.hash : p.refs[ch]
      if (holder !== undefined) refs[ch] = holder
    }
    return refs
  }

  /**
   * Write a checkpoint: in the current session if its parent is the latest checkpoint there,
   * else in a new fork at the parent, announced by a branch marker in the current session.
   * False when another writer moved the thread first (nothing of this call remains).
   */
  async #place(view: ThreadView, data: CheckpointData): Promise<boolean> {
    const cur = await this.#current(view)
    const entry = customEntry('checkpoint', data)
    const max = cur.max === undefined || data.id > cur.max ? data.id : cur.max
    if (data.parent === cur.latest) {
      const seq = cur.seq + 1
      try {
        const crow = this.#newRow(view, data, cur.id, seq)
        const r = await this.store.append(cur.id, entry, this.#indexed(view, cur, { cur: cur.id, seq, latest: data.id, max }, [[`c:${data.id}`, crow]]))
        this.#remember(r.hash, data)
        view.rows.set(data.id, crow)
        this.#landed(view, cur, r, entry, { cur: cur.id, seq: r.seq, latest: data.id, max })
        return true
      } catch (err) {
        if (isConflict(err)) return false
        throw err
      }
    }
    const anchor = (data.parent !== undefined ? (await this.#ref(view, data.parent))?.hash : undefined) ?? (await this.#genesis(view))
    if (!anchor) throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `thread session ${view.root} has no genesis; run verify`, { sessionId: view.root })
    const forkId = `${view.root}/${enc(data.id)}.${randomBytes(4).toString('hex')}`
    const fork = await this.store.forkAt(anchor, { sessionId: forkId })
    const r = await this.store.append(forkId, entry, { expectedHead: fork.head })
    this.#remember(r.hash, data)
    const branch = customEntry('branch', { session: forkId, checkpoint: data.id, parent: data.parent ?? null } satisfies BranchData)
    const row: ThreadRow = { cur: forkId, seq: r.seq, latest: data.id, max }
    const crow = this.#newRow(view, data, forkId, r.seq)
    let m: { hash: string; seq: number }
    try {
      m = await this.store.append(cur.id, branch, this.#indexed(view, cur, row, [[`c:${data.id}`, crow]]))
    } catch (err) {
      await this.store.deleteSession(forkId)
      if (isConflict(err)) return false
      throw err
    }
    view.rows.set(data.id, crow)
    this.#landed(view, cur, m, branch, row)
    applyToView(view, { sessionId: forkId, seq: r.seq, hash: r.hash, prev: fork.head, entry: entry as StoredEntry['entry'], format: 2 })
    view.row = row
    view.curHead = r.hash
    return true
  }

  async #tuple(view: ThreadView, ref: CheckpointRef): Promise<CheckpointTuple> {
    await this.#loadWrites(view, ref.id)
    const data = await this.#checkpointData(ref.hash)
    const checkpoint = (await this.#load(data.checkpoint)) as Checkpoint
    const channelValues: Record<string, unknown> = {}
    for (const [ch, v] of Object.entries(data.values)) channelValues[ch] = await this.#load(v)
    for (const [ch, hash] of Object.entries(data.refs)) {
      const v = (await this.#checkpointData(hash)).values[ch]
      if (v !== undefined) channelValues[ch] = await this.#load(v)
    }
    checkpoint.channel_values = channelValues
    if (checkpoint.v < 4 && ref.parent !== undefined) {
      // Checkpoints older than format 4 kept pending sends as the parent's TASKS writes.
      await this.#loadWrites(view, ref.parent)
      const sends = orderedWrites(view, ref.parent).filter((w) => w.channel === TASKS)
      channelValues[TASKS] = await Promise.all(sends.map((w) => this.#load(w.value)))
      const versions = Object.values(checkpoint.channel_versions ?? {})
      checkpoint.channel_versions = { ...checkpoint.channel_versions, [TASKS]: versions.length > 0 ? maxChannelVersion(...versions) : this.getNextVersion(undefined) }
    }
    const pendingWrites: CheckpointPendingWrite[] = await Promise.all(
      orderedWrites(view, ref.id).map(async (w) => [w.task, w.channel, await this.#load(w.value)] as CheckpointPendingWrite),
    )
    const configurable = { thread_id: view.threadId, checkpoint_ns: view.ns }
    const tuple: CheckpointTuple = {
      config: { configurable: { ...configurable, checkpoint_id: ref.id } },
      checkpoint,
      metadata: (await this.#load(data.metadata)) as CheckpointMetadata,
      pendingWrites,
    }
    if (ref.parent !== undefined) tuple.parentConfig = { configurable: { ...configurable, checkpoint_id: ref.parent } }
    return tuple
  }

  async #checkpointData(hash: string): Promise<CheckpointData> {
    const cached = this.#data.get(hash)
    if (cached) {
      this.#data.delete(hash)
      this.#data.set(hash, cached)
      return cached
    }
    const data = ourData<CheckpointData>(await this.#reader.getEntry(hash), 'checkpoint')
    if (!data) throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `entry ${hash} is not a LangGraph checkpoint; run verify`, { hash })
    this.#remember(hash, data)
    return data
  }

  /** Read the checkpoints of a page of `list` in streamed runs per session, not one lookup each. */
  async #prefetch(refs: CheckpointRef[]): Promise<void> {
    const bySession = new Map<string, CheckpointRef[]>()
    for (const r of refs) {
      if (this.#data.has(r.hash)) continue
      const list = bySession.get(r.sessionId)
      if (list) list.push(r)
      else bySession.set(r.sessionId, [r])
    }
    for (const [sessionId, list] of bySession) {
      if (list.length < 4) continue
      const want = new Set(list.map((r) => r.hash))
      const from = Math.min(...list.map((r) => r.seq))
      const to = Math.max(...list.map((r) => r.seq))
      // Only dense runs: a few checkpoints far apart are cheaper to fetch one by one.
      if (to - from + 1 > 4 * list.length) continue
      for await (const e of this.#reader.entries(sessionId, { from, to })) {
        const data = want.has(e.hash) ? ourData<CheckpointData>(e, 'checkpoint') : undefined
        if (data) this.#remember(e.hash, data)
      }
    }
  }

  #remember(hash: string, data: CheckpointData): void {
    this.#data.delete(hash)
    this.#data.set(hash, data)
    if (this.#data.size > DATA_CACHE_SIZE) this.#data.delete(this.#data.keys().next().value!)
  }

  async #dump(value: unknown): Promise<StoredValue> {
    const [type, bytes] = await this.serde.dumpsTyped(value)
    if (type === 'json') {
      // Kept as the serde wrote it, so that a read hands it back unchanged. JSON.stringify's output
      // is well-formed; what a custom serde gives that is not (bad UTF-8, lone surrogates) stays bytes.
      if (typeof bytes !== 'string') {
        const text = strictUtf8(bytes)
        if (text !== undefined) return textPieces(text)
      } else if ((bytes as unknown as { isWellFormed(): boolean }).isWellFormed()) return textPieces(bytes)
    }
    return { type, bytes: typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes }
  }

  #load(v: StoredValue): Promise<unknown> {
    if (typeof v === 'string') return this.serde.loadsTyped('json', v)
    if (Array.isArray(v)) return this.serde.loadsTyped('json', v.join(''))
    // Entries written by earlier versions of this adapter: the JSON as a structure.
    return 'json' in v ? this.serde.loadsTyped('json', JSON.stringify(v.json)) : this.serde.loadsTyped(v.type, v.bytes)
  }
}
