// What keeps other sites and other machines out: the per-run write token, the Host check
// (against DNS rebinding, which would let a foreign page read the viewer and its token), the
// Origin check on writes, and headers that stop the pages being framed or sniffed.
import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { forbidden } from './http-errors.js'

/** The header a write request carries its token in. A custom header also forces a CORS preflight, which the viewer never grants. */
export const TOKEN_HEADER = 'x-chainlog-token'

export function newToken(): string {
  return randomBytes(32).toString('base64url')
}

export function checkToken(req: IncomingMessage, token: string): void {
  const given = req.headers[TOKEN_HEADER]
  if (typeof given !== 'string' || given.length === 0) throw forbidden(`this action needs the viewer's token (${TOKEN_HEADER} header)`)
  const a = Buffer.from(given)
  const b = Buffer.from(token)
  if (a.length !== b.length || !timingSafeEqual(a, b)) throw forbidden('wrong token: reload the page (each run of chainlog serve has its own)')
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1', '[::1]'])

/** The interface the viewer listens on unless told otherwise: loopback only. */
export const DEFAULT_HOST = '127.0.0.1'

export function isLoopback(host: string): boolean {
  return LOOPBACK_NAMES.has(host) || /^127(\.\d{1,3}){3}$/.test(host)
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]'
}

/** The host part of a Host header or an origin's authority ("[::1]:80" -> "[::1]"). */
function hostName(authority: string): string {
  if (authority.startsWith('[')) return authority.slice(0, authority.indexOf(']') + 1)
  const colon = authority.lastIndexOf(':')
  return (colon === -1 ? authority : authority.slice(0, colon)).toLowerCase()
}

/**
 * Names the viewer answers to. Bound to loopback, only loopback names; bound to a named host,
 * that name too; bound to every interface (0.0.0.0), any name, since the user chose to
 * expose it (writes still need the token).
 */
export function makeHostCheck(boundHost: string): (req: IncomingMessage) => void {
  const allowAny = isWildcard(boundHost)
  const bound = hostName(boundHost.includes(':') && !boundHost.startsWith('[') ? `[${boundHost}]` : boundHost)
  return (req) => {
    if (allowAny) return
    const header = req.headers.host
    if (!header) throw forbidden('a request needs a Host header')
    const name = hostName(header)
    if (isLoopback(name) || name === bound) return
    throw forbidden(`the viewer does not serve host ${name}`)
  }
}

/** Writes from a page must come from the viewer's own origin (browsers send Origin on POST). */
export function checkOrigin(req: IncomingMessage): void {
  const origin = req.headers.origin
  if (origin === undefined) return // not a browser, or a same-origin request that omits it
  let url: URL
  try {
    url = new URL(origin)
  } catch {
    throw forbidden('malformed Origin header')
  }
  if (url.host !== req.headers.host) throw forbidden(`writes from ${origin} are not allowed`)
}

/** Applied to every reply. The pages load only their own script and style. */
export function setSecurityHeaders(res: ServerResponse): void {
  res.setHeader('x-content-type-options', 'nosniff')
  res.setHeader('x-frame-options', 'DENY')
  res.setHeader('referrer-policy', 'no-referrer')
  res.setHeader('cross-origin-resource-policy', 'same-origin')
  res.setHeader(
    'content-security-policy',
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  )
}
