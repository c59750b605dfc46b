// What LevelDB, abstract-level and the file system throw when a store cannot be opened, read or
// written, turned into ChainlogErrors a caller can match on: CHAINLOG_IO with a `reason`, or
// CHAINLOG_CORRUPT_STORE for damaged LevelDB files. The original error is always `cause`.
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
