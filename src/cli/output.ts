// Where the CLI writes: data to stdout, diagnostics and progress to stderr. Colours only when
// stdout is a terminal and NO_COLOR is unset; progress only when stderr is a terminal.
import type { Writable } from 'node:stream'
import { toJsonSafe } from './json.js'

export interface Io {
  stdout: Writable & { isTTY?: boolean; columns?: number }
  stderr: Writable & { isTTY?: boolean }
  env: NodeJS.ProcessEnv
}

type Paint = (s: string) => string

export interface Colors {
  enabled: boolean
  bold: Paint
  dim: Paint
  red: Paint
  green: Paint
  yellow: Paint
  blue: Paint
  magenta: Paint
  cyan: Paint
}

function sgr(open: number, close: number): Paint {
  return (s) => `\x1b[${open}m${s}\x1b[${close}m`
}

const id: Paint = (s) => s

export function makeColors(enabled: boolean): Colors {
  if (!enabled) return { enabled, bold: id, dim: id, red: id, green: id, yellow: id, blue: id, magenta: id, cyan: id }
  return {
    enabled,
    bold: sgr(1, 22),
    dim: sgr(2, 22),
    red: sgr(31, 39),
    green: sgr(32, 39),
    yellow: sgr(33, 39),
    blue: sgr(34, 39),
    magenta: sgr(35, 39),
    cyan: sgr(36, 39),
  }
}

/** `lines` writes once at least this many characters are gathered. */
const LINES_CHUNK = 64 * 1024

export class Output {
  readonly io: Io
  readonly c: Colors
  /** Whether progress may be drawn (stderr is a terminal). */
  readonly interactive: boolean

  constructor(io: Io) {
    this.io = io
    const noColor = io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== ''
    this.c = makeColors(io.stdout.isTTY === true && !noColor)
    this.interactive = io.stderr.isTTY === true
  }

  /** Width to fit one-line summaries to: the terminal's, or a fixed width in pipes. */
  get width(): number {
    return this.io.stdout.isTTY && this.io.stdout.columns ? this.io.stdout.columns : 120
  }

  line(text = ''): void {
    this.io.stdout.write(`${text}\n`)
  }

  /**
   * Many lines, written as `line` would write them one by one, in a few large writes: stdout to a
   * file or pipe is synchronous, so 20,000 table rows were 20,000 write calls.
   */
  lines(texts: Iterable<string>): void {
    let chunk = ''
    for (const t of texts) {
      chunk += `${t}\n`
      if (chunk.length >= LINES_CHUNK) {
        this.io.stdout.write(chunk)
        chunk = ''
      }
    }
    if (chunk !== '') this.io.stdout.write(chunk)
  }

  /** True once a JSON document has been written to stdout (the failure JSON is then not added). */
  wroteJson = false

  json(value: unknown): void {
    this.wroteJson = true
    this.io.stdout.write(`${JSON.stringify(toJsonSafe(value), null, 2)}\n`)
  }

  /** A diagnostic line on stderr (never colored: stderr may be a log file). */
  note(text: string): void {
    this.io.stderr.write(`${text}\n`)
  }

  /**
   * A progress line on stderr, redrawn at most every 100 ms; a no-op unless stderr is a terminal.
   * `total` turns it into a bar.
   */
  progress(label: string, total?: number): Progress {
    if (!this.interactive) return { update() {}, status() {}, done() {} }
    const stderr = this.io.stderr
    let last = 0
    let drawn = false
    const draw = (n: number, unit: string): void => {
      let text = `${label}: ${n.toLocaleString('en-US')} ${unit}`
      if (total !== undefined && total > 0) {
        const frac = Math.min(1, n / total)
        const width = 24
        const filled = Math.round(frac * width)
        text = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.floor(frac * 100)}% ${n.toLocaleString('en-US')}/${total.toLocaleString('en-US')} ${unit}`
      }
      stderr.write(`\r\x1b[K${text}`)
      drawn = true
    }
    return {
      update(n: number, unit = 'entries') {
        const now = Date.now()
        if (now - last < 100) return
        last = now
        draw(n, unit)
      },
      status(text: string) {
        stderr.write(`\r\x1b[K${label}: ${text}`)
        drawn = true
      },
      done() {
        if (drawn) stderr.write('\r\x1b[K')
      },
    }
  }
}

export interface Progress {
  /** Redraw with a running count (throttled). */
  update(n: number, unit?: string): void
  /** Draw a status text now, for steps that report no counts. */
  status(text: string): void
  /** Erase the line. */
  done(): void
}
