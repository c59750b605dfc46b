// store.figures() on the stores earlier releases wrote (fixtures/stores/): format-1 records
// (migrated on open) and format-2 records count the bytes that `chainlog stats` counted before
// it read them in one scan, when it re-encoded each session's entries one by one.
import { cp, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { encodeCanonical } from '../../src/encoding/cbor.js'
import { openStore } from '../../src/open.js'
import type { Store } from '../../src/store.js'

const FIXTURES = new URL('../../fixtures/stores/', import.meta.url)

async function reEncoded(store: Store, ids: string[]): Promise<{ sessions: number; entries: number; bytes: number; byKind: Record<string, { entries: number; bytes: number }> }> {
  const out = { sessions: ids.length, entries: 0, bytes: 0, byKind: {} as Record<string, { entries: number; bytes: number }> }
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

describe('store.figures() on the fixture stores', () => {
  for (const [label, format] of [
    ['v1', 1],
    ['v2', 2],
  ] as const) {
    it(`store format ${label.slice(1)}: the same figures as re-encoding each session's entries (entry format ${format})`, async () => {
      const dir = await mkdtemp(join(tmpdir(), `chainlog-figures-${label}-`))
      await cp(new URL(`${label}/`, FIXTURES), dir, { recursive: true })
      const store = await openStore({ path: dir, exclusive: true })
      try {
        const ids = (await store.listSessions()).map((s) => s.sessionId)
        expect(ids.length).toBeGreaterThan(3)
        const formats = new Set<number>()
        for await (const e of store.entries(ids[0]!, { verify: false })) formats.add(e.format)
        expect([...formats]).toEqual([format])
        const want = await reEncoded(store, ids)
        const got = await store.figures()
        expect(got).toEqual(want)
        expect(Object.keys(got.byKind)).toEqual(Object.keys(want.byKind))
        for (const id of ids) expect(await store.figures(id)).toEqual(await reEncoded(store, [id]))
      } finally {
        await store.close()
        await rm(dir, { recursive: true, force: true })
      }
    })
  }
})
