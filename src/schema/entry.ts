// The entry kinds a runtime writes, as zod schemas: the one source of truth for both runtime
// validation and the TypeScript types. The envelope is strict (unknown keys are rejected, never
// stripped); items, configs and custom data are the caller's own values and are kept verbatim.
import { z } from 'zod'

const HEX_HASH = /^[0-9a-f]{64}$/

/** A full entry hash: 64 lowercase hex digits. */
export const HashHex = z.string().regex(HEX_HASH, 'expected a 64-digit lowercase hex hash')

/** A session id: 1-200 printable characters (UUIDv7 by default). */
export const SessionId = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, 'expected printable ASCII without spaces')

/** Milliseconds since the Unix epoch. */
// -0 passes int() and nonnegative() but encodes as a float: refuse it where integers are required.
const notNegativeZero = (n: number) => !Object.is(n, -0)
const Timestamp = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).refine(notNegativeZero, 'expected a non-negative integer, not -0')
const Count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).refine(notNegativeZero, 'expected a non-negative integer, not -0')

/**
 * One item of the conversation, exactly as the runtime gave it (an OpenAI Responses item, an
 * Anthropic message or content block, or chainlog's neutral shape). Never reshaped; the
 * canonical encoder decides what can be stored.
 */
export const Item = z.custom<unknown>((v) => v !== undefined, { message: 'an item may not be undefined' })
export type Item = unknown

/** A runtime's configuration (model, tools, options): any JSON-like object, kept verbatim. */
export const Config = z.custom<Record<string, unknown>>(
  (v) => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array),
  { message: 'expected an object' },
)
export type Config = Record<string, unknown>

/** Where a session came from: the source session and the entry hash it was taken at. */
export const Origin = z.strictObject({ sessionId: SessionId, atHash: HashHex })
export type Origin = z.infer<typeof Origin>

export const RunStatus = z.enum(['finished', 'paused', 'limit_reached', 'yielded', 'error'])
export type RunStatus = z.infer<typeof RunStatus>

/** One model call's token usage. */
export const Usage = z.strictObject({
  /** Number of history items sent to the model. */
  historyLength: Count,
  model: z.string().min(1),
  /** Total input tokens, cached ones included. */
  inputTokens: Count,
  cacheReadTokens: Count,
  cacheWriteTokens: Count,
  outputTokens: Count,
  reasoningTokens: Count,
  /**
   * What else the provider reported for the call (cost, cache writes by TTL, service tier,
   * provider totals, request id, ...): free-form, kept verbatim, not summed by the ledger.
   * Entry format 2 only.
   */
  details: Config.optional(),
})
export type Usage = z.infer<typeof Usage>

export const Outcome = z.strictObject({
  status: RunStatus,
  /** Required when status is "error". */
  message: z.string().optional(),
  interrupted: z.boolean(),
})
export type Outcome = z.infer<typeof Outcome>

/**
 * State carried into a materialised fork's genesis, so the fork restores without its source.
 * Absent in ordinary genesis entries.
 */
export const Snapshot = z.strictObject({
  turnCount: Count,
  cacheLockedPrefix: Count.optional(),
  lastOutcome: Outcome.optional(),
  usage: z.array(Usage),
})
export type Snapshot = z.infer<typeof Snapshot>

/** Starts a session. Binds the session id into the chain's first hash. */
export const SessionStart = z.strictObject({
  kind: z.literal('session_start'),
  ts: Timestamp,
  sessionId: SessionId,
  systemPrompt: z.string().optional(),
  config: Config,
  /** Initial history: empty for a new session, the summary for a compaction, the state for a materialised fork. */
  history: z.array(Item),
  /** Set on forks: the session and entry this one continues from. */
  forkedFrom: Origin.optional(),
  /** Set on compactions: the session and the head it summarises. */
  compactedFrom: Origin.optional(),
  /** Describes a compaction (summariser model, range covered, ...): free-form, kept verbatim. */
  compaction: Config.optional(),
  /** Present on materialised forks only: state beyond history that the fork carries. */
  snapshot: Snapshot.optional(),
})

