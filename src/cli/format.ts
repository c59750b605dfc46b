// Text formatting for people: short hashes, times, sizes, and a one-line summary of any entry
// or conversation item (OpenAI Responses items, Anthropic messages and blocks, neutral shapes).
import { classifyItem } from '../schema/classify.js'
import type { Entry, UsageTotals } from '../index.js'

/** The 12-hex-digit form of a hash that listings show. */
export function shortHash(hash: string): string {
  return hash.slice(0, 12)
}

const pad2 = (n: number): string => String(n).padStart(2, '0')

/** Local time as `YYYY-MM-DD HH:MM:SS`. */
export function formatTime(ts: number): string {
  const d = new Date(ts)
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`
}

/** How long ago `ts` was: `42s`, `5m`, `3h`, `12d`. */
export function formatAge(ts: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - ts) / 1000))
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h}h`
  return `${Math.floor(h / 24)}d`
}

/**
 * `1234567` -> `1,234,567`, as `toLocaleString('en-US')` writes it, without its first-call cost
 * (loading ICU's locale data was 9% of `chainlog ls` on the demo store).
 */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return String(n)
  const [int, frac] = String(Math.abs(Math.round(n * 1000) / 1000)).split('.')
  const grouped = int!.replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  return `${n < 0 ? '-' : ''}${grouped}${frac ? `.${frac}` : ''}`
}

/** Token counts in a column: `850`, `12.3k`, `4.1M`. */
export function formatTokens(n: number): string {
  if (n < 1000) return String(n)
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k`
  return `${(n / 1_000_000).toFixed(1)}M`
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`
  return `${(n / 1024 ** 3).toFixed(2)} GiB`
}

/** Whether a UTF-16 code unit is white space as `\s` and `String.prototype.trim` see it. */
export function isSpace(c: number): boolean {
  return (
    c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff
  )
}

/**
 * Collapse whitespace and cut to `max` characters with an ellipsis: `text.replace(/\s+/g, ' ')
 * .trim()`, cut, in one pass that stops once `max` + 2 characters are known (listings call it on
 * every session's first message).
 */
export function oneLine(text: string, max: number): string {
  const limit = max > 1 ? max + 2 : Infinity
  let t = ''
  let space = false
  let i = 0
  while (i < text.length && t.length < limit) {
    if (isSpace(text.charCodeAt(i))) {
      space = true
      i++
      continue
    }
    // A run without white space, up to what `limit` still needs (the rest continues it).
    const end = Math.min(text.length, i + (limit - t.length))
    let j = i + 1
    while (j < end && !isSpace(text.charCodeAt(j))) j++
    if (space && t !== '') t += ' '
    t += text.slice(i, j)
    space = false
    i = j
  }
  if (max <= 1) return t.slice(0, Math.max(0, max))
  return t.length > max ? `${t.slice(0, max - 1)}…` : t
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array)
}

function compactJson(v: unknown): string {
  if (typeof v === 'string') return v
  try {
    return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array ? `<${x.length} bytes>` : x)) ?? ''
  } catch {
    return String(v)
  }
}

/** The plain text of an item or content value, if it has any. */
export function textOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v
  if (Array.isArray(v)) {
    const parts = v.map(textOf).filter((t): t is string => t !== undefined && t !== '')
    return parts.length > 0 ? parts.join(' ') : undefined
  }
  if (!isObject(v)) return undefined
  for (const k of ['text', 'content', 'output', 'thinking', 'summary']) {
    const t = textOf(v[k])
    if (t !== undefined) return t
  }
  return undefined
}

function callText(o: Record<string, unknown>): string {
  const name = typeof o.name === 'string' ? o.name : typeof o.type === 'string' ? o.type : 'call'
  let args: unknown = o.arguments ?? o.input ?? o.args
  if (args === undefined && isObject(o.action)) args = o.action.command ?? o.action
  return `${name}(${args === undefined ? '' : compactJson(args)})`
}

function blockSummary(b: unknown): string {
  if (!isObject(b)) return textOf(b) ?? compactJson(b)
  switch (classifyItem(b)) {
    case 'tool_call':
      return `call ${callText(b)}`
    case 'tool_result':
      return `result ${JSON.stringify(textOf(b.content ?? b.output) ?? '')}`
    case 'reasoning':
      return `(${b.type === 'redacted_thinking' ? 'redacted thinking' : String(b.type ?? 'reasoning')}) ${textOf(b) ?? ''}`.trim()
    default: {
      const t = textOf(b)
      return t !== undefined ? JSON.stringify(t) : `(${String(b.type ?? 'item')})`
    }
  }
}

