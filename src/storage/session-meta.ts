// What the store keeps about a session besides its entries: the metadata in its session row (`P`,
// after the head; store format 4), derived from the entries and rewritten by every append, never
// hashed. Pure functions, shared by appends,
// forks, re-roots and bundle imports, so a session counts the same however its entries arrived.
import type { Entry, Origin } from '../schema/entry.js'
import type { ItemClassifier } from '../schema/classify.js'
import { itemText } from '../state/turn.js'
import type { UsageTotals } from '../state/reducer.js'

export interface MessageCounts {
  user: number
  assistant: number
  toolCalls: number
  toolResults: number
  reasoning: number
  other: number
}

/** What the store keeps about a session besides its entries (derived, not hashed). */
export interface SessionMeta {
  createdAt: number
  updatedAt: number
  firstUserMessage?: string
  counts: MessageCounts
  forkedFrom?: Origin
  compactedFrom?: Origin
  materialized?: boolean
  /**
   * Token totals of the session's own llm_usage entries, by model (the usage ledger, usage-ledger.ts);
   * absent while the session has none.
   */
  usage?: Record<string, UsageTotals>
}

export function emptyCounts(): MessageCounts {
  return { user: 0, assistant: 0, toolCalls: 0, toolResults: 0, reasoning: 0, other: 0 }
}

export function countItems(meta: SessionMeta, items: readonly unknown[], classify: ItemClassifier): void {
  for (const item of items) {
    switch (classify(item)) {
      case 'user_message':
        meta.counts.user++
        if (meta.firstUserMessage === undefined) meta.firstUserMessage = itemText(item) ?? ''
        break
      case 'assistant_message':
        meta.counts.assistant++
        break
      case 'tool_call':
        meta.counts.toolCalls++
        break
      case 'tool_result':
        meta.counts.toolResults++
        break
      case 'reasoning':
        meta.counts.reasoning++
        break
      default:
        meta.counts.other++
    }
  }
}

export function itemsOf(entry: Entry): readonly unknown[] {
  switch (entry.kind) {
    case 'user_input':
      return [entry.item]
    case 'assistant_items':
    case 'tool_results':
    case 'hook_injected_items':
      return entry.items
    case 'session_start':
      return entry.history
    default:
      return []
  }
}
