// Every way a store can fail to open or be written ends in a ChainlogError with a stable code
// and the underlying error as `cause` (issue 18, items 1-5): CHAINLOG_IO with data.reason for
// what the operating system refused, CHAINLOG_CORRUPT_STORE for damaged LevelDB files. Damaged
// or foreign directories are left untouched.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { MemoryLevel } from 'memory-level'
import { afterEach, describe, expect, it } from 'vitest'
import { ChainlogError, ErrorCodes, openStore } from '../../src/index.js'
import { storageError } from '../../src/storage/open-errors.js'
import { rejects } from '../support/errors.js'
import {
  canMountTmpfs,
  fillDisk,
  junkCurrent,
  listing,
  makeStore,
  missingManifest,
  probeOpen,
  randomTable,
  readOnlyStore,
  removeScratch,
  scratchDir,
  unreadableStore,
  useTinyDisk,
} from '../support/broken-stores.js'

const dirs: string[] = []
afterEach(() => removeScratch(dirs))

// A 1 MiB tmpfs for the full-disk test, when this process may mount one (root).
const tinyDisk = useTinyDisk()

const causeCodes = (err: unknown): string[] => {
  const out: string[] = []
  for (let c = (err as { cause?: unknown }).cause as { code?: string; name?: string; cause?: unknown } | undefined; c; c = c.cause as typeof c) out.push(c.code ?? c.name ?? '?')
  return out
}

describe('opening a store the operating system refuses', () => {
  for (const mode of ['shared', 'exclusive'] as const) {
    it(`a read-only store directory is CHAINLOG_IO permission, with LevelDB's reason (${mode})`, async () => {
      const dir = await readOnlyStore(scratchDir(dirs))
      const o = probeOpen(dir, mode, { unprivileged: true })
      expect(o.code).toBe(ErrorCodes.IO)
      expect(o.data).toMatchObject({ path: dir, op: 'open', reason: 'permission', errno: 'EACCES' })
      expect(o.message).toContain('LOCK: Permission denied')
      expect(o.causes).toContain('LEVEL_IO_ERROR')
    })

    it(`a directory the user cannot read is CHAINLOG_IO permission (${mode})`, async () => {
      const dir = await unreadableStore(scratchDir(dirs))
      const o = probeOpen(dir, mode, { unprivileged: true })
      expect(o.code).toBe(ErrorCodes.IO)
      expect(o.data).toMatchObject({ path: dir, reason: 'permission', errno: 'EACCES' })
      expect(o.causes).toEqual(['EACCES'])
    })
  }

  it('a path that is a regular file is CHAINLOG_IO not-a-directory, and the file is left as it was', async () => {
    const file = join(scratchDir(dirs), 'afile')
    writeFileSync(file, 'mine')
    for (const open of [() => openStore(file), () => openStore({ path: file, exclusive: true })]) {
      const err = await rejects(open(), ErrorCodes.IO)
      expect(err.data).toMatchObject({ path: file, reason: 'not-a-directory' })
      expect(err.message).toContain('is a file, not a directory')
    }
    expect(readFileSync(file, 'utf8')).toBe('mine')
  })

  it('a path below a regular file is CHAINLOG_IO not-a-directory with the errno as cause', async () => {
    const file = join(scratchDir(dirs), 'afile')
    writeFileSync(file, 'mine')
    const err = await rejects(openStore({ path: join(file, 'store'), exclusive: true }), ErrorCodes.IO)
    expect(err.data).toMatchObject({ reason: 'not-a-directory', errno: 'ENOTDIR' })
    expect(causeCodes(err)).toEqual(['ENOTDIR'])
  })
})

describe('a store location that is neither a directory nor a postgres:// URL', () => {
  it('is CHAINLOG_INVALID_ARGUMENT, names only the scheme, and creates nothing', async () => {
    const before = readdirSync(process.cwd())
    for (const url of ['mysql://u:secret@db/agents', 'postgress://db/x', 'SQLITE:///tmp/x.db']) {
      const err = await rejects(openStore(url), ErrorCodes.INVALID_ARGUMENT)
      expect(err.message).not.toContain('secret')
      expect(err.data).toEqual({ scheme: url.replace(/:\/\/.*/, '://') })
    }
    // Taken as paths, these would have created mysql:/, postgress:/ and SQLITE:/ here.
    expect(readdirSync(process.cwd())).toEqual(before)
  })
})

describe('opening damaged LevelDB files', () => {
  it('a junk CURRENT is CHAINLOG_CORRUPT_STORE and no LOCK or LOG file is created', async () => {
    const dir = junkCurrent(scratchDir(dirs))
    for (const open of [() => openStore(dir), () => openStore({ path: dir, exclusive: true })]) {
      const err = await rejects(open(), ErrorCodes.CORRUPT_STORE)
      expect(err.data).toMatchObject({ path: dir, file: 'CURRENT' })
    }
    expect(listing(dir)).toEqual(['CURRENT'])
  })

  it('a missing MANIFEST is CHAINLOG_CORRUPT_STORE and the directory is left as it was', async () => {
    const dir = await missingManifest(scratchDir(dirs))
    const before = listing(dir)
    const err = await rejects(openStore({ path: dir, exclusive: true }), ErrorCodes.CORRUPT_STORE)
    expect(err.data.file).toMatch(/^MANIFEST-\d+$/)
    expect(listing(dir)).toEqual(before)
  })

  it('a table (.ldb) of random bytes is CHAINLOG_CORRUPT_STORE with LevelDB corruption as cause', async () => {
    const dir = await randomTable(scratchDir(dirs))
    for (const open of [() => openStore(dir), () => openStore({ path: dir, exclusive: true })]) {
      const err = await rejects(open(), ErrorCodes.CORRUPT_STORE)
      expect(err.message).toMatch(/Corruption/)
      expect(causeCodes(err)).toContain('LEVEL_CORRUPTION')
    }
    // and it is not left locked: the next open meets the same damage, not a lock
    await rejects(openStore({ path: dir, exclusive: true }), ErrorCodes.CORRUPT_STORE)
  }, 30_000)

  it('a directory with no store yet still opens (and is created) as before', async () => {
    const dir = join(scratchDir(dirs), 'new', 'deeper')
    await makeStore(dir)
    const store = await openStore({ path: dir, exclusive: true })
    expect(await store.listSessions()).toHaveLength(1)
    await store.close()
  })
})

