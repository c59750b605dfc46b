// Checks the code against the committed test vectors, entry format 2 (fixtures/vectors/
// entries-v2.json, what chainlog writes) and entry format 1 (fixtures/vectors/entries.json, kept:
// version-1 data must keep verifying): canonical bytes, records, hashes, chain links and round
// trips; every single-byte change moves the hash; the invalid records are refused.
import { deepStrictEqual } from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { decodeCanonical, encodeCanonical } from '../../src/encoding/cbor.js'
import { encodeEntry, openRecord, sealEntry, validateEntry } from '../../src/encoding/entry-codec.js'
import { ENTRY_DOMAIN_V1, ENTRY_DOMAIN_V2, ZERO_HASH, hashRecord, toHex } from '../../src/encoding/hash.js'
import { sha256Noble } from '../../src/encoding/sha256-noble.js'
import { ChainlogError, ErrorCodes } from '../../src/errors.js'
import { ENTRY_KINDS, type Entry } from '../../src/schema/entry.js'
import { reduceEntries, type ChainedEntry } from '../../src/state/reducer.js'

interface Vector {
  name: string
  session: string
  seq: number
  entry: unknown
  prevHex: string
  entryCborHex: string
  recordHex: string
  hashHex: string
}
interface InvalidVector {
  name: string
  reason: string
  expectedCode: string
  recordHex: string
}
interface VectorFile {
  formatVersion: number
  domainTagHex: string
  sessions: { sessionId: string; length: number; headHex: string }[]
  vectors: Vector[]
  invalid: InvalidVector[]
}

const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'))
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** The JSON form back to a value: {"$bytes"}, {"$bigint"} and {"$float"} markers (see the file's notes). */
function fromJsonForm(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fromJsonForm)
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v)
    const o = v as Record<string, unknown>
    if (keys.length === 1 && typeof o[keys[0]!] === 'string') {
      if (keys[0] === '$bytes') return unhex(o.$bytes as string)
      if (keys[0] === '$bigint') return BigInt(o.$bigint as string)
      if (keys[0] === '$float') return Number(o.$float as string)
    }
    const out: Record<string, unknown> = {}
    for (const k of keys) out[k] = fromJsonForm(o[k])
    return out
  }
  return v
}

