// The store (the public API) on PostgreSQL with real processes: 8 writer processes append whole
// turns to the same 4 sessions at once, each `appendTurn` a compare-and-set on the head it read,
// retried after an unknown outcome with the same call (test/slow/pg-store-writer.mjs), while the
// test SIGKILLs two writers, terminates the writers' backends twice, restarts the server, and
// stops it at once (a crash) for 3 s.
// Afterwards the store verifies, every session is seq 0..head with no gap, every turn is its six
// entries in a row (none split or interleaved with another's) with the right turn count, every
// acknowledged turn is there exactly once with the hashes and seqs its writer was told, no turn
// landed twice, and the usage ledger is exactly the sum of the llm_usage entries in the chains.
// pg-processes.test.ts is the same race one level down, on the engine alone.
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { expect, it } from 'vitest'
import { openStore } from '../../src/open.js'
import type { Store } from '../../src/store.js'
import type { StoredEntry } from '../../src/storage/session-store.js'
import type { UsageByModel } from '../../src/storage/usage-ledger.js'
import { addUsage, usageOf } from '../../src/state/reducer.js'
import { Child, type Line } from '../support/processes.js'
import { pgClusterForFile } from '../support/pg-file.js'

const WRITER = fileURLToPath(new URL('./pg-store-writer.mjs', import.meta.url))
const WRITERS = 8
const SESSIONS = ['race-0', 'race-1', 'race-2', 'race-3']
const TURNS = 16 // per writer and session
const TURN_KINDS = ['user_input', 'assistant_items', 'tool_results', 'assistant_items', 'llm_usage', 'turn_end']
const TAG = /\bw\d+\/\d+\/\d+\b/g
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const children: Child[] = []
const pgf = pgClusterForFile({ children })

/** The tags an entry's content names (the turn_end names none). */
function tagsOf(e: StoredEntry): Set<string> {
  return new Set(JSON.stringify(e.entry).match(TAG) ?? [])
}

