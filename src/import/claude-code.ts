// Claude Code session files (~/.claude/projects/<cwd>/<session>.jsonl, and subagent runs in
// <session>/subagents/agent-<id>.jsonl): one JSON object per line, linked by uuid/parentUuid.
// user/assistant lines carry an Anthropic message in `message`; everything else (progress,
// system, summary, file-history-snapshot, queue-operation, ...) is an envelope only.
import { defined, isObject, mapObjectLines, parseTs } from './read-lines.js'
import { count, itemEntryKind } from './item-kind.js'
import { DamageCodes, type MappedFile, type SourceLine } from './types.js'

export function mapClaudeCode(lines: readonly SourceLine[], fileStem: string): MappedFile {
  let sourceSessionId: string | undefined
  let agentId: string | undefined
  let allSidechain = true
  let anyEnvelope = false
  // Claude Code writes one line per content block of an assistant message, repeating the
  // message's usage on each (output_tokens grows on the last): usage is taken once per
  // message id, from the last line that carries it.
  const lastLineOfMessage = new Map<string, number>()
  /** Lines (with a message) of each assistant message id seen so far. */
  const linesOfMessage = new Map<string, number>()
  for (const [i, l] of lines.entries()) {
    const v = l.value
    if (!isObject(v)) continue
    if (typeof v.sessionId === 'string' && sourceSessionId === undefined) sourceSessionId = v.sessionId
    if (typeof v.agentId === 'string' && agentId === undefined) agentId = v.agentId
    if (typeof v.uuid === 'string') {
      anyEnvelope = true
      if (v.isSidechain !== true) allSidechain = false
    }
    const m = v.message
    if (v.type === 'assistant' && isObject(m) && typeof m.id === 'string' && isObject(m.usage)) lastLineOfMessage.set(m.id, i)
  }
  const subagent = anyEnvelope && allSidechain
  const out = mapObjectLines(lines, (v, ml, i, l) => {
    // file-history-snapshot lines carry their time inside the snapshot.
    ml.ts = parseTs(v.timestamp) ?? (isObject(v.snapshot) ? parseTs(v.snapshot.timestamp) : undefined)
    if (typeof v.uuid === 'string') {
      ml.id = v.uuid
      ml.parentId = typeof v.parentUuid === 'string' ? v.parentUuid : null
      // In a subagent file every line is a sidechain: the file itself is the subagent's session.
      if (v.isSidechain === true && !subagent) ml.sidechain = true
    }
    if (v.type === 'user' || v.type === 'assistant') {
      const m = v.message
      if (!isObject(m) || (typeof m.content !== 'string' && !Array.isArray(m.content))) {
        ml.damage = { code: DamageCodes.INVALID_LINE, message: `a ${v.type} line without a message {role, content}; kept as an envelope` }
        return
      }
      ml.item = { key: 'message', kind: itemEntryKind(m) }
      if (v.type === 'assistant' && typeof m.id === 'string') linesOfMessage.set(m.id, (linesOfMessage.get(m.id) ?? 0) + 1)
      // A user line that is a prompt (not tool results, not a compaction summary, not meta) starts a turn.
      if (ml.item.kind === 'user_input' && v.isMeta !== true && v.isCompactSummary !== true && !ml.sidechain) ml.startsTurn = true
      if (v.isCompactSummary === true || v.isMeta === true) ml.item.kind = 'hook_injected_items'
      if (v.type === 'assistant' && typeof m.id === 'string' && lastLineOfMessage.get(m.id) === i && isObject(m.usage)) {
        const u = m.usage
        const cacheRead = count(u.cache_read_input_tokens)
        const cacheWrite = count(u.cache_creation_input_tokens)
        ml.usage = {
          key: `${m.id}`,
          outputItems: linesOfMessage.get(m.id) ?? 1,
          usage: {
            historyLength: 0, // filled in by the planner
            model: typeof m.model === 'string' && m.model !== '' ? m.model : 'unknown',
            inputTokens: count(u.input_tokens) + cacheRead + cacheWrite,
            cacheReadTokens: cacheRead,
            cacheWriteTokens: cacheWrite,
            outputTokens: count(u.output_tokens),
            reasoningTokens: 0,
            // The usage record as Claude Code wrote it (cache writes by TTL in cache_creation,
            // service_tier, server_tool_use, ...), the ids tying it to the call, a cost if given.
            details: defined({ usage: u, messageId: m.id, requestId: v.requestId, costUSD: v.costUSD }),
          },
        }
      }
    } else if (v.type === 'system' && v.subtype === 'compact_boundary') {
      // The boundary starts a new, compacted session; the summary follows as its own user line.
      ml.compaction = { history: [], details: { trigger: 'compact_boundary', line: l.n, ...(isObject(v.compactMetadata) ? { compactMetadata: v.compactMetadata } : {}) } }
      if (typeof v.logicalParentUuid === 'string') ml.parentId = v.logicalParentUuid
    }
  })
  return {
    sourceSessionId: sourceSessionId ?? fileStem,
    ...(subagent ? { agentId: agentId ?? fileStem } : {}),
    config: {},
    lines: out,
    branchOn: 'turn-start',
  }
}
