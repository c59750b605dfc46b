// Child processes for the multi-process tests: a node script whose stdout is JSON lines (the
// writer and holder fixtures of test/host/fixtures), stopping them, and reading their turns back.
import { spawn, type ChildProcess } from 'node:child_process'
import { basename } from 'node:path'
import type { StoredEntry } from '../../src/storage/session-store.js'

/** One JSON line a child printed. */
export type Line = { t: string; [k: string]: unknown }

/** What a writer prints when an append is acknowledged. */
export interface Ack {
  session: string
  tag: string
  seqs: number[]
  hashes: string[]
}

export interface ChildOptions {
  /** Shown in failure messages (default: the script's file name). */
  name?: string
  /** 'pipe' to send() lines to the child (the default), 'ignore' for none. */
  stdin?: 'pipe' | 'ignore'
  /** Called with every whole line, after it is added to `lines`. */
  onLine?: (c: Child, line: Line) => void
}

/** `node script ...args`, its stdout read as JSON lines and its stderr kept. */
export class Child {
  readonly name: string
  readonly proc: ChildProcess
  readonly lines: Line[] = []
  stderr = ''
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  #waiters: { pred: (l: Line) => boolean; resolve: (l: Line) => void }[] = []

  constructor(script: string, args: string[], options: ChildOptions = {}) {
    this.name = options.name ?? basename(script)
    this.proc = spawn(process.execPath, [script, ...args], { stdio: [options.stdin ?? 'pipe', 'pipe', 'pipe'] })
    let buf = ''
    this.proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString()
      let nl: number
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = JSON.parse(buf.slice(0, nl)) as Line
        buf = buf.slice(nl + 1)
        this.lines.push(line)
        options.onLine?.(this, line)
        this.#waiters = this.#waiters.filter((w) => (w.pred(line) ? (w.resolve(line), false) : true))
      }
      // A line cut short by a kill stays in buf and is not counted.
    })
    this.proc.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()))
    // 'close' comes after stdout has been read to the end.
    this.exited = new Promise((res) =>
      this.proc.on('close', (code, signal) => {
        this.exit = { code, signal }
        res(this.exit)
      }),
    )
  }

  /** Neither closed nor killed yet. */
  get alive(): boolean {
    return this.exit === undefined && this.proc.signalCode === null
  }

  /** The first line (already seen or still to come) that matches. */
  waitFor(pred: (l: Line) => boolean, ms = 30_000): Promise<Line> {
    const seen = this.lines.find(pred)
    if (seen) return Promise.resolve(seen)
    return new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`timed out waiting for a line; stderr: ${this.stderr}`)), ms)
      this.#waiters.push({
        pred,
        resolve: (l) => {
          clearTimeout(timer)
          res(l)
        },
      })
    })
  }

  send(line: string): void {
    this.proc.stdin!.write(line + '\n')
  }
}

/** SIGKILL every child in `children` that still runs, wait until each has closed, and empty the array (for afterEach). */
export async function stopChildren(children: Child[]): Promise<void> {
  for (const c of children.splice(0)) {
    if (c.alive) c.proc.kill('SIGKILL')
    await c.exited
  }
}

/** The text of a writer's user message (its turn's tag), or undefined for any other entry. */
export function userText(e: StoredEntry | undefined): string | undefined {
  return e?.entry.kind === 'user_input' ? ((e.entry.item as { content?: string }).content ?? undefined) : undefined
}

/** The text of a writer's reply ("reply to <tag>"), or undefined for any other entry. */
export function replyText(e: StoredEntry | undefined): string | undefined {
  if (!e || e.entry.kind !== 'assistant_items') return undefined
  const item = e.entry.items[0] as { content?: { text?: string }[] }
  return item?.content?.[0]?.text
}
