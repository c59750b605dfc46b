// store.figures() on the stores earlier releases wrote (fixtures/stores/): format-1 records
// (migrated on open) and format-2 records count the bytes that `chainlog stats` counted before
// it read them in one scan, when it re-encoded each session's entries one by one. And peekKind,
// which reads an entry's kind without decoding the rest, against the full decode.
import { cp, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { encodeCanonical } from '../../src/encoding/cbor.js'
import { decodeRecord } from '../../src/encoding/record.js'
import { MemoryLevel } from 'memory-level'
import { openStore } from '../../src/open.js'
import * as K from '../../src/storage/keys.js'
import { peekKind, SPLIT_AT } from '../../src/storage/store-figures.js'
import { writeRows } from '../support/rows.js'
import { reEncodedFigures } from '../support/figures.js'
import type { Store } from '../../src/store.js'

const FIXTURES = new URL('../../fixtures/stores/', import.meta.url)

const reEncoded = reEncodedFigures

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

describe('peekKind', () => {
  const prev = new Uint8Array(32).fill(7)
  const record = (entry: unknown, format: 1 | 2): Uint8Array =>
    Uint8Array.from([...prev, ...(format === 2 ? [0x82, 0x02] : []), ...encodeCanonical(entry, format)])
  const value = fc.letrec((tie) => ({
    v: fc.oneof(
      { depthSize: 'small' },
      fc.string(),
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.constant(null),
      fc.uint8Array({ maxLength: 40 }),
      fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n - 1n }),
      fc.array(tie('v'), { maxLength: 4 }),
      fc.dictionary(fc.string({ maxLength: 6 }).filter((k) => k !== '__proto__'), tie('v'), { maxKeys: 4 }),
    ),
  })).v

  it('reads the kind the full decode reads, wherever the key sits, in entry formats 1 and 2', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => k !== 'kind' && k !== '__proto__'), value, { maxKeys: 6 }), fc.nat(6), fc.string({ minLength: 1, maxLength: 20 }), (rest, at, kind) => {
        const keys = Object.entries(rest)
        keys.splice(Math.min(at, keys.length), 0, ['kind', kind])
        const entry = Object.fromEntries(keys)
        for (const format of [1, 2] as const) {
          const r = record(entry, format)
          expect(decodeRecord(r).entry.kind).toBe(kind)
          const peeked = peekKind(r)
          // Only ASCII kinds are read without the decode (every entry kind is ASCII).
          expect(peeked).toBe(/^[\x00-\x7f]*$/.test(kind) ? kind : undefined)
        }
      }),
      { numRuns: 300 },
    )
  })

  it('gives up (undefined) rather than guess on bytes it cannot walk, and never throws', () => {
    // Format 1 sorts the keys: ts, kind, note. What follows the kind is not read.
    const good = record({ ts: 1, note: 'x', kind: 'custom' }, 1)
    expect(peekKind(good)).toBe('custom')
    const kindEnd = Buffer.from(good).indexOf('custom') + 'custom'.length
    for (let cut = 0; cut < good.length; cut++) expect(peekKind(good.subarray(0, cut))).toBe(cut < kindEnd ? undefined : 'custom')
    expect(peekKind(Uint8Array.from([...prev, 0x82, 0x02, 0xff]))).toBeUndefined()
    expect(peekKind(Uint8Array.from([...prev, 0xbf, 0x64, 0x6b, 0x69, 0x6e, 0x64, 0x61, 0x61, 0xff]))).toBeUndefined() // indefinite map
    expect(peekKind(record({ ts: 1 }, 2))).toBeUndefined()
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (tail) => {
        const kind = peekKind(Uint8Array.from([...prev, ...tail]))
        expect(kind === undefined || typeof kind === 'string').toBe(true)
      }),
      { numRuns: 2000 },
    )
  })
})

describe('store.figures() on a store large enough to be read as two ranges at once', () => {
  it('counts what one scan counts, and reports the first corruption in session order', async () => {
    const store = await openStore({ db: new MemoryLevel(), durability: 'relaxed' })
    try {
      // Three sessions of unequal length, SPLIT_AT records in all and more: two ranges.
      const sizes = { a: 2_000, b: SPLIT_AT - 1_000, c: 3_000 }
      for (const [id, n] of Object.entries(sizes)) {
        await store.createSession({ sessionId: id, ts: 1 })
        for (let done = 1; done < n; done += 2_000) {
          const k = Math.min(2_000, n - done)
          await store.appendMany(id, Array.from({ length: k }, (_, i) => (i % 3 ? { kind: 'custom' as const, ts: 2, namespace: 't', type: 'n', data: done + i } : { kind: 'turn_end' as const, ts: 2, turn: done + i })))
        }
      }
      const scans = { n: 0 }
      const scan = store.engine.scan
      store.engine.scan = (...a) => (scans.n++, scan.apply(store.engine, a))
      const got = await store.figures()
      // Session rows (head and metadata in one), and two ranges of records.
      expect(scans.n).toBe(3)
      const want = await reEncoded(store, ['a', 'b', 'c'])
      expect(got).toEqual(want)
      expect(Object.keys(got.byKind)).toEqual(Object.keys(want.byKind))
      expect(got.entries).toBe(SPLIT_AT + 4_000)
      // A gap in each range: the one in the first session is reported, as a single scan would.
      await writeRows(store as Store, [
        { type: 'del', key: K.recordKey('a', 1_500) },
        { type: 'del', key: K.recordKey('c', 10) },
      ])
      await expect(store.figures()).rejects.toMatchObject({ code: 'CHAINLOG_CORRUPT_STORE', data: { sessionId: 'a', seq: 1_500 } })
    } finally {
      await store.close()
    }
  })
})
