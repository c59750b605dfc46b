// Synthetic agent transcripts for case 12 (import, issue 14): seeded session files in the
// on-disk formats of Claude Code, Codex CLI and pi, as docs/importers.md describes them, with
// line kinds, line mix and line sizes set from the shapes of real sessions (a Claude Code
// session of ~1,900 lines and 2.7 MB is mostly hook progress lines of ~800 B, tool calls of
// ~1.5 KB and tool results of ~6 KB; a Codex rollout carries a turn_context and token_count
// snapshots per turn; a pi session is user, assistant and toolResult messages of ~1 KB). The
// text is the bench's pseudo-English/code corpus (workload.mjs); nothing is copied from a
// real transcript.
//
// Every file is one linear conversation (each line's parent is the line before it), so an
// import creates exactly one session per file and reports no damage: the worker checks both.
import fs from 'node:fs'
import path from 'node:path'
import { makeTextSource } from './workload.mjs'

/** Turns per file, per format: files of ~1,500-2,000 lines (real sessions are of that order). */
export const TURNS_PER_FILE = { 'claude-code': 60, codex: 80, pi: 200 }

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0)
const iso = (ms) => new Date(ms).toISOString()
const hex = (g, n) => {
  let s = ''
  for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(g.rng() * 16)]
  return s
}
const uuid = (g) => `${hex(g, 8)}-${hex(g, 4)}-4${hex(g, 3)}-8${hex(g, 3)}-${hex(g, 12)}`
const TOOLS = ['Bash', 'Read', 'Edit', 'Grep', 'Write', 'Glob']

/** A tool result's text: 1-4 KB, 2% of them 30-40 KB (a whole file or a long log). */
const resultText = (g) => g.text(g.rng() < 0.02 ? g.between(30_000, 40_000) : g.between(1_000, 4_000))

// ------------------------------------------------------------------------------ Claude Code
function claudeCode(g, sessionId, turns) {
  const lines = []
  let ts = T0
  let parent = null
  const tick = (lo = 50, hi = 4000) => (ts += g.between(lo, hi))
  const env = (type) => ({ parentUuid: parent, isSidechain: false, userType: 'external', cwd: '/home/dev/proj', sessionId, version: '2.1.40', gitBranch: 'main', type })
  const push = (o) => {
    lines.push(JSON.stringify(o))
    if (o.uuid) parent = o.uuid
  }
  const usage = (out) => ({
    input_tokens: g.between(1, 20),
    cache_creation_input_tokens: g.between(0, 3000),
    cache_read_input_tokens: g.between(5000, 120_000),
    cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: g.between(0, 3000) },
    output_tokens: out,
    service_tier: 'standard',
  })
  const assistant = (msgId, requestId, content, stop, out) => {
    tick()
    push({
      ...env('assistant'),
      message: { model: 'claude-opus-4-6', id: msgId, type: 'message', role: 'assistant', content, stop_reason: stop, stop_sequence: null, usage: usage(out) },
      requestId,
      uuid: uuid(g),
      timestamp: iso(ts),
    })
  }
  for (let t = 0; t < turns; t++) {
    const promptId = uuid(g)
    tick(20_000, 120_000)
    const backups = {}
    for (let f = 0, n = g.between(2, 8); f < n; f++) backups[`src/${g.id('', 8)}/${g.id('', 10)}.ts`] = { backupFileName: `${hex(g, 16)}@v${g.between(1, 9)}`, version: g.between(1, 9), backupTime: iso(ts) }
    push({ type: 'file-history-snapshot', messageId: promptId, snapshot: { messageId: promptId, trackedFileBackups: backups, timestamp: iso(ts) }, isSnapshotUpdate: false })
    tick()
    push({ ...env('user'), message: { role: 'user', content: g.text(g.between(150, 800)) }, thinkingMetadata: { maxThinkingTokens: 31999 }, todos: [], permissionMode: 'default', uuid: promptId, timestamp: iso(ts) })
    for (let c = 0, cycles = g.between(1, 6); c < cycles; c++) {
      const msgId = g.id('msg_', 24)
      const req = g.id('req_', 24)
      if (g.rng() < 0.5) assistant(msgId, req, [{ type: 'thinking', thinking: g.text(g.between(300, 1500)), signature: g.id('', 120) }], null, g.between(5, 50))
      const toolId = g.id('toolu_', 24)
      const name = TOOLS[Math.floor(g.rng() * TOOLS.length)]
      assistant(msgId, req, [{ type: 'tool_use', id: toolId, name, input: { command: g.text(g.between(40, 200)), description: g.text(g.between(20, 60)), old_string: g.text(g.between(0, 900)) } }], 'tool_use', g.between(50, 900))
      const callLine = parent
      for (let p = 0, n = g.between(2, 10); p < n; p++) {
        tick(5, 200)
        push({ ...env('progress'), data: { type: 'hook_progress', hookEvent: p === 0 ? 'PreToolUse' : 'PostToolUse', hookName: `PreToolUse:${name}`, command: `./hooks/${g.id('', 6)}.sh`, output: g.text(g.between(100, 500)) }, parentToolUseID: toolId, toolUseID: toolId, uuid: uuid(g), timestamp: iso(ts) })
      }
      tick()
      const out = resultText(g)
      push({
        ...env('user'),
        message: { role: 'user', content: [{ tool_use_id: toolId, type: 'tool_result', content: out, is_error: false }] },
        uuid: uuid(g),
        timestamp: iso(ts),
        toolUseResult: { stdout: out, stderr: '', interrupted: false, isImage: false },
        sourceToolAssistantUUID: callLine,
      })
    }
    assistant(g.id('msg_', 24), g.id('req_', 24), [{ type: 'text', text: g.text(g.between(300, 1500)) }], 'end_turn', g.between(20, 600))
    if (g.rng() < 0.2) {
      tick()
      push({ ...env('system'), subtype: 'turn_duration', durationMs: g.between(1000, 90_000), isMeta: false, uuid: uuid(g), timestamp: iso(ts) })
    }
  }
  return { name: `${sessionId}.jsonl`, lines }
}

