// The OpenAI Agents SDK's `Session` on a chainlog store (docs/adapters.md). A session's items
// are entries of a chainlog session; popItem and clearSession never rewrite: they continue in a
// fork or a compaction, and leave a marker at the end of the old session saying where it went.
import type { AgentInputItem, Model, ModelRequest, ModelResponse, Session, SessionHistoryTransaction, SessionHistoryTransactionArgs, StreamEvent } from '@openai/agents'
import { createHash } from 'node:crypto'
import { v7 as uuidv7 } from 'uuid'
import { ChainlogError, ErrorCodes, classifyItem, isChainlogError } from '../index.js'
import type { ChainlogStore, EntryInput, ItemClass, StoredEntry, Usage } from '../index.js'

/** The custom-entry namespace of this adapter. */
export const OPENAI_AGENTS_NAMESPACE = 'chainlog.openai-agents'
/** The type of the marker that ends a session whose items continue in another. */
export const CONTINUED = 'continued'

export interface ChainlogSessionOptions {
  store: ChainlogStore
  /**
   * The SDK's session id: also the id of the first chainlog session, created on first use.
   * A UUIDv7 unless given.
   */
  sessionId?: string
  /**
   * What addItems does when another writer moved the head since this object last looked:
   * `retry` (default) appends on the new head, `throw` fails with CHAINLOG_HEAD_CONFLICT.
   * Either way the batch lands whole or not at all.
   */
  onConflict?: 'retry' | 'throw'
}

/** Where a session's items went: written at the end of the session they left. */
export interface ContinuedMarker {
  sessionId: string
  reason: 'pop_item' | 'clear_session' | 'replace_with_compaction' | 'history_transaction'
}

/** Index row (of the SDK session's first chainlog session) recording an applied history transaction. */
export const OPERATION_ROW = 'op:'
/** Longest operationId, in UTF-8 bytes (an index row name is at most 512). */
const MAX_OPERATION_ID = 400

/** Entries read in the first window of a tail read; each next window is four times larger. */
const FIRST_WINDOW = 16
const MAX_WINDOW = 1024

const SDK_CLASSES: Record<string, ItemClass> = {
  function_call: 'tool_call',
  hosted_tool_call: 'tool_call',
  computer_call: 'tool_call',
  shell_call: 'tool_call',
  apply_patch_call: 'tool_call',
  tool_search_call: 'tool_call',
  program: 'tool_call',
  function_call_result: 'tool_result',
  computer_call_result: 'tool_result',
  shell_call_output: 'tool_result',
  apply_patch_call_output: 'tool_result',
  tool_search_output: 'tool_result',
  program_output: 'tool_result',
  reasoning: 'reasoning',
}

/** Classifies the SDK's item shapes (camelCase tool results included), then chainlog's defaults. */
export function classifyAgentItem(item: unknown): ItemClass {
  const type = (item as { type?: unknown } | null)?.type
  if (typeof type === 'string' && Object.hasOwn(SDK_CLASSES, type)) return SDK_CLASSES[type]!
  return classifyItem(item)
}

/** The items an entry adds to the history (the reducer's rule). */
function itemsIn(e: StoredEntry): readonly unknown[] {
  const entry = e.entry
  switch (entry.kind) {
    case 'session_start':
      return entry.history
    case 'user_input':
      return [entry.item]
    case 'assistant_items':
    case 'tool_results':
    case 'hook_injected_items':
      return entry.items
    default:
      return []
  }
}

function markerOf(e: StoredEntry): ContinuedMarker | undefined {
  const entry = e.entry
  if (entry.kind !== 'custom' || entry.namespace !== OPENAI_AGENTS_NAMESPACE || entry.type !== CONTINUED) return undefined
  return entry.data as ContinuedMarker
}

/**
 * Items as the SDK's own file and database sessions keep them: their JSON form (keys whose
 * value is undefined are dropped, as JSON.stringify drops them). A copy, so later mutation by
 * the caller does not reach what was stored.
 */
