// Rebuilds a source file's lines from the store: each line's JSON (its envelope with the item
// put back at its key) or its raw text, in line order, with the SHA-256 recorded at import.
import type { ChainlogStore } from '../open.js'
import { readStoredFile, type StoredLine } from './stored.js'
import { ChainlogError, ErrorCodes } from '../errors.js'
import { TRANSCRIPT_FORMATS, type TranscriptFormat } from './types.js'

export interface RegeneratedLine {
  n: number
  /** SHA-256 of the source line's bytes, as recorded when it was imported. */
  sha256: string
  /** The line's JSON value (absent when the line was not JSON). */
  value?: unknown
  /**
   * The line's exact text, when the import kept it: a line that is not JSON, or one that
   * JSON.stringify(value) would not give back byte for byte (`4.0`, spaces, escapes).
   */
  text?: string
}

/**
 * The source lines imported into a main session (and its forks, compactions and sidechains),
 * in line order. `text ?? JSON.stringify(value)` gives the line back (same keys and values;
 * the same key order once the store keeps it, format v2). `format` defaults to the one the
 * main session's genesis records.
 * @example const lines = await regenerateTranscript(store, 'claude-code:6f1c…')
 */
export async function regenerateTranscript(store: ChainlogStore, mainSessionId: string, format?: TranscriptFormat): Promise<RegeneratedLine[]> {
  if (format === undefined) {
    // The genesis config, or (a forked rollout's main session, a fork) the config_changed after it.
    for await (const e of store.entries(mainSessionId, { to: 1 })) {
      const config = e.entry.kind === 'session_start' ? e.entry.config : e.entry.kind === 'config_changed' ? e.entry.config : undefined
      const imp = config ? (config as { import?: { format?: unknown } }).import : undefined
      if (format !== undefined) break
      if (imp && TRANSCRIPT_FORMATS.includes(imp.format as TranscriptFormat)) format = imp.format as TranscriptFormat
    }
    if (format === undefined) {
      throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, `session ${mainSessionId} was not made by a transcript import`, { sessionId: mainSessionId })
    }
  }
  return regenerateLines(store, mainSessionId, format, new Map())
}

/** `parents`: regenerated files by main id, for the copied lines of forked rollouts. */
async function regenerateLines(store: ChainlogStore, mainSessionId: string, format: TranscriptFormat, parents: Map<string, RegeneratedLine[]>): Promise<RegeneratedLine[]> {
  const stored = await readStoredFile(store, mainSessionId, format)
  const out: RegeneratedLine[] = []
  for (const s of [...stored.lines.values()].sort((a, b) => a.record.n - b.record.n)) {
    const r = s.record
    if (r.copy !== undefined) {
      // A line of a forked rollout that copies its parent's line with another timestamp.
      const c = r.copy
      let lines = parents.get(c.session)
      if (!lines) {
        lines = await regenerateLines(store, c.session, format, parents)
        parents.set(c.session, lines)
      }
      const from = lines[c.n - 1]
      if (!from || from.n !== c.n) throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `line ${r.n} of ${mainSessionId} copies line ${c.n} of ${c.session}, which is not in the store`, { sessionId: mainSessionId, line: r.n, copy: c })
      out.push({ n: r.n, sha256: r.sha256, ...restamp(from, c.timestamp) })
      continue
    }
    out.push({ n: r.n, sha256: r.sha256, ...lineOf(s) })
  }
  return out
}

/** A stored line's JSON value and kept text, as its record and item give them. */
export function lineOf(s: StoredLine): { value?: unknown; text?: string } {
  const r = s.record
  if (!('line' in r)) return { text: r.text ?? '' }
  let value = r.line
  if (r.item === '') value = s.item
  else if (r.item !== undefined && value && typeof value === 'object') {
    value = { ...(value as Record<string, unknown>), [r.item]: s.item }
  }
  return r.text !== undefined ? { value, text: r.text } : { value }
}

/**
 * A line with its top-level `timestamp` replaced (the key keeps its place); a kept text gets
 * the first `"timestamp":<old>` replaced. The importer takes a line as a copy only when this
 * gives back its exact bytes.
 */
export function restamp(line: { value?: unknown; text?: string }, timestamp: unknown): { value?: unknown; text?: string } {
  const v = line.value
  if (!v || typeof v !== 'object' || Array.isArray(v) || !('timestamp' in v)) return line
  const old = (v as Record<string, unknown>).timestamp
  const value = { ...(v as Record<string, unknown>), timestamp }
  if (line.text === undefined) return { value }
  return { value, text: line.text.replace(`"timestamp":${JSON.stringify(old)}`, () => `"timestamp":${JSON.stringify(timestamp)}`) }
}

/** The regenerated lines as JSONL text (kept texts as they were). */
export function regeneratedJsonl(lines: readonly RegeneratedLine[]): string {
  return lines.map((l) => (l.text !== undefined ? l.text : JSON.stringify(l.value))).join('\n') + (lines.length > 0 ? '\n' : '')
}
