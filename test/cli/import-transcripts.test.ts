// `chainlog import --from claude-code|codex|pi PATH...` end to end: a directory imported, then
// again (nothing added), damaged lines listed with codes, --strict failing with exit status 1.
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { chainlog, chainlogJson, removeTempDirs, tempDir, withDir } from './helpers.js'
import { CLAUDE_ID, CODEX_FILE, FIXTURES, PI_DAMAGED, PI_FILE } from '../import/support.js'

afterAll(removeTempDirs)

/** A new, empty store directory. */
async function newStore(): Promise<string> {
  const dir = await tempDir()
  await withDir(dir, async () => {})
  return dir
}

describe.concurrent('import --from', () => {
  it('imports a directory recursively; a second run adds nothing; sessions show in tree', async () => {
    const dir = await newStore()
    const store = ['--store', dir]
    const first = await chainlogJson(['import', '--from', 'claude-code', join(FIXTURES, 'claude-code'), ...store])
    expect(first.ok).toBe(true)
    expect(first.files).toHaveLength(3)
    expect(first.sessionsCreated).toContain(`claude-code:${CLAUDE_ID}~c19`)
    expect(first.damaged.map((d: { code: string }) => d.code)).toEqual(['MALFORMED_LINE', 'NOT_AN_OBJECT', 'MISSING_PARENT', 'TORN_LAST_LINE'])
    const again = await chainlogJson(['import', '--from', 'claude-code', join(FIXTURES, 'claude-code'), ...store])
    expect(again).toMatchObject({ linesImported: 0, entriesAppended: 0, sessionsCreated: [], sessionsExtended: [] })
    const tree = await chainlog(['tree', ...store])
    expect(tree.code).toBe(0)
    expect(tree.stdout).toMatch(new RegExp(`fork\\s+claude-code:${CLAUDE_ID}~b17`))
    expect(tree.stdout).toMatch(new RegExp(`compaction\\s+claude-code:${CLAUDE_ID}~c19`))
    const verify = await chainlog(['verify', '--all', ...store])
    expect(verify.code).toBe(0)
  })

  it('prints a summary per file and in total', async () => {
    const dir = await newStore()
    const r = await chainlog(['import', '--from', 'codex', CODEX_FILE, '--store', dir])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/: 43 new lines -> codex:019b8f2e-5a10-7c3e-9d41-6e2f0a1b3c4d \(\+2 sessions\)\n/)
    expect(r.stdout).toMatch(/imported 43 lines from 1 file: 3 sessions created, 0 extended\n$/)
    const again = await chainlog(['import', '--from', 'codex', CODEX_FILE, '--store', dir])
    expect(again.stdout).toMatch(/: up to date -> /)
    const sessions = await withDir(dir, async (s) => (await s.listSessions()).length)
    expect(sessions).toBe(3)
  })

  it('lists damaged lines on stderr with their codes, and imports the rest', async () => {
    const dir = await newStore()
    const r = await chainlog(['import', '--from', 'pi', PI_DAMAGED, '--store', dir])
    expect(r.code).toBe(0)
    expect(r.stderr).toContain(`MALFORMED_LINE ${PI_DAMAGED}:3`)
    expect(r.stderr).toContain(`TORN_LAST_LINE ${PI_DAMAGED}:5`)
    expect(r.stdout).toMatch(/4 damaged lines reported\n$/)
  })

  it('--strict fails with exit status 1 and CHAINLOG_IMPORT_DAMAGED, after importing the clean files before it', async () => {
    const dir = await newStore()
    const r = await chainlog(['import', '--from', 'pi', PI_FILE, PI_DAMAGED, '--strict', '--store', dir, '--json'])
    expect(r.code).toBe(1)
    const out = JSON.parse(r.stdout)
    expect(out).toMatchObject({ ok: false, error: { code: 'CHAINLOG_IMPORT_DAMAGED' } })
    expect(out.damaged[0]).toMatchObject({ file: PI_DAMAGED, line: 2, code: 'MISSING_PARENT' })
    const ids = await withDir(dir, async (s) => (await s.listSessions()).map((x) => x.sessionId))
    expect(ids.every((id) => id.startsWith('pi:7c2d9e41-3f8a'))).toBe(true)
  })

  it('usage errors: an unknown format, --strict without --from, two bundles, a missing path', async () => {
    const dir = await newStore()
    const bad = await chainlog(['import', '--from', 'gemini', PI_FILE, '--store', dir])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--from must be one of claude-code, codex, pi')
    expect((await chainlog(['import', 'a.bundle', '--strict', '--store', dir])).code).toBe(2)
    expect((await chainlog(['import', 'a.bundle', 'b.bundle', '--store', dir])).code).toBe(2)
    const missing = await chainlog(['import', '--from', 'pi', join(dir, 'nope.jsonl'), '--store', dir])
    expect(missing.code).toBe(4)
    expect(missing.stderr).toContain('CHAINLOG_FILE_NOT_FOUND')
  })
})

