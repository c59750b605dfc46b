// Failover under SIGKILL: the process that holds a shared store is killed mid-run, again and
// again. Each round starts a holder (fixtures/writer.mjs appending until killed) and three
// writers (appending a fixed number of turns to one shared session and to their own), all on
// one store directory with durability 'sync'. At a random moment the parent SIGKILLs whichever
// process holds the store (each child prints when it becomes the holder); in most rounds it
// then kills the writer that took over, too. The remaining writers must carry on through the
// retryable errors and finish. After every round, with every process gone: every append any
// process ever saw acknowledged is in the store at its seq with its hashes, no turn is there
// twice or torn apart, and the whole store verifies.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { StoredEntry } from '../../src/storage/session-store.js'
import { type Store } from '../../src/store.js'
import { openStore } from '../../src/open.js'
import { Child, replyText, stopChildren, userText, type Ack, type Line } from '../support/processes.js'
import { entriesOf } from '../support/stores.js'

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '../..')
const WRITER = join(root, 'test', 'host', 'fixtures', 'writer.mjs')

const ROUNDS = Number(process.env.CHAINLOG_FAILOVER_ROUNDS ?? 10)
const WRITERS = 3
const TURNS = 20

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chainlog-failover-'))
})
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const between = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1))

/** A writer (fixtures/writer.mjs) that reports every line it prints to `onLine`. */
const writer = (name: string, args: string[], onLine: (c: Child, l: Line) => void) => new Child(WRITER, args, { name, stdin: 'ignore', onLine })

const running: Child[] = []
afterEach(() => stopChildren(running))

/** The store against every ack ever printed; every turn whole and there once; verify ok. */
async function check(store: Store, acks: Ack[], round: number): Promise<Map<string, StoredEntry[]>> {
  const sessions = new Map<string, StoredEntry[]>()
  for (const s of await store.listSessions()) sessions.set(s.sessionId, await entriesOf(store, s.sessionId))
  for (const [sessionId, entries] of sessions) {
    const seen = new Set<string>()
    for (const [i, e] of entries.entries()) {
      expect(e.seq).toBe(i)
      if (i === 0) continue
      const tag = userText(e)
      if (tag !== undefined) {
        expect(replyText(entries[i + 1]), `round ${round}: the reply after "${tag}" in ${sessionId}`).toBe(`reply to ${tag}`)
        expect(seen.has(tag), `round ${round}: "${tag}" twice in ${sessionId}`).toBe(false)
        seen.add(tag)
      } else {
        expect(replyText(e), `round ${round}: entry ${i} of ${sessionId}`).toBe(`reply to ${userText(entries[i - 1])}`)
      }
    }
  }
  for (const a of acks) {
    const entries = sessions.get(a.session)
    expect(entries, `round ${round}: session ${a.session} of an ack`).toBeDefined()
    expect(entries!.slice(a.seqs[0], a.seqs[0]! + 2).map((e) => e.hash), `round ${round}: acked "${a.tag}"`).toEqual(a.hashes)
    expect(userText(entries![a.seqs[0]!])).toBe(a.tag)
  }
  const report = await store.verify()
  expect(report.findings, `round ${round}`).toEqual([])
  expect(report.ok).toBe(true)
  return sessions
}

