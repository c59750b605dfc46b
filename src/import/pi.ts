// pi coding agent sessions (~/.pi/agent/sessions/--<cwd>--/<time>_<id>.jsonl): a `session`
// header line, then entries linked by id/parentId into a tree (format v2+; v1 files have no
// ids and are linear). `message` entries carry a pi AgentMessage; model_change,
// thinking_level_change, compaction, branch_summary, custom, custom_message, label and
// session_info entries are kept as envelopes.
import { defined, isObject, mapObjectLines, parseTs } from './read-lines.js'
import { count, itemEntryKind } from './item-kind.js'
import { DamageCodes, type MappedFile, type SourceLine } from './types.js'

export function mapPi(lines: readonly SourceLine[], fileStem: string): MappedFile {
  let sourceSessionId: string | undefined
  const config: Record<string, unknown> = {}
  /** Items by entry id and parents, to rebuild what a compaction keeps. */
  const items = new Map<string, unknown>()
  const parents = new Map<string, string | null>()
  const out = mapObjectLines(lines, (v, ml, i, l) => {
    ml.ts = parseTs(v.timestamp)
    if (v.type === 'session') {
      if (i === 0 && typeof v.id === 'string') sourceSessionId = v.id
      return
    }
    if (i === 0) {
      ml.damage = { code: DamageCodes.NOT_A_TRANSCRIPT, message: 'a pi session file starts with a `session` header' }
    }
    if (typeof v.id === 'string') {
      ml.id = v.id
      ml.parentId = typeof v.parentId === 'string' ? v.parentId : null
      parents.set(v.id, ml.parentId)
    }
    switch (v.type) {
      case 'message': {
        const m = v.message
        if (!isObject(m) || typeof m.role !== 'string') {
          ml.damage = { code: DamageCodes.INVALID_LINE, message: 'a message entry without a message {role}; kept as an envelope' }
          break
        }
        ml.item = { key: 'message', kind: itemEntryKind(m) }
        if (ml.id !== undefined) items.set(ml.id, m)
        if (ml.item.kind === 'user_input') ml.startsTurn = true
        if (m.role === 'assistant' && isObject(m.usage)) {
          const u = m.usage
          const cacheRead = count(u.cacheRead)
          const cacheWrite = count(u.cacheWrite)
          ml.usage = {
            outputItems: 1,
            usage: {
              historyLength: 0,
              model: typeof m.model === 'string' && m.model !== '' ? m.model : 'unknown',
              inputTokens: count(u.input) + cacheRead + cacheWrite,
              cacheReadTokens: cacheRead,
              cacheWriteTokens: cacheWrite,
              outputTokens: count(u.output),
              reasoningTokens: 0,
              // pi's usage record (cost by kind and total, totalTokens) and who served the call.
              details: defined({ usage: u, provider: m.provider, api: m.api, responseId: m.responseId }),
            },
          }
        }
        break
      }
      case 'compaction': {
        // pi's context after a compaction: the summary, then the kept messages from
        // firstKeptEntryId up to the compaction.
        const summary = typeof v.summary === 'string' ? v.summary : ''
        const kept: unknown[] = []
        let at = ml.parentId ?? null
        const first = typeof v.firstKeptEntryId === 'string' ? v.firstKeptEntryId : undefined
        const path: unknown[] = []
        let reached = first === undefined
        while (at !== null && at !== undefined) {
          if (items.has(at)) path.push(items.get(at))
          if (at === first) {
            reached = true
            break
          }
          at = parents.get(at) ?? null
        }
        if (reached && first !== undefined) kept.push(...path.reverse())
        const summaryMessage = { role: 'compactionSummary', summary, tokensBefore: count(v.tokensBefore), timestamp: ml.ts ?? 0 }
        ml.compaction = { history: [summaryMessage, ...kept], summary, details: { trigger: 'compaction', line: l.n } }
        break
      }
      case 'branch_summary':
        if (typeof v.summary === 'string') {
          ml.derivedItem = { value: defined({ role: 'branchSummary', summary: v.summary, fromId: v.fromId, timestamp: ml.ts ?? 0 }), kind: 'hook_injected_items' }
        }
        break
      case 'custom_message':
        ml.derivedItem = {
          value: defined({ role: 'custom', customType: v.customType, content: v.content ?? '', display: v.display === true, timestamp: ml.ts ?? 0 }),
          kind: 'hook_injected_items',
        }
        break
    }
    // Items the compaction keeps include what custom_message and branch_summary entries inject.
    if (ml.derivedItem && ml.id !== undefined) items.set(ml.id, ml.derivedItem.value)
  })
  const header = lines[0]?.value
  if (isObject(header) && header.type === 'session') {
    if (typeof header.parentSession === 'string') config.parentSessionFile = header.parentSession
  }
  return { sourceSessionId: sourceSessionId ?? fileStem, config, lines: out, branchOn: 'any' }
}
