// The LangGraph adapter's entry format and the view of a thread a saver keeps from the log:
// which sessions make up the thread, where each checkpoint is, and every pending write.
import { compareWritesSortKeys, writesSortKey, type ChannelVersions } from '@langchain/langgraph-checkpoint'
import { ChainlogError, ErrorCodes } from '../index.js'
import type { EntryInput, StoredEntry } from '../index.js'

/** The custom-entry namespace of this adapter. */
export const LANGGRAPH_NAMESPACE = 'chainlog.langgraph'

/**
 * A serialised value, as the serde's `dumpsTyped` returned it: its JSON text (type `json`) as a
 * string, or, when longer than TEXT_PIECE, as the list of its pieces in order; or its type and
 * bytes. Entries written by earlier versions of this adapter hold `{ json }`, the JSON as a
 * structure; they are still read.
 */
export type StoredValue = string | string[] | { type: string; bytes: Uint8Array } | { json: unknown }

/**
 * The longest piece of a stored JSON text, in UTF-16 units: at most 3 KiB of UTF-8, under the
 * store's default blob threshold (4 KiB). A longer string would be kept as a blob: read by a
 * second, asynchronous read after its entry, and compressed where the store compresses blobs.
 */
export const TEXT_PIECE = 1024

/** A JSON text as stored: itself, or its pieces (never splitting a surrogate pair). */
export function textPieces(text: string): string | string[] {
  if (text.length <= TEXT_PIECE) return text
  const out: string[] = []
  for (let i = 0; i < text.length; ) {
    let end = Math.min(i + TEXT_PIECE, text.length)
    const last = text.charCodeAt(end - 1)
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--
    out.push(text.slice(i, end))
    i = end
  }
  return out
}

/** The data of a `checkpoint` entry. */
export interface CheckpointData {
  id: string
  parent?: string
  /** The checkpoint's channel_versions, plain, so a child can tell which values it shares. */
  versions: ChannelVersions
  /** The checkpoint without channel_values. */
  checkpoint: StoredValue
  metadata: StoredValue
  /** The channels this checkpoint changed (its newVersions), with their values. */
  values: Record<string, StoredValue>
  /** Channels it carries unchanged: the hash of the checkpoint entry that holds the value. */
  refs: Record<string, string>
}

/** The data of a `writes` entry: one putWrites call. */
export interface WritesData {
  checkpoint: string
  task: string
  path: string
  /** [idx, channel, value]; idx is negative for the special channels of WRITES_IDX_MAP. */
  writes: [number, string, StoredValue][]
}

/** The data of a `branch` marker: the thread continues in `session`. */
export interface BranchData {
  session: string
  checkpoint: string
  parent: string | null
}

export interface CheckpointRef {
  id: string
  hash: string
  sessionId: string
  seq: number
  parent?: string
  metadata: StoredValue
}

export interface WriteRec {
  task: string
  path: string
  idx: number
  channel: string
  value: StoredValue
}

/**
 * The thread's index row `thread` (a session index row of the thread's first session, written
 * with every append the saver makes): the session the thread continues in, that session's seq
 * after the append, the last checkpoint put in it and the greatest checkpoint id of the thread.
 */
export interface ThreadRow {
  cur: string
  seq: number
  latest: string | null
  max: string | null
}

/** Where a `writes` entry is: [session, seq]. */
export type WritesPos = [string, number]

/**
 * Index row `c:<checkpoint id>`: where the checkpoint entry is, its parent, and where its pending
 * writes are (`w`, in order, once it has any), and where the entries it refers to for unchanged
 * channels are (`r`, so that they are read with it). Writes for a checkpoint that has no `c:` row (yet)
 * are listed in a row `w:<checkpoint id>` instead, folded into `w` by the next write to it.
 */
export interface CheckpointRow {
  s: string
  q: number
  p?: string
  w?: WritesPos[]
  /** Where the entries that hold its unchanged channels (its `refs`) are, by entry hash, when known. */
  r?: Record<string, WritesPos>
}

/** What this saver knows of one thread and namespace, kept up to date from the log. */
export interface ThreadView {
  threadId: string
  ns: string
  root: string
  /**
   * The thread's index row as of this saver's last look, while it matches the current session's
   * head; undefined when the thread has no usable index (then the view is read from the log).
   */
  row: ThreadRow | undefined
  /** The hash of row.cur's head at row.seq. */
  curHead: string | undefined
  /**
   * Whether `checkpoints` and `writes` hold the whole thread (read from the log, or kept since
   * the thread was empty); else they cache what was read through the index.
   */
  complete: boolean
  /** Checkpoints whose pending writes `writes` holds in full (when not `complete`). */
  loadedWrites: Set<string>
  /** Where each checkpoint's `writes` entries are, in order (to write the index rows). */
  writePos: Map<string, WritesPos[]>
  /** The `c:` rows of the checkpoints this view read or wrote (indexed). */
  rows: Map<string, CheckpointRow>
  /** The thread's sessions in the order the thread moved through them; the last is current. */
  sessions: { id: string; seq: number; head: string | undefined }[]
  genesis: string | undefined
  checkpoints: Map<string, CheckpointRef>
  writes: Map<string, Map<string, WriteRec>>
  /** The last checkpoint put in the current session. */
  latest: string | undefined
  maxId: string | undefined
  queue: Promise<unknown>
}

