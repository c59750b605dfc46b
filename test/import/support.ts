// Shared helpers of the importer tests: fixture paths, the source file read as lines, and a
// key-order-insensitive view of JSON values (entry format v1 returns map keys sorted).
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const FIXTURES = join(resolve(dirname(fileURLToPath(import.meta.url)), '../..'), 'fixtures/transcripts')

export const CLAUDE_ID = '4f0c2a6e-1b7d-4c39-9a51-0e8d2f6b7c10'
export const CLAUDE_FILE = join(FIXTURES, 'claude-code', `${CLAUDE_ID}.jsonl`)
export const CLAUDE_AGENT_FILE = join(FIXTURES, 'claude-code', CLAUDE_ID, 'subagents', 'agent-a7f3c2e.jsonl')
export const CLAUDE_DAMAGED = join(FIXTURES, 'claude-code', 'damaged', 'torn.jsonl')
export const CODEX_ID = '019b8f2e-5a10-7c3e-9d41-6e2f0a1b3c4d'
export const CODEX_FILE = join(FIXTURES, 'codex', '2026', '01', '05', `rollout-2026-01-05T11-00-00-${CODEX_ID}.jsonl`)
export const CODEX_DAMAGED = join(FIXTURES, 'codex', 'damaged', 'rollout-torn.jsonl')
export const CODEX_LEGACY_ID = '5973b6c0-94b8-487b-a530-2aeb6098ae0e'
export const CODEX_LEGACY = join(FIXTURES, 'codex', 'legacy', `rollout-2025-05-20T09-00-00-${CODEX_LEGACY_ID}.jsonl`)
export const PI_ID = '7c2d9e41-3f8a-4b6c-a0d5-2e1f9b8c7a60'
export const PI_FILE = join(FIXTURES, 'pi', '--home-dev-proj--', `2026-01-05T12-00-00-000Z_${PI_ID}.jsonl`)
export const PI_DAMAGED = join(FIXTURES, 'pi', 'damaged', 'torn.jsonl')

/** A file's complete lines (1-based by index + 1), without the newline. */
export function sourceLines(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const lines = text.split('\n')
  lines.pop() // after the last newline: empty, or a torn last line
  return lines
}

export const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex')

/** The parsed line n (1-based). */
export function lineValue(file: string, n: number): any {
  return JSON.parse(sourceLines(file)[n - 1]!)
}

/** The items of the given lines (the value at `key` of each line; '' : the whole line). */
export function itemsOf(file: string, key: string, lines: number[]): unknown[] {
  return lines.map((n) => (key === '' ? lineValue(file, n) : lineValue(file, n)[key]))
}

/**
 * Exact JSON text, as it compares once the store keeps key order (format v2). Until then tests
 * compare with toEqual, which ignores key order.
 */
export const exactJson = (v: unknown) => JSON.stringify(v)