it('8 processes x 4 sessions appendTurn with compare-and-set, writers SIGKILLed, backends terminated, a server restart: verify ok, no acknowledged turn lost, none split or doubled, usage exact', async () => {
  const cluster = pgf.cluster
  const schema = 'store_procs'
  const open = () => openStore({ postgres: { connectionString: cluster.connectionString, schema, pool: { max: 4 } } })
  // The schema and the sessions first, so that the writers race on appends.
  const setup: Store = await open()
  for (const sessionId of SESSIONS) await setup.createSession({ sessionId, ts: 1 })
  await setup.close()

  const writers = Array.from({ length: WRITERS }, (_, i) => {
    const c = new Child(WRITER, [cluster.connectionString, schema, `w${i}`, SESSIONS.join(','), String(TURNS)], { name: `writer w${i}`, stdin: 'ignore' })
    children.push(c)
    return c
  })
  const acks = (): Line[] => children.flatMap((c) => c.lines.filter((l) => l.t === 'ack'))
  const progress = async (n: number) => {
    while (acks().length < n) {
      if (writers.every((c) => !c.alive)) throw new Error(`every writer stopped before ${n} acks: ${writers.map((c) => c.stderr).join('\n')}`)
      await sleep(20)
    }
  }
  const admin = new pg.Pool({ connectionString: cluster.connectionString, max: 1 })
  admin.on('error', () => undefined)
  const all = WRITERS * SESSIONS.length * TURNS

  // Under way: kill a writer, terminate the writers' backends twice, kill another, restart the server.
  await progress(all * 0.1)
  writers[1]!.proc.kill('SIGKILL')
  // Each time: first the backends caught inside a transaction (an append under way: locks, the
  // head check, the writes or the COMMIT), polled until a few are, then every other one.
  const writerBackends = "application_name = 'chainlog-store-writer' AND pid <> pg_backend_pid()"
  let terminated = 0
  let midTransaction = 0
  for (const at of [0.2, 0.3]) {
    await progress(all * at)
    let caught = 0
    for (let poll = 0; poll < 500 && caught < 3; poll++) {
      const r = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE ${writerBackends} AND xact_start IS NOT NULL`)
      caught += r.rowCount ?? 0
    }
    const rest = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE ${writerBackends}`)
    midTransaction += caught
    terminated += caught + (rest.rowCount ?? 0)
  }
  await progress(all * 0.4)
  writers[5]!.proc.kill('SIGKILL')
  cluster.restart()
  await admin.end()
  // And a crash: the server stopped at once (no shutdown checkpoint, WAL recovery on start) and
  // kept down for longer than a writer asks after a broken COMMIT's fate, so that a COMMIT under
  // way is an unknown outcome, which the writer settles by sending the same call again.
  await progress(all * 0.55)
  cluster.stop('immediate')
  await sleep(3000)
  cluster.start()

  const survivors = writers.filter((_, i) => i !== 1 && i !== 5)
  const ends = await Promise.all(survivors.map((c) => c.exited))
  for (const [i, e] of ends.entries()) expect(e.code, `${survivors[i]!.name}: ${survivors[i]!.stderr}`).toBe(0)
  for (const c of survivors) expect(c.lines.at(-1)?.t, c.name).toBe('done')
  expect(midTransaction).toBeGreaterThan(0)

  const store: Store = await open()
  try {
    const report = await store.verify()
    expect(report.findings, JSON.stringify(report.findings.slice(0, 5))).toEqual([])
    expect(report.ok).toBe(true)

    const byTag = new Map<string, { sessionId: string; seqs: number[]; hashes: string[] }[]>()
    let landed = 0
    for (const [s, sessionId] of SESSIONS.entries()) {
      const entries: StoredEntry[] = []
      for await (const e of store.entries(sessionId)) entries.push(e)
      // seq 0..head, no gap, and the head is the last entry.
      expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i))
      expect(await store.head(sessionId)).toBe(entries.at(-1)!.hash)
      expect((entries.length - 1) % TURN_KINDS.length, `${sessionId}: whole turns only`).toBe(0)

      // Every turn is its six entries in a row, all naming one tag (of this session), counted in order.
      const usage: UsageByModel = {}
      for (let t = 0; t * TURN_KINDS.length + 1 < entries.length; t++) {
        const turn = entries.slice(1 + t * TURN_KINDS.length, 1 + (t + 1) * TURN_KINDS.length)
        expect(turn.map((e) => e.entry.kind), `${sessionId} turn ${t + 1}`).toEqual(TURN_KINDS)
        const tags = new Set(turn.flatMap((e) => [...tagsOf(e)]))
        expect([...tags], `${sessionId} turn ${t + 1} (seq ${turn[0]!.seq}) is one writer's turn`).toHaveLength(1)
        const [tag] = tags as Set<string>
        expect(tag!.split('/')[1], `${tag} in ${sessionId}`).toBe(String(s))
        for (const e of turn.slice(0, 5)) expect(tagsOf(e).has(tag!), `${sessionId} seq ${e.seq} names ${tag}`).toBe(true)
        const end = turn[5]!.entry
        expect(end.kind === 'turn_end' && end.turn, `${sessionId} turn_end at seq ${turn[5]!.seq}`).toBe(t + 1)
        const u = turn[4]!.entry
        if (u.kind === 'llm_usage') addUsage(usage, usageOf(u))
        const seen = byTag.get(tag!) ?? []
        seen.push({ sessionId, seqs: turn.map((e) => e.seq), hashes: turn.map((e) => e.hash) })
        byTag.set(tag!, seen)
        landed++
      }
      // The ledger is exactly what the chain's llm_usage entries add up to.
      expect(await store.usage(sessionId)).toEqual(usage)
    }
    // No turn landed twice (an idempotent retry never wrote again), and every acknowledged turn is
    // there, once, with the entries its writer was told about.
    for (const [tag, seen] of byTag) expect(seen, tag).toHaveLength(1)
    for (const a of acks()) {
      const found = byTag.get(a.tag as string)
      expect(found, `acknowledged ${a.tag as string}`).toBeDefined()
      expect(found![0]).toEqual({ sessionId: SESSIONS[a.s as number], seqs: a.seqs, hashes: a.hashes })
    }
    // A turn sent again after its ack (a lost ack, retried) got the landed result back, not a
    // conflict and not a second copy, though other writers had moved the head meanwhile.
    const resent = children.flatMap((c) => c.lines.filter((l) => l.t === 'resent'))
    expect(resent.length).toBeGreaterThan(0)
    for (const r of resent) {
      const ack = acks().find((a) => a.tag === r.tag)!
      expect({ ...r, t: 'ack' }, `resent ${r.tag as string}`).toEqual({ t: 'ack', s: ack.s, tag: ack.tag, head: ack.head, seqs: ack.seqs, hashes: ack.hashes, idempotent: true })
    }
    // The survivors finished all of theirs.
    for (const c of survivors) {
      const id = c.name.split(' ')[1]
      for (let s = 0; s < SESSIONS.length; s++) for (let n = 0; n < TURNS; n++) expect(byTag.has(`${id}/${s}/${n}`), `${id}/${s}/${n}`).toBe(true)
    }
    const total: UsageByModel = {}
    for (const sessionId of SESSIONS) {
      const u = await store.usage(sessionId)
      for (const [model, t] of Object.entries(u)) {
        const a = (total[model] ??= { calls: 0, inputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, outputTokens: 0, reasoningTokens: 0 })
        for (const k of Object.keys(t) as (keyof typeof t)[]) a[k] += t[k]
      }
    }
    expect(await store.usage()).toEqual(total)

    const stats = survivors.map((c) => c.lines.at(-1)!)
    const sum = (k: string) => stats.reduce((n, l) => n + (l[k] as number), 0)
    console.log(
      `pg store processes: ${landed} turns landed (${landed * TURN_KINDS.length} entries), ${acks().length} acknowledged ` +
        `(${acks().filter((a) => a.afterUnknown).length} after an unknown outcome, ${acks().filter((a) => a.idempotent).length} answered by an idempotent retry), ` +
        `${resent.length} resent after their ack; survivors: ${sum('conflicts')} head conflicts, ${sum('unavailable')} unavailable (${sum('unknown')} unknown outcomes); ` +
        `${terminated} backends terminated (${midTransaction} inside a transaction)`,
    )
    expect(acks().length).toBeLessThanOrEqual(landed)
  } finally {
    await store.close()
  }
})
