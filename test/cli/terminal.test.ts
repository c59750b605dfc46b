// What changes on a terminal, run in-process with fake streams: colour only when stdout is a TTY
// and NO_COLOR is unset, progress only when stderr is a TTY, no binary bundle onto a terminal.
import { Readable, Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { run } from '../../src/cli/program.js'
import { removeTempDirs, seeded, type Seeded } from './helpers.js'

let s: Seeded

beforeAll(async () => {
  s = await seeded()
})
afterAll(removeTempDirs)

class Capture extends Writable {
  chunks: Buffer[] = []
  constructor(readonly isTTY: boolean) {
    super()
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.chunks.push(Buffer.from(chunk))
    cb()
  }
  get text(): string {
    return Buffer.concat(this.chunks).toString('utf8')
  }
}

async function runIn(args: string[], opts: { stdoutTTY?: boolean; stderrTTY?: boolean; env?: NodeJS.ProcessEnv } = {}) {
  const stdout = new Capture(opts.stdoutTTY ?? false)
  const stderr = new Capture(opts.stderrTTY ?? false)
  const code = await run(['--store', s.dir, ...args], { stdout, stderr, stdin: Readable.from([]), env: opts.env ?? {} })
  return { code, stdout: stdout.text, stderr: stderr.text }
}

describe('on a terminal', () => {
  it('colours output only when stdout is a TTY and NO_COLOR is unset', async () => {
    expect((await runIn(['ls'], { stdoutTTY: true })).stdout).toContain('\x1b[')
    expect((await runIn(['log', s.main], { stdoutTTY: true })).stdout).toContain('\x1b[')
    expect((await runIn(['ls'], { stdoutTTY: true, env: { NO_COLOR: '1' } })).stdout).not.toContain('\x1b[')
    expect((await runIn(['ls'], { stdoutTTY: false })).stdout).not.toContain('\x1b[')
    // JSON is never coloured.
    const json = await runIn(['ls', '--json'], { stdoutTTY: true })
    expect(() => JSON.parse(json.stdout)).not.toThrow()
  })

  it('draws progress on stderr only when stderr is a TTY', async () => {
    const tty = await runIn(['verify', '--all'], { stderrTTY: true })
    expect(tty.code).toBe(0)
    expect(tty.stderr).toContain('verifying')
    expect(tty.stderr).toContain('\r')
    const piped = await runIn(['verify', '--all'], { stderrTTY: false })
    expect(piped.stderr).toBe('')
    expect(piped.stdout).toBe(tty.stdout)
  })

  it('refuses to write a binary bundle to a terminal, but not JSONL', async () => {
    const r = await runIn(['export', s.main], { stdoutTTY: true })
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/^chainlog: refusing to write a binary bundle to a terminal.*\(CHAINLOG_USAGE\)\n$/)
    const jsonl = await runIn(['export', s.main, '--format', 'jsonl'], { stdoutTTY: true })
    expect(jsonl.code).toBe(0)
    expect(jsonl.stdout.split('\n')[0]).toContain('chainlog-jsonl')
  })
})
