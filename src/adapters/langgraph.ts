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
import type { ChainlogStore, StoredEntry } from '../index.js'
import {
  applyToView,
  customEntry,
  enc,
  newView,
  orderedWrites,
  ourData,
  parseRoot,
  resetView,
  type BranchData,
  type CheckpointData,
  type CheckpointRef,
  type StoredValue,
  type ThreadView,
  type WritesData,
} from './langgraph-thread.js'

export { LANGGRAPH_NAMESPACE, threadSessionId } from './langgraph-thread.js'
export type { BranchData, CheckpointData, StoredValue, WritesData } from './langgraph-thread.js'

/** Checkpoint entries whose data a saver keeps decoded. */
const DATA_CACHE_SIZE = 1024
/** Threads a saver keeps a view of, unless told otherwise. */
const DEFAULT_MAX_THREADS = 1000
/** Checkpoints `list` reads ahead at a time (well under DATA_CACHE_SIZE). */
const LIST_PAGE = 128

const isConflict = (err: unknown) => isChainlogError(err, ErrorCodes.HEAD_CONFLICT)

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

  /** Threads whose view this saver holds now (for tests and monitoring). */
  get threadsInView(): number {
    return this.#views.size
  }

  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const threadId = config.configurable?.thread_id
    if (threadId === undefined || threadId === null) return undefined
    const view = this.#view(String(threadId), config.configurable?.checkpoint_ns ?? '')
    return this.#locked(view, async () => {
      await this.#refresh(view)
      const id: string | undefined = config.configurable?.checkpoint_id || view.maxId
      const ref = id === undefined ? undefined : view.checkpoints.get(id)
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
    for (const t of threads) {
      const view = this.#view(t.threadId, t.ns)
      const refs = await this.#locked(view, async () => {
        await this.#refresh(view)
        return [...view.checkpoints.values()].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
      })
      const selected: CheckpointRef[] = []
      for (const ref of refs) {
        if (only && ref.id !== only) continue
        if (beforeId !== undefined && ref.id >= beforeId) continue
        if (filter) {
          const metadata = (await this.#load(ref.metadata)) as Record<string, unknown>
          if (!Object.entries(filter).every(([k, v]) => metadata?.[k] === v)) continue
        }
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
      for (;;) {
        await this.#refresh(view)
        const data: CheckpointData = { ...base, refs: await this.#refsFrom(view, parent, base) }
        if (parent !== undefined) data.parent = parent
        if (await this.#place(view, data)) return
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
      for (;;) {
        await this.#refresh(view)
        // As every saver does: a task's regular write lands once; special ones (errors, interrupts) are replaced.
        const have = view.writes.get(checkpointId)
        const fresh = all.filter(([idx]) => idx < 0 || !have?.has(`${taskId},${idx}`))
        if (fresh.length === 0) return
        const data: WritesData = { checkpoint: checkpointId, task: taskId, path: taskPath ?? '', writes: fresh }
        const cur = await this.#current(view)
        try {
          const r = await this.store.append(cur.id, customEntry('writes', data), { expectedHead: cur.head! })
          applyToView(view, { sessionId: cur.id, seq: r.seq, hash: r.hash, prev: cur.head!, entry: customEntry('writes', data) as StoredEntry['entry'], format: 2 })
          return
        } catch (err) {
          if (!isConflict(err)) throw err
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

  /** Read what other writers appended since this view last looked, following branch markers. */
  async #refresh(view: ThreadView): Promise<void> {
    if (view.sessions.length === 0) {
      if (!(await this.store.readHead(view.root))) return
      view.sessions.push({ id: view.root, seq: -1, head: undefined })
    }
    for (;;) {
      const cur = view.sessions[view.sessions.length - 1]!
      let head: string
      try {
        head = await this.store.head(cur.id)
      } catch (err) {
        if (!isChainlogError(err, ErrorCodes.SESSION_NOT_FOUND)) throw err
        // Deleted by another saver: start over from nothing.
        resetView(view)
        return
      }
      if (head === cur.head) return
      const before = view.sessions.length
      for await (const e of this.store.entries(cur.id, { from: cur.seq + 1 })) {
        applyToView(view, e)
        if (view.sessions.length > before) break
      }
      if (view.sessions.length === before) return
    }
  }

  /** The current session, created (as the thread's first) if the thread has none yet. */
  async #current(view: ThreadView): Promise<{ id: string; head: string | undefined }> {
    if (view.sessions.length === 0) {
      try {
        const created = await this.store.createSession({ sessionId: view.root, config: { langgraph: { thread_id: view.threadId, checkpoint_ns: view.ns } } })
        view.sessions.push({ id: view.root, seq: 0, head: created.head })
        view.genesis = created.head
      } catch (err) {
        if (!isChainlogError(err, ErrorCodes.SESSION_EXISTS)) throw err
        await this.#refresh(view)
      }
    }
    return view.sessions[view.sessions.length - 1]!
  }

  /** Channels the new checkpoint carries unchanged from its parent: where their values are stored. */
  async #refsFrom(view: ThreadView, parent: string | undefined, cp: { versions: ChannelVersions; values: Record<string, StoredValue> }): Promise<Record<string, string>> {
    const refs: Record<string, string> = {}
    const ref = parent === undefined ? undefined : view.checkpoints.get(parent)
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
    if (data.parent === view.latest) {
      try {
        const r = await this.store.append(cur.id, entry, { expectedHead: cur.head! })
        this.#remember(r.hash, data)
        applyToView(view, { sessionId: cur.id, seq: r.seq, hash: r.hash, prev: cur.head!, entry: entry as StoredEntry['entry'], format: 2 })
        return true
      } catch (err) {
        if (isConflict(err)) return false
        throw err
      }
    }
    const anchor = (data.parent !== undefined ? view.checkpoints.get(data.parent)?.hash : undefined) ?? view.genesis
    if (!anchor) throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `thread session ${view.root} has no genesis in view; run verify`, { sessionId: view.root })
    const forkId = `${view.root}/${enc(data.id)}.${randomBytes(4).toString('hex')}`
    const fork = await this.store.forkAt(anchor, { sessionId: forkId })
    const r = await this.store.append(forkId, entry, { expectedHead: fork.head })
    this.#remember(r.hash, data)
    const branch = customEntry('branch', { session: forkId, checkpoint: data.id, parent: data.parent ?? null } satisfies BranchData)
    let m: { hash: string; seq: number }
    try {
      m = await this.store.append(cur.id, branch, { expectedHead: cur.head! })
    } catch (err) {
      await this.store.deleteSession(forkId)
      if (isConflict(err)) return false
      throw err
    }
    applyToView(view, { sessionId: cur.id, seq: m.seq, hash: m.hash, prev: cur.head!, entry: branch as StoredEntry['entry'], format: 2 })
    applyToView(view, { sessionId: forkId, seq: r.seq, hash: r.hash, prev: fork.head, entry: entry as StoredEntry['entry'], format: 2 })
    return true
  }

  async #tuple(view: ThreadView, ref: CheckpointRef): Promise<CheckpointTuple> {
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
    const data = ourData<CheckpointData>(await this.store.getEntry(hash), 'checkpoint')
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
      for await (const e of this.store.entries(sessionId, { from, to })) {
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
      const text = typeof bytes === 'string' ? bytes : new TextDecoder().decode(bytes)
      // Lone surrogates and "__proto__" keys survive JSON but not chainlog's encoder: keep such values as bytes.
      if (!/\\ud[89a-f]/i.test(text) && !text.includes('"__proto__"')) return { json: JSON.parse(text) as unknown }
    }
    return { type, bytes: typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes }
  }

  #load(v: StoredValue): Promise<unknown> {
    return 'json' in v ? this.serde.loadsTyped('json', JSON.stringify(v.json)) : this.serde.loadsTyped(v.type, v.bytes)
  }
}
