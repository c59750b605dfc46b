// Rebuilds a source file's lines from the store: each line's JSON (its envelope with the item
// put back at its key) or its raw text, in line order, with the SHA-256 recorded at import.
import type { ChainlogStore } from '../open.js'
import { readStoredFile } from './stored.js'
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
    for await (const e of store.entries(mainSessionId, { to: 0 })) {
      const imp = e.entry.kind === 'session_start' ? (e.entry.config as { import?: { format?: unknown } }).import : undefined
      if (imp && TRANSCRIPT_FORMATS.includes(imp.format as TranscriptFormat)) format = imp.format as TranscriptFormat
    }
    if (format === undefined) {
      throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, `session ${mainSessionId} was not made by a transcript import`, { sessionId: mainSessionId })
    }
  }
  const stored = await readStoredFile(store, mainSessionId, format)
  const out: RegeneratedLine[] = []
  for (const s of [...stored.lines.values()].sort((a, b) => a.record.n - b.record.n)) {
    const r = s.record
    if (!('line' in r)) {
      out.push({ n: r.n, sha256: r.sha256, text: r.text ?? '' })
      continue
    }
    let value = r.line
    if (r.item === '') value = s.item
    else if (r.item !== undefined && value && typeof value === 'object') {
      value = { ...(value as Record<string, unknown>), [r.item]: s.item }
    }
    out.push(r.text !== undefined ? { n: r.n, sha256: r.sha256, value, text: r.text } : { n: r.n, sha256: r.sha256, value })
  }
  return out
}

/** The regenerated lines as JSONL text (kept texts as they were). */
export function regeneratedJsonl(lines: readonly RegeneratedLine[]): string {
  return lines.map((l) => (l.text !== undefined ? l.text : JSON.stringify(l.value))).join('\n') + (lines.length > 0 ? '\n' : '')
}
