// Helpers for the viewer's tests: a small store with turns, usage on two days, a fork and a
// compaction; the viewer started in this process on it; Debian's chromium driven by
// playwright-core (one browser per test file, a fresh profile, nothing downloaded).
import { existsSync } from 'node:fs'
import { cp, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { expect } from 'vitest'
import { openStore, type Store, type Usage } from '../../src/index.js'
import { startViewer, type Viewer } from '../../src/viewer/server.js'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const DAY = 86_400_000
/** Two UTC days: 2026-03-01 and 2026-03-02, at noon. */
export const DAY1 = Date.UTC(2026, 2, 1, 12)
export const DAY2 = DAY1 + DAY

const dirs: string[] = []

/** About 16 KB of tool output (over the 4 KB blob threshold), with a known first line and end. */
export const BIG_OUTPUT = `${Array.from({ length: 1000 }, (_, i) => `big-line ${String(i).padStart(4, '0')}`).join('\n')}\nEND-OF-BIG-OUTPUT`

export async function tempDir(prefix = 'chainlog-viewer-test-'): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix))
  dirs.push(d)
  return d
}

export async function removeTempDirs(): Promise<void> {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
}

export function openDir(dir: string): Promise<Store> {
  return openStore({ path: dir, exclusive: true, durability: 'relaxed' })
}

function usage(model: string, input: number, output: number): Usage {
  return { historyLength: 3, model, inputTokens: input, cacheReadTokens: 100, cacheWriteTokens: 0, outputTokens: output, reasoningTokens: 8 }
}

export function turnItems(tag: string, t: number): unknown[] {
  return [
    { type: 'message', role: 'user', content: [{ type: 'input_text', text: `${tag} question ${t}` }] },
    { type: 'reasoning', id: `rs_${t}`, summary: [{ type: 'summary_text', text: `${tag} thinking ${t}` }] },
    { type: 'function_call', call_id: `${tag}-c${t}`, name: 'list_files', arguments: JSON.stringify({ dir: `/src/${t}` }) },
    { type: 'function_call_output', call_id: `${tag}-c${t}`, output: `${tag} files ${t}: a.ts b.ts` },
    { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: `${tag} answer ${t}` }] },
  ]
}

export interface World {
  dir: string
  /** Two turns on DAY1 (gpt-5), then a config change and an outcome. */
  main: string
  /** A plain fork of main at its first tool_results entry, with one turn (DAY2, claude). */
  fork: string
  forkPoint: string
  forkSeq: number
  /** A compaction of main. */
  compacted: string
  /** A session with one turn on DAY2 (claude) and a large tool output (a blob); nothing related to it. */
  other: string
}

/** Build the test world in a new directory (closed when it returns). */
export async function buildWorld(dir?: string): Promise<World> {
  const where = dir ?? (await tempDir())
  const store = await openDir(where)
  try {
    const { sessionId: main } = await store.createSession({ sessionId: 'main-session', systemPrompt: 'You are terse.', config: { model: 'gpt-5' }, ts: DAY1 })
    const t1 = await store.appendTurn(main, turnItems('main', 1), { ts: DAY1 + 1000, usage: usage('gpt-5', 1000, 50), turnEnd: true })
    await store.appendTurn(main, turnItems('main', 2), { ts: DAY1 + 2000, usage: usage('gpt-5', 2000, 70), turnEnd: true })
    await store.changeConfig(main, { model: 'gpt-5', temperature: 0.2 })
    await store.recordOutcome(main, { status: 'finished', interrupted: false })
    const forkAt = t1.entries[2]!
    const { sessionId: fork } = await store.forkAt(forkAt.hash, { sessionId: 'fork-session', ts: DAY2 })
    await store.appendTurn(fork, turnItems('fork', 1), { ts: DAY2 + 1000, usage: usage('claude-sonnet-4-5', 3000, 90), turnEnd: true })
    const { sessionId: compacted } = await store.compact(main, { sessionId: 'compact-session', history: [{ role: 'user', content: 'summary: two questions about files' }], summary: 'two questions', ts: DAY2 + 5000 })
    const { sessionId: other } = await store.createSession({ sessionId: 'other-session', ts: DAY2 })
    await store.appendTurn(other, turnItems('other', 1), { ts: DAY2 + 3000, usage: usage('claude-sonnet-4-5', 500, 10), turnEnd: true })
    // A tool output over the blob threshold: stored once as a blob, loaded by the page on demand.
    await store.appendTurn(other, [{ type: 'function_call_output', call_id: 'other-big', output: BIG_OUTPUT }], { ts: DAY2 + 4000 })
    return { dir: where, main, fork, forkPoint: forkAt.hash, forkSeq: forkAt.seq, compacted, other }
  } finally {
    await store.close()
  }
}

/** A copy of a store directory (for tampering with). */
export async function copyStore(dir: string): Promise<string> {
  const to = await tempDir('chainlog-viewer-copy-')
  await cp(dir, to, { recursive: true })
  return to
}

/**
 * Change stored bytes behind the API's back: every raw LevelDB value holding `from` gets `to`
 * (same length) instead. Returns how many values changed; the test checks it is not zero, so a
 * storage layout change that hides the text fails loudly rather than passing.
 */
export async function tamperText(store: Store, from: string, to: string): Promise<number> {
  const a = Buffer.from(from)
  const b = Buffer.from(to)
  if (a.length !== b.length) throw new Error('tamperText keeps lengths equal')
  const BIN = { keyEncoding: 'view', valueEncoding: 'view' } as const
  const changes: [Uint8Array, Uint8Array][] = []
  for await (const [key, value] of store.db.iterator(BIN)) {
    const buf = Buffer.from(value as Uint8Array)
    const at = buf.indexOf(a)
    if (at === -1) continue
    const copy = Buffer.from(buf)
    b.copy(copy, at)
    changes.push([key as Uint8Array, new Uint8Array(copy)])
  }
  for (const [k, v] of changes) await store.db.put(k, v, BIN)
  store.invalidate()
  return changes.length
}

export interface Served {
  store: Store
  viewer: Viewer
  close(): Promise<void>
}

export async function serve(dir: string, options: { maxImportBytes?: number } = {}): Promise<Served> {
  const store = await openDir(dir)
  const viewer = await startViewer({ store, storeDir: dir, pollMs: 50, ...options })
  return {
    store,
    viewer,
    close: async () => {
      await viewer.close()
      await store.close()
    },
  }
}

export interface Browser {
  context: BrowserContext
  page: Page
  close(): Promise<void>
}

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no browser at ${CHROMIUM}: the viewer's tests need Debian's chromium (apt-get install -y chromium; .ci/run does it) or CHROMIUM_PATH`)
  }
  const profile = await tempDir('chainlog-viewer-profile-')
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  const page = context.pages()[0] ?? (await context.newPage())
  page.setDefaultTimeout(15_000)
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  return {
    context,
    page,
    close: async () => {
      await context.close()
      // An exception in the page fails the file: the viewer must not throw on any view.
      expect(errors).toEqual([])
    },
  }
}
