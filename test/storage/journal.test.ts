// The journal of a store opened by path (docs/storage.md, section 12): its record format, what
// the engine acknowledges and when, what reads see before LevelDB has the rows, and what a store
// comes back as after a power cut, simulated by putting together the files a power cut could
// leave: LevelDB's directory as it was at its last fsync, and the journal cut to what had been
// fdatasync'ed (or a little more). `sync` appends survive that; `relaxed` ones need not.
import { readFileSync, statSync } from 'node:fs'
import { cp, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ChainlogError, ErrorCodes } from '../../src/errors.js'
import { openStore } from '../../src/open.js'
import type { BatchOp } from '../../src/storage/engine.js'
import { decodeRecords, encodeRecord, GROW_MAX, JOURNAL_FILE, Journal } from '../../src/storage/journal.js'
import * as K from '../../src/storage/keys.js'
import { JOURNAL_MAX_BYTES, JOURNAL_RESET_BYTES, LevelEngine, type LevelEngineOptions } from '../../src/storage/level-engine.js'
import type { Store } from '../../src/store.js'

const dirs: string[] = []
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'chainlog-journal-'))
  dirs.push(d)
  return d
}

const b = (s: string) => new TextEncoder().encode(s)
const put = (k: string, v: string): BatchOp => ({ type: 'put', key: b(k), value: b(v) })
const del = (k: string): BatchOp => ({ type: 'del', key: b(k) })
const journalBytes = async (dir: string) => (await stat(join(dir, JOURNAL_FILE))).size

describe('journal records', () => {
  const records = [
    { seq: 7, ops: [put('a', '1'), del('b')] },
    { seq: 8, ops: [put('c', 'x'.repeat(1000))] },
    { seq: 9, ops: [] },
  ]
  const bytes = Buffer.concat(records.map((r) => encodeRecord(r.seq, r.ops)))

  it('read back as written', () => {
    const got = decodeRecords(bytes)
    expect(got.end).toBe(bytes.length)
    expect(got.records).toEqual(records)
  })

  it('a record cut short at any byte ends the journal before it', () => {
    const firstTwo = encodeRecord(7, records[0]!.ops).length + encodeRecord(8, records[1]!.ops).length
    for (let cut = firstTwo; cut < bytes.length; cut++) {
      const got = decodeRecords(bytes.subarray(0, cut))
      expect(got.records.map((r) => r.seq)).toEqual([7, 8])
      expect(got.end).toBe(firstTwo)
    }
  })

  it('a flipped byte fails the CRC, and a record out of sequence ends the journal', () => {
    const flipped = Buffer.from(bytes)
    flipped[encodeRecord(7, records[0]!.ops).length + 20]! ^= 1
    expect(decodeRecords(flipped).records.map((r) => r.seq)).toEqual([7])
    const stale = Buffer.concat([encodeRecord(7, []), encodeRecord(8, []), encodeRecord(3, []), encodeRecord(4, [])])
    expect(decodeRecords(stale).records.map((r) => r.seq)).toEqual([7, 8])
  })
})

async function engineIn(dir: string, options?: LevelEngineOptions): Promise<LevelEngine> {
  const { ClassicLevel } = await import('classic-level')
  const db = new ClassicLevel(dir, K.BIN)
  await db.open()
  return LevelEngine.withJournal(db as never, dir, options)
}

describe('the journal file', () => {
  const rec = (seq: number) => encodeRecord(seq, [put(`k${seq}`, 'v'.repeat(3000))])

  it('grows ahead of its records in steps, so most fdatasyncs find the file length unchanged', async () => {
    const dir = await tempDir()
    const { journal, records } = Journal.open(dir)
    expect(records).toEqual([])
    const lengths = new Set<number>()
    try {
      for (let seq = 1; seq <= 300; seq++) {
        journal.append(rec(seq))
        await journal.sync()
        const { size } = statSync(join(dir, JOURNAL_FILE))
        expect(size).toBeGreaterThanOrEqual(journal.size)
        lengths.add(size)
      }
    } finally {
      journal.close()
    }
    // ~900 KiB of records: the file took 64, 128, 256, 512 KiB and 1 MiB, not 300 lengths.
    expect([...lengths]).toEqual([64, 128, 256, 512, 1024].map((k) => k * 1024))
    const again = Journal.open(dir)
    expect(again.records.map((r) => r.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1))
    again.journal.close()
  })

  it('emptied, it is written from the start again; the applied run after the new records is never read back', async () => {
    const dir = await tempDir()
    const { journal } = Journal.open(dir)
    for (let seq = 1; seq <= 40; seq++) journal.append(rec(seq))
    journal.reset()
    // What an open after a crash right now would read: the applied records are still in the
    // file, behind a zeroed first record header.
    const peek = () => decodeRecords(readFileSync(join(dir, JOURNAL_FILE))).records.map((r) => r.seq)
    expect(peek()).toEqual([])
    const length = statSync(join(dir, JOURNAL_FILE)).size
    for (let seq = 41; seq <= 43; seq++) journal.append(rec(seq))
    expect(statSync(join(dir, JOURNAL_FILE)).size).toBe(length)
    expect(peek()).toEqual([41, 42, 43])
    journal.close()
  })

  it('an empty journal is truncated when it is closed, so the next open reads nothing', async () => {
    const dir = await tempDir()
    const { journal } = Journal.open(dir)
    journal.append(rec(1))
    journal.reset()
    journal.close()
    expect(statSync(join(dir, JOURNAL_FILE)).size).toBe(0)
    // One with records is left as it is, for the next open to apply.
    const second = Journal.open(dir).journal
    second.append(rec(2))
    second.close()
    expect(Journal.open(dir).records.map((r) => r.seq)).toEqual([2])
  })
})

