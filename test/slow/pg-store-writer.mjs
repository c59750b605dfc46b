// A writer process for pg-store-processes.test.ts: opens the store (the built dist/, the public
// API) on a shared PostgreSQL schema and appends whole turns to several sessions at once, each
// `appendTurn` a compare-and-set on the head it read (`expectedHead`) with a fixed `ts`, until
// each session has `turns` turns of its own. A turn is a user message, a tool call, its output
// (every 4th one 6 KB, the same bytes in every writer, so a blob that several writers store at
// once), a reply, an llm_usage entry and a turn_end, every item carrying the turn's tag
// `<writer>/<session>/<n>`. Prints a JSON line per acknowledged turn, only after the call
// resolved: { t: 'ack', s, tag, head, seqs, hashes, idempotent, afterUnknown }.
//
// CHAINLOG_HEAD_CONFLICT (another writer appended first): read the head again and append the
// same turn after it. CHAINLOG_STORE_UNAVAILABLE (a killed connection, a restarting server; the
// outcome may be unknown): send the very same call again, same expectedHead and ts: if the turn
// landed, the store's idempotent retry answers with the landed result; if it did not, the call
// appends it (or gets a conflict, and the turn goes after the new head). Anything else is a bug:
// the writer exits non-zero. And every third turn, once acknowledged, is sent again exactly as
// it was (an ack lost on the way back, as a runtime would see it), while the others keep moving
// the head: { t: 'resent', tag, head, seqs, hashes, idempotent } or { t: 'resent', tag, error }.
import { openStore } from '../../dist/index.js'

const [url, schema, writer, sessionList, turns] = process.argv.slice(2)
const sessions = sessionList.split(',')
const say = (line) => process.stdout.write(JSON.stringify(line) + '\n')
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
// The same 6 KB in every writer: above the 4 KB blob threshold, stored once, referenced by many.
const SHARED_OUTPUT = Array.from({ length: 6144 }, (_, i) => String.fromCharCode(97 + ((i * 7) % 26))).join('')

const store = await openStore({
  postgres: { connectionString: url, schema, pool: { max: 3, connectionTimeoutMillis: 2000, application_name: 'chainlog-store-writer' } },
  durability: 'sync',
})
const counts = { conflicts: 0, unavailable: 0, unknown: 0, idempotent: 0 }

/** Run `fn` until it does not fail with CHAINLOG_STORE_UNAVAILABLE. */
async function available(fn) {
  for (;;) {
    try {
      return await fn()
    } catch (err) {
      if (err?.code !== 'CHAINLOG_STORE_UNAVAILABLE') throw err
      counts.unavailable++
      await sleep(50)
    }
  }
}

/** The items of one turn; every one names the tag, so the test can tell whose entry it is. */
function turnItems(tag, n) {
  const callId = `call-${tag}`
  return [
    { role: 'user', content: `question ${tag}` },
    { type: 'function_call', call_id: callId, name: 'lookup', arguments: JSON.stringify({ tag }) },
    { type: 'function_call_output', call_id: callId, output: n % 4 === 0 ? `${tag}\n${SHARED_OUTPUT}` : `result ${tag}` },
    { role: 'assistant', content: [{ type: 'output_text', text: `answer ${tag}` }] },
  ]
}

function usageOf(n) {
  return { historyLength: 4 * (n + 1), model: n % 2 ? 'model-a' : 'model-b', inputTokens: 100 + n, cacheReadTokens: n, cacheWriteTokens: 1, outputTokens: 10 + (n % 7), reasoningTokens: n % 3 }
}

const landed = (r) => ({ head: r.head, seqs: r.entries.map((e) => e.seq), hashes: r.entries.map((e) => e.hash), idempotent: r.idempotent === true })

await Promise.all(
  sessions.map(async (sessionId, s) => {
    for (let n = 0; n < Number(turns); n++) {
      const tag = `${writer}/${s}/${n}`
      const items = turnItems(tag, n)
      const usage = { ...usageOf(n), details: { requestId: tag } }
      const ts = Date.now() // fixed for every retry of this turn: the same entries give the same hashes
      let expectedHead = await available(() => store.head(sessionId))
      let afterUnknown = false
      let options
      for (;;) {
        options = { expectedHead, ts, usage, turnEnd: true }
        try {
          const r = await store.appendTurn(sessionId, items, options)
          if (r.idempotent) counts.idempotent++
          say({ t: 'ack', s, tag, ...landed(r), afterUnknown })
          break
        } catch (err) {
          if (err?.code === 'CHAINLOG_HEAD_CONFLICT') {
            counts.conflicts++
            afterUnknown = false
            expectedHead = await available(() => store.head(sessionId))
          } else if (err?.code === 'CHAINLOG_STORE_UNAVAILABLE') {
            counts.unavailable++
            if (err.data?.outcome === 'unknown') {
              counts.unknown++
              afterUnknown = true
            }
            await sleep(50)
          } else throw err
        }
      }
      if (n % 3 === 1) {
        try {
          const again = await available(() => store.appendTurn(sessionId, items, options))
          say({ t: 'resent', s, tag, ...landed(again) })
        } catch (err) {
          say({ t: 'resent', s, tag, error: err?.code ?? String(err) })
        }
      }
    }
  }),
)
await store.close()
say({ t: 'done', ...counts })
