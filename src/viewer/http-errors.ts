// The viewer's error replies: every failure becomes a JSON body `{ error: { code, message } }`
// with a stable code and an HTTP status that says whose fault it was (docs/viewer.md#errors).
import { ChainlogError, ErrorCodes } from '../errors.js'

/** Codes only the viewer's HTTP layer raises; library codes pass through unchanged. */
export const ViewerCodes = {
  /** No such path: not an API route and not one of the built assets. */
  NOT_FOUND: 'CHAINLOG_HTTP_NOT_FOUND',
  /** The path exists, but not for this method. */
  METHOD_NOT_ALLOWED: 'CHAINLOG_HTTP_METHOD_NOT_ALLOWED',
  /** A write without the run's token, or a request from a host or origin the viewer does not serve. */
  FORBIDDEN: 'CHAINLOG_HTTP_FORBIDDEN',
  /** A malformed query or body. */
  BAD_REQUEST: 'CHAINLOG_HTTP_BAD_REQUEST',
  /** A body larger than the viewer accepts. */
  TOO_LARGE: 'CHAINLOG_HTTP_TOO_LARGE',
  /** Anything the viewer did not expect (the server keeps running). */
  INTERNAL: 'CHAINLOG_INTERNAL',
} as const

export class HttpError extends Error {
  readonly code: string
  readonly status: number
  constructor(status: number, code: string, message: string) {
    super(message)
    this.name = 'HttpError'
    this.status = status
    this.code = code
  }
}

export const notFound = (what: string) => new HttpError(404, ViewerCodes.NOT_FOUND, `not found: ${what}`)
export const badRequest = (message: string) => new HttpError(400, ViewerCodes.BAD_REQUEST, message)
export const forbidden = (message: string) => new HttpError(403, ViewerCodes.FORBIDDEN, message)

const STATUS_BY_LIBRARY_CODE: Record<string, number> = {
  [ErrorCodes.SESSION_NOT_FOUND]: 404,
  [ErrorCodes.ENTRY_NOT_FOUND]: 404,
  [ErrorCodes.INVALID_ARGUMENT]: 400,
  [ErrorCodes.INVALID_ENTRY]: 400,
  [ErrorCodes.UNENCODABLE_VALUE]: 400,
  [ErrorCodes.AMBIGUOUS_PREFIX]: 400,
  [ErrorCodes.SESSION_EXISTS]: 409,
  [ErrorCodes.HEAD_CONFLICT]: 409,
  [ErrorCodes.HAS_DEPENDANTS]: 409,
  [ErrorCodes.INVALID_BUNDLE]: 422,
  [ErrorCodes.STORE_LOCKED]: 503,
  [ErrorCodes.HOST_UNAVAILABLE]: 503,
  [ErrorCodes.STORE_UNAVAILABLE]: 503,
  [ErrorCodes.STORE_CLOSED]: 503,
}

/** The status, code, message (and data, for library errors) to reply with for any thrown value. */
export function describeHttpError(err: unknown): { status: number; code: string; message: string; data?: Record<string, unknown> } {
  if (err instanceof HttpError) return { status: err.status, code: err.code, message: err.message }
  if (err instanceof ChainlogError) {
    // Damage in the store (CORRUPT_STORE, DECODE_FAILED) is not the request's fault: 500, with its code.
    return { status: STATUS_BY_LIBRARY_CODE[err.code] ?? 500, code: err.code, message: err.message, data: err.data }
  }
  return { status: 500, code: ViewerCodes.INTERNAL, message: err instanceof Error ? err.message : String(err) }
}
