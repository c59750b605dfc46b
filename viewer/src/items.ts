// What an item says, whatever runtime wrote it: OpenAI Responses items, Anthropic messages
// and content blocks, or plain { role, content }. Anything unrecognised is shown as JSON.

export type Part =
  | { kind: 'text'; role: string; text: string }
  | { kind: 'reasoning'; text: string }
  | { kind: 'tool_call'; name: string; callId?: string; args: string }
  | { kind: 'tool_result'; callId?: string; text: string; isError?: boolean }
  | { kind: 'json'; value: unknown }

const isObj = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** A large payload the server left in the store (loaded on demand: see EntryView). */
export const isBlobRef = (v: unknown): v is { $blob: string; size: number; mediaType: string } => isObj(v) && typeof v.$blob === 'string' && typeof v.size === 'number'

export const blobLabel = (v: { size: number; mediaType: string }) => `[${v.size.toLocaleString()} bytes of ${v.mediaType}, not loaded]`

function textOf(v: unknown): string {
  if (typeof v === 'string') return v
  if (isBlobRef(v)) return blobLabel(v)
  if (Array.isArray(v)) return v.map(textOf).filter(Boolean).join('\n')
  if (isObj(v)) {
    if (typeof v.text === 'string') return v.text
    if (v.content !== undefined) return textOf(v.content)
    if (typeof v.$bytes === 'string') return `[${v.$bytes.length / 2} bytes]`
  }
  return v === undefined || v === null ? '' : JSON.stringify(v, null, 2)
}

const pretty = (v: unknown) => {
  if (isBlobRef(v)) return blobLabel(v)
  if (typeof v === 'string') {
    try {
      return JSON.stringify(JSON.parse(v), null, 2)
    } catch {
      return v
    }
  }
  return JSON.stringify(v, null, 2)
}

/** One content block (Anthropic) or content part (OpenAI) of a message. */
function blockParts(role: string, b: unknown): Part[] {
  if (typeof b === 'string') return [{ kind: 'text', role, text: b }]
  if (!isObj(b)) return [{ kind: 'json', value: b }]
  switch (b.type) {
    case 'text':
    case 'input_text':
    case 'output_text':
      return [{ kind: 'text', role, text: String(b.text ?? '') }]
    case 'thinking':
      return [{ kind: 'reasoning', text: String(b.thinking ?? '') }]
    case 'redacted_thinking':
      return [{ kind: 'reasoning', text: '[redacted]' }]
    case 'tool_use':
      return [{ kind: 'tool_call', name: String(b.name ?? '?'), callId: b.id, args: pretty(b.input) }]
    case 'tool_result':
      return [{ kind: 'tool_result', callId: b.tool_use_id, text: textOf(b.content), isError: b.is_error === true }]
    default:
      return [{ kind: 'json', value: b }]
  }
}

export function itemParts(item: unknown): Part[] {
  if (typeof item === 'string') return [{ kind: 'text', role: 'user', text: item }]
  if (!isObj(item)) return [{ kind: 'json', value: item }]
  switch (item.type) {
    case 'reasoning': {
      const text = textOf(item.summary) || textOf(item.content)
      return [{ kind: 'reasoning', text: text || '[encrypted reasoning]' }]
    }
    case 'function_call':
    case 'custom_tool_call':
      return [{ kind: 'tool_call', name: String(item.name ?? '?'), callId: item.call_id, args: pretty(item.arguments ?? item.input) }]
    case 'function_call_output':
    case 'custom_tool_call_output':
      return [{ kind: 'tool_result', callId: item.call_id, text: textOf(item.output) }]
  }
  if (typeof item.role === 'string' && (item.type === undefined || item.type === 'message')) {
    const c = item.content
    if (typeof c === 'string') return [{ kind: 'text', role: item.role, text: c }]
    if (Array.isArray(c)) return c.flatMap((b) => blockParts(item.role, b))
  }
  return [{ kind: 'json', value: item }]
}
