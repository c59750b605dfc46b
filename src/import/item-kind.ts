// Which item entry a conversation item goes into, by the default classifier.
import { classifyItem } from '../schema/classify.js'
import { groupKind } from '../state/turn.js'
import type { ItemEntryKind } from './types.js'

export function itemEntryKind(item: unknown): ItemEntryKind {
  return groupKind(classifyItem(item))
}

/** A token count from a source record: a non-negative safe integer, else 0. */
export function count(v: unknown): number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : 0
}
