// Reads back what earlier imports of a file wrote: the sessions of a main session id, each
// imported line's record, the entry its item went to and the hash a fork at that line starts
// from. The `line` custom entries are the only record of what was imported.
import type { ChainlogStore } from '../open.js'
import type { LineRecord, TranscriptFormat } from './types.js'

/** Namespace of the custom entries an import writes. */
export function importNamespace(format: TranscriptFormat): string {
  return `dev.chainlog.import.${format}`
}

export interface StoredLine {
  session: string
  record: LineRecord
  /** Hash of the line's `line` custom entry. */
  recordHash: string
  /** The item of the line, when the record names one. */
  item?: unknown
  /** Hash of the line's last entry (its record, item or usage). */
  lastHash: string
}

export interface StoredFile {
  sessions: string[]
  lines: Map<number, StoredLine>
  heads: Map<string, string>
  genesis: Map<string, string>
  usageKeys: Set<string>
  /** The source file name recorded in the main session's genesis. */
  file?: string
}

/** The sessions a file's import made: its main session and those named `<main>~…`. */
export async function sessionsOf(store: ChainlogStore, mainId: string, known?: Iterable<string>): Promise<string[]> {
  const all = known ?? (await store.listSessions()).map((s) => s.sessionId)
  const ids = [...all].filter((id) => id === mainId || id.startsWith(`${mainId}~`))
  return ids.sort((a, b) => (a === mainId ? -1 : b === mainId ? 1 : a < b ? -1 : a > b ? 1 : 0))
}

/**
 * `known`: the store's session ids, when the caller has listed them already. `items: false`
 * skips reading large payloads (blobs): the import needs the records, not the items.
 */
export async function readStoredFile(
  store: ChainlogStore,
  mainId: string,
  format: TranscriptFormat,
  options: { known?: Iterable<string>; items?: boolean } = {},
): Promise<StoredFile> {
  const { known, items = true } = options
  const ns = importNamespace(format)
  const out: StoredFile = { sessions: await sessionsOf(store, mainId, known), lines: new Map(), heads: new Map(), genesis: new Map(), usageKeys: new Set() }
  for (const session of out.sessions) {
    let cur: StoredLine | undefined
    let wantItem = false
    for await (const e of store.entries(session, { resolveBlobs: items })) {
      out.heads.set(session, e.hash)
      const entry = e.entry
      if (entry.kind === 'session_start') {
        out.genesis.set(session, e.hash)
        if (session === mainId) {
          const imp = (entry.config as { import?: { file?: unknown } }).import
          if (imp && typeof imp.file === 'string') out.file = imp.file
        }
        continue
      }
      // A forked rollout's main session (a fork, its genesis has no config) says it here.
      if (entry.kind === 'config_changed' && session === mainId && out.file === undefined && !out.lines.size) {
        const imp = (entry.config as { import?: { file?: unknown } }).import
        if (imp && typeof imp.file === 'string') out.file = imp.file
        continue
      }
      if (entry.kind === 'custom' && entry.namespace === ns && entry.type === 'line') {
        const record = entry.data as LineRecord
        cur = { session, record, recordHash: e.hash, lastHash: e.hash }
        out.lines.set(record.n, cur)
        if (record.usageKey !== undefined) out.usageKeys.add(record.usageKey)
        wantItem = record.item !== undefined
        continue
      }
      if (entry.kind === 'turn_end') {
        cur = undefined
        continue
      }
      if (!cur) continue
      if (wantItem && entry.kind === 'user_input') {
        cur.item = entry.item
        wantItem = false
      } else if (wantItem && (entry.kind === 'assistant_items' || entry.kind === 'tool_results' || entry.kind === 'hook_injected_items')) {
        cur.item = entry.items[0]
        wantItem = false
      }
      cur.lastHash = e.hash
    }
  }
  return out
}
