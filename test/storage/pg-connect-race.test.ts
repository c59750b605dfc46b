// A connection the server ends right after it let the client in, before the engine runs anything
// on it (pg_terminate_backend, a restart, an idle-session timeout). pg parses every message of a
// read in one go: when "ready for query" and the server's FATAL arrive together, pg-pool hands
// the new connection over (and takes its own 'error' listener off it) on the first message, and
// pg emits the FATAL as an 'error' event on the second, before the engine's code has run to put
// a listener on it. Unhandled, that event ends the process: one of the writers of
// test/slow/pg-store-processes.test.ts died of it while the test terminated their backends.
import pg from 'pg'
import { expect, it } from 'vitest'
import { openPgEngine } from '../../src/storage/pg-engine.js'
import { pgClusterForFile } from '../support/pg-file.js'

const pgf = pgClusterForFile()
const enc = (s: string) => new TextEncoder().encode(s)

/** Block this thread (the event loop with it) for `ms`. */
const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)

it('a connection the server ends as it lets the client in does not crash the process: the read goes to another connection', async () => {
  // The next connection made is "armed": the server ends it 1 ms after it is ready (an idle
  // session timeout), and this process does not read its socket until 300 ms after sending the
  // startup message, so "ready for query" and the FATAL arrive in one read.
  let armed = false
  class LateReader extends pg.Client {
    constructor(config?: pg.ClientConfig) {
      const arm = armed
      armed = false
      super(arm ? { ...config, options: '-c idle_session_timeout=1' } : config)
      // Once every 'connect' listener has run, pg's own (which sends the startup message) among them.
      const con = (this as unknown as { connection: { once(ev: string, fn: () => void): void } }).connection
      if (arm) con.once('connect', () => process.nextTick(() => sleepSync(300)))
    }
  }
  const uncaught: unknown[] = []
  const onUncaught = (err: unknown) => uncaught.push(err)
  process.on('uncaughtException', onUncaught)
  const engine = await openPgEngine({ connectionString: pgf.cluster.connectionString, schema: 'late', pool: { max: 1, Client: LateReader } })
  try {
    await engine.commit({ ops: [{ type: 'put', key: enc('k'), value: enc('v') }] })
    // Close the one pooled connection, so that the read needs a new one.
    await pgf.admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'chainlog'")
    while (engine.stats.idleErrors === 0) await new Promise((r) => setTimeout(r, 10))
    armed = true
    const got = await engine.get(enc('k'))
    expect(armed, 'the read made a new connection').toBe(false)
    expect(uncaught).toEqual([])
    expect(got && new TextDecoder().decode(got)).toBe('v')
    expect(engine.stats.retries).toBeGreaterThanOrEqual(1)
  } finally {
    process.off('uncaughtException', onUncaught)
    await engine.close()
  }
})