describe('a journalled engine', () => {

  it('acknowledges a commit once it is in the journal; reads see it before and after it lands', async () => {
    const dir = await tempDir()
    const engine = await engineIn(dir)
    try {
      await engine.commit({ ops: [put('a', '1'), put('b', '2')] })
      expect(await journalBytes(dir)).toBeGreaterThan(0)
      expect(engine.stats).toMatchObject({ batches: 1, syncedBatches: 0 })
      // Point reads through the overlay or LevelDB, whichever holds it by now; scans after it lands.
      expect(Buffer.from((await engine.get(b('a')))!).toString()).toBe('1')
      await engine.commit({ ops: [del('a')], expect: [{ key: b('b'), value: b('2') }] })
      expect(await engine.get(b('a'))).toBeUndefined()
      const rows: string[] = []
      for await (const chunk of engine.scan({ gte: b('a'), lt: b('z') })) for (const [k, v] of chunk) rows.push(`${Buffer.from(k)}=${Buffer.from(v)}`)
      expect(rows).toEqual(['b=2'])
      // LevelDB holds both commits, and the J row says so.
      await engine.flush()
      expect(K.readU64((await engine.db.get(K.journalKey(), K.BIN)) as Uint8Array)).toBe(2)
      expect(await engine.db.get(b('a'), K.BIN)).toBeUndefined()
    } finally {
      await engine.close()
    }
    // A clean close leaves the journal empty.
    expect(await journalBytes(dir)).toBe(0)
  })

  it('fdatasyncs a group only when one of its commits asked for sync', async () => {
    const dir = await tempDir()
    const engine = await engineIn(dir)
    try {
      await engine.commit({ ops: [put('a', '1')] })
      expect(engine.stats.syncedBatches).toBe(0)
      await engine.commit({ ops: [put('a', '2')], sync: true })
      expect(engine.stats.syncedBatches).toBe(1)
      // Ten at once: they share groups, and so fdatasyncs.
      await Promise.all(Array.from({ length: 10 }, (_, i) => engine.commit({ ops: [put(`k${i}`, 'v')], sync: true })))
      expect(engine.stats.syncedBatches).toBeLessThan(1 + 10)
    } finally {
      await engine.close()
    }
  })

  it('a commit of more than 4 MiB goes straight to LevelDB, after what was journalled before it', async () => {
    const dir = await tempDir()
    const engine = await engineIn(dir)
    try {
      await engine.commit({ ops: [put('a', 'small')] })
      const before = await journalBytes(dir)
      const big = Array.from({ length: 5 }, (_, i) => ({ type: 'put' as const, key: b(`big${i}`), value: new Uint8Array(1024 * 1024).fill(i) }))
      await engine.commit({ ops: [...big, put('a', 'after')] })
      expect(await journalBytes(dir)).toBe(before)
      expect(Buffer.from((await engine.db.get(b('a'), K.BIN)) as Uint8Array).toString()).toBe('after')
    } finally {
      await engine.close()
    }
  })

  it('stays under its bound while commits keep coming: it is emptied on the way', async () => {
    const dir = await tempDir()
    const engine = await engineIn(dir)
    let largest = 0
    let longest = 0
    try {
      const value = new Uint8Array(64 * 1024).fill(7)
      // 24 MiB in 384 commits back to back: LevelDB is always applying the last ones while the
      // next arrive, so the journal is never caught up with by chance.
      for (let i = 0; i < 384; i++) {
        await engine.commit({ ops: [{ type: 'put', key: b(`k${i % 50}`), value }] })
        largest = Math.max(largest, engine.journalBytes)
        longest = Math.max(longest, statSync(join(dir, JOURNAL_FILE)).size)
      }
      expect(largest).toBeGreaterThan(JOURNAL_RESET_BYTES)
      expect(largest).toBeLessThanOrEqual(JOURNAL_MAX_BYTES + value.length + 64)
      // The file is written ahead of the records by at most one step of zeros, and reused.
      expect(longest).toBeLessThanOrEqual(JOURNAL_MAX_BYTES + value.length + 64 + GROW_MAX)
      expect((await engine.get(b('k0')))!.length).toBe(value.length)
    } finally {
      await engine.close()
    }
  })

  it('a journal that does not continue from what LevelDB holds is refused, untouched', async () => {
    const dir = await tempDir()
    const engine = await engineIn(dir)
    await engine.close()
    // LevelDB holds nothing journalled (no J row): a journal starting at record 5 has lost 1-4.
    const bad = Buffer.concat([encodeRecord(5, [put('x', '1')]), encodeRecord(6, [put('y', '2')])])
    await writeFile(join(dir, JOURNAL_FILE), bad)
    const err = await engineIn(dir).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(ChainlogError)
    expect((err as ChainlogError).code).toBe(ErrorCodes.CORRUPT_STORE)
    expect(await readFile(join(dir, JOURNAL_FILE))).toEqual(bad)
  })
})

