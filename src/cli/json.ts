// JSON for --json output. Entries may hold values JSON has no form for: byte strings become
// { "$bytes": "<hex>" } and integers beyond 2^53 become { "$bigint": "<decimal>" }, the same
// convention as `export --format jsonl`.
import { hex } from '../encoding/bytes.js'

export function toJsonSafe(v: unknown): unknown {
  if (v instanceof Uint8Array) return { $bytes: hex(v) }
  if (typeof v === 'bigint') return { $bigint: v.toString() }
  if (Array.isArray(v)) return v.map(toJsonSafe)
  if (v instanceof Map) {
    const o: Record<string, unknown> = {}
    for (const [k, x] of v) o[String(k)] = toJsonSafe(x)
    return o
  }
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) if (x !== undefined) o[k] = toJsonSafe(x)
    return o
  }
  return v
}
