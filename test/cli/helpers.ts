// Helpers for the CLI's end-to-end tests: run the built `chainlog` (dist/, built by
// test/support/build-dist.ts before any test file) as a child process, and seed stores through
// the library.
import { spawn } from 'node:child_process'
import { cp, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openStore, type Store, type Usage } from '../../src/index.js'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
export const MAIN = join(ROOT, 'dist/cli/main.js')

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export interface RunResult {
  code: number
  stdout: string
  stderr: string
  stdoutBytes: Buffer
}

function runProcess(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: Uint8Array | string } = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => err.push(c))
    child.on('error', reject)
    child.on('close', (code) => {
      const stdoutBytes = Buffer.concat(out)
      resolvePromise({ code: code ?? -1, stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), stdoutBytes })
    })
    child.stdin.end(options.input ?? '')
  })
}

/** The environment the CLI runs in: no store from the test runner's environment, no colour. */
export function cliEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...extra }
  for (const k of ['CHAINLOG_STORE', 'CHAINLOG_DEBUG', 'FORCE_COLOR']) if (!(k in extra)) delete env[k]
  return env
}

/** Run the built CLI. */
export function chainlog(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: Uint8Array | string } = {}): Promise<RunResult> {
  return runProcess(process.execPath, [MAIN, ...args], { cwd: options.cwd ?? ROOT, env: cliEnv(options.env), input: options.input ?? '' })
}

/** Run the built CLI with --json and parse stdout; fails the test unless the exit status is 0. */
export async function chainlogJson<T = any>(args: string[], options: Parameters<typeof chainlog>[1] = {}): Promise<T> {
  const r = await chainlog([...args, '--json'], options)
  if (r.code !== 0) throw new Error(`chainlog ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  return JSON.parse(r.stdout) as T
}

const dirs: string[] = []

export async function tempDir(prefix = 'chainlog-cli-test-'): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix))
  dirs.push(d)
  return d
}

export async function removeTempDirs(): Promise<void> {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
}

/** Open a store directory in this process, alone (closing it is the caller's job). */
export function openDir(dir: string): Promise<Store> {
  return openStore({ path: dir, exclusive: true, durability: 'relaxed' })
}

export async function withDir<T>(dir: string, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openDir(dir)
  try {
    return await fn(store)
  } finally {
    await store.close()
  }
}

const TS = 1_750_000_000_000

function usage(model: string, input: number, output: number, extra: Partial<Usage> = {}): Usage {
  return { historyLength: 2, model, inputTokens: input, cacheReadTokens: 0, cacheWriteTokens: 0, outputTokens: output, reasoningTokens: 0, ...extra }
}

export interface Seeded {
  dir: string
  /** A session with two turns, usage for two models, a config change, a cache lock and an outcome. */
  main: string
  /** A plain fork of `main` at `forkPoint`, with one turn of its own. */
  fork: string
  forkPoint: string
  /** A compaction of `main`. */
  compacted: string
  /** A session with no forks. */
  other: string
}

/** A small store with every kind of entry, a fork and a compaction. */
export async function seedStore(dir: string): Promise<Seeded> {
  return withDir(dir, async (store) => {
    const { sessionId: main, head: g } = await store.createSession({ systemPrompt: 'You are terse.', config: { model: 'gpt-5' }, ts: TS })
    const t1 = await store.appendTurn(
      main,
      [
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'List the files, please.' }] },
        { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'Use ls.' }] },
        { type: 'function_call', call_id: 'c1', name: 'shell', arguments: '{"cmd":"ls"}' },
        { type: 'function_call_output', call_id: 'c1', output: 'README.md\nsrc' },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'README.md and src.' }] },
      ],
      { expectedHead: g, ts: TS + 1000, usage: [usage('gpt-5', 1200, 40, { reasoningTokens: 16 }), usage('gpt-5', 1300, 20, { cacheReadTokens: 1024 })], turnEnd: true },
    )
    const forkPoint = t1.entries[2]!.hash // the tool_results entry
    const lock = await store.append(main, { kind: 'cache_locked', prefixLength: 5, ts: TS + 2000 }, { expectedHead: t1.head })
    const cfg = await store.append(main, { kind: 'config_changed', config: { model: 'claude-sonnet-4-5' }, ts: TS + 3000 }, { expectedHead: lock.hash })
    const t2 = await store.appendTurn(
      main,
      [
        { role: 'user', content: 'And the tests?' },
        { role: 'assistant', content: [{ type: 'text', text: 'There are none yet.' }] },
      ],
      { expectedHead: cfg.hash, ts: TS + 4000, usage: usage('claude-sonnet-4-5', 900, 12, { cacheWriteTokens: 800 }), turnEnd: true },
    )
    await store.append(main, { kind: 'run_outcome', status: 'finished', interrupted: false, ts: TS + 5000 }, { expectedHead: t2.head })

    const { sessionId: fork, head: fg } = await store.forkAt(forkPoint.slice(0, 12), { ts: TS + 6000 })
    await store.appendTurn(fork, [{ role: 'user', content: 'Only src, please.' }], { expectedHead: fg, ts: TS + 7000, usage: usage('gpt-5', 700, 9), turnEnd: true })

    const { sessionId: compacted } = await store.compact(main, { history: [{ role: 'user', content: 'Summary: files listed.' }], summary: 'files listed', ts: TS + 8000 })

    const { sessionId: other, head: og } = await store.createSession({ config: { model: 'gpt-5-mini' }, ts: TS + 9000 })
    await store.appendTurn(other, [{ role: 'user', content: 'Hello there' }], { expectedHead: og, ts: TS + 10_000 })
    return { dir, main, fork, forkPoint, compacted, other }
  })
}

let template: Promise<Seeded> | undefined

/**
 * A seeded store of its own for one test (a copy of one seeded template, so every copy has the
 * same ids and hashes). Commands hold a store while they run, so tests that run concurrently
 * each need their own.
 */
export async function seeded(): Promise<Seeded> {
  template ??= tempDir().then(seedStore)
  const t = await template
  const dir = await tempDir()
  await cp(t.dir, dir, { recursive: true })
  return { ...t, dir }
}
