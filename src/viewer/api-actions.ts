// The routes that act: fork at an entry and import a bundle (writes: token checked by the
// router), and export a session as a bundle or JSONL download (a read).
import type { Handler } from './context.js'
import { badRequest } from './http-errors.js'
import { readBody, readJsonObject } from './http.js'
import { sendJson } from './http.js'
import { requireSession } from './api-read.js'

/** POST /api/fork { at: hash or prefix, materialize?: boolean } -> the new session. */
export const fork: Handler = async ({ req, res, ctx }) => {
  const body = await readJsonObject(req)
  const at = body.at
  if (typeof at !== 'string' || !/^[0-9a-fA-F]{4,64}$/.test(at)) throw badRequest('at must be an entry hash or a prefix of 4 to 64 hex digits')
  if (body.materialize !== undefined && typeof body.materialize !== 'boolean') throw badRequest('materialize must be true or false')
  const entry = await ctx.store.getEntry(at.toLowerCase())
  const result = await ctx.store.forkAt(entry.hash, body.materialize ? { materialize: true } : {})
  sendJson(res, 201, { ...result, forkedFrom: { sessionId: entry.sessionId, atHash: entry.hash, atSeq: entry.seq }, materialized: body.materialize === true })
}

/** POST /api/import with the bundle's bytes as the body: verified whole before anything is written. */
export const importBundle: Handler = async ({ req, res, ctx }) => {
  const bytes = await readBody(req, ctx.maxImportBytes)
  if (bytes.length === 0) throw badRequest('the body must be a bundle file')
  const result = await ctx.store.importBundle(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length))
  sendJson(res, 200, result)
}

/** GET /api/sessions/:id/export?format=bundle|jsonl -> a download. */
export const exportSession: Handler = async ({ res, ctx, params, url }) => {
  const sessionId = params[0]!
  const format = url.searchParams.get('format') ?? 'bundle'
  if (format !== 'bundle' && format !== 'jsonl') throw badRequest('format must be bundle or jsonl')
  await requireSession(ctx.store, sessionId)
  const name = `${sessionId.replace(/[^\w.-]/g, '_')}.${format === 'bundle' ? 'bundle' : 'jsonl'}`
  res.writeHead(200, {
    'content-type': format === 'bundle' ? 'application/octet-stream' : 'application/x-ndjson; charset=utf-8',
    'content-disposition': `attachment; filename="${name}"`,
    'cache-control': 'no-store',
  })
  // Streamed as it is written; damage found part-way cuts the download off (see sendError).
  await ctx.store.exportSession(sessionId, res, { format })
  res.end()
}