/** One short line for a conversation item. */
export function summarizeItem(item: unknown): string {
  if (!isObject(item)) return textOf(item) !== undefined ? JSON.stringify(textOf(item)) : compactJson(item)
  const cls = classifyItem(item)
  const role = typeof item.role === 'string' ? item.role : undefined
  switch (cls) {
    case 'tool_call':
      return `call ${callText(item)}`
    case 'tool_result': {
      if (Array.isArray(item.content) && role === 'user') return item.content.map(blockSummary).join(' · ')
      const id = item.call_id ?? item.tool_use_id ?? item.id
      const body = textOf(item.output ?? item.content) ?? compactJson(item.output ?? item.content)
      return `result${typeof id === 'string' ? ` ${id}` : ''} ${JSON.stringify(oneLine(body, 200))}`
    }
    case 'reasoning':
      return blockSummary(item)
    case 'user_message':
    case 'assistant_message': {
      if (Array.isArray(item.content)) return item.content.map(blockSummary).join(' · ')
      const t = textOf(item)
      return t !== undefined ? JSON.stringify(oneLine(t, 300)) : `(${role} message)`
    }
    default: {
      const t = textOf(item)
      const label = typeof item.type === 'string' ? item.type : (role ?? 'item')
      return t !== undefined ? `${label}: ${JSON.stringify(oneLine(t, 300))}` : `(${label})`
    }
  }
}

export function summarizeItems(items: readonly unknown[]): string {
  return items.map(summarizeItem).join(' · ')
}

/** `gpt-5: 12,345 in (10,000 cached) / 456 out (120 reasoning)` */
export function summarizeUsage(u: { model: string; inputTokens: number; cacheReadTokens: number; cacheWriteTokens: number; outputTokens: number; reasoningTokens: number }): string {
  const extra: string[] = []
  if (u.cacheReadTokens > 0) extra.push(`${formatCount(u.cacheReadTokens)} cached`)
  if (u.cacheWriteTokens > 0) extra.push(`${formatCount(u.cacheWriteTokens)} cache write`)
  const inp = `${formatCount(u.inputTokens)} in${extra.length ? ` (${extra.join(', ')})` : ''}`
  const out = `${formatCount(u.outputTokens)} out${u.reasoningTokens > 0 ? ` (${formatCount(u.reasoningTokens)} reasoning)` : ''}`
  return `${u.model}: ${inp} / ${out}`
}

/** `12.3k in / 2.1k out` over every model. */
export function summarizeTotals(totals: Record<string, UsageTotals>): string {
  let input = 0
  let output = 0
  for (const t of Object.values(totals)) {
    input += t.inputTokens
    output += t.outputTokens
  }
  if (Object.keys(totals).length === 0) return '-'
  return `${formatTokens(input)} in / ${formatTokens(output)} out`
}

function configSummary(config: Record<string, unknown>): string {
  const parts: string[] = []
  for (const [k, v] of Object.entries(config)) {
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) parts.push(`${k}=${String(v)}`)
    else if (Array.isArray(v)) parts.push(`${k}=[${v.length}]`)
    else parts.push(`${k}={…}`)
  }
  return parts.join(' ')
}

/** The one-line summary `log` shows for an entry. */
export function summarizeEntry(entry: Entry): string {
  switch (entry.kind) {
    case 'session_start': {
      const parts: string[] = []
      if (entry.forkedFrom) parts.push(`fork of ${entry.forkedFrom.sessionId} at ${shortHash(entry.forkedFrom.atHash)}${entry.snapshot ? ' (materialized)' : ''}`)
      if (entry.compactedFrom) {
        const summary = entry.compaction && typeof entry.compaction.summary === 'string' ? `: ${JSON.stringify(oneLine(entry.compaction.summary, 200))}` : ''
        parts.push(`compaction of ${entry.compactedFrom.sessionId} at ${shortHash(entry.compactedFrom.atHash)}${summary}`)
      }
      if (!entry.forkedFrom && !entry.compactedFrom) parts.push('new session')
      const cfg = configSummary(entry.config)
      if (cfg) parts.push(cfg)
      if (entry.history.length > 0) parts.push(`${entry.history.length} history item${entry.history.length === 1 ? '' : 's'}`)
      if (entry.systemPrompt !== undefined) parts.push(`system prompt ${JSON.stringify(oneLine(entry.systemPrompt, 60))}`)
      return parts.join(', ')
    }
    case 'user_input':
      return summarizeItem(entry.item)
    case 'assistant_items':
    case 'tool_results':
    case 'hook_injected_items':
      return summarizeItems(entry.items)
    case 'turn_end':
      return `turn ${entry.turn}`
    case 'run_outcome':
      return `${entry.status}${entry.message !== undefined ? `: ${entry.message}` : ''}${entry.interrupted ? ' (interrupted)' : ''}`
    case 'llm_usage':
      return summarizeUsage(entry)
    case 'cache_locked':
      return `cache locked at ${entry.prefixLength} item${entry.prefixLength === 1 ? '' : 's'}`
    case 'cache_unlocked':
      return 'cache unlocked'
    case 'config_changed':
      return configSummary(entry.config) || '{}'
    case 'custom':
      return `${entry.namespace}/${entry.type}${entry.data !== undefined ? ` ${compactJson(entry.data)}` : ''}`
    default:
      return ''
  }
}
