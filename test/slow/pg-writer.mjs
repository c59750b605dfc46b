// A writer process for pg-processes.test.ts: opens a PgEngine (the built dist/) on a shared
// schema and appends to `sessions` sessions at once, each append a new entry row plus a
// compare-and-set of the session's head, until each session has `appends` of its own. Prints a
// JSON line per acknowledged append ({ t: 'ack', s, n }), after the commit resolved. Refused
// (someone else appended) or unavailable (killed connection, restarting server): read the head
// again and retry. After an unknown outcome the writer first looks whether its entry landed
// (as the store's idempotent retry does): then it is acknowledged, not written again.
import { openPgEngine } from '../../dist/storage/pg-engine.js'
import { PreconditionFailed } from '../../dist/storage/engine.js'

const [url, schema, writer, sessions, appends] = process.argv.slice(2)
const enc = (s) => new TextEncoder().encode(s)
const dec = (b) => new TextDecoder().decode(b)
const say = (line) => process.stdout.write(JSON.stringify(line) + '\n')

const engine = await openPgEngine({ connectionString: url, schema, pool: { max: 3, connectionTimeoutMillis: 2000, application_name: 'chainlog-writer' } })
let refused = 0
let unavailable = 0
await Promise.all(
  Array.from({ length: Number(sessions) }, async (_, s) => {
    const head = enc(`head/${s}`)
    let unsure // { key, n } of an append whose outcome was unknown
    for (let mine = 0; mine < Number(appends); ) {
      const value = `${writer}:${mine}`
      try {
        if (unsure) {
          const landed = await engine.get(unsure.key)
          const n = unsure.n
          unsure = undefined
          if (landed !== undefined && dec(landed) === value) {
            say({ t: 'ack', s, n, v: value, settled: true })
            mine++
            continue
          }
        }
        const raw = await engine.get(head)
        const n = raw === undefined ? 0 : Number(dec(raw))
        const next = n + 1
        const key = enc(`entry/${s}/${String(next).padStart(6, '0')}`)
        try {
          await engine.commit({ ops: [{ type: 'put', key, value: enc(value) }, { type: 'put', key: head, value: enc(String(next)) }], expect: [{ key: head, value: raw }], sync: next % 2 === 0 })
        } catch (err) {
          if (err?.data?.outcome === 'unknown') unsure = { key, n: next }
          throw err
        }
        say({ t: 'ack', s, n: next, v: value })
        mine++
      } catch (err) {
        if (err instanceof PreconditionFailed) refused++
        else if (err?.code === 'CHAINLOG_STORE_UNAVAILABLE') {
          unavailable++
          await new Promise((r) => setTimeout(r, 50))
        } else throw err
      }
    }
  }),
)
await engine.close()
say({ t: 'done', refused, unavailable })
