// The viewer's HTTP API and its security rules, without a browser: loopback only, writes need
// the run's token (403 without it), nothing outside the built assets is served (404), bad
// input gets 4xx with a stable code, and the server keeps answering after all of it.
import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toHex, type Store } from '../../src/index.js'
import { BIG_OUTPUT, buildWorld, removeTempDirs, serve, tempDir, type Served, type World } from './helpers.js'

let world: World
let served: Served
let base: string

beforeAll(async () => {
  world = await buildWorld()
  served = await serve(world.dir, { maxImportBytes: 64 * 1024 })
  base = served.viewer.url.replace(/\/$/, '')
})

afterAll(async () => {
  await served?.close()
  await removeTempDirs()
})

interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** A raw HTTP request: the path goes out exactly as given (fetch would normalise `..`). */
function raw(method: string, path: string, options: { headers?: Record<string, string>; body?: string | Uint8Array } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: served.viewer.port, method, path, headers: options.headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }))
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

const code = (r: Reply) => (JSON.parse(r.body) as { error: { code: string } }).error.code
const auth = () => ({ 'x-chainlog-token': served.viewer.token, 'content-type': 'application/json' })

describe('the page and the assets', () => {
  it('serves index.html at / with the run token in it and a strict CSP', async () => {
    const r = await raw('GET', '/')
    expect(r.status).toBe(200)
    expect(r.headers['content-type']).toMatch(/^text\/html/)
    expect(r.body).toContain(`<meta name="chainlog-token" content="${served.viewer.token}">`)
    expect(r.headers['content-security-policy']).toContain("script-src 'self'")
    expect(r.headers['x-frame-options']).toBe('DENY')
    expect(r.headers['x-content-type-options']).toBe('nosniff')
  })

  it('serves the built script and stylesheet', async () => {
    expect((await raw('GET', '/app.js')).status).toBe(200)
    expect((await raw('GET', '/app.css')).headers['content-type']).toMatch(/^text\/css/)
  })

  it.each([
    '/../package.json',
    '/%2e%2e/package.json',
    '/..%2fpackage.json',
    '/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    '/../../../../etc/passwd',
    '/src/viewer/server.ts',
    '/dist/index.js',
    '/viewer-assets/app.js',
    '//etc/passwd',
    '/app.js/../../package.json',
    '/CURRENT',
    '/nothing-here.html',
  ])('answers 404 with a JSON code for %s', async (path) => {
    const r = await raw('GET', path)
    expect(r.status).toBe(404)
    expect(code(r)).toBe('CHAINLOG_HTTP_NOT_FOUND')
    expect(r.body).not.toContain('"name": "chainlog"')
  })
})

describe('writes need the run token', () => {
  const forkBody = () => JSON.stringify({ at: world.forkPoint })

  it('POST /api/fork without a token is 403 and writes nothing', async () => {
    const before = (await served.store.listSessions()).length
    const r = await raw('POST', '/api/fork', { headers: { 'content-type': 'application/json' }, body: forkBody() })
    expect(r.status).toBe(403)
    expect(code(r)).toBe('CHAINLOG_HTTP_FORBIDDEN')
    expect((await served.store.listSessions()).length).toBe(before)
  })

  it('a wrong token is 403', async () => {
    const r = await raw('POST', '/api/fork', { headers: { 'x-chainlog-token': 'x'.repeat(43), 'content-type': 'application/json' }, body: forkBody() })
    expect(r.status).toBe(403)
    expect(code(r)).toBe('CHAINLOG_HTTP_FORBIDDEN')
  })

  it('POST /api/import without a token is 403', async () => {
    const r = await raw('POST', '/api/import', { body: new Uint8Array([1, 2, 3]) })
    expect(r.status).toBe(403)
  })

  it('a write from another origin is 403 even with the token', async () => {
    const r = await raw('POST', '/api/fork', { headers: { ...auth(), origin: 'http://evil.example' }, body: forkBody() })
    expect(r.status).toBe(403)
    expect(code(r)).toBe('CHAINLOG_HTTP_FORBIDDEN')
  })

  it('a request naming a foreign Host (DNS rebinding) is 403, for reads too', async () => {
    for (const path of ['/', '/api/sessions']) {
      const r = await raw('GET', path, { headers: { host: `evil.example:${served.viewer.port}` } })
      expect(r.status).toBe(403)
      expect(r.body).not.toContain(served.viewer.token)
    }
    expect((await raw('GET', '/api/sessions', { headers: { host: `localhost:${served.viewer.port}` } })).status).toBe(200)
  })

  it('with the token, from the same origin, a fork is made', async () => {
    const r = await raw('POST', '/api/fork', { headers: { ...auth(), origin: base }, body: forkBody() })
    expect(r.status).toBe(201)
    const made = JSON.parse(r.body) as { sessionId: string; forkedFrom: { sessionId: string; atHash: string; atSeq: number } }
    expect(made.forkedFrom).toEqual({ sessionId: world.main, atHash: world.forkPoint, atSeq: world.forkSeq })
    const info = (await served.store.listSessions()).find((s) => s.sessionId === made.sessionId)
    expect(info?.forkedFrom).toEqual({ sessionId: world.main, atHash: world.forkPoint })
  })
})

