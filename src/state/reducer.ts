// The pure reducer: entries in, restorable state out. No I/O; the store and the lineage code
// feed it entries in chain order (a fork's source prefix first, then the fork's own entries).
import type { Config, Entry, Item, Origin, Outcome, Usage } from '../schema/entry.js'

export interface UsageTotals {
  calls: number
  inputTokens: number
  cacheReadTokens: number
  cacheWriteTokens: number
  outputTokens: number
  reasoningTokens: number
}

/** What a runtime needs to resume a session. */
export interface SessionState {
  sessionId: string
  systemPrompt?: string
  config: Config
  /** Conversation items in order. */
  history: Item[]
  /** Turn count as of the last turn_end. */
  turnCount: number
  /** Number of history items pinned for prompt caching, or null when unlocked. */
  cacheLockedPrefix: number | null
  lastOutcome: Outcome | null
  usage: Usage[]
  usageTotals: Record<string, UsageTotals>
  /** Hash of the last entry applied (hex). */
  head: string
  /** Number of this session's own entries applied (a fork's inherited prefix not counted). */
  length: number
  forkedFrom?: Origin
  compactedFrom?: Origin
  createdAt: number
  updatedAt: number
}

/** An entry as it comes off the chain: its hash and the decoded entry. */
export interface ChainedEntry {
  hash: string
  entry: Entry
}

export function emptyTotals(): UsageTotals {
  return { calls: 0, inputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, outputTokens: 0, reasoningTokens: 0 }
}

/** Add totals `t` into `totals[model]`. */
export function mergeTotals(totals: Record<string, UsageTotals>, model: string, t: UsageTotals): void {
  const a = (totals[model] ??= emptyTotals())
  a.calls += t.calls
  a.inputTokens += t.inputTokens
  a.cacheReadTokens += t.cacheReadTokens
  a.cacheWriteTokens += t.cacheWriteTokens
  a.outputTokens += t.outputTokens
  a.reasoningTokens += t.reasoningTokens
}

export function addUsage(totals: Record<string, UsageTotals>, u: Usage): void {
  const t = (totals[u.model] ??= emptyTotals())
  t.calls += 1
  t.inputTokens += u.inputTokens
  t.cacheReadTokens += u.cacheReadTokens
  t.cacheWriteTokens += u.cacheWriteTokens
  t.outputTokens += u.outputTokens
  t.reasoningTokens += u.reasoningTokens
}

/** The usage record an llm_usage entry carries. */
export function usageOf(e: Extract<Entry, { kind: 'llm_usage' }>): Usage {
  return {
    historyLength: e.historyLength,
    model: e.model,
    inputTokens: e.inputTokens,
    cacheReadTokens: e.cacheReadTokens,
    cacheWriteTokens: e.cacheWriteTokens,
    outputTokens: e.outputTokens,
    reasoningTokens: e.reasoningTokens,
    ...(e.details !== undefined ? { details: e.details } : {}),
  }
}

/**
 * Fold one entry into a state that the caller owns (mutates `state`). `base` is the source's
 * state at the fork point, needed only for the genesis of a fork that is not materialised.
 */
export function applyEntryInPlace(state: SessionState | undefined, item: ChainedEntry, base?: SessionState): SessionState {
  const { entry, hash } = item
  if (entry.kind === 'session_start') {
    let next: SessionState
    if (entry.forkedFrom && !entry.snapshot) {
      if (!base) throw new Error(`the genesis of fork ${entry.sessionId} needs its source state`)
      next = cloneState(base)
      delete next.compactedFrom
    } else {
      next = {
        sessionId: entry.sessionId,
        config: entry.config,
        history: [...entry.history],
        turnCount: entry.snapshot?.turnCount ?? 0,
        cacheLockedPrefix: entry.snapshot?.cacheLockedPrefix ?? null,
        lastOutcome: entry.snapshot?.lastOutcome ?? null,
        usage: [...(entry.snapshot?.usage ?? [])],
        usageTotals: {},
        head: hash,
        length: 0,
        createdAt: entry.ts,
        updatedAt: entry.ts,
      }
      if (entry.systemPrompt !== undefined) next.systemPrompt = entry.systemPrompt
      for (const u of next.usage) addUsage(next.usageTotals, u)
    }
    next.sessionId = entry.sessionId
    next.head = hash
    next.length = 1
    next.createdAt = entry.ts
    next.updatedAt = entry.ts
    if (entry.forkedFrom) next.forkedFrom = entry.forkedFrom
    else delete next.forkedFrom
    if (entry.compactedFrom) next.compactedFrom = entry.compactedFrom
    return next
  }
  if (!state) throw new Error(`entry ${hash} (${entry.kind}) comes before any session_start`)
  switch (entry.kind) {
    case 'user_input':
      state.history.push(entry.item)
      break
    case 'assistant_items':
    case 'tool_results':
    case 'hook_injected_items':
      for (const it of entry.items) state.history.push(it)
      break
    case 'turn_end':
      state.turnCount = entry.turn
      break
    case 'run_outcome': {
      const o: Outcome = { status: entry.status, interrupted: entry.interrupted }
      if (entry.message !== undefined) o.message = entry.message
      state.lastOutcome = o
      break
    }
    case 'llm_usage': {
      const u = usageOf(entry)
      state.usage.push(u)
      addUsage(state.usageTotals, u)
      break
    }
    case 'cache_locked':
      state.cacheLockedPrefix = entry.prefixLength
      break
    case 'cache_unlocked':
      state.cacheLockedPrefix = null
      break
    case 'config_changed':
      state.config = entry.config
      break
    case 'custom':
      break
  }
  state.head = hash
  state.length += 1
  state.updatedAt = entry.ts
  return state
}

/** A copy that shares items and configs (never mutated) but not the containers the reducer grows. */
export function cloneState(s: SessionState): SessionState {
  const usageTotals: Record<string, UsageTotals> = {}
  for (const [m, t] of Object.entries(s.usageTotals)) usageTotals[m] = { ...t }
  return {
    ...s,
    history: [...s.history],
    usage: [...s.usage],
    usageTotals,
    lastOutcome: s.lastOutcome ? { ...s.lastOutcome } : null,
  }
}

/** Pure: the state after applying `item` to `state` (neither argument is changed). */
export function applyEntry(state: SessionState | undefined, item: ChainedEntry, base?: SessionState): SessionState {
  return applyEntryInPlace(state ? cloneState(state) : undefined, item, base)
}

/** Pure: replay a session's entries in order, genesis first (`base` for a fork's genesis). */
export function reduceEntries(entries: Iterable<ChainedEntry>, base?: SessionState): SessionState {
  let state: SessionState | undefined
  for (const e of entries) state = applyEntryInPlace(state, e, base)
  if (!state) throw new Error('no entries to reduce')
  return state
}
