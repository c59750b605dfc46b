// One store directory, several processes. Four writer processes (fixtures/writer.mjs, running
// the built package) append turns at once to the SAME session and to a session of their own;
// the first to open holds the store and the others forward to it; when the holder finishes and
// closes, another takes over. Afterwards every acknowledged turn is in its session exactly
// once, at the seq and with the hashes the writer was told, the two entries of every turn are
// adjacent, no turn is there twice, and every chain verifies. Also: the CLI verifies a store
// another process holds; and calls in flight when the holding process is killed fail with the
// retryable CHAINLOG_HOST_UNAVAILABLE, and a retry makes the caller the holder.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ChainlogError, ErrorCodes } from '../../src/errors.js'
import { SharedStore } from '../../src/host/shared-store.js'
import type { StoredEntry } from '../../src/storage/session-store.js'
import { openStore, type ChainlogStore } from '../../src/open.js'
import { Child, replyText, stopChildren, userText, type Ack } from '../support/processes.js'
import { entriesOf } from '../support/stores.js'

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '../..')
const WRITER = join(here, 'fixtures', 'writer.mjs')
const HOLDER = join(here, 'fixtures', 'holder.mjs')
const CLI = join(root, 'dist', 'cli', 'main.js')

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chainlog-mp-'))
})
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

// ---- child processes ------------------------------------------------------------------------

const children: Child[] = []
function start(script: string, args: string[]): Child {
  const c = new Child(script, args)
  children.push(c)
  return c
}
afterEach(() => stopChildren(children))

// ---- checking a store against what the writers were told --------------------------------------

/**
 * Every acknowledged turn is where its writer was told, once; every turn in the store (acked
 * or not) is whole and adjacent and there once; every chain verifies. Returns the entries.
 */
async function checkStore(store: ChainlogStore, acks: Ack[]): Promise<Map<string, StoredEntry[]>> {
  const sessions = new Map<string, StoredEntry[]>()
  for (const s of await store.listSessions()) sessions.set(s.sessionId, await entriesOf(store, s.sessionId))
  for (const [sessionId, entries] of sessions) {
    const seen = new Map<string, number>()
    for (const [i, e] of entries.entries()) {
      expect(e.seq).toBe(i)
      if (i === 0) {
        expect(e.entry.kind).toBe('session_start')
        continue
      }
      const tag = userText(e)
      if (tag !== undefined) {
        // A user message is followed at once by the reply of the same turn.
        expect(replyText(entries[i + 1]), `reply after ${tag} in ${sessionId}`).toBe(`reply to ${tag}`)
        expect(seen.has(tag), `${tag} twice in ${sessionId}`).toBe(false)
        seen.set(tag, i)
      } else {
        // A reply is preceded at once by its user message.
        const reply = replyText(e)
        expect(reply, `entry ${i} of ${sessionId}`).toBeDefined()
        expect(`reply to ${userText(entries[i - 1]!)}`).toBe(reply)
      }
    }
  }
  const ackedTags = new Set<string>()
  for (const a of acks) {
    expect(ackedTags.has(a.tag), `${a.tag} acknowledged twice`).toBe(false)
    ackedTags.add(a.tag)
    const entries = sessions.get(a.session)
    expect(entries, `session ${a.session}`).toBeDefined()
    expect(a.seqs).toEqual([a.seqs[0]!, a.seqs[0]! + 1])
    expect(entries!.slice(a.seqs[0], a.seqs[0]! + 2).map((e) => e.hash)).toEqual(a.hashes)
    expect(userText(entries![a.seqs[0]!]!)).toBe(a.tag)
  }
  const report = await store.verify()
  expect(report.findings).toEqual([])
  expect(report.ok).toBe(true)
  return sessions
}

function acksOf(c: Child): Ack[] {
  return c.lines.filter((l) => l.t === 'ack') as unknown as Ack[]
}

// ---- the tests ---------------------------------------------------------------------------------

