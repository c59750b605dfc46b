// Codex CLI rollouts (~/.codex/sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl): one
// `{timestamp, type, payload}` per line, type one of session_meta, response_item,
// turn_context, event_msg, compacted. response_item payloads are OpenAI Responses items.
// Rollouts of the first format (a bare header line, then bare Responses items) are read too.
import { defined, isObject, mapObjectLines, parseTs } from './read-lines.js'
import { count, itemEntryKind } from './item-kind.js'
import { DamageCodes, type MappedFile, type SourceLine } from './types.js'

export function mapCodex(lines: readonly SourceLine[], fileStem: string): MappedFile {
  let sourceSessionId: string | undefined
  const config: Record<string, unknown> = {}
  const hasTaskStarted = lines.some((l) => isObject(l.value) && isObject(l.value.payload) && l.value.type === 'event_msg' && l.value.payload.type === 'task_started')
  let model = 'unknown'
  let lastTotal: Record<string, unknown> | undefined
  const out = mapObjectLines(lines, (v, ml, _i, l) => {
    ml.ts = parseTs(v.timestamp)
    const p = v.payload
    if (!('payload' in v)) {
      // The first rollout format (2025): a `{ id, timestamp, instructions, git }` header, then
      // bare Responses items and `{ record_type: 'state' }` lines.
      if (l.n === 1 && typeof v.id === 'string' && v.type === undefined) sourceSessionId ??= v.id
      else if (typeof v.type === 'string' && v.record_type === undefined) {
        ml.item = { key: '', kind: itemEntryKind(v) }
        if (!hasTaskStarted && v.type === 'message' && v.role === 'user') ml.startsTurn = true
      }
      return
    }
    switch (v.type) {
      case 'session_meta':
        if (isObject(p) && typeof p.id === 'string' && sourceSessionId === undefined) {
          sourceSessionId = p.id
          if (typeof p.forked_from_id === 'string') config.forkedFromSourceSession = p.forked_from_id
        }
        break
      case 'turn_context':
        if (isObject(p) && typeof p.model === 'string' && p.model !== '') model = p.model
        break
      case 'response_item':
        if (!isObject(p)) {
          ml.damage = { code: DamageCodes.INVALID_LINE, message: 'a response_item without a payload object; kept as an envelope' }
          break
        }
        ml.item = { key: 'payload', kind: itemEntryKind(p) }
        if (!hasTaskStarted && p.type === 'message' && p.role === 'user') ml.startsTurn = true
        break
      case 'compacted': {
        if (!isObject(p)) {
          ml.damage = { code: DamageCodes.INVALID_LINE, message: 'a compacted line without a payload object; kept as an envelope' }
          break
        }
        // Codex replaces the history with `replacement_history` when it has one, else with the summary.
        const summary = typeof p.message === 'string' ? p.message : undefined
        const history = Array.isArray(p.replacement_history)
          ? p.replacement_history
          : summary !== undefined
            ? [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: summary }] }]
            : []
        ml.compaction = { history, ...(summary !== undefined ? { summary } : {}), details: { trigger: 'compacted', line: l.n } }
        break
      }
      case 'event_msg':
        if (!isObject(p)) break
        if (p.type === 'task_started') ml.startsTurn = true
        else if (p.type === 'thread_rolled_back' && typeof p.num_turns === 'number' && p.num_turns > 0) ml.rewindTurns = p.num_turns
        else if (p.type === 'token_count' && isObject(p.info) && isObject(p.info.total_token_usage)) {
          // Snapshots are cumulative and repeated: usage is the growth of the running total.
          const total = p.info.total_token_usage
          const last = isObject(p.info.last_token_usage) ? p.info.last_token_usage : total
          const grew = lastTotal === undefined || count(total.total_tokens) > count(lastTotal.total_tokens)
          const shrank = lastTotal !== undefined && count(total.total_tokens) < count(lastTotal.total_tokens)
          if (grew || shrank) {
            // After a drop (a new process, a reset) the last call's own usage is all there is.
            const base = lastTotal && !shrank ? lastTotal : undefined
            const d = (k: string) => (base ? Math.max(0, count(total[k]) - count(base[k])) : count((shrank ? last : total)[k]))
            ml.usage = {
              usage: {
                historyLength: 0,
                model,
                inputTokens: d('input_tokens'),
                cacheReadTokens: d('cached_input_tokens'),
                cacheWriteTokens: 0,
                outputTokens: d('output_tokens'),
                reasoningTokens: d('reasoning_output_tokens'),
                // The snapshot as Codex wrote it: the running totals, the last call's usage,
                // the context window, and the rate limits it reported with them.
                details: defined({ info: p.info, rate_limits: isObject(p.rate_limits) ? p.rate_limits : undefined }),
              },
            }
          }
          lastTotal = total
        }
        break
    }
  })
  return { sourceSessionId: sourceSessionId ?? fileStem, config, lines: out, branchOn: 'any' }
}
