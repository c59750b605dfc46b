// What the command line says when the store cannot be opened or written (issue 18, items 1-5):
// the reason and code, never CHAINLOG_INTERNAL; damaged LevelDB files exit 1 like any other
// corruption; directories that are not stores are left untouched.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  canMountTmpfs,
  cli,
  fillDisk,
  junkCurrent,
  listing,
  makeStore,
  missingManifest,
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

describe('chainlog on a store it may not use', () => {
  it('a read-only store: CHAINLOG_IO with the reason, and the cause under CHAINLOG_DEBUG', async () => {
    const dir = await readOnlyStore(scratchDir(dirs))
    for (const args of [['ls'], ['verify', '--all'], ['init']]) {
      const r = cli(['--store', dir, ...args], { unprivileged: true })
      expect(r.code, r.stderr).toBe(5)
      expect(r.stderr).toMatch(/permission denied.*\(CHAINLOG_IO\)/)
      expect(r.stderr).toContain('LOCK: Permission denied')
    }
    const debug = cli(['--store', dir, 'ls'], { unprivileged: true, env: { CHAINLOG_DEBUG: '1' } })
    expect(debug.stderr).toMatch(/caused by: .*LOCK: Permission denied/)
  })

  it('a directory the user cannot read: permission denied, not "no store here, run init"', async () => {
    const dir = await unreadableStore(scratchDir(dirs))
    for (const args of [['ls'], ['init']]) {
      const r = cli(['--store', dir, ...args], { unprivileged: true })
      expect(r.code, r.stderr).toBe(5)
      expect(r.stderr).toMatch(/permission denied.*\(CHAINLOG_IO\)/)
      expect(r.stderr).not.toContain('init')
    }
  })

  it('init on a path that is a regular file says so (CHAINLOG_IO, exit 5)', () => {
    const file = join(scratchDir(dirs), 'afile')
    writeFileSync(file, 'mine')
    for (const args of [['init'], ['ls']]) {
      const r = cli(['--store', file, ...args])
      expect(r.code, r.stderr).toBe(5)
      expect(r.stderr).toContain(`${file}: it is a file, not a directory (CHAINLOG_IO)`)
    }
  })
})

describe('chainlog on damaged LevelDB files', () => {
  it('verify --all and ls exit 1 with CHAINLOG_CORRUPT_STORE on a junk CURRENT, and create nothing', () => {
    const dir = junkCurrent(scratchDir(dirs))
    for (const args of [['ls'], ['verify', '--all']]) {
      const r = cli(['--store', dir, ...args])
      expect(r.code, r.stderr).toBe(1)
      expect(r.stderr).toContain('(CHAINLOG_CORRUPT_STORE)')
    }
    expect(listing(dir)).toEqual(['CURRENT'])
  })

  it('verify --all exits 1 on a missing MANIFEST and on a table of random bytes', async () => {
    for (const dir of [await missingManifest(scratchDir(dirs)), await randomTable(scratchDir(dirs))]) {
      const r = cli(['--store', dir, 'verify', '--all'])
      expect(r.code, r.stderr).toBe(1)
      expect(r.stderr).toContain('(CHAINLOG_CORRUPT_STORE)')
    }
  }, 30_000)
})

describe('chainlog on a full disk', () => {
  // Needs root (mount): test/storage/open-errors.test.ts simulates the error elsewhere.
  it.runIf(canMountTmpfs())('ls, verify --all and import report no space (CHAINLOG_IO), not INTERNAL', async () => {
    const src = join(scratchDir(dirs), 'src')
    const sessionId = await makeStore(src, 60_000)
    const bundle = join(scratchDir(dirs), 's.bundle')
    expect(cli(['--store', src, 'export', sessionId, '-o', bundle]).code).toBe(0)
    const full = join(tinyDisk(), 's')
    const init = cli(['--store', full, 'init'])
    expect(init.code, init.stderr).toBe(0)
    // An import larger than the disk fails, and leaves nothing behind (its journal write is cut off).
    const big = join(scratchDir(dirs), 'big.bundle')
    const bigSrc = join(scratchDir(dirs), 'bigsrc')
    const bigId = await makeStore(bigSrc, 1_500_000)
    expect(cli(['--store', bigSrc, 'export', bigId, '-o', big]).code).toBe(0)
    const imp = cli(['--store', full, 'import', big])
    expect(imp.code, imp.stderr).toBe(5)
    expect(imp.stderr).toMatch(/no space left on the device.*\(CHAINLOG_IO\)/)
    // Then the disk is filled to the last byte by something else.
    fillDisk(join(tinyDisk(), 'filler'))
    const small = cli(['--store', full, 'import', bundle])
    expect(small.code, small.stderr).toBe(5)
    expect(small.stderr).toMatch(/no space left on the device.*\(CHAINLOG_IO\)/)
    // LevelDB writes a new manifest whenever it opens a database, so on a full disk even the
    // commands that only read fail to open it: with the reason, never INTERNAL.
    for (const args of [['ls'], ['verify', '--all']]) {
      const r = cli(['--store', full, ...args])
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(5)
      expect(r.stderr).toMatch(/no space left on the device.*\(CHAINLOG_IO\)/)
    }
  }, 60_000)
})


describe('a LevelDB error that reaches the CLI unwrapped (a read of a damaged table after open)', () => {
  it('is reported as the library maps it, naming the store: corruption exits 1, I/O exits 5', async () => {
    const { describeError } = await import('../../src/cli/errors.js')
    const corrupt = Object.assign(new Error('Corruption: block checksum mismatch'), { code: 'LEVEL_CORRUPTION' })
    expect(describeError(corrupt, '/s')).toMatchObject({ code: 'CHAINLOG_CORRUPT_STORE', exitCode: 1 })
    expect(describeError(corrupt, '/s').message).toContain('/s')
    const io = Object.assign(new Error('Iterator failed'), { code: 'LEVEL_ITERATOR_NOT_OPEN', cause: Object.assign(new Error('IO error: x.ldb: Input/output error'), { code: 'LEVEL_IO_ERROR' }) })
    expect(describeError(io, '/s')).toMatchObject({ code: 'CHAINLOG_IO', exitCode: 5, data: { reason: 'io', op: 'read' } })
  })
})
