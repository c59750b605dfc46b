// Groups a turn's new items into entries the way the runtime saw them: each user message its
// own user_input; runs of assistant messages, tool calls and reasoning one assistant_items;
// runs of tool results one tool_results; anything else one hook_injected_items per run.
import { classifyItem, type ItemClass, type ItemClassifier } from '../schema/classify.js'

type Group = { kind: 'user_input'; item: unknown } | { kind: 'assistant_items' | 'tool_results' | 'hook_injected_items'; items: unknown[] }

/** Which item entry kind an item of class `c` goes into. */
export function groupKind(c: ItemClass): 'user_input' | 'assistant_items' | 'tool_results' | 'hook_injected_items' {
  switch (c) {
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

/** Pure: the entry bodies (without ts) for a turn's items, in order. */
export function groupTurnItems(items: readonly unknown[], classify: ItemClassifier = classifyItem): Group[] {
  const out: Group[] = []
  for (const item of items) {
    const kind = groupKind(classify(item))
    if (kind === 'user_input') {
      out.push({ kind, item })
      continue
    }
    const last = out[out.length - 1]
    if (last && last.kind === kind) last.items.push(item)
    else out.push({ kind, items: [item] })
  }
  return out
}

/** A short plain-text rendering of an item's text content, for listings. */
export function itemText(item: unknown, max = 200): string | undefined {
  let text: string | undefined
  if (typeof item === 'string') text = item
  else if (item && typeof item === 'object') {
    const o = item as Record<string, unknown>
    const content = o.content ?? o.text
    if (typeof content === 'string') text = content
    else if (Array.isArray(content)) {
      const parts: string[] = []
      for (const p of content) {
        if (typeof p === 'string') parts.push(p)
        else if (p && typeof p === 'object' && typeof (p as Record<string, unknown>).text === 'string') {
          parts.push((p as Record<string, unknown>).text as string)
        }
      }
      if (parts.length > 0) text = parts.join(' ')
    }
  }
  if (text === undefined) return undefined
  text = text.replace(/\s+/g, ' ').trim()
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}