describe('after a power cut', () => {
  /**
   * A store of one session, cleanly closed; then opened with `durability` and a copy of its
   * directory taken (LevelDB as it is on disk, all of it fsynced by the close); then `turns` turns
   * appended, each acknowledged. Returns the copy, the journal as it is now, and the heads seen.
   */
  async function scenario(durability: 'sync' | 'relaxed', turns: number) {
    const dir = await tempDir()
    const first = await openStore({ path: dir, exclusive: true })
    await first.createSession({ sessionId: 's', ts: 1 })
    await first.close()
    const store = (await openStore({ path: dir, exclusive: true, durability })) as Store
    const image = await tempDir()
    await cp(dir, image, { recursive: true })
    const heads: string[] = [(await store.head('s'))!]
    for (let i = 0; i < turns; i++) {
      const r = await store.appendTurn('s', [{ role: 'user', content: `question ${i}` }, { role: 'assistant', content: `answer ${i} ${'x'.repeat(i * 50)}` }], { ts: 2 + i, turnEnd: true })
      heads.push(r.head)
    }
    // Every acknowledged commit is in the journal now (nothing emptied it: far under 4 MiB).
    // The file is longer than its records (zeros written ahead of them): the records alone.
    const file = await readFile(join(dir, JOURNAL_FILE))
    const journal = file.subarray(0, decodeRecords(file).end)
    expect(file.subarray(journal.length).every((x) => x === 0)).toBe(true)
    return { store, image, journal, heads }
  }

  /** Open the image with `journal` as its journal file: it must open and verify whole. */
  async function reopen(image: string, journal: Uint8Array): Promise<string> {
    await writeFile(join(image, JOURNAL_FILE), journal)
    const store = await openStore({ path: image, exclusive: true })
    try {
      const report = await store.verify()
      expect(report.ok, JSON.stringify(report.findings)).toBe(true)
      return (await store.head('s'))!
    } finally {
      await store.close()
    }
  }

  it('keeps every sync append: LevelDB lost all of them, the fdatasync’ed journal brings them back', async () => {
    const { store, image, journal, heads } = await scenario('sync', 8)
    expect(store.engine.stats.syncedBatches).toBe(8)
    // An fdatasync covers the whole file, so after the last acknowledgement all of it is on disk.
    expect(await reopen(image, journal)).toBe(heads[8])
    await store.close()
  })

  it('with part of a later, unsynced write on disk too, still every sync append and no torn one', async () => {
    const { store, image, journal, heads } = await scenario('sync', 6)
    const torn = Buffer.concat([journal, encodeRecord(1_000_000, [put('zz', 'never acknowledged')]).subarray(0, 30)])
    expect(await reopen(image, torn)).toBe(heads[6])
    await store.close()
  })

  it('relaxed appends are not fsynced: cut back to the last fsync, the store comes back as it was then, intact', async () => {
    const { store, image, journal, heads } = await scenario('relaxed', 8)
    expect(store.engine.stats.syncedBatches).toBe(0)
    await store.close()
    // Nothing of the journal was fdatasync'ed: a power cut may leave none of it, or any prefix.
    for (const cut of [0, Math.floor(journal.length / 3), Math.floor((journal.length * 2) / 3)]) {
      const copy = await tempDir()
      await cp(image, copy, { recursive: true })
      const head = await reopen(copy, journal.subarray(0, cut))
      if (cut === 0) expect(head).toBe(heads[0])
      else expect(heads.slice(0, 8)).toContain(head)
    }
  })
})