describe('import --from --watch', () => {
  it('imports, then picks up lines appended to a file and new files, one JSON line per round, until SIGTERM', async () => {
    const { spawn } = await import('node:child_process')
    const { mkdir, readFile, writeFile, appendFile } = await import('node:fs/promises')
    const { MAIN, cliEnv } = await import('./helpers.js')
    const dir = await newStore()
    const src = join(await tempDir(), 'sessions')
    await mkdir(src)
    const lines = (await readFile(CODEX_FILE, 'utf8')).split('\n').filter(Boolean)
    const file = join(src, CODEX_FILE.split('/').at(-1)!)
    await writeFile(file, lines.slice(0, 10).map((l) => `${l}\n`).join(''))
    const child = spawn(process.execPath, [MAIN, 'import', '--from', 'codex', src, '--watch', '0.1', '--json', '--store', dir], { env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
    const rounds: any[] = []
    let buf = ''
    const waiters: (() => void)[] = []
    child.stdout.on('data', (c: Buffer) => {
      buf += c.toString('utf8')
      for (let i = buf.indexOf('\n'); i !== -1; i = buf.indexOf('\n')) {
        rounds.push(JSON.parse(buf.slice(0, i)))
        buf = buf.slice(i + 1)
        for (const w of waiters.splice(0)) w()
      }
    })
    const until = async (pred: () => boolean) => {
      const deadline = Date.now() + 20_000
      while (!pred()) {
        if (Date.now() > deadline) throw new Error(`timed out; rounds: ${JSON.stringify(rounds)}`)
        await new Promise<void>((r) => (waiters.push(r), setTimeout(r, 200)))
      }
    }
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)))
    try {
      await until(() => rounds.length >= 1)
      expect(rounds[0]).toMatchObject({ ok: true, round: 0, linesImported: 10 })
      await appendFile(file, lines.slice(10).map((l) => `${l}\n`).join(''))
      await until(() => rounds.some((r) => r.linesImported === lines.length - 10))
      await writeFile(join(src, 'rollout-other.jsonl'), `${lines[0]!.replace('019b8f2e-5a10', '019b8f2e-0000')}\n`)
      await until(() => rounds.some((r) => r.files.some((f: { file: string }) => f.file.endsWith('rollout-other.jsonl'))))
    } finally {
      child.kill('SIGTERM')
    }
    expect(await exited).toBe(0)
    // Rounds in which nothing changed print nothing: every round printed imported something.
    expect(rounds.every((r) => r.round === 0 || r.linesImported > 0)).toBe(true)
    const total = await withDir(dir, async (s) => (await s.listSessions()).map((x) => x.sessionId).sort())
    expect(total).toEqual([`codex:019b8f2e-0000-7c3e-9d41-6e2f0a1b3c4d`, `codex:${CODEX_FILE.match(/([0-9a-f-]{36})\.jsonl$/)![1]}`, `codex:${CODEX_FILE.match(/([0-9a-f-]{36})\.jsonl$/)![1]}~c36`, `codex:${CODEX_FILE.match(/([0-9a-f-]{36})\.jsonl$/)![1]}~r26`].sort())
  })
})

describe('import --from on a terminal', () => {
  it('draws a progress bar on stderr only when stderr is a TTY', async () => {
    const { Readable, Writable } = await import('node:stream')
    const { run } = await import('../../src/cli/program.js')
    class Capture extends Writable {
      chunks: Buffer[] = []
      constructor(readonly isTTY: boolean) {
        super()
      }
      override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
        this.chunks.push(Buffer.from(chunk))
        cb()
      }
    }
    const runIn = async (dir: string, stderrTTY: boolean) => {
      const stdout = new Capture(false)
      const stderr = new Capture(stderrTTY)
      const code = await run(['--store', dir, 'import', '--from', 'pi', PI_FILE], { stdout, stderr, stdin: Readable.from([]), env: {} })
      return { code, stdout: Buffer.concat(stdout.chunks).toString('utf8'), stderr: Buffer.concat(stderr.chunks).toString('utf8') }
    }
    const tty = await runIn(await newStore(), true)
    expect(tty.code).toBe(0)
    expect(tty.stderr).toMatch(/\r\x1b\[Kimporting pi sessions \[[#.]+\] \d+% \d\/1 files, [\d,]+ lines imported/)
    const piped = await runIn(await newStore(), false)
    expect(piped.stderr).toBe('')
    expect(piped.stdout).toBe(tty.stdout)
  })
})
