// The entry format restated for tests, from docs/format.md and independently of src/: the order
// in which chainlog writes envelope fields, the version-2 entry bytes and the chain hash. Values
// inside items, configs and custom data keep the caller's order; only envelope maps are ordered.
import { createHash } from 'node:crypto'
import { encodeCanonical } from '../../src/encoding/cbor.js'

export const DOMAIN_V1 = Buffer.from('chainlog/entry/v1\0', 'latin1')
export const DOMAIN_V2 = Buffer.from('chainlog/entry/v2\0', 'latin1')

/** docs/format.md section 2: field order per kind, as the tables list them. */
const ORDER: Record<string, string[]> = {
  session_start: ['kind', 'ts', 'sessionId', 'systemPrompt', 'config', 'history', 'forkedFrom', 'compactedFrom', 'compaction', 'snapshot'],
  user_input: ['kind', 'ts', 'item'],
  assistant_items: ['kind', 'ts', 'items'],
  tool_results: ['kind', 'ts', 'items'],
  hook_injected_items: ['kind', 'ts', 'items'],
  turn_end: ['kind', 'ts', 'turn'],
  run_outcome: ['kind', 'ts', 'status', 'message', 'interrupted'],
  llm_usage: ['kind', 'ts', 'historyLength', 'model', 'inputTokens', 'cacheReadTokens', 'cacheWriteTokens', 'outputTokens', 'reasoningTokens', 'details'],
  cache_locked: ['kind', 'ts', 'prefixLength'],
  cache_unlocked: ['kind', 'ts'],
  config_changed: ['kind', 'ts', 'config'],
  custom: ['kind', 'ts', 'namespace', 'type', 'data'],
}
const ORIGIN = ['sessionId', 'atHash']
const SNAPSHOT = ['turnCount', 'cacheLockedPrefix', 'lastOutcome', 'usage']
const OUTCOME = ['status', 'message', 'interrupted']
const USAGE = ORDER.llm_usage!.slice(2)

function pick(o: Record<string, unknown>, keys: string[], nested: Record<string, (v: unknown) => unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const k of keys) if (o[k] !== undefined) out[k] = nested[k] ? nested[k]!(o[k]) : o[k]
  // Keys the spec does not name stay, after the named ones (such an entry is invalid anyway).
  for (const k of Object.keys(o)) if (!keys.includes(k) && o[k] !== undefined) out[k] = o[k]
  return out
}

/** An entry with its envelope fields in the order chainlog writes them (format 2). */
export function inEnvelopeOrder(entry: object): Record<string, unknown> {
  const e = entry as Record<string, unknown>
  const order = ORDER[e.kind as string]
  if (!order) return e
  const origin = (v: unknown) => pick(v as Record<string, unknown>, ORIGIN)
  return pick(e, order, {
    forkedFrom: origin,
    compactedFrom: origin,
    snapshot: (v) =>
      pick(v as Record<string, unknown>, SNAPSHOT, {
        lastOutcome: (o) => pick(o as Record<string, unknown>, OUTCOME),
        usage: (u) => (u as Record<string, unknown>[]).map((x) => pick(x, USAGE)),
      }),
  })
}

/** Entry bytes of format 2: CBOR array(2) `82`, the integer 2 `02`, then the map in envelope order. */
export function entryBytesV2(entry: object): Buffer {
  return Buffer.concat([Buffer.from([0x82, 0x02]), encodeCanonical(inEnvelopeOrder(entry), 2)])
}

/** SHA-256("chainlog/entry/v2" 0x00 ‖ prev ‖ entry bytes), by node:crypto. */
export function chainHash(prevHex: string, entry: object): string {
  return createHash('sha256').update(DOMAIN_V2).update(Buffer.from(prevHex, 'hex')).update(entryBytesV2(entry)).digest('hex')
}

/** The hash of a stored record, by the format its entry bytes start with. */
export function recordHash(record: Uint8Array): string {
  const domain = record[32] === 0x82 ? DOMAIN_V2 : DOMAIN_V1
  return createHash('sha256').update(domain).update(record).digest('hex')
}
