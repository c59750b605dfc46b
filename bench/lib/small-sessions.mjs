// The "many small sessions" data set of cases 10 and 11: what a real agent's history looks like
// (many short sessions), generated from a seed so that chainlog and the JSONL peer hold the same
// sessions. Session i is one turn: a genesis, a user message, an assistant reply, the model
// call's token usage and a turn end (5 entries in chainlog). Sessions are ~1 minute apart in
// time, in index order, so the newest sessions are the highest indexes.
import { createHash } from 'node:crypto'
import { makeRng } from './workload.mjs'

export const SMALL_T0 = 1767225600000 // 2026-01-01T00:00:00Z
export const SMALL_MODEL = 'model-large-2026'

const WORDS = (
  'the a to of and in that it for on with as at this by from we or an will all so up out if about which when make can like no just into your some could them see other than then now only its over also after use how our work first well way even new want any these give most is are was were has had did file function return const import export class interface type string number value error result test tests build run check update fix change add remove line code module package config path directory output input request response server client data table index query cache store log entry hash chain session agent model tool call message content user assistant token context stream buffer async await promise event handler option default object array map key length size count offset limit start end read write open close append verify'
).split(' ')

/** A UUID-shaped id derived from the index (the same in every process). */
export function smallSessionId(i) {
  const h = createHash('sha256').update(`chainlog-bench-small-session-${i}`).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`
}

function words(rng, lo, hi) {
  const n = lo + Math.floor(rng() * (hi - lo + 1))
  const out = []
  for (let k = 0; k < n; k++) out.push(WORDS[Math.floor(WORDS.length * rng() * rng())])
  const s = out.join(' ')
  return s[0].toUpperCase() + s.slice(1) + '.'
}

/**
 * Session i: { id, ts (genesis), user, assistant (items), usage (chainlog's Usage shape),
 * entryTs: [genesis, user, assistant, usage, turn_end] }.
 */
export function smallSession(i) {
  const rng = makeRng(0x5a11 + i)
  const ts = SMALL_T0 + i * 60_000 + Math.floor(rng() * 30_000)
  const user = { role: 'user', content: [{ type: 'text', text: words(rng, 8, 30) }] }
  const assistant = { role: 'assistant', content: [{ type: 'text', text: words(rng, 30, 100) }], model: SMALL_MODEL, stop_reason: 'end_turn' }
  const input = 2000 + Math.floor(rng() * 20000)
  const usage = { historyLength: 2, model: SMALL_MODEL, inputTokens: input, cacheReadTokens: Math.floor(input * rng()), cacheWriteTokens: 0, outputTokens: 20 + Math.floor(rng() * 800), reasoningTokens: 0 }
  const reply = ts + 1000 + Math.floor(rng() * 20_000)
  return { id: smallSessionId(i), ts, user, assistant, usage, entryTs: [ts, ts + 500, reply, reply, reply] }
}

/** Session i as the JSONL peer's 5 entries (one line each), same content as chainlog's. */
export function smallSessionJsonl(i) {
  const s = smallSession(i)
  const [t0, t1, t2, t3, t4] = s.entryTs
  return {
    id: s.id,
    entries: [
      { type: 'SessionStart', ts: t0, sessionId: s.id },
      { type: 'UserInput', ts: t1, item: s.user },
      { type: 'AssistantItem', ts: t2, item: s.assistant },
      { type: 'Usage', ts: t3, usage: s.usage },
      { type: 'TurnEnd', ts: t4, turn: 1 },
    ],
  }
}