describe('bad requests get 4xx and a stable code', () => {
  it.each([
    ['GET', '/api/sessions/no-such-session', 404, 'CHAINLOG_SESSION_NOT_FOUND'],
    ['GET', '/api/sessions/no-such-session/entries', 404, 'CHAINLOG_SESSION_NOT_FOUND'],
    ['GET', '/api/sessions/no-such-session/lineage', 404, 'CHAINLOG_SESSION_NOT_FOUND'],
    ['GET', '/api/sessions/no-such-session/live', 404, 'CHAINLOG_SESSION_NOT_FOUND'],
    ['GET', '/api/sessions/no-such-session/export', 404, 'CHAINLOG_SESSION_NOT_FOUND'],
    ['GET', '/api/sessions/main-session/entries?from=-1', 400, 'CHAINLOG_HTTP_BAD_REQUEST'],
    ['GET', '/api/sessions/main-session/entries?limit=lots', 400, 'CHAINLOG_HTTP_BAD_REQUEST'],
    ['GET', '/api/sessions/main-session/export?format=pdf', 400, 'CHAINLOG_HTTP_BAD_REQUEST'],
    ['GET', '/api/sessions/%E0%A4%A/entries', 400, 'CHAINLOG_HTTP_BAD_REQUEST'],
    ['GET', '/api/entries/not-hex', 400, 'CHAINLOG_HTTP_BAD_REQUEST'],
    ['GET', '/api/entries/abc', 400, 'CHAINLOG_HTTP_BAD_REQUEST'],
    ['GET', `/api/entries/${'0'.repeat(64)}`, 404, 'CHAINLOG_ENTRY_NOT_FOUND'],
    ['GET', '/api/verify?lineage=maybe', 400, 'CHAINLOG_HTTP_BAD_REQUEST'],
    ['GET', '/api/verify?session=no-such-session', 404, 'CHAINLOG_SESSION_NOT_FOUND'],
    ['GET', '/api/nothing', 404, 'CHAINLOG_HTTP_NOT_FOUND'],
    ['GET', '/api/fork', 405, 'CHAINLOG_HTTP_METHOD_NOT_ALLOWED'],
    ['DELETE', '/api/sessions/main-session', 405, 'CHAINLOG_HTTP_METHOD_NOT_ALLOWED'],
    ['POST', '/', 405, 'CHAINLOG_HTTP_METHOD_NOT_ALLOWED'],
  ] as const)('%s %s -> %i %s', async (method, path, status, want) => {
    const r = await raw(method, path)
    expect(r.status).toBe(status)
    expect(r.headers['content-type']).toMatch(/^application\/json/)
    expect(code(r)).toBe(want)
  })

  it.each([
    ['not JSON', '{', 400, 'CHAINLOG_HTTP_BAD_REQUEST'],
    ['an array', '[]', 400, 'CHAINLOG_HTTP_BAD_REQUEST'],
    ['no hash', '{}', 400, 'CHAINLOG_HTTP_BAD_REQUEST'],
    ['a hash that is not hex', '{"at":"zzzz"}', 400, 'CHAINLOG_HTTP_BAD_REQUEST'],
    ['materialize not a boolean', `{"at":"${'a'.repeat(8)}","materialize":"yes"}`, 400, 'CHAINLOG_HTTP_BAD_REQUEST'],
    ['an unknown entry', `{"at":"${'0'.repeat(64)}"}`, 404, 'CHAINLOG_ENTRY_NOT_FOUND'],
  ] as const)('POST /api/fork with %s -> %i', async (_what, body, status, want) => {
    const r = await raw('POST', '/api/fork', { headers: auth(), body })
    expect(r.status).toBe(status)
    expect(code(r)).toBe(want)
  })

  it('an import that is not a bundle is 422 CHAINLOG_INVALID_BUNDLE and writes nothing', async () => {
    const before = (await served.store.listSessions()).length
    const r = await raw('POST', '/api/import', { headers: { 'x-chainlog-token': served.viewer.token }, body: new Uint8Array([0x85, 1, 2, 3, 4, 5, 6]) })
    expect(r.status).toBe(422)
    expect(code(r)).toBe('CHAINLOG_INVALID_BUNDLE')
    expect((await served.store.listSessions()).length).toBe(before)
  })

  it('an empty import is 400, and one over the size limit is 413', async () => {
    const headers = { 'x-chainlog-token': served.viewer.token }
    expect((await raw('POST', '/api/import', { headers })).status).toBe(400)
    const big = await raw('POST', '/api/import', { headers, body: new Uint8Array(65 * 1024) })
    expect(big.status).toBe(413)
    expect(code(big)).toBe('CHAINLOG_HTTP_TOO_LARGE')
  })

  it('a malformed request line gets 400, and the server keeps answering', async () => {
    const { connect } = await import('node:net')
    const reply = await new Promise<string>((resolve) => {
      const s = connect(served.viewer.port, '127.0.0.1', () => s.write('NOT HTTP AT ALL\r\n\r\n'))
      let got = ''
      s.on('data', (c) => (got += c.toString()))
      s.on('close', () => resolve(got))
    })
    expect(reply).toMatch(/^HTTP\/1\.1 400/)
    expect((await raw('GET', '/api/sessions')).status).toBe(200)
  })
})