describe('a full disk', () => {
  /** A db whose batch fails, once `full`, with LevelDB's own error for a failed log write (no errno, text only). */
  function fullDisk(): MemoryLevel & { full: boolean } {
    const db = Object.assign(new MemoryLevel(), { full: false })
    const batch = db.batch.bind(db) as (...a: unknown[]) => Promise<void>
    ;(db as unknown as { batch: (...a: unknown[]) => Promise<void> }).batch = (...a: unknown[]) => {
      if (!db.full) return batch(...a)
      return Promise.reject(Object.assign(new Error('IO error: /s/000003.log: No space left on device'), { code: 'LEVEL_IO_ERROR' }))
    }
    return db
  }

  it('an append whose write fails with ENOSPC (LevelDB error shape, simulated) is CHAINLOG_IO no-space', async () => {
    const db = fullDisk()
    const store = await openStore({ db, durability: 'relaxed' })
    const { sessionId, head } = await store.createSession({ ts: 1 })
    db.full = true
    const err = await rejects(store.appendTurn(sessionId, [{ role: 'user', content: 'hi' }], { expectedHead: head, ts: 2 }), ErrorCodes.IO)
    expect(err.data).toMatchObject({ op: 'write', reason: 'no-space', errno: 'ENOSPC' })
    expect(causeCodes(err)).toEqual(['LEVEL_IO_ERROR'])
    db.full = false
    // nothing landed: the head did not move
    expect(await store.head(sessionId)).toBe(head)
    await store.close()
  })

  // Needs root (mount); elsewhere the simulated test above covers the mapping.
  it.runIf(canMountTmpfs())('on a real full disk (1 MiB tmpfs): the append, then every open, is CHAINLOG_IO no-space', async () => {
    const dir = join(tinyDisk(), 's')
    const store = await openStore({ path: dir, exclusive: true, durability: 'relaxed' })
    const { sessionId } = await store.createSession({ ts: 1 })
    let failure: unknown
    for (let i = 0; i < 100 && !failure; i++) {
      await store.appendTurn(sessionId, [{ role: 'user', content: `${'x'.repeat(30_000)}${i}` }], { ts: 2 }).catch((e: unknown) => (failure = e))
    }
    expect(failure).toBeInstanceOf(ChainlogError)
    expect((failure as ChainlogError).code).toBe(ErrorCodes.IO)
    expect((failure as ChainlogError).data).toMatchObject({ op: 'write', reason: 'no-space', errno: 'ENOSPC' })
    await store.close()
    // The close empties the journal and truncates it, which frees its bytes: fill them again.
    fillDisk(join(dir, '..', 'filler'))
    const err = await rejects(openStore({ path: dir, exclusive: true }), ErrorCodes.IO)
    expect(err.data).toMatchObject({ op: 'open', reason: 'no-space' })
    expect(err.message).toContain('No space left on device')
  }, 30_000)
})

describe('storageError', () => {
  it('passes ChainlogErrors through and maps the rest with the original as cause', () => {
    const mine = new ChainlogError(ErrorCodes.SESSION_NOT_FOUND, 'x')
    expect(storageError(mine, 'read', '/s')).toBe(mine)
    const locked = Object.assign(new Error('Database failed to open'), { code: 'LEVEL_DATABASE_NOT_OPEN', cause: Object.assign(new Error('lock'), { code: 'LEVEL_LOCKED' }) })
    expect(storageError(locked, 'open', '/s').code).toBe(ErrorCodes.STORE_LOCKED)
    const weird = Object.assign(new Error('IO error: something odd'), { code: 'LEVEL_IO_ERROR' })
    const e = storageError(weird, 'read', '/s')
    expect(e.code).toBe(ErrorCodes.IO)
    expect(e.data).toMatchObject({ reason: 'io', op: 'read' })
    expect(e.cause).toBe(weird)
    expect(storageError(Object.assign(new Error('x'), { code: 'EROFS' }), 'write', '/s').data.reason).toBe('read-only')
  })
})

describe('files the library reads for the caller', () => {
  it('importBundle of a missing file is a ChainlogError with the ENOENT as cause', async () => {
    const store = await openStore({ db: new MemoryLevel(), durability: 'relaxed' })
    try {
      const err = await rejects(store.importBundle(join(scratchDir(dirs), 'missing.bundle')), ErrorCodes.IO)
      expect(err.data).toMatchObject({ reason: 'not-found' })
      expect(causeCodes(err)).toEqual(['ENOENT'])
    } finally {
      await store.close()
    }
  })
})