export const enc = encodeURIComponent
const MAX_SESSION_ID = 200

/** The id of a thread's first session: `lg:<thread>:<ns>`, both URI-encoded. */
export function threadSessionId(threadId: string, checkpointNs = ''): string {
  const id = `lg:${enc(threadId)}:${enc(checkpointNs)}`
  if (id.length > MAX_SESSION_ID - 50) {
    throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'thread_id and checkpoint_ns are too long for a session id', { threadId, checkpointNs })
  }
  return id
}

export function parseRoot(id: string): { threadId: string; ns: string } | undefined {
  const m = /^lg:([^:/]*):([^:/]*)$/.exec(id)
  return m ? { threadId: decodeURIComponent(m[1]!), ns: decodeURIComponent(m[2]!) } : undefined
}

export function ourData<T>(e: StoredEntry, type: string): T | undefined {
  const entry = e.entry
  return entry.kind === 'custom' && entry.namespace === LANGGRAPH_NAMESPACE && entry.type === type ? (entry.data as T) : undefined
}

export function customEntry(type: string, data: unknown): EntryInput {
  return { kind: 'custom', namespace: LANGGRAPH_NAMESPACE, type, data } as EntryInput
}

/** An empty view of a thread (nothing read yet). */
export function newView(threadId: string, ns: string): ThreadView {
  const view = { threadId, ns, root: threadSessionId(threadId, ns), queue: Promise.resolve() } as ThreadView
  resetView(view)
  return view
}

/** Forget everything (the thread was deleted). */
export function resetView(view: ThreadView): void {
  Object.assign(view, {
    sessions: [],
    genesis: undefined,
    checkpoints: new Map(),
    writes: new Map(),
    latest: undefined,
    maxId: undefined,
    row: undefined,
    curHead: undefined,
    complete: false,
    loadedWrites: new Set(),
    writePos: new Map(),
    rows: new Map(),
  })
}

/** Fold one `writes` entry into the view's pending writes (a task's regular write lands once). */
export function foldWrites(view: ThreadView, w: WritesData, pos: WritesPos): void {
  let m = view.writes.get(w.checkpoint)
  if (!m) view.writes.set(w.checkpoint, (m = new Map()))
  for (const [idx, channel, value] of w.writes) {
    const key = `${w.task},${idx}`
    if (idx >= 0 && m.has(key)) continue
    m.set(key, { task: w.task, path: w.path, idx, channel, value })
  }
  const list = view.writePos.get(w.checkpoint)
  if (list) list.push(pos)
  else view.writePos.set(w.checkpoint, [pos])
}

/** Fold one entry of the thread's current session into the view (no I/O: the saver does the reads). */
export function applyToView(view: ThreadView, e: StoredEntry): void {
  const cur = view.sessions.find((s) => s.id === e.sessionId)
  if (cur) {
    cur.seq = e.seq
    cur.head = e.hash
  }
  if (e.entry.kind === 'session_start') {
    if (e.sessionId === view.root) view.genesis = e.hash
    return
  }
  const cp = ourData<CheckpointData>(e, 'checkpoint')
  if (cp) {
    const ref: CheckpointRef = { id: cp.id, hash: e.hash, sessionId: e.sessionId, seq: e.seq, metadata: cp.metadata }
    if (cp.parent !== undefined) ref.parent = cp.parent
    view.checkpoints.set(cp.id, ref)
    view.latest = cp.id
    if (view.maxId === undefined || cp.id > view.maxId) view.maxId = cp.id
    return
  }
  const w = ourData<WritesData>(e, 'writes')
  if (w) {
    foldWrites(view, w, [e.sessionId, e.seq])
    return
  }
  const b = ourData<BranchData>(e, 'branch')
  if (b) {
    view.sessions.push({ id: b.session, seq: 0, head: undefined })
    view.latest = undefined
  }
}

/** A checkpoint's pending writes in the order LangGraph applies them (writesSortKey). */
export function orderedWrites(view: ThreadView, checkpointId: string): WriteRec[] {
  const recs = [...(view.writes.get(checkpointId)?.values() ?? [])]
  return recs.sort((a, b) => compareWritesSortKeys(writesSortKey(a.path, a.task, a.idx), writesSortKey(b.path, b.task, b.idx)))
}

/** The `c:` and `w:` index rows of every checkpoint and pending write in a complete view (a thread indexed for the first time). */
export function indexRowsOf(view: ThreadView): [string, unknown][] {
  const rows: [string, unknown][] = []
  for (const ref of view.checkpoints.values()) {
    const row = checkpointRow(ref.sessionId, ref.seq, ref.parent)
    const w = view.writePos.get(ref.id)
    if (w) row.w = w
    view.rows.set(ref.id, row)
    rows.push([`c:${ref.id}`, row])
  }
  for (const [id, pos] of view.writePos) if (!view.checkpoints.has(id)) rows.push([`w:${id}`, pos])
  return rows
}

export function checkpointRow(sessionId: string, seq: number, parent: string | undefined): CheckpointRow {
  return parent === undefined ? { s: sessionId, q: seq } : { s: sessionId, q: seq, p: parent }
}