function storable(items: readonly AgentInputItem[]): unknown[] {
  return JSON.parse(JSON.stringify(items)) as unknown[]
}

/** JSON with object keys sorted: equal for items the SDK would call structurally equal. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`
  }
  return JSON.stringify(v)
}

/** A history transaction checked and in stored form (CHAINLOG_INVALID_ARGUMENT, before anything is written, if malformed). */
function checkTransaction(args: SessionHistoryTransactionArgs): { operationId: string; tx: SessionHistoryTransaction; digest: string } {
  const bad = (message: string) => new ChainlogError(ErrorCodes.INVALID_ARGUMENT, message, {})
  if (!args || typeof args !== 'object') throw bad('applyHistoryTransaction needs { operationId, transaction }')
  const { operationId, transaction } = args
  if (typeof operationId !== 'string' || operationId.trim() === '') throw bad('operationId must be a non-empty string')
  if (Buffer.byteLength(operationId) > MAX_OPERATION_ID) throw bad(`operationId must be at most ${MAX_OPERATION_ID} bytes`)
  const items = (v: unknown, name: string): AgentInputItem[] => {
    if (!Array.isArray(v) || !v.every((i) => i !== null && typeof i === 'object' && !Array.isArray(i))) throw bad(`transaction.${name} must be an array of items`)
    return storable(v as AgentInputItem[]) as AgentInputItem[]
  }
  let tx: SessionHistoryTransaction
  if (transaction?.type === 'append_items') tx = { type: 'append_items', items: items(transaction.items, 'items') }
  else if (transaction?.type === 'replace_suffix') {
    tx = { type: 'replace_suffix', expectedSuffix: items(transaction.expectedSuffix, 'expectedSuffix'), replacement: items(transaction.replacement, 'replacement') }
  } else throw bad('transaction.type must be append_items or replace_suffix')
  return { operationId, tx, digest: createHash('sha256').update(canonicalJson(tx)).digest('hex') }
}

function sumDetail(details: unknown, key: string): number {
  const list = Array.isArray(details) ? details : details && typeof details === 'object' ? [details] : []
  let n = 0
  for (const d of list) {
    const v = (d as Record<string, unknown>)[key]
    if (typeof v === 'number' && Number.isFinite(v)) n += v
  }
  return n
}

interface SdkUsage {
  inputTokens?: number
  outputTokens?: number
  inputTokensDetails?: unknown
  outputTokensDetails?: unknown
}

function usageRecord(u: SdkUsage | undefined, model: string, historyLength: number): Usage {
  const int = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : 0)
  return {
    historyLength,
    model,
    inputTokens: int(u?.inputTokens),
    cacheReadTokens: int(sumDetail(u?.inputTokensDetails, 'cached_tokens')),
    cacheWriteTokens: 0,
    outputTokens: int(u?.outputTokens),
    reasoningTokens: int(sumDetail(u?.outputTokensDetails, 'reasoning_tokens')),
  }
}

/**
 * An OpenAI Agents SDK `Session` stored in chainlog: pass it to `run(agent, input, { session })`.
 * @example
 * const session = new ChainlogSession({ store: await openStore('./.chainlog'), sessionId: 'user-42' })
 * await run(agent, 'Hello', { session })
 */
export class ChainlogSession implements Session {
  readonly store: ChainlogStore
  readonly #root: string
  readonly #onConflict: 'retry' | 'throw'
  /** The chainlog session items are written to now (follows continued markers). */
  #current: string
  /** Its head when this object last looked, known not to be a marker. */
  #head: string | undefined
  #pendingUsage: Usage[] = []
  #queue: Promise<unknown> = Promise.resolve()

  constructor(options: ChainlogSessionOptions) {
    if (!options || !options.store) throw new TypeError('ChainlogSession needs { store }')
    this.store = options.store
    this.#root = options.sessionId ?? uuidv7()
    this.#current = this.#root
    this.#onConflict = options.onConflict ?? 'retry'
  }

  /** The SDK's id for this session: stable across pops and clears. */
  async getSessionId(): Promise<string> {
    await this.#exclusive(() => this.#ensure())
    return this.#root
  }

