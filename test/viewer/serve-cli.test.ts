// `chainlog serve` as a user runs it: the built CLI in a child process prints its URL, serves
// the page and the API from the built assets, shares the store with other processes while it
// runs, and stops cleanly on SIGTERM. Bad options and missing stores fail with their codes.
import { spawn, type ChildProcess } from 'node:child_process'
import { request } from 'node:http'
import { createServer } from 'node:net'
import { afterAll, describe, expect, it } from 'vitest'
import { openStore } from '../../src/index.js'
import { chainlog, cliEnv, MAIN, ROOT } from '../cli/helpers.js'
import { buildWorld, openDir, removeTempDirs, tempDir } from './helpers.js'

const children: ChildProcess[] = []

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
  await removeTempDirs()
})

/** Start `chainlog serve`; resolves with the URL it prints. */
function startServe(args: string[]): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let out = ''
  let err = ''
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()))
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString()
      const line = out.split('\n')[0]
      if (out.includes('\n')) resolve({ child, url: line!, stderr: () => err })
    })
    child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)))
  })
}

const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.on('exit', (code) => resolve(code))))

describe('chainlog serve', () => {
  it('prints a loopback URL, serves the page and the API, shares the store, and stops on SIGTERM', async () => {
    const world = await buildWorld()
    const { child, url, stderr } = await startServe(['--store', world.dir, 'serve', '--port', '0'])
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
    await expect.poll(stderr).toContain('Ctrl-C')
    const page = await (await fetch(url)).text()
    expect(page).toMatch(/<meta name="chainlog-token" content="[\w-]{43}">/)
    expect((await fetch(`${url}app.js`)).status).toBe(200)
    const { sessions } = (await (await fetch(`${url}api/sessions`)).json()) as { sessions: { sessionId: string }[] }
    expect(sessions.map((s) => s.sessionId).sort()).toEqual([world.compacted, world.fork, world.main, world.other].sort())
    // Another process's writes go through the viewer's process, which holds the store.
    const writer = await openStore(world.dir)
    const appended = await writer.append(world.other, { kind: 'custom', namespace: 'test', type: 'from-another-process' })
    await writer.close()
    const entries = (await (await fetch(`${url}api/sessions/${world.other}/entries`)).json()) as { head: string }
    expect(entries.head).toBe(appended.hash)
    child.kill('SIGTERM')
    expect(await exited(child)).toBe(0)
    // Released: this process can hold it alone now.
    const again = await openDir(world.dir)
    await again.close()
  })

  it('warns when it listens beyond loopback, and then answers any host name', async () => {
    const world = await buildWorld()
    const { child, url, stderr } = await startServe(['--store', world.dir, 'serve', '--port', '0', '--host', '0.0.0.0'])
    try {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
      await expect.poll(stderr).toContain('not loopback')
      const port = new URL(url).port
      const r = await new Promise<number>((resolve, reject) => {
        request({ host: '127.0.0.1', port, path: '/api/info', headers: { host: `my-machine.lan:${port}` } }, (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        })
          .on('error', reject)
          .end()
      })
      expect(r).toBe(200)
    } finally {
      child.kill('SIGTERM')
      await exited(child)
    }
  })

  it('fails with exit status 4 when there is no store', async () => {
    const r = await chainlog(['--store', await tempDir(), 'serve', '--port', '0'])
    expect(r.code).toBe(4)
    expect(r.stderr).toContain('CHAINLOG_STORE_NOT_FOUND')
  })

  it('rejects a bad port with exit status 2', async () => {
    const r = await chainlog(['--store', await tempDir(), 'serve', '--port', '70000'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('CHAINLOG_USAGE')
  })

  it('says so when the port is taken (exit status 2)', async () => {
    const world = await buildWorld()
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    try {
      const r = await chainlog(['--store', world.dir, 'serve', '--port', String(port)])
      expect(r.code).toBe(2)
      expect(r.stderr).toContain(`port ${port} is in use`)
    } finally {
      blocker.close()
    }
  })
})
