// A writer process for pg-gc.test.ts: opens the store (the built dist/) on a shared PostgreSQL
// schema and appends to its own session, turn after turn, entries that use blobs another
// process's gc may be sweeping: by a reference it passes (the blob must be stored: the append
// only checks it), or by the payload itself (written the first time, skipped as known after).
// A reference to a blob that is gone by then is refused (INVALID_ENTRY); the writer then appends
// the payload, which stores the blob again. Prints { t: 'ack', n, blob } per acknowledged append.
import { openStore } from '../../dist/open.js'

const [url, schema, sessionId, turns, payloadsJson] = process.argv.slice(2)
const payloads = JSON.parse(payloadsJson) // [{ text, ref }]
const say = (line) => process.stdout.write(JSON.stringify(line) + '\n')
const store = await openStore({ postgres: { connectionString: url, schema, pool: { max: 3 } }, durability: 'relaxed' })
await store.createSession({ sessionId, ts: 1 })
const out = (id, output) => [{ type: 'function_call', call_id: id, name: 'read', arguments: '{}' }, { type: 'function_call_output', call_id: id, output }]
let gone = 0
for (let n = 0; n < Number(turns); n++) {
  const p = payloads[n % payloads.length]
  const byRef = n % 2 === 0
  try {
    await store.appendMany(sessionId, [{ kind: 'tool_results', items: out(`c${n}`, byRef ? p.ref : p.text), ts: 2 + n }])
  } catch (err) {
    if (err?.code !== 'CHAINLOG_INVALID_ENTRY' || !byRef) throw err
    gone++
    await store.appendMany(sessionId, [{ kind: 'tool_results', items: out(`c${n}`, p.text), ts: 2 + n }])
  }
  say({ t: 'ack', n, blob: p.ref.$blob })
}
await store.close()
say({ t: 'done', gone })
