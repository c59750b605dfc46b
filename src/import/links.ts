// The link from an imported subagent (or sidechain) session to the session that spawned it. It
// lives in the subagent's genesis config (`config.import`), written by the import: no lineage
// row, no entry field. Readers (the lineage API, `chainlog tree`) find the candidates by their
// ids, so a store of sessions no import made pays nothing for it.
import { TRANSCRIPT_FORMATS, type TranscriptFormat } from './types.js'

/** Where an imported subagent session comes from. */
export interface SpawnLink {
  /** The session holding the entry that spawned it (or the parent file's main session). */
  parent: string
  /** The parent's entry after which it was spawned (its Task call line), when the import knew it. */
  atHash: string | null
}

const FORMAT_PREFIX = new RegExp(`^(${TRANSCRIPT_FORMATS.map((f) => f.replace(/[-]/g, '\\-')).join('|')}):`)
/** `<main>~s<line>` (a sidechain in a file) or `<format>:<id>:agent-<agent>[@<hash>]` (a subagent file). */
const SPAWNED_ID = /(~s\d+|:agent-[^~]*)$/

/** Whether a session id has the shape of an imported subagent or sidechain session. */
export function maySpawnedId(sessionId: string): boolean {
  return FORMAT_PREFIX.test(sessionId) && SPAWNED_ID.test(sessionId)
}

/**
 * The id prefix every subagent session of `sessionId`'s file shares (its main id without a
 * `@<hash>` suffix), or undefined when the id is not an imported one.
 */
export function spawnPrefixOf(sessionId: string): string | undefined {
  if (!FORMAT_PREFIX.test(sessionId)) return undefined
  const main = sessionId.split('~')[0]!
  return main.replace(/@[0-9a-f]{8}$/, '')
}

/**
 * The spawn link a genesis config records: `config.import` of role `subagent` (a subagent file)
 * or `sidechain` (a sidechain inside a file). A subagent imported before this link was recorded
 * names its parent by `sourceSessionId` only: its parent is that source session's main id.
 */
export function spawnLinkOf(sessionId: string, config: unknown): SpawnLink | undefined {
  const imp = isObject(config) ? config.import : undefined
  if (!isObject(imp) || (imp.role !== 'subagent' && imp.role !== 'sidechain')) return undefined
  const atHash = typeof imp.spawnedAt === 'string' ? imp.spawnedAt : null
  let parent = typeof imp.parent === 'string' ? imp.parent : undefined
  if (parent === undefined && imp.role === 'subagent' && typeof imp.sourceSessionId === 'string' && TRANSCRIPT_FORMATS.includes(imp.format as TranscriptFormat)) {
    parent = `${imp.format as string}:${imp.sourceSessionId}`
  }
  if (parent === undefined || parent === sessionId) return undefined
  return { parent, atHash }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
