// Read paths after open (entries, restore, verify, gc, figures, list, export) meet LevelDB's
// errors too: a table damaged while the store is open, or a disk error. The library maps them at
// the engine seam (LevelEngine), as it maps those of open and of writes: CHAINLOG_CORRUPT_STORE
// for LevelDB corruption, CHAINLOG_IO for the rest, the LevelDB error kept as `cause`
// (issue 18). Before, they reached library callers raw (LEVEL_CORRUPTION); only the CLI mapped them.
import { closeSync, openSync, readdirSync, statSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { MemoryLevel } from 'memory-level'
import { afterEach, describe, expect, it } from 'vitest'
import { ChainlogError, ErrorCodes, openStore } from '../../src/index.js'
import type { Store } from '../../src/store.js'
import { rejects } from '../support/errors.js'
import { removeScratch, scratchDir } from '../support/broken-stores.js'

const dirs: string[] = []
afterEach(() => removeScratch(dirs))

const causeCodes = (err: unknown): string[] => {
  const out: string[] = []
  for (let c = (err as { cause?: unknown }).cause as { code?: string; cause?: unknown } | undefined; c; c = c.cause as typeof c) out.push(c.code ?? '?')
  return out
}

/**
 * A store of one session of 400 turns, cleanly closed and opened again; then every table file
 * (.ldb) has its first 80% overwritten in place with junk, while the store is open. LevelDB keeps
 * the tables' index blocks it read while opening, and reads the data blocks afterwards: through
 * the junk. (LevelDB maps table files MAP_SHARED, so an in-place write is what it reads.)
 */
async function damagedAfterOpen(): Promise<{ store: Store; dir: string; sessionId: string; hash: string }> {
  const dir = join(scratchDir(dirs), 's')
  const first = await openStore({ path: dir, exclusive: true, durability: 'relaxed' })
  const { sessionId } = await first.createSession({ ts: 1 })
  let hash = ''
  for (let n = 0; n < 400; n++) {
    const r = await first.appendTurn(sessionId, [{ role: 'user', content: `message ${n} ${String(n * 7919).repeat(60)}` }], { ts: 2 + n })
    if (n === 200) hash = r.head
  }
  await first.close()
  const store = await openStore({ path: dir, exclusive: true })
  const tables = readdirSync(dir).filter((f) => f.endsWith('.ldb'))
  expect(tables.length).toBeGreaterThan(0)
  for (const t of tables) {
    const size = statSync(join(dir, t)).size
    const junk = Buffer.alloc(Math.floor(size * 0.8))
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 2654435761) >>> 24
    const fd = openSync(join(dir, t), 'r+')
    try {
      writeSync(fd, junk, 0, junk.length, 0)
    } finally {
      closeSync(fd)
    }
  }
  return { store, dir, sessionId, hash }
}

describe('a table damaged after the store was opened', () => {
  it('every read path fails with CHAINLOG_CORRUPT_STORE, LevelDB corruption as cause', async () => {
    const { store, dir, sessionId, hash } = await damagedAfterOpen()
    try {
      const sink = new Writable({ write: (_c, _e, cb) => cb() })
      const calls: [string, () => Promise<unknown>][] = [
        ['entries', async () => {
          for await (const _ of store.entries(sessionId)) void _
        }],
        ['restore', () => store.restore(sessionId)],
        ['verify', () => store.verify()],
        ['verify one session', () => store.verify({ sessionId })],
        ['gc', () => store.gc()],
        ['figures', () => store.figures()],
        ['listSessions', () => store.listSessions()],
        ['getEntry', () => store.getEntry(hash)],
        ['exportSession', () => store.exportSession(sessionId, sink)],
      ]
      for (const [name, call] of calls) {
        const err = await call().then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(err, name).toBeInstanceOf(ChainlogError)
        expect((err as ChainlogError).code, `${name}: ${(err as Error).message}`).toBe(ErrorCodes.CORRUPT_STORE)
        // Reads of one session whose session row is still in LevelDB's block cache (read with the
        // journal row beside it when the store opened) go on to its records, where LevelDB's
        // iterator steps over the blocks it cannot read: the store finds the chain's first record
        // missing, which is corruption it reports itself.
        if (name === 'entries' || name === 'restore') {
          if ((err as ChainlogError).data.op === undefined) {
            expect((err as ChainlogError).data, name).toMatchObject({ sessionId, seq: 0 })
            continue
          }
        }
        expect((err as ChainlogError).data, name).toMatchObject({ path: dir, op: 'read' })
        expect((err as Error).message, name).toMatch(/Corruption/)
        expect(causeCodes(err), name).toContain('LEVEL_CORRUPTION')
      }
    } finally {
      await store.close().catch(() => undefined)
    }
  }, 60_000)
})

describe('other LevelDB errors of a read', () => {
  /** A memory-level db whose reads fail, once `failing`, as LevelDB fails a read it cannot do (an IO error, no errno). */
  function failingReads(): MemoryLevel & { failing: boolean } {
    const db = Object.assign(new MemoryLevel(), { failing: false })
    const ioError = () => Object.assign(new Error('IO error: /s/000005.ldb: Input/output error'), { code: 'LEVEL_IO_ERROR' })
    const wrap = (name: 'get' | 'getMany') => {
      const orig = (db[name] as (...a: unknown[]) => Promise<unknown>).bind(db)
      ;(db as unknown as Record<string, unknown>)[name] = (...a: unknown[]) => (db.failing ? Promise.reject(ioError()) : orig(...a))
    }
    wrap('get')
    wrap('getMany')
    const iterator = db.iterator.bind(db) as (...a: unknown[]) => { nextv: (...a: unknown[]) => Promise<unknown> }
    ;(db as unknown as Record<string, unknown>).iterator = (...a: unknown[]) => {
      const it = iterator(...a)
      const nextv = it.nextv.bind(it)
      it.nextv = (...b: unknown[]) => (db.failing ? Promise.reject(ioError()) : nextv(...b))
      return it
    }
    return db
  }

  it('point reads and scans are CHAINLOG_IO with the reason, the LevelDB error as cause', async () => {
    const db = failingReads()
    const store = await openStore({ db, durability: 'relaxed' })
    try {
      const { sessionId, head } = await store.createSession({ ts: 1 })
      store.invalidate()
      db.failing = true
      for (const [name, call] of [
        ['getEntry', () => store.getEntry(head)],
        ['listSessions', () => store.listSessions()],
        ['verify', () => store.verify({ sessionId })],
      ] as const) {
        const err = await rejects((call as () => Promise<unknown>)(), ErrorCodes.IO)
        expect(err.data, name).toMatchObject({ op: 'read', reason: 'io' })
        expect(causeCodes(err), name).toEqual(['LEVEL_IO_ERROR'])
      }
      db.failing = false
      expect((await store.restore(sessionId)).sessionId).toBe(sessionId)
    } finally {
      await store.close()
    }
  })
})
