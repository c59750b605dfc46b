// Exit codes and the one-line error report of the chainlog command. Library errors keep their
// CHAINLOG_… codes; the CLI adds a few of its own for things only a command line can get wrong.
import { ChainlogError, ErrorCodes } from '../errors.js'
import { storageError } from '../storage/open-errors.js'

/** Process exit statuses (docs/cli.md#exit-codes). */
export const ExitCode = {
  OK: 0,
  /** Verification failed: findings, a corrupt store met while reading, or a bundle that does not verify. */
  VERIFY_FAILED: 1,
  /** Bad arguments or invalid input (including an ambiguous hash prefix). */
  USAGE: 2,
  /** Another process holds the store. */
  LOCKED: 3,
  /** The store, session, entry or file named does not exist. */
  NOT_FOUND: 4,
  /** Anything else. */
  OTHER: 5,
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/** Codes only the CLI raises (the library's own codes are in docs/errors.md). */
export const CliCodes = {
  USAGE: 'CHAINLOG_USAGE',
  INVALID_INPUT: 'CHAINLOG_INVALID_INPUT',
  STORE_NOT_FOUND: 'CHAINLOG_STORE_NOT_FOUND',
  FILE_NOT_FOUND: 'CHAINLOG_FILE_NOT_FOUND',
  VERIFY_FAILED: 'CHAINLOG_VERIFY_FAILED',
  /** The same code as the library's ErrorCodes.IO: a file the CLI itself reads or writes. */
  IO: 'CHAINLOG_IO',
  INTERNAL: 'CHAINLOG_INTERNAL',
} as const

const EXIT_BY_CLI_CODE: Record<string, ExitCode> = {
  [CliCodes.USAGE]: ExitCode.USAGE,
  [CliCodes.INVALID_INPUT]: ExitCode.USAGE,
  [CliCodes.STORE_NOT_FOUND]: ExitCode.NOT_FOUND,
  [CliCodes.FILE_NOT_FOUND]: ExitCode.NOT_FOUND,
  [CliCodes.VERIFY_FAILED]: ExitCode.VERIFY_FAILED,
  [CliCodes.IO]: ExitCode.OTHER,
  [CliCodes.INTERNAL]: ExitCode.OTHER,
}

const EXIT_BY_LIBRARY_CODE: Record<string, ExitCode> = {
  [ErrorCodes.INVALID_ENTRY]: ExitCode.USAGE,
  [ErrorCodes.UNENCODABLE_VALUE]: ExitCode.USAGE,
  [ErrorCodes.INVALID_ARGUMENT]: ExitCode.USAGE,
  [ErrorCodes.AMBIGUOUS_PREFIX]: ExitCode.USAGE,
  [ErrorCodes.SESSION_EXISTS]: ExitCode.USAGE,
  [ErrorCodes.SESSION_NOT_FOUND]: ExitCode.NOT_FOUND,
  [ErrorCodes.ENTRY_NOT_FOUND]: ExitCode.NOT_FOUND,
  [ErrorCodes.STORE_LOCKED]: ExitCode.LOCKED,
  [ErrorCodes.STORE_NOT_FOUND]: ExitCode.NOT_FOUND,
  [ErrorCodes.STORE_NOT_EMPTY]: ExitCode.USAGE,
  [ErrorCodes.DECODE_FAILED]: ExitCode.VERIFY_FAILED,
  [ErrorCodes.CORRUPT_STORE]: ExitCode.VERIFY_FAILED,
  [ErrorCodes.INVALID_BUNDLE]: ExitCode.VERIFY_FAILED,
  [ErrorCodes.IMPORT_DAMAGED]: ExitCode.VERIFY_FAILED,
  [ErrorCodes.INVALID_NOTE]: ExitCode.VERIFY_FAILED,
  [ErrorCodes.INVALID_SIGNATURE]: ExitCode.VERIFY_FAILED,
  [ErrorCodes.INVALID_CHECKPOINT]: ExitCode.VERIFY_FAILED,
  [ErrorCodes.INVALID_PROOF]: ExitCode.VERIFY_FAILED,
  [ErrorCodes.WITNESS_REFUSED]: ExitCode.VERIFY_FAILED,
  [ErrorCodes.INVALID_KEY]: ExitCode.USAGE,
  [ErrorCodes.HEAD_CONFLICT]: ExitCode.OTHER,
  [ErrorCodes.HAS_DEPENDANTS]: ExitCode.OTHER,
  [ErrorCodes.UNSUPPORTED_VERSION]: ExitCode.OTHER,
  [ErrorCodes.STORE_CLOSED]: ExitCode.OTHER,
  [ErrorCodes.IO]: ExitCode.OTHER,
  [ErrorCodes.STORE_UNAVAILABLE]: ExitCode.OTHER,
  [ErrorCodes.DEPENDENCY_MISSING]: ExitCode.OTHER,
}

/** An error the CLI raises itself; `code` is one of CliCodes. */
export class CliError extends Error {
  readonly code: string
  readonly exitCode: ExitCode
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'CliError'
    this.code = code
    this.exitCode = EXIT_BY_CLI_CODE[code] ?? ExitCode.OTHER
  }
}

export function usageError(message: string): CliError {
  return new CliError(CliCodes.USAGE, message)
}

function isLevelError(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0; e && typeof e === 'object' && i < 8; e = e.cause as typeof e, i++) {
    if (typeof e.code === 'string' && e.code.startsWith('LEVEL_')) return true
  }
  return false
}

/** The stack of `err` and of every error it wraps (for CHAINLOG_DEBUG). */
export function debugTrace(err: unknown): string {
  const parts: string[] = []
  for (let e = err, i = 0; e !== undefined && i < 8; e = (e as { cause?: unknown }).cause, i++) {
    const text = e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e)
    parts.push(i === 0 ? text : `caused by: ${text}`)
    if (!(e instanceof Error)) break
  }
  return `${parts.join('\n')}\n`
}

/** The code, message and exit status to report for any thrown value (`storeDir` names the store in LevelDB errors). */
export function describeError(err: unknown, storeDir?: string): { code: string; message: string; exitCode: ExitCode; data?: Record<string, unknown> } {
  if (err instanceof CliError) return { code: err.code, message: err.message, exitCode: err.exitCode }
  // A LevelDB error that reached the CLI unwrapped (a read of a damaged table): same mapping as the library's.
  if (isLevelError(err)) err = storageError(err, 'read', storeDir)
  if (err instanceof ChainlogError) {
    return { code: err.code, message: err.message, exitCode: EXIT_BY_LIBRARY_CODE[err.code] ?? ExitCode.OTHER, data: err.data }
  }
  const sys = err as NodeJS.ErrnoException | undefined
  if (sys && typeof sys.code === 'string' && typeof sys.syscall === 'string') {
    return { code: CliCodes.IO, message: sys.message, exitCode: ExitCode.OTHER }
  }
  return { code: CliCodes.INTERNAL, message: err instanceof Error ? err.message : String(err), exitCode: ExitCode.OTHER }
}