describe('reads', () => {
  it('lists sessions with their origin and usage', async () => {
    const { sessions } = JSON.parse((await raw('GET', '/api/sessions')).body) as { sessions: { sessionId: string; origin: unknown; usageTotals: Record<string, { inputTokens: number }> }[] }
    const byId = new Map(sessions.map((s) => [s.sessionId, s]))
    expect(byId.get(world.fork)?.origin).toEqual({ relation: 'fork', sessionId: world.main, atHash: world.forkPoint, materialized: false })
    expect(byId.get(world.compacted)?.origin).toMatchObject({ relation: 'compaction', sessionId: world.main })
    expect(byId.get(world.main)?.usageTotals['gpt-5']?.inputTokens).toBe(3000)
  })

  it('pages through entries as stored', async () => {
    const all = JSON.parse((await raw('GET', `/api/sessions/${world.main}/entries`)).body) as { length: number; entries: { seq: number; hash: string }[] }
    expect(all.entries.map((e) => e.seq)).toEqual([...Array(all.length).keys()])
    const page = JSON.parse((await raw('GET', `/api/sessions/${world.main}/entries?from=3&limit=2`)).body) as { entries: { seq: number; hash: string }[] }
    expect(page.entries.map((e) => e.hash)).toEqual(all.entries.slice(3, 5).map((e) => e.hash))
  })

  it('leaves large payloads as blob references unless blobs=1', async () => {
    type Page = { length: number; entries: { entry: { items?: { output: unknown }[] } }[] }
    const last = async (q: string) => {
      const { length } = JSON.parse((await raw('GET', `/api/sessions/${world.other}/entries?limit=0`)).body) as Page
      return (JSON.parse((await raw('GET', `/api/sessions/${world.other}/entries?from=${length - 1}${q}`)).body) as Page).entries[0]!.entry.items![0]!.output
    }
    expect(await last('')).toMatchObject({ $blob: expect.any(String), size: BIG_OUTPUT.length, mediaType: expect.any(String) })
    expect(await last('&blobs=1')).toBe(BIG_OUTPUT)
  })

  it('draws the whole lineage tree from any session in it', async () => {
    const g = JSON.parse((await raw('GET', `/api/sessions/${world.fork}/lineage`)).body) as { root: string; nodes: { sessionId: string }[]; edges: unknown[] }
    expect(g.root).toBe(world.main)
    expect(g.nodes.map((n) => n.sessionId).sort()).toContain(world.compacted)
    expect(g.edges).toContainEqual({ from: world.main, to: world.fork, relation: 'fork', atHash: world.forkPoint, atSeq: world.forkSeq, materialized: false })
  })

  it('adds usage up by model and by UTC day', async () => {
    const u = JSON.parse((await raw('GET', '/api/usage')).body) as { byModel: Record<string, { inputTokens: number }>; byDay: { day: string; model: string; inputTokens: number; calls: number }[] }
    expect(u.byModel['claude-sonnet-4-5']?.inputTokens).toBe(3500)
    expect(u.byDay).toEqual([
      expect.objectContaining({ day: '2026-03-01', model: 'gpt-5', inputTokens: 3000, calls: 2 }),
      expect.objectContaining({ day: '2026-03-02', model: 'claude-sonnet-4-5', inputTokens: 3500, calls: 2 }),
    ])
  })

  it('exports a bundle that imports into another store', async () => {
    const r = await fetch(`${base}/api/sessions/${world.fork}/export`)
    expect(r.status).toBe(200)
    expect(r.headers.get('content-disposition')).toBe('attachment; filename="fork-session.bundle"')
    const bytes = new Uint8Array(await r.arrayBuffer())
    const other = await serve(await tempDir())
    try {
      const imp = await fetch(`${other.viewer.url}api/import`, { method: 'POST', headers: { 'x-chainlog-token': other.viewer.token }, body: bytes })
      expect(imp.status).toBe(200)
      const result = (await imp.json()) as { entriesAdded: number }
      expect(result.entriesAdded).toBe(world.forkSeq + 1 + (await served.store.readHead(world.fork))!.seq + 1)
      expect(await other.store.head(world.fork)).toBe(await served.store.head(world.fork))
    } finally {
      await other.close()
    }
  })

  it('streams verification with progress events and a report', async () => {
    const r = await fetch(`${base}/api/verify`)
    expect(r.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const text = await r.text()
    const events = [...text.matchAll(/^event: (\w+)\ndata: (.*)$/gm)].map((m) => ({ event: m[1], data: JSON.parse(m[2]!) }))
    expect(events[0]).toMatchObject({ event: 'start' })
    const last = events.at(-1)!
    expect(last.event).toBe('report')
    expect(last.data.ok).toBe(true)
    expect(last.data.checked.entries).toBe(events[0]!.data.total)
  })

  it('streams a session head as it moves', async () => {
    const store: Store = served.store
    const ac = new AbortController()
    const r = await fetch(`${base}/api/sessions/${world.other}/live`, { signal: ac.signal })
    const reader = r.body!.getReader()
    const heads: { head: string; length: number }[] = []
    const read = (async () => {
      let buf = ''
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return
        buf += Buffer.from(value).toString()
        for (const m of buf.matchAll(/event: head\ndata: (.*)\n/g)) heads.push(JSON.parse(m[1]!))
        buf = buf.slice(buf.lastIndexOf('\n\n') + 2)
      }
    })().catch(() => undefined)
    await expect.poll(() => heads.length).toBe(1)
    const appended = await store.append(world.other, { kind: 'custom', namespace: 'test', type: 'ping' })
    await expect.poll(() => heads.length).toBe(2)
    expect(heads[1]).toEqual({ head: appended.hash, length: appended.seq + 1 })
    expect(toHex((await store.readHead(world.other))!.hash)).toBe(appended.hash)
    ac.abort()
    await read
  })
})

