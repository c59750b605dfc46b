// A store directory held exclusively is locked: a second process, or a second open in this
// process, gets CHAINLOG_STORE_LOCKED, and the lock goes away with the process that held it
// (even killed). (Opening by path without `exclusive` shares a store with the process holding
// it; an exclusive holder does not share, so such an opener gives up with the same code.)
// The child processes run the built package (dist/index.js); it is built here if missing.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { ChainlogError, ErrorCodes } from '../../src/errors.js'
import { type Store } from '../../src/store.js'
import { openStore } from '../../src/open.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const dist = join(root, 'dist', 'index.js')
const distUrl = pathToFileURL(dist).href

// Tries to open the store and reports what happened as one JSON line.
const TRY_OPEN = `
const [url, dir] = process.argv.slice(1)
const { openStore, ChainlogError } = await import(url)
try {
  const s = await openStore({ path: dir, exclusive: true })
  await s.close()
  console.log(JSON.stringify({ opened: true }))
} catch (e) {
  console.log(JSON.stringify({ opened: false, name: e.name, code: e.code, typed: e instanceof ChainlogError, message: e.message }))
}
`

// Opens the store, creates a session, says so, then holds the store until killed.
const HOLD_OPEN = `
const [url, dir] = process.argv.slice(1)
const { openStore } = await import(url)
const s = await openStore({ path: dir, exclusive: true })
const { sessionId, head } = await s.createSession({ sessionId: 'from-child' })
console.log(JSON.stringify({ sessionId, head }))
setInterval(() => {}, 1000)
`

function runNode(code: string, args: string[]): ChildProcess {
  return spawn(process.execPath, ['--input-type=module', '-e', code, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolveLine, reject) => {
    let out = ''
    let err = ''
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const nl = out.indexOf('\n')
      if (nl >= 0) resolveLine(out.slice(0, nl))
    })
    child.on('exit', (code) => reject(new Error(`child exited (${code}) before printing a line: ${err}`)))
  })
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((res) => {
    if (child.exitCode !== null || child.signalCode !== null) res()
    else child.once('exit', () => res())
  })
}

describe('a store in use is locked', () => {
  let dir: string
  const stores: Store[] = []
  const children: ChildProcess[] = []

  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
      await exited(c)
    }
    for (const s of stores.splice(0)) await s.close().catch(() => undefined)
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  const fresh = async () => (dir = await mkdtemp(join(tmpdir(), 'chainlog-locked-')))

  it('a second process opening the directory gets CHAINLOG_STORE_LOCKED', async () => {
    await fresh()
    const store = await openStore({ path: dir, exclusive: true })
    stores.push(store)
    await store.createSession({ sessionId: 'held' })
    const child = runNode(TRY_OPEN, [distUrl, dir])
    children.push(child)
    const report = JSON.parse(await firstLine(child)) as Record<string, unknown>
    expect(report).toMatchObject({ opened: false, name: 'ChainlogError', code: ErrorCodes.STORE_LOCKED, typed: true })
    expect(report.message).toContain(dir)
    // The holder is unaffected.
    await store.append('held', { kind: 'cache_unlocked' })
    // Once it closes, the other process can open the store.
    await store.close()
    const again = runNode(TRY_OPEN, [distUrl, dir])
    children.push(again)
    expect(JSON.parse(await firstLine(again))).toEqual({ opened: true })
  })

  it('this process gets CHAINLOG_STORE_LOCKED while another process holds the store; the lock dies with it', async () => {
    await fresh()
    const child = runNode(HOLD_OPEN, [distUrl, dir])
    children.push(child)
    const { head } = JSON.parse(await firstLine(child)) as { head: string }
    let err: unknown
    try {
      stores.push(await openStore({ path: dir, exclusive: true }))
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ChainlogError)
    expect((err as ChainlogError).code).toBe(ErrorCodes.STORE_LOCKED)
    expect((err as ChainlogError).data.path).toBe(dir)
    // Kill the holder without letting it close: the OS releases the lock, the data is there.
    child.kill('SIGKILL')
    await exited(child)
    const store = await openStore({ path: dir, exclusive: true })
    stores.push(store)
    expect(await store.head('from-child')).toBe(head)
  })

  it('an opener that would share gets CHAINLOG_STORE_LOCKED from an exclusive holder', async () => {
    await fresh()
    const child = runNode(HOLD_OPEN, [distUrl, dir])
    children.push(child)
    await firstLine(child)
    const started = Date.now()
    let err: unknown
    try {
      const s = await openStore({ path: dir, connectTimeoutMs: 300 })
      await s.close()
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ChainlogError)
    expect((err as ChainlogError).code).toBe(ErrorCodes.STORE_LOCKED)
    expect(Date.now() - started).toBeLessThan(10_000)
  })

  it('a second open in the same process gets CHAINLOG_STORE_LOCKED', async () => {
    await fresh()
    const first = await openStore({ path: dir, exclusive: true, durability: 'sync' })
    stores.push(first)
    const { sessionId } = await first.createSession()
    let err: unknown
    try {
      stores.push(await openStore({ path: dir, exclusive: true, durability: 'relaxed' }))
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ChainlogError)
    expect((err as ChainlogError).code).toBe(ErrorCodes.STORE_LOCKED)
    expect((err as ChainlogError).data.path).toBe(dir)
    // The refused open must not have dropped this process's lock (POSIX drops every fcntl lock
    // on a file when any descriptor of it is closed): another process is still kept out,
    // also after a refused open through a relative path to the same directory.
    await expect(openStore({ path: join(dir, '..', basename(dir)), exclusive: true })).rejects.toMatchObject({ code: ErrorCodes.STORE_LOCKED })
    const child = runNode(TRY_OPEN, [distUrl, dir])
    children.push(child)
    expect(JSON.parse(await firstLine(child))).toMatchObject({ opened: false, code: ErrorCodes.STORE_LOCKED })
    // The first store keeps working; after it closes the directory opens again.
    await first.append(sessionId, { kind: 'cache_unlocked' })
    await first.close()
    const second = await openStore({ path: dir, exclusive: true })
    stores.push(second)
    expect((await second.listSessions()).map((s) => s.length)).toEqual([2])
  })
})