  /** The chainlog session the items live in now (differs from getSessionId after a pop or clear). */
  async chainlogSessionId(): Promise<string | undefined> {
    return this.#exclusive(async () => (await this.#resolve())?.sessionId)
  }

  /** The most recent `limit` items (all without a limit), oldest first. Reads only the tail. */
  async getItems(limit?: number): Promise<AgentInputItem[]> {
    return this.#exclusive(async () => {
      const at = await this.#resolve()
      if (!at) return []
      if (limit === undefined) return (await this.store.restore(at.sessionId)).history as AgentInputItem[]
      if (!Number.isInteger(limit) || limit <= 0) return []
      const out: unknown[] = []
      for await (const e of this.#backwards(at.sessionId)) {
        const items = itemsIn(e)
        for (let i = items.length - 1; i >= 0 && out.length < limit; i--) out.push(items[i])
        if (out.length >= limit) break
      }
      return out.reverse() as AgentInputItem[]
    })
  }

  /** Append items (and any usage recorded by trackUsage since the last call) in one atomic batch. */
  async addItems(items: AgentInputItem[]): Promise<void> {
    if (!Array.isArray(items)) throw new TypeError('addItems needs an array')
    if (items.length === 0 && this.#pendingUsage.length === 0) return
    const stored = storable(items)
    await this.#exclusive(async () => {
      const ts = Date.now()
      for (;;) {
        const seen = { sessionId: this.#current, head: this.#head }
        const { sessionId, head } = await this.#ensure()
        if (this.#onConflict === 'throw' && seen.head !== undefined && (seen.sessionId !== sessionId || seen.head !== head)) {
          throw new ChainlogError(ErrorCodes.HEAD_CONFLICT, `session ${this.#root} moved on since this object last read or wrote it`, {
            sessionId,
            expectedHead: seen.head,
            actualHead: head,
          })
        }
        // A copy: a model call that finishes meanwhile adds to the pending list, and stays there.
        const usage = [...this.#pendingUsage]
        try {
          const r =
            stored.length > 0
              ? await this.store.appendTurn(sessionId, stored, { expectedHead: head, classify: classifyAgentItem, usage, ts })
              : await this.store.appendMany(sessionId, usage.map((u) => ({ kind: 'llm_usage', ts, ...u }) as EntryInput), { expectedHead: head })
          this.#head = r.head
          this.#pendingUsage = this.#pendingUsage.slice(usage.length)
          return
        } catch (err) {
          if (!isChainlogError(err, ErrorCodes.HEAD_CONFLICT) || this.#onConflict === 'throw') throw err
        }
      }
    })
  }

  /**
   * Remove the last item and return it. The history stays: the session continues in a fork
   * made just before the entry that held the item (that entry's other items, and the entries
   * after it that hold no items, are carried over), and the old session ends with a marker.
   */
  async popItem(): Promise<AgentInputItem | undefined> {
    return this.#exclusive(async () => {
      for (;;) {
        const at = await this.#resolve()
        if (!at) return undefined
        const after: StoredEntry[] = []
        let found: StoredEntry | undefined
        for await (const e of this.#backwards(at.sessionId)) {
          if (itemsIn(e).length > 0) {
            found = e
            break
          }
          if (e.entry.kind !== 'session_start') after.push(e)
        }
        if (!found) return undefined
        const items = itemsIn(found)
        const popped = items[items.length - 1] as AgentInputItem
        const rest = items.slice(0, -1)
        const carried: EntryInput[] = []
        let next: { sessionId: string; head: string }
        if (found.entry.kind === 'session_start') {
          // Items that came with a genesis (a compaction, a materialised fork) cannot be forked
          // away: compact into a session whose history is the rest.
          next = await this.store.compact(at.sessionId, { history: [...rest], details: { reason: 'pop_item', by: OPENAI_AGENTS_NAMESPACE } })
        } else {
          next = await this.store.forkAt(found.prev)
          if (rest.length > 0) carried.push({ kind: found.entry.kind, ts: found.entry.ts, items: rest } as EntryInput)
        }
        for (const e of after.reverse()) carried.push(e.entry as EntryInput)
        if (carried.length > 0) next.head = (await this.store.appendMany(next.sessionId, carried, { expectedHead: next.head })).head
        if (await this.#moveTo(at, next, 'pop_item')) return popped
      }
    })
  }

  /** Start over with no items. The old session stays whole; a compaction with empty history continues it. */
  async clearSession(): Promise<void> {
    await this.#exclusive(async () => {
      for (;;) {
        const at = await this.#resolve()
        if (!at) return
        const next = await this.store.compact(at.sessionId, { history: [], details: { reason: 'clear_session', by: OPENAI_AGENTS_NAMESPACE } })
        if (await this.#moveTo(at, next, 'clear_session')) return
      }
    })
  }

  /**
   * Replace the history with `items` (the SDK passes a compaction item and the items it keeps),
   * in one step: a chainlog compaction whose genesis holds them continues the session, and the
   * old session ends with a marker and stays whole. Without this method the SDK's runner would
   * clear the session and add the items in two calls.
   */
  async replaceHistoryWithCompaction(items: AgentInputItem[]): Promise<void> {
    if (!Array.isArray(items)) throw new TypeError('replaceHistoryWithCompaction needs an array')
    const history = storable(items)
    await this.#exclusive(async () => {
      for (;;) {
        const at = await this.#ensure()
        const next = await this.store.compact(at.sessionId, { history, details: { reason: 'replace_with_compaction', by: OPENAI_AGENTS_NAMESPACE } })
        if (await this.#moveTo(at, next, 'replace_with_compaction')) return
      }
    })
  }

  /**
   * The SDK's atomic, idempotent history change. `append_items` is one append with
   * compare-and-set; `replace_suffix` checks that the history ends with `expectedSuffix`, then
   * continues the session in a fork just before the first item it replaces (the other items of
   * that entry and the entries after it that hold no items are carried over, as popItem does),
   * with `replacement` appended there, and ends the old session with a marker (`reason`
   * `history_transaction`). The operation id is recorded in an index row of the SDK session's first
   * chainlog session in the same commit as the change (the append, or the marker): an id applied
   * before succeeds without applying again, and with a different transaction fails with
   * CHAINLOG_INVALID_ARGUMENT. A suffix that does not match fails with CHAINLOG_HEAD_CONFLICT.
   * Either failure changes nothing and records nothing.
   */
  async applyHistoryTransaction(args: SessionHistoryTransactionArgs): Promise<void> {
    const { operationId, tx, digest } = checkTransaction(args)
    const row = `${OPERATION_ROW}${operationId}`
    await this.#exclusive(async () => {
      for (;;) {
        const at = await this.#ensure()
        const done = (await this.store.readIndex(this.#root, row)) as { digest: string } | undefined
        if (done) {
          if (done.digest === digest) return
          throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, `history operation ${operationId} was already applied with a different transaction`, { sessionId: this.#root, operationId })
        }
        const index = { sessionId: this.#root, rows: [[row, { digest, sessionId: at.sessionId }]] as [string, unknown][] }
        const append = tx.type === 'append_items' ? tx.items : tx.expectedSuffix.length === 0 ? tx.replacement : undefined
        try {
          if (append) {
            const r =
              append.length > 0
                ? await this.store.appendTurn(at.sessionId, append, { expectedHead: at.head, classify: classifyAgentItem, index })
                : await this.store.appendCustom(at.sessionId, OPENAI_AGENTS_NAMESPACE, 'history_transaction', { operationId }, { expectedHead: at.head, index })
            this.#head = 'head' in r ? r.head : r.hash
            return
          }
          if (await this.#replaceSuffix(at, tx as Extract<SessionHistoryTransaction, { type: 'replace_suffix' }>, index)) return
        } catch (err) {
          if (!isChainlogError(err, ErrorCodes.HEAD_CONFLICT) || this.#onConflict === 'throw' || (err.data as { suffix?: boolean }).suffix) throw err
        }
      }
    })
  }

  /** replace_suffix with a non-empty suffix: false if another writer moved the session first (nothing of this try remains). */
  async #replaceSuffix(
    at: { sessionId: string; head: string },
    tx: Extract<SessionHistoryTransaction, { type: 'replace_suffix' }>,
    index: { sessionId: string; rows: [string, unknown][] },
  ): Promise<boolean> {
    const n = tx.expectedSuffix.length
    const after: StoredEntry[] = []
    const newer: unknown[] = []
    let found: StoredEntry | undefined
    let keep: unknown[] = []
    for await (const e of this.#backwards(at.sessionId)) {
      const items = itemsIn(e)
      if (newer.length + items.length >= n) {
        found = e
        const cut = items.length - (n - newer.length)
        keep = items.slice(0, cut)
        newer.unshift(...items.slice(cut))
        break
      }
      newer.unshift(...items)
      if (items.length === 0 && e.entry.kind !== 'session_start') after.push(e)
    }
    if (!found || canonicalJson(newer) !== canonicalJson(tx.expectedSuffix)) {
      throw new ChainlogError(ErrorCodes.HEAD_CONFLICT, `the history of session ${this.#root} does not end with the transaction's expectedSuffix`, { sessionId: at.sessionId, actualHead: at.head, suffix: true })
    }
    let next: { sessionId: string; head: string }
    const carried: EntryInput[] = []
    if (found.entry.kind === 'session_start') {
      next = await this.store.compact(at.sessionId, {
        history: [...keep, ...tx.replacement],
        details: { reason: 'history_transaction', by: OPENAI_AGENTS_NAMESPACE },
      })
    } else {
      next = await this.store.forkAt(found.prev)
      if (keep.length > 0) carried.push({ kind: found.entry.kind, ts: found.entry.ts, items: keep } as EntryInput)
    }
    for (const e of after.reverse()) carried.push(e.entry as EntryInput)
    if (carried.length > 0) next.head = (await this.store.appendMany(next.sessionId, carried, { expectedHead: next.head })).head
    if (found.entry.kind !== 'session_start' && tx.replacement.length > 0) {
      next.head = (await this.store.appendTurn(next.sessionId, tx.replacement, { expectedHead: next.head, classify: classifyAgentItem })).head
    }
    return this.#moveTo(at, next, 'history_transaction', index)
  }

  /**
   * A Model that records each call's token usage; it is written as `llm_usage` entries with
   * the next addItems (in the same batch), or by flushUsage.
   * @example const agent = new Agent({ name: 'a', model: session.trackUsage(model, 'gpt-5') })
   */
  trackUsage(model: Model, modelName: string): Model {
    if (typeof modelName !== 'string' || modelName === '') throw new TypeError('trackUsage needs a model name')
    const record = (request: ModelRequest, usage: SdkUsage | undefined) => {
      const historyLength = Array.isArray(request.input) ? request.input.length : 1
      this.#pendingUsage.push(usageRecord(usage, modelName, historyLength))
    }
    const wrapped: Model = {
      async getResponse(request: ModelRequest): Promise<ModelResponse> {
        const response = await model.getResponse(request)
        record(request, response.usage)
        return response
      },
      async *getStreamedResponse(request: ModelRequest): AsyncIterable<StreamEvent> {
        for await (const event of model.getStreamedResponse(request)) {
          if (event.type === 'response_done') record(request, event.response.usage as SdkUsage)
          yield event
        }
      },
    }
    if (model.getRetryAdvice) wrapped.getRetryAdvice = model.getRetryAdvice.bind(model)
    return wrapped
  }

  /** Write usage recorded by trackUsage that no addItems has written yet. */
  async flushUsage(): Promise<void> {
    if (this.#pendingUsage.length > 0) await this.addItems([])
  }

  // ---- internals ----

  /** One operation at a time per object, so its view of the head stays its own. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn)
    this.#queue = run.catch(() => undefined)
    return run
  }

  /** The session items are written to now, following markers; undefined before the first write. */
  async #resolve(): Promise<{ sessionId: string; head: string } | undefined> {
    for (;;) {
      let head: string
      try {
        head = await this.store.head(this.#current)
      } catch (err) {
        if (isChainlogError(err, ErrorCodes.SESSION_NOT_FOUND) && this.#current === this.#root) return undefined
        throw err
      }
      if (head === this.#head) return { sessionId: this.#current, head }
      const marker = markerOf(await this.store.getEntry(head))
      if (!marker) {
        this.#head = head
        return { sessionId: this.#current, head }
      }
      this.#current = marker.sessionId
      this.#head = undefined
    }
  }

  async #ensure(): Promise<{ sessionId: string; head: string }> {
    const at = await this.#resolve()
    if (at) return at
    try {
      const created = await this.store.createSession({ sessionId: this.#root, config: { [OPENAI_AGENTS_NAMESPACE]: { sessionId: this.#root } } })
      this.#head = created.head
      return created
    } catch (err) {
      if (!isChainlogError(err, ErrorCodes.SESSION_EXISTS)) throw err
      return (await this.#resolve())!
    }
  }

  /**
   * End `from` with a marker naming `to` (compare-and-set on the head this operation started
   * from). If another writer got there first, `to` is deleted and the caller tries again.
   */
  async #moveTo(
    from: { sessionId: string; head: string },
    to: { sessionId: string; head: string },
    reason: ContinuedMarker['reason'],
    index?: { sessionId: string; rows: [string, unknown][] },
  ): Promise<boolean> {
    const marker: ContinuedMarker = { sessionId: to.sessionId, reason }
    try {
      await this.store.appendCustom(from.sessionId, OPENAI_AGENTS_NAMESPACE, CONTINUED, marker, index ? { expectedHead: from.head, index } : { expectedHead: from.head })
    } catch (err) {
      if (!isChainlogError(err, ErrorCodes.HEAD_CONFLICT)) throw err
      await this.store.deleteSession(to.sessionId)
      if (this.#onConflict === 'throw') throw err
      return false
    }
    this.#current = to.sessionId
    this.#head = to.head
    return true
  }

  /**
   * Entries that make up the current history, newest first: the session's own, then (for a
   * fork that is not materialised) its source's up to the fork point, and so on. A genesis is
   * yielded too (it may carry items); the walk stops at one that does not continue a source.
   */
  async *#backwards(sessionId: string): AsyncGenerator<StoredEntry> {
    let sid = sessionId
    let hi = (await this.store.readHead(sid))?.seq
    if (hi === undefined) throw new ChainlogError(ErrorCodes.SESSION_NOT_FOUND, `no session ${sid}`, { sessionId: sid })
    for (;;) {
      let genesis: StoredEntry | undefined
      // Windows that grow from the head down, so a short tail reads a few entries, not a chunk.
      // Each window is checked by entries(); the link between windows is checked here.
      let window = FIRST_WINDOW
      let expected: string | undefined
      while (hi >= 0) {
        const from = Math.max(0, hi - window + 1)
        for await (const e of this.store.entries(sid, { reverse: true, from, to: hi })) {
          if (expected !== undefined && e.hash !== expected) {
            throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `entry ${e.hash} does not link to the entry after it; run verify`, { sessionId: sid, seq: e.seq, hash: e.hash })
          }
          expected = undefined
          if (e.entry.kind === 'session_start') genesis = e
          yield e
          expected = e.prev
        }
        hi = from - 1
        window = Math.min(window * 4, MAX_WINDOW)
      }
      const g = genesis?.entry
      if (!g || g.kind !== 'session_start') throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `session ${sid} has no genesis; run verify`, { sessionId: sid })
      if (!g.forkedFrom || g.snapshot) return
      const loc = await this.store.locate(g.forkedFrom.atHash)
      if (!loc) throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `fork point ${g.forkedFrom.atHash} of ${sid} is missing; run verify`, { sessionId: sid })
      sid = loc.sessionId
      hi = loc.seq
    }
  }

}
