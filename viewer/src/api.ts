// Talking to the viewer's server: JSON reads, token-carrying writes, event streams.

export interface ApiErrorBody {
  code: string
  message: string
  data?: Record<string, unknown>
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly data?: Record<string, unknown>,
  ) {
    super(message)
  }
}

/** The run's write token, written into the page by the server. */
export function token(): string {
  return document.querySelector<HTMLMetaElement>('meta[name="chainlog-token"]')?.content ?? ''
}

async function parse<T>(res: Response): Promise<T> {
  const text = await res.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw new ApiError(res.status, 'CHAINLOG_HTTP_BAD_RESPONSE', `unexpected reply (${res.status})`)
  }
  if (!res.ok) {
    const e = (body as { error?: ApiErrorBody }).error
    throw new ApiError(res.status, e?.code ?? 'CHAINLOG_INTERNAL', e?.message ?? `HTTP ${res.status}`, e?.data)
  }
  return body as T
}

// ---- a bundle opened in the page (local-api.ts): reads go to it instead of the server ----

/** What reads go to instead of the server while a bundle is open in the page. */
export interface PageSource {
  name: string
  get(path: string): Promise<unknown>
  stream(path: string, handlers: Record<string, (data: any) => void>): () => void
}

let local: PageSource | undefined
const watchers = new Set<() => void>()

/** Browse a bundle opened in the page (or, with undefined, the server's store again). */
export function setPageSource(source: PageSource | undefined): void {
  local = source
  for (const w of watchers) w()
}

export function pageSource(): PageSource | undefined {
  return local
}

/** Call `fn` whenever the page switches between the server's store and a bundle. */
export function watchPageSource(fn: () => void): () => void {
  watchers.add(fn)
  return () => watchers.delete(fn)
}

function readOnly(): ApiError {
  return new ApiError(405, 'CHAINLOG_HTTP_READ_ONLY', 'a bundle opened in the page is read-only: import it into the store to change it')
}

export async function getJson<T>(path: string): Promise<T> {
  // The page source fails with ApiErrors as the server's replies do.
  if (local) return (await local.get(path)) as T
  return parse<T>(await fetch(path, { headers: { accept: 'application/json' } }))
}

export async function postJson<T>(path: string, body: unknown): Promise<T> {
  if (local) throw readOnly()
  return parse<T>(await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', 'x-chainlog-token': token() }, body: JSON.stringify(body) }))
}

export async function postBytes<T>(path: string, bytes: ArrayBuffer): Promise<T> {
  if (local) throw readOnly()
  return parse<T>(await fetch(path, { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'x-chainlog-token': token() }, body: bytes }))
}

export const enc = encodeURIComponent

/** Listen to named server-sent events; returns a function that closes the stream. */
export function stream(path: string, handlers: Record<string, (data: any) => void>, onBroken?: () => void): () => void {
  if (local) return local.stream(path, handlers)
  const es = new EventSource(path)
  for (const [name, fn] of Object.entries(handlers)) es.addEventListener(name, (ev) => fn(JSON.parse((ev as MessageEvent).data)))
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) onBroken?.()
  }
  return () => es.close()
}

// ---- shapes the server sends (see src/viewer/api-*.ts) ----

export interface UsageTotals {
  calls: number
  inputTokens: number
  outputTokens: number
  cacheReadTokens: number
  cacheWriteTokens: number
  reasoningTokens: number
}

export interface Origin {
  relation: 'fork' | 'compaction'
  sessionId: string
  atHash: string
  materialized: boolean
}

export interface SessionRow {
  sessionId: string
  head: string
  length: number
  createdAt: number
  updatedAt: number
  firstUserMessage: string | null
  counts: { user: number; assistant: number; toolCalls: number; toolResults: number; reasoning: number; other: number }
  origin: Origin | null
  usageTotals: Record<string, UsageTotals>
}

export interface StoredEntry {
  sessionId: string
  seq: number
  hash: string
  prev: string
  entry: { kind: string; ts: number; [k: string]: any }
}

export interface Finding {
  code: string
  severity: 'error' | 'warning'
  message: string
  sessionId?: string
  seq?: number
  hash?: string
  expected?: unknown
  actual?: unknown
}

export interface VerifyReport {
  ok: boolean
  checked: { sessions: number; entries: number; bytes: number }
  findings: Finding[]
  truncated?: boolean
}
