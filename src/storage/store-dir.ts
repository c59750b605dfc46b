// A store directory under Node: its LevelDB database (classic-level), opened once per process.
// Reached through platform/node.ts only, so a browser bundle never loads it.
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs'
import { join, resolve as resolvePath } from 'node:path'
import { ChainlogError, ErrorCodes } from '../errors.js'
import * as K from './keys.js'
import type { AnyLevel } from './level-engine.js'
import { storageError } from './open-errors.js'
import { WRITE_BUFFER_BYTES } from './store-format.js'

/** Store directories this process has open. */
const HELD_PATHS = new Set<string>()

/** Open (or create) the LevelDB database of a store directory. */
export async function openStoreDir(path: string): Promise<AnyLevel> {
  // LevelDB locks a store with fcntl, and POSIX drops every fcntl lock a process holds on a
  // file when it closes any descriptor of that file: LevelDB's own refusal of a second open
  // in this process closes one, and another process could then open the store beside us.
  // So a directory this process holds is refused here, before LevelDB touches its LOCK.
  const held = resolvePath(path)
  if (HELD_PATHS.has(held)) {
    throw new ChainlogError(ErrorCodes.STORE_LOCKED, `store is already open in this process: ${path}`, { path })
  }
  // A file, an unreadable directory or damaged LevelDB files fail here, untouched.
  checkStoreDir(path)
  const { ClassicLevel } = await import('classic-level')
  const db = new ClassicLevel(path, { ...K.BIN, writeBufferSize: WRITE_BUFFER_BYTES }) as unknown as AnyLevel
  try {
    await db.open()
  } catch (err) {
    throw storageError(err, 'open', path)
  }
  HELD_PATHS.add(held)
  db.once('closed', () => HELD_PATHS.delete(held))
  return db
}

/** `bytes` as text for a message: control and non-ASCII characters as `?`, cut at `max`. */
function printable(bytes: Buffer, max = 40): string {
  const s = bytes.toString('latin1').replace(/[^\x20-\x7e]/g, '?')
  return s.length > max ? `${s.slice(0, max)}...` : s
}

/**
 * Look at a store directory before LevelDB opens it, so that a path that cannot be a store
 * fails with a clear error and a damaged one is left untouched (LevelDB would otherwise create
 * LOCK and LOG files in it before it finds the damage). A missing directory is fine: LevelDB
 * creates it. Throws CHAINLOG_IO or CHAINLOG_CORRUPT_STORE.
 */
export function checkStoreDir(path: string): void {
  let isDir: boolean
  try {
    isDir = statSync(path).isDirectory()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw storageError(err, 'open', path)
  }
  if (!isDir) {
    throw new ChainlogError(ErrorCodes.IO, `cannot open the store at ${path}: it is a file, not a directory`, { path, op: 'open', reason: 'not-a-directory', errno: 'ENOTDIR' })
  }
  // No CURRENT: not a LevelDB database yet (LevelDB creates one). Stat, not readdir: a big store
  // holds thousands of table files.
  // The process that holds the store may be writing a new manifest meanwhile: it renames CURRENT
  // to name the new one, then deletes the old. A manifest that is missing while CURRENT has moved
  // on is that, not damage: look again (a stable CURRENT naming a missing manifest is damage).
  let current = readCurrent(path)
  for (let attempt = 1; current !== undefined; attempt++) {
    const m = /^(MANIFEST-\d+)\n$/.exec(current.toString('latin1'))
    if (!m) {
      throw new ChainlogError(
        ErrorCodes.CORRUPT_STORE,
        `the store's LevelDB files at ${path} are damaged: CURRENT does not name a manifest (it holds "${printable(current)}")`,
        { path, op: 'open', file: 'CURRENT' },
      )
    }
    if (existsSync(join(path, m[1]!))) return
    const again = readCurrent(path)
    if (attempt >= 5 || (again !== undefined && again.equals(current))) {
      throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `the store's LevelDB files at ${path} are damaged: ${m[1]} named by CURRENT is missing`, {
        path,
        op: 'open',
        file: m[1],
      })
    }
    current = again
  }
}

/** The bytes of the store's CURRENT file (its first 256), or undefined when there is none. */
function readCurrent(path: string): Buffer | undefined {
  try {
    const fd = openSync(join(path, 'CURRENT'), 'r')
    try {
      const buf = Buffer.alloc(256)
      return buf.subarray(0, readSync(fd, buf, 0, buf.length, 0))
    } finally {
      closeSync(fd)
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    // EACCES here is a directory this process may not enter or a CURRENT it may not read
    throw storageError(err, 'open', path)
  }
}