/** Decoded values carry Buffers for byte strings; compare them as plain Uint8Arrays. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return new Uint8Array(v)
  if (Array.isArray(v)) return v.map(plain)
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {}
    for (const k of Object.keys(v)) out[k] = plain((v as Record<string, unknown>)[k])
    return out
  }
  return v
}

const FILES: [string, 1 | 2][] = [
  ['entries-v2.json', 2],
  ['entries.json', 1],
]

describe.each(FILES)('vectors %s (entry format %i)', (name, format) => {
  const file = JSON.parse(readFileSync(new URL(`../../fixtures/vectors/${name}`, import.meta.url), 'utf8')) as VectorFile
  const ENTRY_DOMAIN = format === 2 ? ENTRY_DOMAIN_V2 : ENTRY_DOMAIN_V1
  const vectors = file.vectors
  const bySession = new Map<string, Vector[]>()
  for (const v of vectors) bySession.set(v.session, [...(bySession.get(v.session) ?? []), v])

  describe('the vectors file', () => {
    it('states the domain tag this code hashes with', () => {
      expect(file.formatVersion).toBe(format)
      expect(file.domainTagHex).toBe(hex(ENTRY_DOMAIN))
    })

    it('covers every entry kind and the fork, compaction and materialised-fork geneses', () => {
      const kinds = new Set(vectors.map((v) => (v.entry as { kind: string }).kind))
      expect(kinds).toEqual(new Set(ENTRY_KINDS))
      const geneses = vectors.filter((v) => v.seq === 0).map((v) => v.entry as Record<string, unknown>)
      expect(geneses.some((g) => g.forkedFrom && !g.snapshot)).toBe(true)
      expect(geneses.some((g) => g.forkedFrom && g.snapshot)).toBe(true)
      expect(geneses.some((g) => g.compactedFrom)).toBe(true)
      expect(file.invalid.length).toBeGreaterThan(0)
    })
  })

  describe.each(vectors.map((v) => [`${v.session.slice(-4)}#${v.seq} ${v.name}`, v] as const))('vector %s', (_label, v) => {
    const entry = fromJsonForm(v.entry)
    const prev = unhex(v.prevHex)
    const entryBytes = unhex(v.entryCborHex)
    const record = unhex(v.recordHex)

    it('encodes to the vector’s canonical bytes', () => {
      if (format === 2) {
        expect(hex(encodeEntry(entry))).toBe(v.entryCborHex)
        expect('8202' + hex(encodeCanonical(entry))).toBe(v.entryCborHex)
      } else {
        expect(hex(encodeCanonical(validateEntry(entry), 1))).toBe(v.entryCborHex)
        expect(hex(encodeCanonical(entry, 1))).toBe(v.entryCborHex)
      }
    })

    it('seals to the vector’s record (prev ‖ entry bytes) and hash', () => {
      expect(v.recordHex).toBe(v.prevHex + v.entryCborHex)
      expect(hex(hashRecord(record))).toBe(v.hashHex)
      // chainlog writes format 2 only.
      if (format === 2) {
        const sealed = sealEntry(prev, entry)
        expect(hex(sealed.record)).toBe(v.recordHex)
        expect(hex(sealed.hash)).toBe(v.hashHex)
      }
    })

    it('hash = SHA-256(domain ‖ prev ‖ entry bytes), by node:crypto and by @noble/hashes', () => {
      expect(createHash('sha256').update(ENTRY_DOMAIN).update(prev).update(entryBytes).digest('hex')).toBe(v.hashHex)
      expect(hex(sha256Noble(ENTRY_DOMAIN, record))).toBe(v.hashHex)
      expect(hex(hashRecord(record))).toBe(v.hashHex)
    })

    it('decodes and opens back to the same entry and bytes', () => {
      const mapBytes = format === 2 ? entryBytes.subarray(2) : entryBytes
      deepStrictEqual(plain(decodeCanonical(mapBytes, format)), entry)
      const opened = openRecord(record)
      expect(opened.format).toBe(format)
      expect(hex(opened.prev)).toBe(v.prevHex)
      expect(hex(opened.entryBytes)).toBe(v.entryCborHex)
      deepStrictEqual(plain(opened.entry), entry)
      expect(hex(encodeCanonical(opened.entry, format))).toBe(hex(mapBytes))
      // Format 2 keeps key order: the entry comes back with its keys in the vector's order.
      if (format === 2) expect(JSON.stringify(plain(opened.entry), (_k, x) => (typeof x === 'bigint' ? String(x) : x))).toBe(JSON.stringify(entry, (_k, x) => (typeof x === 'bigint' ? String(x) : x)))
    })
  })

  describe('chain links', () => {
    it('each session starts from 32 zero bytes and every later prev is the hash before it', () => {
      for (const [sessionId, list] of bySession) {
        list.forEach((v, i) => {
          expect(v.seq).toBe(i)
          expect(v.prevHex).toBe(i === 0 ? hex(ZERO_HASH) : list[i - 1]!.hashHex)
        })
        expect((list[0]!.entry as { kind: string; sessionId: string }).kind).toBe('session_start')
        expect((list[0]!.entry as { sessionId: string }).sessionId).toBe(sessionId)
        expect(list.slice(1).every((v) => (v.entry as { kind: string }).kind !== 'session_start')).toBe(true)
      }
    })

    it('the listed session heads and lengths match the chains', () => {
      expect(file.sessions.map((s) => s.sessionId)).toEqual([...bySession.keys()])
      for (const s of file.sessions) {
        const list = bySession.get(s.sessionId)!
        expect(list.length).toBe(s.length)
        expect(list[list.length - 1]!.hashHex).toBe(s.headHex)
      }
    })

    it('every forkedFrom and compactedFrom names an entry hash of the named session', () => {
      let origins = 0
      for (const v of vectors) {
        const e = v.entry as { forkedFrom?: { sessionId: string; atHash: string }; compactedFrom?: { sessionId: string; atHash: string } }
        for (const o of [e.forkedFrom, e.compactedFrom]) {
          if (!o) continue
          origins++
          expect(o.sessionId).not.toBe(v.session)
          expect(bySession.get(o.sessionId)?.map((x) => x.hashHex)).toContain(o.atHash)
        }
      }
      expect(origins).toBeGreaterThanOrEqual(3)
    })

    it('all hashes are distinct (session ids bind the geneses apart)', () => {
      expect(new Set(vectors.map((v) => v.hashHex)).size).toBe(vectors.length)
    })

    // docs/format.md section 6: a verifier with the source may replay it to atHash and compare
    // with a materialised fork's genesis. Every vector with a source passes that check, except
    // the one format-1 vector docs/format.md section 9 names, whose difference is pinned here.
    it('a materialised fork’s genesis is what a replay of its source to the fork point gives', () => {
      const chained = (id: string): ChainedEntry[] =>
        bySession.get(id)!.map((v) => ({ hash: v.hashHex, entry: openRecord(unhex(v.recordHex)).entry as Entry }))
      let checked = 0
      for (const [id] of bySession) {
        const genesis = chained(id)[0]!.entry as Extract<Entry, { kind: 'session_start' }>
        if (!genesis.forkedFrom || !genesis.snapshot) continue
        const source = chained(genesis.forkedFrom.sessionId)
        const at = source.findIndex((e) => e.hash === genesis.forkedFrom!.atHash)
        expect(at).toBeGreaterThanOrEqual(0)
        const replayed = reduceEntries(source.slice(0, at + 1))
        expect(genesis.systemPrompt).toBe(replayed.systemPrompt)
        expect(genesis.config).toEqual(replayed.config)
        expect(genesis.snapshot.turnCount).toBe(replayed.turnCount)
        expect(genesis.snapshot.cacheLockedPrefix ?? null).toBe(replayed.cacheLockedPrefix)
        expect(genesis.snapshot.lastOutcome ?? null).toEqual(replayed.lastOutcome)
        expect(genesis.snapshot.usage).toEqual(replayed.usage)
        const name = file.vectors.find((v) => v.session === id && v.seq === 0)!.name
        if (format === 1 && name === 'materialised fork genesis with snapshot') {
          // Exempt, and kept unchanged (vectors are never rewritten: fixtures/vectors/README.md):
          // written before this check, it lacks the reasoning item and the hook-injected message,
          // items 1 and 4 of the six the replay gives; the other four are the replay's, in order.
          expect(replayed.history).toHaveLength(6)
          expect((replayed.history[1] as { type: string }).type).toBe('reasoning')
          expect((replayed.history[4] as { role: string }).role).toBe('developer')
          expect(genesis.history).toEqual(replayed.history.filter((_, i) => i !== 1 && i !== 4))
        } else {
          expect(genesis.history).toEqual(replayed.history)
        }
        checked++
      }
      expect(checked).toBe(1)
    })

    it('the sessions replay through the reducer, the fork on top of its source at the fork point', () => {
      const chained = (id: string): ChainedEntry[] =>
        bySession.get(id)!.map((v) => ({ hash: v.hashHex, entry: openRecord(unhex(v.recordHex)).entry as Entry }))
      const [mainId] = bySession.keys()
      const main = chained(mainId!)
      expect(reduceEntries(main).head).toBe(main[main.length - 1]!.hash)
      for (const [id] of bySession) {
        const own = chained(id)
        const genesis = own[0]!.entry as Extract<Entry, { kind: 'session_start' }>
        const origin = genesis.forkedFrom
        if (!origin || genesis.snapshot) {
          expect(reduceEntries(own).sessionId).toBe(id)
          continue
        }
        const at = main.findIndex((e) => e.hash === origin.atHash)
        const base = reduceEntries(main.slice(0, at + 1))
        const state = reduceEntries(own, base)
        expect(state.history.slice(0, base.history.length)).toEqual(base.history)
        expect(state.head).toBe(own[own.length - 1]!.hash)
      }
    })
  })

  describe('tamper evidence', () => {
    it('changing any single byte of any vector’s entry bytes (xor 0x01) changes its hash', () => {
      let checked = 0
      for (const v of vectors) {
        const record = unhex(v.recordHex)
        for (let i = 32; i < record.length; i++) {
          record[i]! ^= 0x01
          expect(hex(hashRecord(record)), `${v.name} byte ${i - 32}`).not.toBe(v.hashHex)
          record[i]! ^= 0x01
          checked++
        }
        expect(hex(hashRecord(record))).toBe(v.hashHex)
      }
      expect(checked).toBe(vectors.reduce((n, v) => n + v.entryCborHex.length / 2, 0))
    })

    it('changing any single byte of any vector’s prev changes its hash', () => {
      for (const v of vectors) {
        const record = unhex(v.recordHex)
        for (let i = 0; i < 32; i++) {
          record[i]! ^= 0x01
          expect(hex(hashRecord(record)), `${v.name} prev byte ${i}`).not.toBe(v.hashHex)
          record[i]! ^= 0x01
        }
      }
    })

    it('a record with one changed entry byte is refused, or opens to a different entry whose bytes are exactly the changed ones', () => {
      for (const v of vectors) {
        const record = unhex(v.recordHex)
        for (let i = 32; i < record.length; i++) {
          const changed = record.slice()
          changed[i]! ^= 0x01
          try {
            const opened = openRecord(changed)
            const map = changed.subarray(opened.format === 2 ? 34 : 32)
            expect(hex(encodeCanonical(opened.entry, opened.format))).toBe(hex(map))
            expect(hex(opened.entryBytes)).not.toBe(v.entryCborHex)
          } catch (err) {
            expect(err).toBeInstanceOf(ChainlogError)
            expect([ErrorCodes.DECODE_FAILED, ErrorCodes.INVALID_ENTRY]).toContain((err as ChainlogError).code)
          }
        }
      }
    })
  })

  describe.each(file.invalid.map((v) => [v.name, v] as const))('invalid record: %s', (_name, v) => {
    it(`is refused with ${v.expectedCode} (${v.reason})`, () => {
      let error: unknown
      try {
        openRecord(unhex(v.recordHex))
      } catch (err) {
        error = err
      }
      expect(error).toBeInstanceOf(ChainlogError)
      expect((error as ChainlogError).code).toBe(v.expectedCode)
    })
  })
})