/** One user message. */
export const UserInput = z.strictObject({ kind: z.literal('user_input'), ts: Timestamp, item: Item })
/** A run of assistant output: messages, tool calls, reasoning. */
export const AssistantItems = z.strictObject({ kind: z.literal('assistant_items'), ts: Timestamp, items: z.array(Item).min(1) })
/** A run of tool results. */
export const ToolResults = z.strictObject({ kind: z.literal('tool_results'), ts: Timestamp, items: z.array(Item).min(1) })
/** Items a hook or the runtime injected (system notes, reminders, anything unclassified). */
export const HookInjectedItems = z.strictObject({ kind: z.literal('hook_injected_items'), ts: Timestamp, items: z.array(Item).min(1) })
/** A turn ended; `turn` is the session's turn count after it. */
export const TurnEnd = z.strictObject({ kind: z.literal('turn_end'), ts: Timestamp, turn: Count })
/** How a run ended. */
export const RunOutcome = z.strictObject({
  kind: z.literal('run_outcome'),
  ts: Timestamp,
  status: RunStatus,
  message: z.string().optional(),
  interrupted: z.boolean(),
})
/** Token usage of one model call. */
export const LlmUsage = z.strictObject({ kind: z.literal('llm_usage'), ts: Timestamp, ...Usage.shape })
/** The first `prefixLength` history items are pinned for prompt caching. */
export const CacheLocked = z.strictObject({ kind: z.literal('cache_locked'), ts: Timestamp, prefixLength: Count })
/** The cache pin is released. */
export const CacheUnlocked = z.strictObject({ kind: z.literal('cache_unlocked'), ts: Timestamp })
/** The runtime's configuration was replaced. */
export const ConfigChanged = z.strictObject({ kind: z.literal('config_changed'), ts: Timestamp, config: Config })
/**
 * A runtime-specific event. `namespace` is the runtime's own reverse-DNS-like name
 * ("com.example.agent"); chainlog keeps `data` verbatim and the reducer ignores it.
 */
export const Custom = z.strictObject({
  kind: z.literal('custom'),
  ts: Timestamp,
  namespace: z.string().regex(/^[a-z0-9]+([._-][a-z0-9]+)*$/, 'expected a lowercase dotted namespace'),
  type: z.string().min(1).max(200),
  data: Item.optional(),
})

export const Entry = z
  .discriminatedUnion('kind', [
    SessionStart,
    UserInput,
    AssistantItems,
    ToolResults,
    HookInjectedItems,
    TurnEnd,
    RunOutcome,
    LlmUsage,
    CacheLocked,
    CacheUnlocked,
    ConfigChanged,
    Custom,
  ])
  .superRefine((e, ctx) => {
    if (e.kind === 'run_outcome' && e.status === 'error' && e.message === undefined) {
      ctx.addIssue({ code: 'custom', path: ['message'], message: 'an error outcome needs a message' })
    }
    if (e.kind === 'session_start') {
      if (e.forkedFrom && e.compactedFrom) {
        ctx.addIssue({ code: 'custom', path: ['compactedFrom'], message: 'a session is either a fork or a compaction, not both' })
      }
      if (e.snapshot && !e.forkedFrom) {
        ctx.addIssue({ code: 'custom', path: ['snapshot'], message: 'only a materialised fork carries a snapshot' })
      }
      if (e.compaction && !e.compactedFrom) {
        ctx.addIssue({ code: 'custom', path: ['compaction'], message: 'compaction details need compactedFrom' })
      }
      if (e.forkedFrom && !e.snapshot && (e.history.length > 0 || e.systemPrompt !== undefined || Object.keys(e.config).length > 0)) {
        // A fork that is not materialised inherits everything from its source at atHash.
        ctx.addIssue({ code: 'custom', path: ['history'], message: 'a fork without a snapshot inherits its state: history and config must be empty, no systemPrompt' })
      }
    }
  })

