// Case 13 (issue 19): the framework adapters on one workload each, and the peers they replace.
//
// LangGraph.js: a thread of N supersteps of an agent graph. Each step writes its task's pending
// writes on the current checkpoint (putWrites) and then the next checkpoint (put, parent = the
// current one), as LangGraph's loop does. The state has four channels: `messages` (the last 4
// messages: a window, so that a checkpoint stays ~4 KB however long the thread; LangGraph's own
// messages channel keeps every message, which makes any saver's bytes grow with the square of
// the thread's length), `step` (a number), `scratch` (a tool result of 1-4 KB, 2% of them
// 30-40 KB, changed every other step) and `context` (~2 KB, written at step 0 and never changed).
// `newVersions` names the channels that changed, as LangGraph passes them.
//
// OpenAI Agents SDK: N turns of `run(agent, input, { session })` as the SDK's runner drives a
// session (agents-core runner/sessionPersistence): getItems() of the whole history before the
// model call, addItems([user input]), then addItems of what the turn produced (a function call,
// its result and the assistant's answer).
//
// The SDK ships no file-backed session, only MemorySession and the remote
// OpenAIConversationsSession; its examples (openai-agents-js, examples/memory/) describe
// a FileSession that keeps each session as one JSON array file, `<dir>/<id>.json`, written
// pretty-printed (JSON.stringify(items, null, 2)), where getItems reads and parses the file and
// checks each item against the SDK's protocol.ModelItem schema, and addItems does the same read,
// appends and rewrites the whole file (no fsync). SampleFileSession below is written here from
// that description. JsonlFileSession is the cheaper layout one would write instead: one line per
// item, appended through an open file handle, getItems parsing every line.
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { makeTextSource } from './workload.mjs'

// ------------------------------------------------------------------------------ LangGraph
const TOOL_NAMES = ['read_file', 'edit_file', 'bash', 'grep']

/** The N steps of the LangGraph workload (seeded): what each step writes and the checkpoint it puts. */
export function langgraphSteps(n, seed = 0x1a9) {
  const g = makeTextSource(seed, 1024 * 1024, 256 * 1024)
  const message = (i) => {
    const r = i % 3
    if (r === 0) return { type: 'human', content: g.text(g.between(100, 600)), id: `m${i}` }
    if (r === 1)
      return {
        type: 'ai',
        content: g.text(g.between(50, 400)),
        tool_calls: [{ id: g.id('call_', 24), name: TOOL_NAMES[i % 4], args: { path: `src/${g.id('', 8)}.ts`, command: g.text(g.between(20, 200)) } }],
        id: `m${i}`,
      }
    return { type: 'tool', content: g.text(g.between(300, 1500)), tool_call_id: g.id('call_', 24), id: `m${i}` }
  }
  const context = { system: g.text(1500), tools: TOOL_NAMES.map((name) => ({ name, description: g.text(80) })) }
  const steps = []
  const window = []
  for (let i = 0; i < n; i++) {
    const msg = message(i)
    window.push(msg)
    if (window.length > 4) window.shift()
    const scratch = i % 2 === 0 ? { tool: TOOL_NAMES[i % 4], output: g.text(g.rng() < 0.02 ? g.between(30_000, 40_000) : g.between(1_000, 4_000)) } : undefined
    steps.push({ msg, window: [...window], scratch, task: `task-${i}-${g.id('', 12)}` })
  }
  return { steps, context }
}

/**
 * Run the write phase on a saver: N × (putWrites on the current checkpoint, put of the next).
 * `uuid6` and `emptyCheckpoint` come from @langchain/langgraph-checkpoint. Returns the ids in
 * order and each step's latency (ms).
 */
export async function langgraphWrite(saver, threadId, work, { uuid6, emptyCheckpoint }, now) {
  const ids = []
  const lat = []
  let config = { configurable: { thread_id: threadId, checkpoint_ns: '' } }
  const values = { messages: [], step: -1, scratch: null, context: work.context }
  const versions = { messages: 0, step: 0, scratch: 0, context: 1 }
  for (let i = 0; i < work.steps.length; i++) {
    const s = work.steps[i]
    const t0 = now()
    if (i > 0) await saver.putWrites(config, [['messages', [s.msg]], ['step', i]], s.task)
    const changed = { messages: ++versions.messages, step: ++versions.step }
    values.messages = s.window
    values.step = i
    if (s.scratch) {
      values.scratch = s.scratch
      changed.scratch = ++versions.scratch
    }
    if (i === 0) changed.context = versions.context
    const id = uuid6(i)
    const checkpoint = {
      ...emptyCheckpoint(),
      id,
      ts: new Date(1767225600000 + i * 1000).toISOString(),
      channel_values: { ...values },
      channel_versions: { ...versions },
      versions_seen: { agent: { messages: versions.messages - 1, step: versions.step - 1 } },
    }
    config = await saver.put(config, checkpoint, { source: 'loop', step: i, parents: {} }, changed)
    lat.push(now() - t0)
    ids.push(id)
  }
  return { ids, lat }
}

