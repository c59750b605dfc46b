// PgEngine with real processes: 8 writer processes append to the same 4 sessions at once, each
// append a compare-and-set of the session's head (test/slow/pg-writer.mjs), while the test
// SIGKILLs writers, terminates their backends and restarts the server. Afterwards every
// session's entries are exactly 1..head with no gap and no duplicate, and every append a writer
// acknowledged is there with its value: nothing acknowledged was lost, nothing interleaved.
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { expect, it } from 'vitest'
import { openPgEngine } from '../../src/storage/pg-engine.js'
import { Child } from '../support/processes.js'
import { pgClusterForFile } from '../support/pg-file.js'

const WRITER = fileURLToPath(new URL('./pg-writer.mjs', import.meta.url))
const SESSIONS = 4
const APPENDS = 40 // per writer and session
const dec = (b: Uint8Array) => new TextDecoder().decode(b)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const children: Child[] = []
const pgf = pgClusterForFile({ children })

it('8 processes x 4 sessions with compare-and-set, writers SIGKILLed, backends terminated, a server restart: no acknowledged append lost, no gap, no duplicate', async () => {
  const cluster = pgf.cluster
  const schema = 'procs'
  const start = (id: string) => {
    const c = new Child(WRITER, [cluster.connectionString, schema, id, String(SESSIONS), String(APPENDS)], { name: `writer ${id}`, stdin: 'ignore' })
    children.push(c)
    return c
  }
  // Create the schema first, so the writers race on appends and not (only) on the first open.
  await (await openPgEngine({ connectionString: cluster.connectionString, schema })).close()
  const writers = Array.from({ length: 8 }, (_, i) => start(`w${i}`))
  const admin = new pg.Pool({ connectionString: cluster.connectionString, max: 1 })
  admin.on('error', () => undefined)
  const acks = () => children.flatMap((c) => c.lines.filter((l) => l.t === 'ack'))

  // Let them get going, then: kill two writers, terminate backends twice, restart the server once.
  const progress = async (n: number) => {
    while (acks().length < n) await sleep(20)
  }
  await progress(100)
  writers[1]!.proc.kill('SIGKILL')
  await progress(200)
  for (let i = 0; i < 2; i++) {
    await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'chainlog-writer'")
    await progress(acks().length + 60)
  }
  writers[5]!.proc.kill('SIGKILL')
  cluster.restart()
  await admin.end()

  const survivors = writers.filter((_, i) => i !== 1 && i !== 5)
  const ends = await Promise.all(survivors.map((c) => c.exited))
  for (const [i, e] of ends.entries()) expect(e.code, `${survivors[i]!.name}: ${survivors[i]!.stderr}`).toBe(0)
  for (const c of survivors) expect(c.lines.at(-1)?.t).toBe('done')

  const engine = await openPgEngine({ connectionString: cluster.connectionString, schema })
  const enc = (s: string) => new TextEncoder().encode(s)
  let total = 0
  for (let s = 0; s < SESSIONS; s++) {
    const head = Number(dec((await engine.get(enc(`head/${s}`)))!))
    const entries: [number, string][] = []
    for await (const rows of engine.scan({ gte: enc(`entry/${s}/`), lt: enc(`entry/${s}0`) }, 500)) for (const [k, v] of rows) entries.push([Number(dec(k).split('/')[2]), dec(v)])
    // Exactly 1..head: no gap, no duplicate, nothing past the head.
    expect(entries.map(([n]) => n)).toEqual(Array.from({ length: head }, (_, i) => i + 1))
    // Every acknowledged append is there, with its own value.
    const byN = new Map(entries)
    for (const a of acks().filter((l) => l.s === s)) expect(byN.get(a.n as number), `session ${s} entry ${a.n}`).toBe(a.v)
    // No value landed twice: after an unknown outcome a writer looks before it writes again.
    expect(new Set(entries.map(([, v]) => v)).size).toBe(entries.length)
    // The survivors finished all of theirs.
    for (const c of survivors) {
      const id = c.name.split(' ')[1]
      expect(entries.filter(([, v]) => v.startsWith(`${id}:`)).length, `${c.name} in session ${s}`).toBeGreaterThanOrEqual(APPENDS)
    }
    total += head
  }
  await engine.close()
  const stats = survivors.map((c) => c.lines.at(-1))
  const settled = acks().filter((l) => l.settled).length
  console.log(`pg processes: ${total} appends landed, ${acks().length} acknowledged (${settled} after an unknown outcome); refused ${stats.reduce((a, l) => a + (l!.refused as number), 0)}, unavailable ${stats.reduce((a, l) => a + (l!.unavailable as number), 0)}`)
  expect(acks().length).toBeLessThanOrEqual(total)
})
