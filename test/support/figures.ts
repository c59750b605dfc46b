// What store.figures() must give, worked out the old way: every entry of each session read back
// and re-encoded, its stored size being prev (32 bytes), the format-2 prefix (2) and the entry.
import { encodeCanonical } from '../../src/encoding/cbor.js'
import type { ChainlogStore } from '../../src/open.js'

export interface Figures {
  sessions: number
  entries: number
  bytes: number
  byKind: Record<string, { entries: number; bytes: number }>
}

export async function reEncodedFigures(store: Pick<ChainlogStore, 'entries'>, ids: string[]): Promise<Figures> {
  const out: Figures = { sessions: ids.length, entries: 0, bytes: 0, byKind: {} }
  for (const id of ids) {
    for await (const e of store.entries(id, { verify: false, resolveBlobs: false })) {
      const bytes = 32 + (e.format === 2 ? 2 : 0) + encodeCanonical(e.entry, e.format).length
      out.entries++
      out.bytes += bytes
      const k = (out.byKind[e.entry.kind] ??= { entries: 0, bytes: 0 })
      k.entries++
      k.bytes += bytes
    }
  }
  return out
}