describe('syncEveryMs: a bound on what a relaxed store can lose', () => {
  afterEach(() => vi.restoreAllMocks())

  it('fdatasyncs the first relaxed group N ms or more after the last fdatasync, and only that one', async () => {
    let now = 1_000_000
    vi.spyOn(Date, 'now').mockImplementation(() => now)
    const dir = await tempDir()
    const engine = await engineIn(dir, { syncEveryMs: 1000 })
    try {
      // Opening counts as the last fsync: relaxed commits within the bound are not fdatasync'ed.
      for (let i = 0; i < 5; i++) {
        now += 100
        await engine.commit({ ops: [put(`a${i}`, 'v')] })
      }
      expect(engine.stats.syncedBatches).toBe(0)
      // 1,000 ms after it: this group is fdatasync'ed before it is acknowledged ...
      now += 500
      await engine.commit({ ops: [put('b', 'v')] })
      expect(engine.stats.syncedBatches).toBe(1)
      // ... and the clock starts again from that fdatasync.
      now += 999
      await engine.commit({ ops: [put('c', 'v')] })
      expect(engine.stats.syncedBatches).toBe(1)
      now += 1
      await engine.commit({ ops: [put('d', 'v')] })
      expect(engine.stats.syncedBatches).toBe(2)
      // A sync commit also restarts it.
      now += 600
      await engine.commit({ ops: [put('e', 'v')], sync: true })
      now += 600
      await engine.commit({ ops: [put('f', 'v')] })
      expect(engine.stats.syncedBatches).toBe(3)
    } finally {
      await engine.close()
    }
  })

  it('without it, relaxed groups are never fdatasync’ed, however much time passes', async () => {
    let now = 1_000_000
    vi.spyOn(Date, 'now').mockImplementation(() => now)
    const dir = await tempDir()
    const engine = await engineIn(dir)
    try {
      for (let i = 0; i < 5; i++) {
        now += 60_000
        await engine.commit({ ops: [put(`a${i}`, 'v')] })
      }
      expect(engine.stats.syncedBatches).toBe(0)
    } finally {
      await engine.close()
    }
  })

  it('bounds a store on a db (no journal) the same way, on its LevelDB batches', async () => {
    let now = 1_000_000
    vi.spyOn(Date, 'now').mockImplementation(() => now)
    const { MemoryLevel } = await import('memory-level')
    const store = await openStore({ db: new MemoryLevel(), durability: 'relaxed', syncEveryMs: 1000 })
    try {
      // (Opening wrote the store's format row, fsynced.)
      const base = store.engine.stats.syncedBatches
      const { sessionId } = await store.createSession({ ts: 1 })
      await store.appendTurn(sessionId, [{ role: 'user', content: 'a' }], { ts: 2 })
      expect(store.engine.stats.syncedBatches - base).toBe(0)
      now += 1000
      await store.appendTurn(sessionId, [{ role: 'user', content: 'b' }], { ts: 3 })
      expect(store.engine.stats.syncedBatches - base).toBe(1)
    } finally {
      await store.close()
    }
  })

  it('syncEveryMs: 0 makes a relaxed store keep every acknowledged append through a power cut', async () => {
    const dir = await tempDir()
    const first = await openStore({ path: dir, exclusive: true })
    await first.createSession({ sessionId: 's', ts: 1 })
    await first.close()
    const store = (await openStore({ path: dir, exclusive: true, durability: 'relaxed', syncEveryMs: 0 })) as Store
    const image = await tempDir()
    await cp(dir, image, { recursive: true })
    let head = ''
    for (let i = 0; i < 6; i++) head = (await store.appendTurn('s', [{ role: 'user', content: `q ${i}` }], { ts: 2 + i, turnEnd: true })).head
    expect(store.engine.stats.syncedBatches).toBe(6)
    // The journal as acknowledged was fdatasync'ed whole; LevelDB as it was when the image was taken.
    await writeFile(join(image, JOURNAL_FILE), await readFile(join(dir, JOURNAL_FILE)))
    await store.close()
    const back = await openStore({ path: image, exclusive: true })
    try {
      expect(await back.head('s')).toBe(head)
      expect((await back.verify()).ok).toBe(true)
    } finally {
      await back.close()
    }
  })

  it('a value that is not a number of milliseconds is CHAINLOG_INVALID_ARGUMENT, and nothing is created', async () => {
    const dir = join(await tempDir(), 'never')
    for (const bad of [-1, Number.NaN, Infinity, '100' as unknown as number]) {
      const err = await openStore({ path: dir, exclusive: true, durability: 'relaxed', syncEveryMs: bad }).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(err).toBeInstanceOf(ChainlogError)
      expect((err as ChainlogError).code).toBe(ErrorCodes.INVALID_ARGUMENT)
    }
    expect(await stat(dir).then(() => true, () => false)).toBe(false)
  })
})
