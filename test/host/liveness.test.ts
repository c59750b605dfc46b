// Calls through the socket never hang (issue 18, item 6): while a call waits, the holder must
// answer something (the call, or a ping) within livenessTimeoutMs, and each call may have a
// deadline (callTimeoutMs); either ends in the retryable CHAINLOG_HOST_UNAVAILABLE. A holder that
// is slow but alive is waited for.
import { mkdtemp, rm } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { ChainlogError, ErrorCodes } from '../../src/errors.js'
import { encodeFrame, onFrames, type Request } from '../../src/host/protocol.js'
import { SharedStore, socketPathFor, type SharedStoreOptions } from '../../src/host/shared-store.js'
import { Store } from '../../src/store.js'
import { Child, stopChildren } from '../support/processes.js'

const HOLDER = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'holder.mjs')
const cleanup: (() => Promise<void> | void)[] = []
const children: Child[] = []
afterEach(async () => {
  await stopChildren(children)
  for (const f of cleanup.splice(0).reverse()) await f()
})

async function tempStoreDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'chainlog-liveness-'))
  cleanup.push(() => rm(d, { recursive: true, force: true }))
  return d
}

/**
 * A stand-in for the holding process on the store's socket: `answer` decides, per request,
 * after how many ms it is answered (undefined: never). Pings are answered the same way.
 */
async function fakeHolder(dir: string, answer: (req: Request) => number | undefined): Promise<{ requests: Request[] }> {
  const requests: Request[] = []
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => undefined)
    onFrames(socket, (f) => {
      const req = f as Request
      requests.push(req)
      const ms = answer(req)
      if (ms === undefined) return
      setTimeout(() => socket.destroyed || socket.write(encodeFrame({ id: req.id, ok: true, value: req.method === 'ping' ? 'pong' : [] })), ms)
    })
  })
  await new Promise<void>((r) => server.listen(socketPathFor(dir), r))
  cleanup.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy()
        server.close(() => r())
      }),
  )
  return { requests }
}

/** A sharing store on `dir` whose own open always finds the store locked (the fake holds it). */
async function sharer(dir: string, options: Partial<SharedStoreOptions>): Promise<SharedStore> {
  const locked = () => Promise.reject(new ChainlogError(ErrorCodes.STORE_LOCKED, 'locked (fake)', {}))
  const s = await SharedStore.open({ path: dir, connectTimeoutMs: 2000, ...options }, locked as (o: unknown) => Promise<Store>)
  cleanup.push(() => s.close())
  return s
}

/** How a promise settled, and when (ms after the start), or 'pending' after `ms`. */
async function settle<T>(p: Promise<T>, ms: number): Promise<{ status: 'fulfilled' | 'rejected' | 'pending'; value?: T; reason?: unknown; after: number }> {
  const start = Date.now()
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<'pending'>((r) => (timer = setTimeout(() => r('pending'), ms)))
  const r = await Promise.race([p.then((value) => ({ status: 'fulfilled' as const, value }), (reason: unknown) => ({ status: 'rejected' as const, reason })), timeout])
  clearTimeout(timer)
  return r === 'pending' ? { status: 'pending', after: Date.now() - start } : { ...r, after: Date.now() - start }
}

function expectUnavailable(reason: unknown, why: string): ChainlogError {
  expect(reason).toBeInstanceOf(ChainlogError)
  const err = reason as ChainlogError
  expect(err.code).toBe(ErrorCodes.HOST_UNAVAILABLE)
  expect(err.data).toMatchObject({ retryable: true, reason: why })
  return err
}

describe('calls through the socket', () => {
  it('a holder that answers nothing: every waiting call fails with HOST_UNAVAILABLE (unresponsive) after livenessTimeoutMs', async () => {
    const dir = await tempStoreDir()
    const fake = await fakeHolder(dir, () => undefined)
    const s = await sharer(dir, { livenessTimeoutMs: 400 })
    const calls: Promise<unknown>[] = [s.listSessions(), s.head('x'), s.verify()]
    for (const c of calls) {
      const r = await settle(c, 5000)
      expect(r.status).toBe('rejected')
      expect(expectUnavailable(r.reason, 'unresponsive').message).toMatch(/did not answer for \d+ ms/)
    }
    // it was pinged before it was given up on
    expect(fake.requests.some((r) => r.method === 'ping')).toBe(true)
  })

  it('a holder that is alive (answers pings) but slow is waited for past livenessTimeoutMs', async () => {
    const dir = await tempStoreDir()
    await fakeHolder(dir, (req) => (req.method === 'ping' ? 0 : 1500))
    const s = await sharer(dir, { livenessTimeoutMs: 300 })
    const r = await settle(s.listSessions(), 5000)
    expect(r.status).toBe('fulfilled')
    expect(r.after).toBeGreaterThanOrEqual(1400)
  })

  it('callTimeoutMs bounds a call even when the holder stays alive', async () => {
    const dir = await tempStoreDir()
    await fakeHolder(dir, (req) => (req.method === 'ping' ? 0 : undefined))
    const s = await sharer(dir, { livenessTimeoutMs: 300, callTimeoutMs: 800 })
    const r = await settle(s.listSessions(), 5000)
    expect(r.status).toBe('rejected')
    expect(expectUnavailable(r.reason, 'deadline').message).toContain('800 ms')
    expect(r.after).toBeGreaterThanOrEqual(750)
    expect(r.after).toBeLessThan(3000)
  })

  it('a process whose event loop is blocked while it holds the store: calls fail with HOST_UNAVAILABLE instead of hanging', async () => {
    const dir = join(await tempStoreDir(), 'store')
    const holder = new Child(HOLDER, [dir])
    children.push(holder)
    expect((await holder.waitFor((l) => l.t === 'host' || l.t === 'client')).t).toBe('host')
    holder.send('create s1')
    const { head } = (await holder.waitFor((l) => l.t === 'created')) as unknown as { head: string }
    const s = await SharedStore.open({ path: dir, livenessTimeoutMs: 600, connectTimeoutMs: 2000 }, (o) => Store.open(o))
    cleanup.push(() => s.close())
    expect(s.isHost).toBe(false)
    expect(await s.head('s1')).toBe(head)

    holder.send('block')
    await holder.waitFor((l) => l.t === 'blocked')
    const first = await settle(s.appendTurn('s1', [{ role: 'user', content: 'hello?' }], { expectedHead: head, ts: 1 }), 10_000)
    expect(first.status).toBe('rejected')
    expectUnavailable(first.reason, 'unresponsive')
    expect(first.after).toBeLessThan(5000)
    // the next call meets the same stuck holder (it still holds the lock): again an error, not a hang
    const second = await settle(s.listSessions(), 10_000)
    expect(second.status).toBe('rejected')
    expectUnavailable(second.reason, 'unresponsive')

    // once the stuck process is gone, the retry takes the store over and lands
    holder.proc.kill('SIGKILL')
    await holder.exited
    const retry = await s.appendTurn('s1', [{ role: 'user', content: 'hello?' }], { expectedHead: head, ts: 1 })
    expect(s.isHost).toBe(true)
    expect(retry.entries[0]!.seq).toBe(1)
  }, 30_000)
})