// ------------------------------------------------------------------------------ Codex CLI
function codex(g, sessionId, turns) {
  const lines = []
  let ts = T0
  const tick = (lo = 20, hi = 3000) => (ts += g.between(lo, hi))
  const push = (type, payload) => lines.push(JSON.stringify({ timestamp: iso(ts), type, payload }))
  const total = { input_tokens: 0, cached_input_tokens: 0, output_tokens: 0, reasoning_output_tokens: 0, total_tokens: 0 }
  const tokenCount = () => {
    const last = { input_tokens: g.between(3000, 60_000), cached_input_tokens: 0, output_tokens: g.between(20, 800), reasoning_output_tokens: g.between(0, 300), total_tokens: 0 }
    last.cached_input_tokens = Math.floor(last.input_tokens * 0.8)
    last.total_tokens = last.input_tokens + last.output_tokens
    for (const k of Object.keys(total)) total[k] += last[k]
    push('event_msg', {
      type: 'token_count',
      info: { total_token_usage: { ...total }, last_token_usage: last, model_context_window: 258400 },
      rate_limits: { limit_id: 'codex', limit_name: null, primary: { used_percent: g.between(1, 90), window_minutes: 300, resets_at: Math.floor(ts / 1000) + 9000 }, secondary: null, credits: null, plan_type: null },
    })
  }
  push('session_meta', {
    id: sessionId,
    timestamp: iso(ts),
    cwd: '/home/dev/proj',
    originator: 'codex_cli_rs',
    cli_version: '0.104.0',
    source: 'cli',
    model_provider: 'openai',
    base_instructions: { text: g.text(300) },
    git: { commit_hash: hex(g, 40), branch: 'main', repository_url: 'https://example.com/proj.git' },
  })
  tick()
  push('response_item', { type: 'message', role: 'developer', content: [{ type: 'input_text', text: `<permissions instructions>${g.text(400)}</permissions instructions>` }] })
  push('response_item', { type: 'message', role: 'user', content: [{ type: 'input_text', text: '<environment_context><cwd>/home/dev/proj</cwd></environment_context>' }] })
  for (let t = 0; t < turns; t++) {
    tick(20_000, 120_000)
    const turnId = uuid(g)
    const prompt = g.text(g.between(100, 600))
    push('event_msg', { type: 'task_started', turn_id: turnId, model_context_window: 258400, collaboration_mode_kind: 'default' })
    push('event_msg', { type: 'user_message', message: prompt, images: [], local_images: [], text_elements: [] })
    push('turn_context', {
      turn_id: turnId,
      cwd: '/home/dev/proj',
      approval_policy: 'on-request',
      sandbox_policy: { type: 'workspace-write', writable_roots: ['/home/dev/proj'], network_access: false, exclude_tmpdir_env_var: false, exclude_slash_tmp: false },
      model: 'gpt-5.3-codex',
      personality: 'pragmatic',
      collaboration_mode: { mode: 'default', settings: { model: 'gpt-5.3-codex', reasoning_effort: 'medium', developer_instructions: null } },
      effort: 'medium',
      summary: 'auto',
      user_instructions: g.text(200),
      truncation_policy: { mode: 'tokens', limit: 10000 },
    })
    push('response_item', { type: 'message', role: 'user', content: [{ type: 'input_text', text: prompt }] })
    for (let c = 0, cycles = g.between(1, 5); c < cycles; c++) {
      tick()
      const summary = g.text(g.between(40, 160))
      push('event_msg', { type: 'agent_reasoning', text: summary })
      push('response_item', { type: 'reasoning', summary: [{ type: 'summary_text', text: summary }], content: null, encrypted_content: `gAAAAA${g.id('', g.between(800, 2400))}` })
      const call = g.id('call_', 24)
      push('response_item', { type: 'function_call', name: 'exec_command', arguments: JSON.stringify({ cmd: g.text(g.between(20, 160)), workdir: '/home/dev/proj' }), call_id: call })
      tokenCount()
      tick()
      push('response_item', { type: 'function_call_output', call_id: call, output: `Exit code: 0\nWall time: 0.${g.between(1, 9)} seconds\nOutput:\n${resultText(g)}` })
    }
    tick()
    const answer = g.text(g.between(200, 1200))
    push('event_msg', { type: 'agent_message', message: answer })
    push('response_item', { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: answer }] })
    tokenCount()
    push('event_msg', { type: 'task_complete', turn_id: turnId, last_agent_message: answer })
  }
  const d = new Date(T0)
  const stamp = iso(T0).slice(0, 19).replace(/:/g, '-')
  const dir = `${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, '0')}/${String(d.getUTCDate()).padStart(2, '0')}`
  return { name: `${dir}/rollout-${stamp}-${sessionId}.jsonl`, lines }
}

