// Which item entry a conversation item goes into, by the default classifier.
import { classifyItem } from '../schema/classify.js'
import type { ItemEntryKind } from './types.js'

export function itemEntryKind(item: unknown): ItemEntryKind {
  switch (classifyItem(item)) {
    case 'user_message':
      return 'user_input'
    case 'assistant_message':
    case 'tool_call':
    case 'reasoning':
      return 'assistant_items'
    case 'tool_result':
      return 'tool_results'
    default:
      return 'hook_injected_items'
  }
}

/** A token count from a source record: a non-negative safe integer, else 0. */
export function count(v: unknown): number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : 0
}
