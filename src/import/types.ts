// Shared types of the transcript importers: what a format mapper says about each source line,
// the plan the planner builds from it, and the report an import returns.
import type { Usage } from '../schema/entry.js'

/** The agent runtimes whose session files chainlog imports. */
export type TranscriptFormat = 'claude-code' | 'codex' | 'pi'
export const TRANSCRIPT_FORMATS: readonly TranscriptFormat[] = ['claude-code', 'codex', 'pi']

/** Stable codes for what is wrong with a source line or file (never thrown, listed in the report). */
export const DamageCodes = {
  /** A line (not the last) is not valid JSON: stored as raw text, reported. */
  MALFORMED_LINE: 'MALFORMED_LINE',
  /** The last line has no newline and is not valid JSON (a write in progress or a torn write): not imported yet. */
  TORN_LAST_LINE: 'TORN_LAST_LINE',
  /** Valid JSON, but not an object: stored as it is, reported. */
  NOT_AN_OBJECT: 'NOT_AN_OBJECT',
  /** A conversation line without the fields its type needs: stored as an envelope only, reported. */
  INVALID_LINE: 'INVALID_LINE',
  /** A line names a parent that no earlier line has: stored on the current branch, reported. */
  MISSING_PARENT: 'MISSING_PARENT',
  /** A line already imported has different bytes now: the file is not imported further, stored history kept. */
  CHANGED_LINE: 'CHANGED_LINE',
  /** The file has fewer lines than were imported from it (rewritten in place): nothing imported, stored history kept. */
  VANISHED_LINES: 'VANISHED_LINES',
  /** The file is not a session file of the format (no header where one is required). */
  NOT_A_TRANSCRIPT: 'NOT_A_TRANSCRIPT',
} as const
export type DamageCode = (typeof DamageCodes)[keyof typeof DamageCodes]

export interface Damage {
  file: string
  /** 1-based line number (0 when the finding is about the whole file). */
  line: number
  code: DamageCode
  message: string
}

/** One line of a source file, as read. */
export interface SourceLine {
  /** 1-based line number. */
  n: number
  /** The line's text, without its newline. */
  text: string
  /** SHA-256 (hex) of the line's bytes, without the newline. */
  sha256: string
  /** The parsed JSON value, when the line parses. */
  value?: unknown
  parsed: boolean
}

export type ItemEntryKind = 'user_input' | 'assistant_items' | 'tool_results' | 'hook_injected_items'

/** What a format mapper says about one line. Everything optional: a bare line is kept as an envelope. */
export interface MappedLine {
  ts?: number
  /** The line's own id in the source's tree (Claude uuid, pi id). */
  id?: string
  /** The id of its parent; null for a root; undefined when the format has no tree. */
  parentId?: string | null
  /** Lines of a sidechain (a subagent run inside the file) go to a session of their own. */
  sidechain?: boolean
  /** The conversation item: stored as an item entry, taken out of the envelope at this top-level key ('' : the whole line). */
  item?: { key: string; kind: ItemEntryKind }
  /** An item derived from the line (the line itself stays whole in its envelope). */
  derivedItem?: { value: unknown; kind: ItemEntryKind }
  /**
   * Token usage recorded after this line; `key` de-duplicates usage repeated over several lines;
   * `outputItems`: how many of the session's items up to this line the call itself produced (its
   * historyLength counts the items before them).
   */
  usage?: { usage: Usage; key?: string; outputItems?: number }
  /** This line starts a new user turn. */
  startsTurn?: boolean
  /** This line starts a compaction: the session continues as a new, compacted session. */
  compaction?: { history: unknown[]; summary?: string; details: Record<string, unknown> }
  /** This line rolls the conversation back by that many user turns (a fork before them). */
  rewindTurns?: number
  damage?: { code: DamageCode; message: string }
}

/** What a format mapper returns for a whole file. */
export interface MappedFile {
  /** The source's own session id (header, envelope or file name). */
  sourceSessionId: string
  /** A subagent transcript names the agent; it becomes a session of its own. */
  agentId?: string
  /** System prompt and model, when the source states them at the start. */
  config: Record<string, unknown>
  lines: MappedLine[]
  /**
   * When a line whose parent is not a branch tip starts a branch: `any` (pi: the tree is
   * exact), or `turn-start` (Claude Code: parallel tool results and progress lines hang off
   * earlier lines without being branches; a new prompt on a line that more conversation
   * followed is one).
   */
  branchOn: 'any' | 'turn-start'
}

/** Per-line data kept in the `line` custom entry: enough to regenerate the line and audit it. */
export interface LineRecord {
  /** 1-based line number in the source file. */
  n: number
  /** SHA-256 (hex) of the source line's bytes, without the newline. */
  sha256: string
  /** The parsed line; when `item` is set, its value at that key is null and the item is in the next entry. */
  line?: unknown
  /** The line's text, when it is not JSON, or when JSON.stringify of the parsed line would not give it back. */
  text?: string
  /** Top-level key of `line` whose value is the item in the entry that follows ('' : the item is the whole line, `line` is null). */
  item?: string
  /** Usage de-duplication key recorded with this line. */
  usageKey?: string
  /**
   * A line of a forked rollout that repeats line `n` of its parent's file (main session
   * `session`) with this `timestamp`: it has no `line`, `text` or item of its own (the fork
   * holds the parent's items); regeneration restamps the parent's line.
   */
  copy?: { session: string; n: number; timestamp: unknown }
  /**
   * The chain of the file's line hashes up to this line (16 bytes, docs/importers.md), so a
   * re-import tells an unchanged file from the last record alone. Absent in records of
   * imports made before it existed.
   */
  chain?: Uint8Array
}

export interface ImportProgress {
  file: string
  filesDone: number
  filesTotal: number
  linesImported: number
}

export interface ImportOptions {
  from: TranscriptFormat
  /** Fail (CHAINLOG_IMPORT_DAMAGED) on the first file with damage, before writing that file. */
  strict?: boolean
  onProgress?: (p: ImportProgress) => void
}

export interface FileReport {
  file: string
  /** chainlog sessions of this file, its main session first. */
  sessions: string[]
  lines: number
  linesImported: number
  /** `imported`: new lines added; `unchanged`: nothing new; `changed`: the source was rewritten, nothing added. */
  status: 'imported' | 'unchanged' | 'changed'
  /** A Codex rollout forked from another (`forked_from_id`): how it was imported. */
  fork?: FileFork
}

/**
 * `forked`: a chainlog fork of `from` (the parent rollout's main session) after the parent's
 * line `line`, the copied lines kept as records naming the parent's lines; `whole`: imported as
 * a session of its own, for `reason` (the parent is not in the store, ...).
 */
export interface FileFork {
  from: string
  status: 'forked' | 'whole'
  line?: number
  reason?: string
}

export interface ImportReport {
  files: FileReport[]
  sessionsCreated: string[]
  sessionsExtended: string[]
  linesImported: number
  entriesAppended: number
  damaged: Damage[]
}