// ------------------------------------------------------------------------------ Agents SDK
/** The N turns of the Agents SDK workload (seeded), items in the SDK's own shapes. */
export function agentTurns(n, seed = 0xa9e7) {
  const g = makeTextSource(seed, 1024 * 1024, 256 * 1024)
  const turns = []
  for (let i = 0; i < n; i++) {
    const callId = g.id('call_', 24)
    const name = TOOL_NAMES[i % 4]
    turns.push({
      input: [{ type: 'message', role: 'user', content: g.text(g.between(100, 800)) }],
      output: [
        { type: 'function_call', callId, name, arguments: JSON.stringify({ path: `src/${g.id('', 8)}.ts`, old_string: g.text(g.between(100, 1200)) }), status: 'completed' },
        { type: 'function_call_result', name, callId, status: 'completed', output: { type: 'text', text: g.text(g.rng() < 0.02 ? g.between(30_000, 40_000) : g.between(1_000, 4_000)) } },
        { type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: g.text(g.between(200, 1200)) }] },
      ],
    })
  }
  return turns
}

/** The SDK examples' FileSession, as described at the top of this file (one pretty-printed JSON array per session). */
export class SampleFileSession {
  #dir
  #id
  #schema
  constructor({ dir, sessionId, protocol }) {
    this.#dir = dir
    this.#id = sessionId
    this.#schema = protocol.ModelItem
  }
  get file() {
    return path.join(this.#dir, `${this.#id}.json`)
  }
  async getSessionId() {
    await fsp.mkdir(this.#dir, { recursive: true })
    try {
      await fsp.access(this.file)
    } catch {
      await fsp.writeFile(this.file, '[]', 'utf8')
    }
    return this.#id
  }
  async #read() {
    let text
    try {
      text = await fsp.readFile(this.file, 'utf8')
    } catch (err) {
      if (err.code === 'ENOENT') return []
      throw err
    }
    const parsed = JSON.parse(text)
    if (!Array.isArray(parsed)) return []
    const out = []
    for (const raw of parsed) {
      const r = this.#schema.safeParse(raw)
      if (r.success) out.push(r.data)
    }
    return out
  }
  async getItems(limit) {
    await this.getSessionId()
    const items = await this.#read()
    return typeof limit === 'number' && limit >= 0 ? items.slice(-limit) : items
  }
  async addItems(items) {
    if (items.length === 0) return
    await this.getSessionId()
    const next = (await this.#read()).concat(items)
    await fsp.writeFile(this.file, JSON.stringify(next, null, 2), 'utf8')
  }
  async close() {}
}

/** An append-only JSONL session: one line per item through an open handle, getItems parses every line. */
export class JsonlFileSession {
  #file
  #id
  #fh
  constructor({ dir, sessionId }) {
    fs.mkdirSync(dir, { recursive: true })
    this.#id = sessionId
    this.#file = path.join(dir, `${sessionId}.jsonl`)
  }
  async getSessionId() {
    return this.#id
  }
  async getItems(limit) {
    let text
    try {
      text = await fsp.readFile(this.#file, 'utf8')
    } catch (err) {
      if (err.code === 'ENOENT') return []
      throw err
    }
    const lines = text.split('\n')
    lines.pop()
    const from = typeof limit === 'number' && limit >= 0 ? Math.max(0, lines.length - limit) : 0
    const out = []
    for (let i = from; i < lines.length; i++) out.push(JSON.parse(lines[i]))
    return out
  }
  async addItems(items) {
    if (items.length === 0) return
    this.#fh ??= await fsp.open(this.#file, 'a')
    await this.#fh.write(items.map((x) => JSON.stringify(x)).join('\n') + '\n')
  }
  async close() {
    await this.#fh?.close()
    this.#fh = undefined
  }
}