describe('failover when the holding process is killed', () => {
  it(`${ROUNDS} rounds: the holder is SIGKILLed mid-run, writers carry on, every acknowledged append survives, the store verifies`, async () => {
    const store = join(dir, 'store')
    const setup = await openStore({ path: store, exclusive: true })
    await setup.createSession({ sessionId: 'shared', systemPrompt: 'many writers, dying holders' })
    await setup.close()

    const allAcks: Ack[] = []
    let kills = 0
    let takeovers = 0
    let unavailable = 0
    let midRun = 0
    /** Until the writers have `n` acks between them (or all have exited). */
    const waitForAcks = (writers: Child[], n: number) =>
      new Promise<void>((res) => {
        const tick = () => {
          const acked = writers.reduce((k, c) => k + c.lines.filter((l) => l.t === 'ack').length, 0)
          if (acked >= n || writers.every((c) => !c.alive)) res()
          else setTimeout(tick, 2)
        }
        tick()
      })
    for (let round = 0; round < ROUNDS; round++) {
      // Whoever said "host" last (and is alive) holds the store.
      let holder: Child | undefined
      const hostWaiters: ((c: Child) => void)[] = []
      const onLine = (c: Child, l: Line) => {
        if (l.t !== 'host') return
        holder = c
        for (const w of hostWaiters.splice(0)) w(c)
      }
      const allDone = () => Promise.all(writers.map((w) => w.exited)).then(() => undefined)
      /** The next process to say "host", or undefined if every writer finished first. */
      const nextHost = (orAllDone = true) => {
        let t: NodeJS.Timeout | undefined
        const p = new Promise<Child>((res, rej) => {
          t = setTimeout(() => rej(new Error(`round ${round}: nobody took the store over`)), 20_000)
          hostWaiters.push((c) => {
            clearTimeout(t)
            res(c)
          })
        })
        return Promise.race(orAllDone ? [p, allDone()] : [p]).finally(() => clearTimeout(t))
      }

      const writers: Child[] = []
      const first = nextHost(false)
      const h = writer(`r${round}-h`, [store, `r${round}-h`, 'shared', '-1', 'sync'], onLine)
      running.push(h)
      expect(await first).toBe(h)
      for (let i = 0; i < WRITERS; i++) {
        const w = writer(`r${round}-w${i}`, [store, `r${round}-w${i}`, 'shared', String(TURNS), 'sync'], onLine)
        running.push(w)
        writers.push(w)
      }
      // Let the writers get going, then kill the holder at a random moment.
      // A random moment mid-run: after a random number of the writers' turns were acknowledged
      // (at most half of them), plus a random delay.
      await waitForAcks(writers, between(WRITERS, WRITERS * TURNS))
      await sleep(between(0, 50))
      let taken = nextHost()
      expect(holder).toBe(h)
      if (writers.some((w) => w.alive)) midRun++
      h.proc.kill('SIGKILL')
      kills++
      await h.exited
      const w = await taken
      if (w) takeovers++
      // In most rounds, also kill the writer that took over, at a random moment.
      if (w && round % 4 !== 3) {
        const acked = writers.reduce((n, x) => n + x.lines.filter((l) => l.t === 'ack').length, 0)
        await waitForAcks(writers, acked + between(0, 10))
        if (w.alive && holder === w) {
          taken = nextHost()
          w.proc.kill('SIGKILL')
          kills++
          await w.exited
          if (await taken) takeovers++
        }
      }
      const exits = await Promise.all(writers.map((w) => w.exited))
      running.splice(0)
      for (const [i, w] of writers.entries()) {
        const e = exits[i]!
        if (e.signal === 'SIGKILL') continue
        // A writer that was not killed finished all its turns.
        expect(e, `round ${round} ${w.name}: ${w.stderr}`).toEqual({ code: 0, signal: null })
        const done = w.lines.find((l) => l.t === 'done')
        expect(done, `${w.name} finished`).toBeDefined()
        unavailable += (done!.retries as { unavailable: number }).unavailable
        expect(w.lines.filter((l) => l.t === 'ack')).toHaveLength(TURNS * 2)
      }
      expect(exits.filter((e) => e.signal !== 'SIGKILL').length).toBeGreaterThanOrEqual(WRITERS - 1)
      for (const c of [h, ...writers]) allAcks.push(...(c.lines.filter((l) => l.t === 'ack') as unknown as Ack[]))

      const s = await openStore({ path: store, exclusive: true })
      try {
        await check(s, allAcks, round)
      } finally {
        await s.close()
      }
    }
    // The holder died while writers were still writing, and one of them took over.
    expect(midRun).toBe(ROUNDS)
    expect(kills).toBeGreaterThanOrEqual(ROUNDS)
    expect(takeovers).toBeGreaterThanOrEqual(ROUNDS)
    // Calls were caught in flight by the kills and retried.
    expect(unavailable).toBeGreaterThan(0)
    console.log(`failover: ${ROUNDS} rounds, ${kills} kills (${midRun} mid-run), ${takeovers} takeovers, ${allAcks.length} acknowledged turns, ${unavailable} HOST_UNAVAILABLE retries`)
  }, 170_000)
})