export type Entry = z.infer<typeof Entry>
export type EntryKind = Entry['kind']
export type SessionStart = z.infer<typeof SessionStart>

// The kinds in their documented order, kept where loading them does not load zod (kinds.ts).
export { ENTRY_KINDS } from './kinds.js'

// ---------------------------------------------------------------------------------------------
// The entries of every turn (user_input, assistant_items, tool_results, hook_injected_items,
// turn_end) checked without zod. Their schemas above are three fields each, items taken as they
// are; zod's parse of them was ~4% of an append's CPU (case 1's floor-cpu profile) and a copy of
// every envelope. `parseTurnEntry` accepts exactly a subset of what `Entry` accepts and returns
// what `Entry.parse` would: a new object with the fields in schema order (the order entry format
// 2 encodes them in) and a new items array. Anything else, valid or not, gives undefined, and the
// caller asks zod (test/schema/entry-fast.test.ts checks the two agree).

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 && !Object.is(n, -0)

/** The plain object's own enumerable keys are exactly `kind` and the two given, in any order. */
function hasExactly(o: Record<string, unknown>, a: string, b: string): boolean {
  let n = 0
  for (const k in o) {
    if (!Object.prototype.hasOwnProperty.call(o, k)) return false
    if (k !== 'kind' && k !== a && k !== b) return false
    n++
  }
  return n === 3
}

function itemList(v: unknown): unknown[] | undefined {
  if (!Array.isArray(v) || v.length === 0) return undefined
  const out = new Array<unknown>(v.length)
  for (let i = 0; i < v.length; i++) {
    const x = v[i]
    if (x === undefined) return undefined
    out[i] = x
  }
  return out
}

export function parseTurnEntry(input: unknown): Entry | undefined {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return undefined
  const proto = Object.getPrototypeOf(input)
  if (proto !== Object.prototype && proto !== null) return undefined
  const e = input as Record<string, unknown>
  const { kind, ts } = e
  if (!isCount(ts)) return undefined
  switch (kind) {
    case 'user_input':
      if (e.item === undefined || !hasExactly(e, 'ts', 'item')) return undefined
      return { kind, ts, item: e.item }
    case 'assistant_items':
    case 'tool_results':
    case 'hook_injected_items': {
      if (!hasExactly(e, 'ts', 'items')) return undefined
      const items = itemList(e.items)
      return items && { kind, ts, items }
    }
    case 'turn_end':
      if (!isCount(e.turn) || !hasExactly(e, 'ts', 'turn')) return undefined
      return { kind, ts, turn: e.turn }
    default:
      return undefined
  }
}

// Custom entries, checked the same way: an adapter (the LangGraph saver) appends one or two per
// step, and zod's parse was ~7% of that append's CPU. Same contract as parseTurnEntry: a subset of
// what `Custom` accepts, returned as `Entry.parse` returns it (test/schema/entry-fast.test.ts).

const NAMESPACE = /^[a-z0-9]+([._-][a-z0-9]+)*$/

export function parseCustomEntry(input: unknown): Entry | undefined {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return undefined
  const proto = Object.getPrototypeOf(input)
  if (proto !== Object.prototype && proto !== null) return undefined
  const e = input as Record<string, unknown>
  const { kind, ts, namespace, type, data } = e
  if (kind !== 'custom' || !isCount(ts) || typeof namespace !== 'string' || !NAMESPACE.test(namespace)) return undefined
  if (typeof type !== 'string' || type.length < 1 || type.length > 200) return undefined
  let n = 0
  for (const k in e) {
    if (!Object.prototype.hasOwnProperty.call(e, k)) return undefined
    if (k !== 'kind' && k !== 'ts' && k !== 'namespace' && k !== 'type' && k !== 'data') return undefined
    n++
  }
  // `data` given as undefined is zod's to drop.
  if (Object.prototype.hasOwnProperty.call(e, 'data')) return data === undefined || n !== 5 ? undefined : { kind, ts, namespace, type, data }
  return n === 4 ? { kind, ts, namespace, type } : undefined
}
