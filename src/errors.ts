// Typed errors with stable codes. Messages may change between versions; codes may not.
// Every code is listed in docs/errors.md (a test keeps the two in step).

export const ErrorCodes = {
  /** An entry or its envelope does not match the schema. data.path names the place. */
  INVALID_ENTRY: 'CHAINLOG_INVALID_ENTRY',
  /** A value cannot be encoded canonically (undefined, NaN, function, cycle, ...). */
  UNENCODABLE_VALUE: 'CHAINLOG_UNENCODABLE_VALUE',
  /** Stored or supplied bytes are not valid canonical CBOR for an entry. */
  DECODE_FAILED: 'CHAINLOG_DECODE_FAILED',
  /** A bad argument to an API call (wrong type, out of range). */
  INVALID_ARGUMENT: 'CHAINLOG_INVALID_ARGUMENT',
  /** The session head is not the head the caller expected. */
  HEAD_CONFLICT: 'CHAINLOG_HEAD_CONFLICT',
  /** No session with that id. */
  SESSION_NOT_FOUND: 'CHAINLOG_SESSION_NOT_FOUND',
  /** A session with that id already exists. */
  SESSION_EXISTS: 'CHAINLOG_SESSION_EXISTS',
  /** No entry with that hash or prefix. */
  ENTRY_NOT_FOUND: 'CHAINLOG_ENTRY_NOT_FOUND',
  /** A hash prefix matches more than one entry. */
  AMBIGUOUS_PREFIX: 'CHAINLOG_AMBIGUOUS_PREFIX',
  /** Another process holds the store directory. */
  STORE_LOCKED: 'CHAINLOG_STORE_LOCKED',
  /** The store was written by a newer format version than this code reads. */
  UNSUPPORTED_VERSION: 'CHAINLOG_UNSUPPORTED_VERSION',
  /** No store where one was to be read (copyStore's source: a directory or PostgreSQL schema without one). */
  STORE_NOT_FOUND: 'CHAINLOG_STORE_NOT_FOUND',
  /** A store that must be empty holds sessions or other rows (copyStore's target); nothing was written. */
  STORE_NOT_EMPTY: 'CHAINLOG_STORE_NOT_EMPTY',
  /** The store is closed. */
  STORE_CLOSED: 'CHAINLOG_STORE_CLOSED',
  /** Stored data breaks an invariant the operation relies on (run verify). */
  CORRUPT_STORE: 'CHAINLOG_CORRUPT_STORE',
  /** A session cannot be deleted because other sessions depend on it. */
  HAS_DEPENDANTS: 'CHAINLOG_HAS_DEPENDANTS',
  /** A bundle failed verification; data.findings lists why. */
  INVALID_BUNDLE: 'CHAINLOG_INVALID_BUNDLE',
  /** Another owner holds an unexpired lease on the session. */
  LEASE_HELD: 'CHAINLOG_LEASE_HELD',
  /** The lease given is stale (a newer fencing token exists) or expired. */
  LEASE_INVALID: 'CHAINLOG_LEASE_INVALID',
  /** The operating system refused to open, read or write the store (data.reason says why). */
  IO: 'CHAINLOG_IO',
  /** The process hosting the store went away mid-call; retry (appends with expectedHead are idempotent). */
  HOST_UNAVAILABLE: 'CHAINLOG_HOST_UNAVAILABLE',
  /** The database server of the store (PostgreSQL) cannot be reached or went away mid-call; retryable (data.outcome says whether a commit may have landed). */
  STORE_UNAVAILABLE: 'CHAINLOG_STORE_UNAVAILABLE',
  /** An optional package that the feature asked for needs is not installed (data.package names it). */
  DEPENDENCY_MISSING: 'CHAINLOG_DEPENDENCY_MISSING',
  /** A strict transcript import found damaged lines (data.damaged lists them); that file was not written. */
  IMPORT_DAMAGED: 'CHAINLOG_IMPORT_DAMAGED',
  /** A signer or verifier key text is malformed, or its key ID does not match its name and key. */
  INVALID_KEY: 'CHAINLOG_INVALID_KEY',
  /** A signed note is malformed (data.reason says how); nothing in it was trusted. */
  INVALID_NOTE: 'CHAINLOG_INVALID_NOTE',
  /** No trusted key signed a note, a trusted key's signature does not verify, or too few witnesses cosigned (data.reason). */
  INVALID_SIGNATURE: 'CHAINLOG_INVALID_SIGNATURE',
  /** A checkpoint's text is not a chainlog checkpoint (origin, size, root, head lines; data.reason). */
  INVALID_CHECKPOINT: 'CHAINLOG_INVALID_CHECKPOINT',
  /** A proof is malformed or does not prove what it claims (data.reason). */
  INVALID_PROOF: 'CHAINLOG_INVALID_PROOF',
  /** The witness refused to cosign: a rollback, a split view, an inconsistent proof, a stale old size (data.reason). */
  WITNESS_REFUSED: 'CHAINLOG_WITNESS_REFUSED',
} as const

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]

export class ChainlogError extends Error {
  readonly code: ErrorCode
  readonly data: Record<string, unknown>

  constructor(code: ErrorCode, message: string, data: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ChainlogError'
    this.code = code
    this.data = data
  }

  toJSON(): { code: ErrorCode; message: string; data: Record<string, unknown> } {
    return { code: this.code, message: this.message, data: this.data }
  }
}

/** True when `err` is a ChainlogError, optionally with the given code. */
export function isChainlogError(err: unknown, code?: ErrorCode): err is ChainlogError {
  return err instanceof ChainlogError && (code === undefined || err.code === code)
}

/** Paths longer than this many parts are cut in the middle (a 10,000-deep value has a 10,000-part path). */
export const MAX_PATH_PARTS = 16

/**
 * Render a path like ['history', 3, 'content'] as `history[3].content`. A path of more than
 * MAX_PATH_PARTS parts keeps its first 10 and last 4 parts around `…(+N)…`, N the parts left out.
 */
export function formatPath(path: ReadonlyArray<string | number | symbol>): string {
  const render = (parts: ReadonlyArray<string | number | symbol>, start: string): string => {
    let out = start
    for (const part of parts) {
      if (typeof part === 'number') out += `[${part}]`
      else out += out === '' ? String(part) : `.${String(part)}`
    }
    return out
  }
  if (path.length > MAX_PATH_PARTS) {
    const head = render(path.slice(0, 10), '')
    return render(path.slice(-4), `${head}…(+${path.length - 14})…`)
  }
  const out = render(path, '')
  return out === '' ? '(root)' : out
}
