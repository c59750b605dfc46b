// Small helpers over node:http: JSON replies (safe for what entries hold: bigints, bytes, maps),
// error replies, bounded body reads and query parameters.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { toJsonSafe } from '../cli/json.js'
import { HttpError, ViewerCodes, badRequest, describeHttpError } from './http-errors.js'

/**
 * JSON as the CLI's --json writes it: values JSON has no form for become { "$bytes": "<hex>" }
 * and { "$bigint": "<decimal>" } (docs/cli.md#output).
 */
export function toJson(body: unknown): string {
  return JSON.stringify(toJsonSafe(body))
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = toJson(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

/** Reply with `{ error: { code, message, data? } }`; a reply already under way is cut off instead. */
export function sendError(res: ServerResponse, err: unknown): void {
  const { status, code, message, data } = describeHttpError(err)
  if (res.headersSent) {
    res.destroy()
    return
  }
  sendJson(res, status, { error: data ? { code, message, data } : { code, message } })
}

/** The request body, refused with 413 past `limit` bytes (checked as it arrives, not after). */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > limit) throw tooLarge(limit)
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, ViewerCodes.TOO_LARGE, `request body is larger than ${limit} bytes`)
}

/** A JSON object body (400 for anything else). */
export async function readJsonObject(req: IncomingMessage, limit = 64 * 1024): Promise<Record<string, unknown>> {
  const text = (await readBody(req, limit)).toString('utf8')
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw badRequest('the body is not JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest('the body must be a JSON object')
  return value as Record<string, unknown>
}

/** A non-negative integer query parameter, `fallback` when absent, 400 when malformed. */
export function intParam(url: URL, name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = url.searchParams.get(name)
  if (raw === null || raw === '') return fallback
  if (!/^\d{1,15}$/.test(raw)) throw badRequest(`${name} must be a non-negative integer`)
  return Math.min(Number(raw), max)
}

/** A boolean query parameter: 1/true or 0/false. */
export function boolParam(url: URL, name: string): boolean {
  const raw = url.searchParams.get(name)
  if (raw === null || raw === '' || raw === '0' || raw === 'false') return false
  if (raw === '1' || raw === 'true') return true
  throw badRequest(`${name} must be 1 or 0`)
}

/** Start a server-sent event stream; returns a writer for named events. */
export function startEvents(res: ServerResponse): (event: string, data: unknown) => void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' })
  res.write(': chainlog\n\n')
  return (event, data) => {
    if (!res.writableEnded && !res.destroyed) res.write(`event: ${event}\ndata: ${toJson(data)}\n\n`)
  }
}
