// What LevelDB, abstract-level and the file system throw when a store cannot be opened, read or
// written, turned into ChainlogErrors a caller can match on: CHAINLOG_IO with a `reason`, or
// CHAINLOG_CORRUPT_STORE for damaged LevelDB files. The original error is always `cause`.
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { ChainlogError, ErrorCodes } from '../errors.js'

/** Why the operating system refused (CHAINLOG_IO's `data.reason`, docs/errors.md). */
export type IoReason = 'permission' | 'no-space' | 'read-only' | 'not-a-directory' | 'not-found' | 'too-many-open-files' | 'io'

/** What the store was doing when it failed. */
export type StorageOp = 'open' | 'read' | 'write'

interface Causal {
  code?: unknown
  message?: unknown
  cause?: unknown
}

// errno codes (node:fs) and the strerror text LevelDB puts in its IO error messages.
const BY_ERRNO: Record<string, IoReason> = {
  EACCES: 'permission',
  EPERM: 'permission',
  ENOSPC: 'no-space',
  EDQUOT: 'no-space',
  EROFS: 'read-only',
  ENOTDIR: 'not-a-directory',
  EEXIST: 'not-a-directory', // mkdir of the store path, which is a file
  ENOENT: 'not-found',
  EMFILE: 'too-many-open-files',
  ENFILE: 'too-many-open-files',
  EIO: 'io',
}
const BY_TEXT: [RegExp, IoReason, string][] = [
  [/Permission denied|Operation not permitted/i, 'permission', 'EACCES'],
  [/No space left on device|Disk quota exceeded/i, 'no-space', 'ENOSPC'],
  [/Read-only file system/i, 'read-only', 'EROFS'],
  [/Not a directory/i, 'not-a-directory', 'ENOTDIR'],
  [/File exists/i, 'not-a-directory', 'EEXIST'],
  [/Too many open files/i, 'too-many-open-files', 'EMFILE'],
  [/No such file or directory/i, 'not-found', 'ENOENT'],
]

const SAY: Record<IoReason, string> = {
  permission: 'permission denied',
  'no-space': 'no space left on the device',
  'read-only': 'the file system is read-only',
  'not-a-directory': 'the path is not a directory',
  'not-found': 'a file the store needs does not exist',
  'too-many-open-files': 'too many open files',
  io: 'an I/O error',
}

function chain(err: unknown): Causal[] {
  const out: Causal[] = []
  for (let e = err as Causal | undefined; e && typeof e === 'object' && out.length < 8; e = e.cause as Causal | undefined) out.push(e)
  return out
}

/** The deepest message in the chain (LevelDB's own text sits under abstract-level's wrapper). */
function innermost(err: unknown): string {
  const c = chain(err)
  for (let i = c.length - 1; i >= 0; i--) if (typeof c[i]!.message === 'string' && c[i]!.message) return c[i]!.message as string
  return String(err)
}

/** True when `err` (or an error it wraps) is LevelDB's lock being held by another process. */
export function isLockedError(err: unknown): boolean {
  return chain(err).some((e) => e.code === 'LEVEL_LOCKED')
}

/**
 * The ChainlogError to throw for a failure of the store at `path` during `op`. ChainlogErrors
 * pass through unchanged. LevelDB corruption (and, while opening, a file the store names that
 * is missing) becomes CHAINLOG_CORRUPT_STORE; anything else the storage layer throws becomes
 * CHAINLOG_IO with `data.reason`.
 */
export function storageError(err: unknown, op: StorageOp, path: string | undefined): ChainlogError {
  if (err instanceof ChainlogError) return err
  const where = path ?? '(db)'
  const detail = innermost(err)
  if (isLockedError(err)) {
    return new ChainlogError(ErrorCodes.STORE_LOCKED, `store is locked by another process: ${where}`, { path }, { cause: err })
  }
  const links = chain(err)
  if (links.some((e) => e.code === 'LEVEL_CORRUPTION') || /^Corruption:/.test(detail)) {
    return new ChainlogError(ErrorCodes.CORRUPT_STORE, `the store's LevelDB files at ${where} are damaged: ${detail}`, { path, op }, { cause: err })
  }
  let reason: IoReason = 'io'
  let errno: string | undefined
  const sys = links.find((e) => typeof e.code === 'string' && e.code in BY_ERRNO)
  if (sys) {
    errno = sys.code as string
    reason = BY_ERRNO[errno]!
  } else {
    const hit = BY_TEXT.find(([re]) => re.test(detail))
    if (hit) [, reason, errno] = hit
  }
  // While opening a store that exists, LevelDB reports a file it needs (a MANIFEST named by
  // CURRENT, a table named by the MANIFEST) as missing: the store is damaged, not absent.
  if (op === 'open' && reason === 'not-found' && !sys) {
    return new ChainlogError(ErrorCodes.CORRUPT_STORE, `the store's LevelDB files at ${where} are damaged: ${detail}`, { path, op }, { cause: err })
  }
  const verb = op === 'open' ? 'cannot open' : op === 'write' ? 'cannot write to' : 'cannot read from'
  const data: Record<string, unknown> = { path, op, reason }
  if (errno) data.errno = errno
  return new ChainlogError(ErrorCodes.IO, `${verb} the store at ${where}: ${SAY[reason]} (${detail})`, data, { cause: err })
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
  let current: Buffer
  try {
    const fd = openSync(join(path, 'CURRENT'), 'r')
    try {
      const buf = Buffer.alloc(256)
      current = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0))
    } finally {
      closeSync(fd)
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    // EACCES here is a directory this process may not enter or a CURRENT it may not read
    throw storageError(err, 'open', path)
  }
  const m = /^(MANIFEST-\d+)\n$/.exec(current.toString('latin1'))
  if (!m) {
    throw new ChainlogError(
      ErrorCodes.CORRUPT_STORE,
      `the store's LevelDB files at ${path} are damaged: CURRENT does not name a manifest (it holds "${printable(current)}")`,
      { path, op: 'open', file: 'CURRENT' },
    )
  }
  if (!existsSync(join(path, m[1]!))) {
    throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `the store's LevelDB files at ${path} are damaged: ${m[1]} named by CURRENT is missing`, {
      path,
      op: 'open',
      file: m[1],
    })
  }
}
