// The entry kinds in their documented order (docs/format.md), apart from the zod schemas of
// entry.ts so that a reader that only needs the list (`chainlog stats`) does not load zod.
import type { EntryKind } from './entry.js'

export const ENTRY_KINDS: readonly EntryKind[] = [
  'session_start',
  'user_input',
  'assistant_items',
  'tool_results',
  'hook_injected_items',
  'turn_end',
  'run_outcome',
  'llm_usage',
  'cache_locked',
  'cache_unlocked',
  'config_changed',
  'custom',
]