describe('several processes on one store', () => {
  it('4 processes append turns to one shared session and their own: every ack lands once, turns stay whole, chains verify', async () => {
    const store = join(dir, 'four')
    const setup = await openStore({ path: store, exclusive: true })
    await setup.createSession({ sessionId: 'shared', systemPrompt: 'one session, four writers' })
    await setup.close()

    const TURNS = 20
    const names = ['w0', 'w1', 'w2', 'w3']
    // All open the store first, then start writing at the same moment.
    const startAt = String(Date.now() + 6000)
    const writers = names.map((n) => start(WRITER, [store, n, 'shared', String(TURNS), 'sync', startAt]))
    const exits = await Promise.all(writers.map((w) => w.exited))
    for (const [i, e] of exits.entries()) expect(e, writers[i]!.stderr).toEqual({ code: 0, signal: null })
    for (const w of writers) await w.waitFor((l) => l.t === 'done', 1)

    // The writers shared the store: one held it at a time, the others forwarded.
    // (A writer says "host" as soon as it is open if it holds the store.)
    const hosts = writers.flatMap((w) => w.lines.filter((l) => l.t === 'host'))
    expect(hosts.length).toBeGreaterThanOrEqual(1)
    // Normally three open as clients; on a very loaded machine a writer may start so late that
    // the first holder has finished and closed, and it then holds the store itself.
    const openedAsClient = writers.filter((w) => w.lines[0]?.t !== 'host')
    expect(openedAsClient.length).toBeGreaterThanOrEqual(1)
    // They really raced on the shared session.
    const conflicts = writers.reduce((n, w) => n + ((w.lines.find((l) => l.t === 'done')!.retries as { conflict: number }).conflict ?? 0), 0)
    expect(conflicts).toBeGreaterThan(0)

    const acks = writers.flatMap(acksOf)
    expect(acks).toHaveLength(names.length * TURNS * 2)
    const check = await openStore({ path: store, exclusive: true })
    try {
      const sessions = await checkStore(check, acks)
      expect(sessions.get('shared')).toHaveLength(1 + names.length * TURNS * 2)
      for (const n of names) expect(sessions.get(`${n}-own`)).toHaveLength(1 + TURNS * 2)
      // Each writer's own turns are in its order.
      for (const n of names) {
        const tags = sessions.get(`${n}-own`)!.map(userText).filter((t) => t !== undefined)
        expect(tags).toEqual([...Array(TURNS).keys()].map((k) => `${n} turn ${k} own`))
      }
    } finally {
      await check.close()
    }
  }, 90_000)

  it('`chainlog verify --all` exits 0 while another process holds the store', async () => {
    const store = join(dir, 'cli')
    const holder = start(HOLDER, [store])
    expect((await holder.waitFor((l) => l.t === 'host' || l.t === 'client')).t).toBe('host')
    holder.send('create held-1')
    await holder.waitFor((l) => l.t === 'created')
    expect(existsSync(CLI), `${CLI} is missing: the CLI has not been built`).toBe(true)
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((res) => {
      const p = spawn(process.execPath, [CLI, '--store', store, 'verify', '--all'], { stdio: ['ignore', 'pipe', 'pipe'] })
      let stdout = ''
      let stderr = ''
      p.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
      p.on('close', (code) => res({ code, stdout, stderr }))
    })
    expect(run.code, `stdout: ${run.stdout}\nstderr: ${run.stderr}`).toBe(0)
    expect(run.stdout).toMatch(/checked 1 session/)
    // The holder is still the holder and still serves.
    expect(holder.proc.exitCode).toBe(null)
    holder.send('create held-2')
    await holder.waitFor((l) => l.t === 'created' && l.sessionId === 'held-2')
  }, 60_000)

  it('calls in flight when the holding process is killed fail with retryable HOST_UNAVAILABLE; the retry lands once and takes the store over', async () => {
    const store = join(dir, 'killed')
    const holder = start(HOLDER, [store])
    expect((await holder.waitFor((l) => l.t === 'host' || l.t === 'client')).t).toBe('host')
    holder.send('create victim')
    const { head } = (await holder.waitFor((l) => l.t === 'created')) as unknown as { head: string }
    const client = (await openStore({ path: store, durability: 'sync' })) as SharedStore
    try {
      expect(client).toBeInstanceOf(SharedStore)
      expect(client.isHost).toBe(false)
      expect(await client.head('victim')).toBe(head)

      holder.send('block')
      await holder.waitFor((l) => l.t === 'blocked')
      const turn = [
        { role: 'user', content: 'in flight' },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'reply to in flight' }] },
      ]
      const opts = { expectedHead: head, ts: 1_700_000_000_001 }
      // Nobody reads these: the holder's event loop is stuck.
      const inFlight = Promise.allSettled([client.appendTurn('victim', turn, opts), client.listSessions(), client.verify()])
      await new Promise((r) => setTimeout(r, 100))
      holder.proc.kill('SIGKILL')
      expect((await holder.exited).signal).toBe('SIGKILL')
      const outcomes = await inFlight
      for (const o of outcomes) {
        expect(o.status).toBe('rejected')
        const err = (o as PromiseRejectedResult).reason as ChainlogError
        expect(err).toBeInstanceOf(ChainlogError)
        expect(err.code).toBe(ErrorCodes.HOST_UNAVAILABLE)
        expect(err.data.retryable).toBe(true)
      }
      // The retry: the same call. This process takes the store over (the lock died with the holder).
      const r = await client.appendTurn('victim', turn, opts)
      expect(client.isHost).toBe(true)
      const again = await client.appendTurn('victim', turn, opts)
      expect(again.entries).toEqual(r.entries)
      const entries = await entriesOf(client, 'victim')
      expect(entries.map((e) => e.hash)).toEqual([head, ...r.entries.map((e) => e.hash)])
      expect((await client.verify()).ok).toBe(true)
    } finally {
      await client.close()
    }
  }, 60_000)
})
