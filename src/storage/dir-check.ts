// The look at a store directory before LevelDB opens it (Node only). Its own small module: the
// CLI checks a directory before it loads the store (start-up time, bench case 8).
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { ChainlogError, ErrorCodes } from '../errors.js'
import { storageError } from './open-errors.js'

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