// ------------------------------------------------------------------------------ pi
function pi(g, sessionId, turns) {
  const lines = []
  let ts = T0
  let parent = null
  const tick = (lo = 50, hi = 4000) => (ts += g.between(lo, hi))
  const entry = (type, fields) => {
    const id = hex(g, 8)
    lines.push(JSON.stringify({ type, id, parentId: parent, timestamp: iso(ts), ...fields }))
    parent = id
  }
  const usage = () => {
    const u = { input: g.between(1, 20), output: g.between(20, 900), cacheRead: g.between(0, 80_000), cacheWrite: g.between(0, 3000), totalTokens: 0 }
    u.totalTokens = u.input + u.output + u.cacheRead + u.cacheWrite
    const c = { input: u.input * 3e-6, output: u.output * 15e-6, cacheRead: u.cacheRead * 3e-7, cacheWrite: u.cacheWrite * 3.75e-6 }
    return { ...u, cost: { ...c, total: c.input + c.output + c.cacheRead + c.cacheWrite } }
  }
  const assistant = (content, stopReason) => {
    tick()
    entry('message', { message: { role: 'assistant', content, api: 'anthropic-messages', provider: 'anthropic', model: 'claude-sonnet-4-5', usage: usage(), stopReason, timestamp: ts - g.between(100, 900) } })
  }
  lines.push(JSON.stringify({ type: 'session', version: 3, id: sessionId, timestamp: iso(ts), cwd: '/home/dev/proj' }))
  tick()
  entry('model_change', { provider: 'anthropic', modelId: 'claude-sonnet-4-5' })
  for (let t = 0; t < turns; t++) {
    if (g.rng() < 0.25) {
      tick()
      entry('thinking_level_change', { thinkingLevel: ['low', 'medium', 'high'][Math.floor(g.rng() * 3)] })
    }
    tick(20_000, 120_000)
    entry('message', { message: { role: 'user', content: [{ type: 'text', text: g.text(g.between(60, 500)) }], timestamp: ts } })
    for (let c = 0, cycles = g.between(1, 5); c < cycles; c++) {
      const call = g.id('toolu_', 24)
      const name = ['read', 'bash', 'edit', 'write'][Math.floor(g.rng() * 4)]
      assistant([{ type: 'thinking', thinking: g.text(g.between(50, 400)), thinkingSignature: g.id('', 60) }, { type: 'toolCall', id: call, name, arguments: { path: `src/${g.id('', 8)}.ts`, command: g.text(g.between(20, 200)) } }], 'toolUse')
      tick()
      entry('message', { message: { role: 'toolResult', toolCallId: call, toolName: name, content: [{ type: 'text', text: g.rng() < 0.02 ? g.text(g.between(30_000, 40_000)) : g.text(g.between(300, 2000)) }], isError: false, timestamp: ts } })
    }
    assistant([{ type: 'text', text: g.text(g.between(100, 900)) }], 'stop')
  }
  const name = `--home-dev-proj--/${iso(T0).replace(/[:.]/g, '-')}_${sessionId}.jsonl`
  return { name, lines }
}

const GENERATORS = { 'claude-code': claudeCode, codex, pi }

/**
 * Write `files` session files of `format` under `dir`, `turns` turns each (default
 * TURNS_PER_FILE); seeded, so every run writes the same bytes. Returns what was written.
 */
export function writeTranscripts(dir, format, { files = 1, turns = TURNS_PER_FILE[format], seed = 0x7a11 } = {}) {
  const gen = GENERATORS[format]
  if (!gen) throw new Error(`unknown transcript format ${format}`)
  const g = makeTextSource(seed + Object.keys(GENERATORS).indexOf(format))
  let lines = 0
  let bytes = 0
  const written = []
  for (let f = 0; f < files; f++) {
    const id = uuid(g)
    const file = gen(g, id, turns)
    const text = file.lines.join('\n') + '\n'
    const p = path.join(dir, file.name)
    fs.mkdirSync(path.dirname(p), { recursive: true })
    fs.writeFileSync(p, text)
    lines += file.lines.length
    bytes += Buffer.byteLength(text)
    written.push(p)
  }
  return { files: written, lines, bytes }
}
