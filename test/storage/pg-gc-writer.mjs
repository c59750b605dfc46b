// A writer process for pg-gc.test.ts: opens the store (the built dist/) on a shared PostgreSQL
// schema and appends, turn after turn, entries that use blobs another process's gc may be
// sweeping: by a reference it passes (the blob must be stored: the append checks it), or by the
// payload itself (written the first time, skipped after as a blob this process stored). Every
// `perSession` turns it moves to a new session and deletes the old one, so the blobs it knows
// become garbage while it still uses them. A reference to a blob that is gone by then is refused
// (INVALID_ENTRY); the writer then appends the payload, which stores the blob again.
// Prints { t: 'ack', n, session } per acknowledged append, then { t: 'done', gone, session }.
import { openStore } from '../../dist/open.js'

const [url, schema, name, turns, perSession, offset, payloadsJson] = process.argv.slice(2)
const payloads = JSON.parse(payloadsJson) // [{ text, ref }]
const say = (line) => process.stdout.write(JSON.stringify(line) + '\n')
const store = await openStore({ postgres: { connectionString: url, schema, pool: { max: 3 } }, durability: 'relaxed' })
const out = (id, output) => [{ type: 'function_call', call_id: id, name: 'read', arguments: '{}' }, { type: 'function_call_output', call_id: id, output }]
let gone = 0
let session
for (let n = 0; n < Number(turns); n++) {
  if (n % Number(perSession) === 0) {
    const old = session
    session = `${name}-${n}`
    await store.createSession({ sessionId: session, ts: 1 })
    if (old) await store.deleteSession(old)
  }
  const p = payloads[(n + Number(offset)) % payloads.length]
  const byRef = n % 2 === 0
  try {
    await store.appendMany(session, [{ kind: 'tool_results', items: out(`c${n}`, byRef ? p.ref : p.text), ts: 2 + n }])
  } catch (err) {
    if (err?.code !== 'CHAINLOG_INVALID_ENTRY' || !byRef) throw err
    gone++
    await store.appendMany(session, [{ kind: 'tool_results', items: out(`c${n}`, p.text), ts: 2 + n }])
  }
  say({ t: 'ack', n, session })
}
await store.close()
say({ t: 'done', gone, session })