describe('failures in the store', () => {
  it('become error replies, and the server goes on serving', async () => {
    const other = await serve(await tempDir())
    try {
      await other.store.close()
      const r = await fetch(`${other.viewer.url}api/sessions`)
      expect(r.status).toBe(503)
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('CHAINLOG_STORE_CLOSED')
      const v = await fetch(`${other.viewer.url}api/verify`)
      expect(v.status).toBe(503)
      expect((await fetch(other.viewer.url)).status).toBe(200)
    } finally {
      await other.viewer.close()
    }
  })
})

describe('lineage with a deleted source', () => {
  it('draws the source as missing, with the edge to what remains', async () => {
    const w = await buildWorld()
    const s = await serve(w.dir)
    try {
      // The compaction needs nothing from main; the fork does, so it is made self-contained.
      await s.store.deleteSession(w.main, { dependants: 'materialize' })
      const r = await fetch(`${s.viewer.url}api/sessions/${w.compacted}/lineage`)
      const g = (await r.json()) as { root: string; nodes: { sessionId: string; present: boolean }[]; edges: { from: string; to: string; atSeq: number | null }[] }
      expect(g.root).toBe(w.main)
      expect(g.nodes).toContainEqual(expect.objectContaining({ sessionId: w.main, present: false }))
      expect(g.edges).toEqual([expect.objectContaining({ from: w.main, to: w.compacted, relation: 'compaction', atSeq: null })])
    } finally {
      await s.close()
    }
  })
})

describe('lineage with an imported subagent', () => {
  it('draws the subagent under the session that spawned it, at the Task call (a sidechain of unknown spawn point: atHash null)', async () => {
    const dir = await tempDir()
    const s = await serve(dir)
    try {
      const { importTranscript } = await import('../../src/index.js')
      const { CLAUDE_AGENT_FILE, CLAUDE_FILE, CLAUDE_ID } = await import('../import/support.js')
      await importTranscript(s.store, [CLAUDE_FILE, CLAUDE_AGENT_FILE], { from: 'claude-code' })
      const main = `claude-code:${CLAUDE_ID}`
      const agent = `${main}:agent-a7f3c2e`
      const g = (await (await fetch(`${s.viewer.url}api/sessions/${encodeURIComponent(agent)}/lineage`)).json()) as { root: string; edges: { from: string; to: string; relation: string; atHash: string | null; atSeq: number | null }[] }
      expect(g.root).toBe(main)
      const edge = g.edges.find((e) => e.to === agent)!
      expect(edge).toMatchObject({ from: main, relation: 'subagent', materialized: true })
      expect(edge.atSeq).toBe((await s.store.locate(edge.atHash!))!.seq)
      expect(g.edges.find((e) => e.to === `${main}~s11`)).toMatchObject({ from: main, relation: 'subagent', atHash: null, atSeq: null })
    } finally {
      await s.close()
    }
  })
})
