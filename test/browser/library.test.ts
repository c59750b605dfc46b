// chainlog in a browser (docs/browser.md): dist/browser.js bundled for a browser the way a user's
// bundler does it (esbuild, platform browser, the package's "browser" field), run in Debian's
// chromium on BrowserLevel (IndexedDB, from `level`): a store created, appended to, restored with
// its items in their key order, verified, and found again after a reload; a bundle written by
// Node verified and imported in the page. Needs `npm run build` (dist/), as `npm ci` does.
import { createServer, type Server } from 'node:http'
import { readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { AddressInfo } from 'node:net'
import { build } from 'esbuild'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStore } from '../../src/index.js'
import { exportBytes } from '../support/bundle-bytes.js'
import { launchBrowser, removeTempDirs, tempDir, type Browser } from '../viewer/helpers.js'

const ROOT = resolve(import.meta.dirname, '..', '..')
/** Modules that only Node can run: none may reach the browser bundle. */
const NODE_ONLY = /dist\/(platform\/node|storage\/(store-dir|journal|pg-engine)|verify\/verify-(threads|worker)|bundle\/export|host\/|cli\/|viewer\/|import\/(import-transcript|read-lines)\.js)/

let server: Server
let url: string
let inputs: string[]
let appText: string
let browser: Browser

beforeAll(async () => {
  const dir = await tempDir('chainlog-browser-lib-')
  const entry = join(dir, 'entry.mjs')
  await writeFile(entry, `import * as chainlog from ${JSON.stringify(join(ROOT, 'dist', 'browser.js'))}\nimport { Level } from 'level'\nglobalThis.chainlog = chainlog\nglobalThis.Level = Level\n`)
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    outfile: join(dir, 'app.js'),
    absWorkingDir: ROOT,
    nodePaths: [join(ROOT, 'node_modules')],
    metafile: true,
    logLevel: 'silent',
  })
  inputs = Object.keys(result.metafile.inputs)
  const app = await readFile(join(dir, 'app.js'))
  appText = app.toString('utf8')
  server = createServer((req, res) => {
    if (req.url === '/app.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' })
      res.end(app)
    } else {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end('<!doctype html><title>chainlog</title><script type="module" src="/app.js"></script>')
    }
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  browser = await launchBrowser()
  await browser.page.goto(url)
  await browser.page.waitForFunction(() => 'chainlog' in globalThis)
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await new Promise((r) => server?.close(r))
  await removeTempDirs()
})

describe('the browser build', () => {
  it('bundles for a browser with no Node built-in and no Node-only module', () => {
    expect(inputs.some((i) => i.endsWith('dist/browser.js'))).toBe(true)
    expect(inputs.some((i) => i.endsWith('dist/platform/browser.js'))).toBe(true)
    expect(inputs.filter((i) => NODE_ONLY.test(i) || i.startsWith('node:'))).toEqual([])
    expect(inputs.filter((i) => /node_modules\/(classic-level|pg|commander)\//.test(i))).toEqual([])
    // Not even a guarded dynamic import of one (SHA-256 comes from the platform, not import('node:crypto')).
    expect(appText.match(/["']node:[a-z_/]+["']/g) ?? []).toEqual([])
  })

  it('a store on BrowserLevel: appends, restores items in their key order, verifies, and is there after a reload', async () => {
    const { page } = browser
    const items = [
      { role: 'user', content: 'list the files', zeta: 1, alpha: 2, '10': 'ten', '2': 'two' },
      { role: 'assistant', content: [{ type: 'tool_use', input: { path: '/src', b: -0, a: 2 ** 60 } }] },
      { role: 'tool', content: 'x'.repeat(10_000) + 'é🙂' },
    ]
    const first = await page.evaluate(async (items) => {
      const { openBrowserStore } = (globalThis as any).chainlog
      const store = await openBrowserStore({ db: new (globalThis as any).Level('chainlog-test', { keyEncoding: 'view', valueEncoding: 'view' }) })
      const { sessionId } = await store.createSession({ sessionId: 'in-the-page' })
      await store.appendTurn(sessionId, items, { turnEnd: true })
      const state = await store.restore(sessionId)
      const report = await store.verify()
      await store.close()
      return { history: JSON.stringify(state.history), ok: report.ok, entries: report.checked.entries, negZero: Object.is(state.history[1].content[0].input.b, -0) }
    }, items)
    expect(first.history).toBe(JSON.stringify(items))
    expect(first.negZero).toBe(true)
    expect(first.ok).toBe(true)
    expect(first.entries).toBe(5) // genesis, user_input, assistant_items, tool_results, turn_end

    await page.reload()
    await page.waitForFunction(() => 'chainlog' in globalThis)
    const again = await page.evaluate(async () => {
      const { openBrowserStore } = (globalThis as any).chainlog
      const store = await openBrowserStore({ db: new (globalThis as any).Level('chainlog-test', { keyEncoding: 'view', valueEncoding: 'view' }) })
      const sessions = (await store.listSessions()).map((s: { sessionId: string }) => s.sessionId)
      const state = await store.restore('in-the-page')
      const ok = (await store.verify({ sessionId: 'in-the-page' })).ok
      await store.close()
      return { sessions, history: JSON.stringify(state.history), ok }
    })
    expect(again).toEqual({ sessions: ['in-the-page'], history: JSON.stringify(items), ok: true })
  })

  it("writes the Merkle tree rows verify recomputes, with SHA-256 from the page's platform (no sha256Into)", async () => {
    // The browser platform has no sha256Into, so the tree's node hashes take merkle.ts's
    // fallback (a one-shot digest copied into place); verify recomputes every stored tree row
    // with the separate node-object code (verify/tree-check.ts), so a wrong fallback fails it.
    const got = await browser.page.evaluate(async () => {
      const { openBrowserStore } = (globalThis as any).chainlog
      const db = new (globalThis as any).Level('chainlog-tree-test', { keyEncoding: 'view', valueEncoding: 'view' })
      const store = await openBrowserStore({ db })
      const { sessionId } = await store.createSession({ sessionId: 'tree-in-the-page' })
      let entries = 1
      for (let i = 0; i < 10; i++) entries += (await store.appendTurn(sessionId, [{ role: 'user', content: `turn ${i}` }, { role: 'assistant', content: `reply ${i}` }], { turnEnd: true })).entries.length
      const report = await store.verify({ sessionId })
      let treeRows = 0
      for await (const key of db.keys({ gte: new Uint8Array([0x54]), lt: new Uint8Array([0x55]) })) if (key.length > 0) treeRows++
      await store.close()
      return { ok: report.ok, entries, treeRows }
    })
    // Tree rows sit at the leaves that are 7 mod 8 (docs/storage.md section 1).
    expect(got.entries).toBeGreaterThanOrEqual(24)
    expect(got.treeRows).toBe(Math.floor(got.entries / 8))
    expect(got.ok).toBe(true)
  })

  it('a store directory is refused in a page with a typed error', async () => {
    const code = await browser.page.evaluate(async () => {
      try {
        await (globalThis as any).chainlog.Store.open({ path: './store' })
        return 'opened'
      } catch (err) {
        return (err as { code?: string }).code
      }
    })
    expect(code).toBe('CHAINLOG_INVALID_ARGUMENT')
  })

  it('a bundle written by Node verifies in the page, a tampered one is refused, and it imports into the page store', async () => {
    const dir = await tempDir()
    const store = await openStore({ path: dir, exclusive: true })
    const { sessionId } = await store.createSession({ sessionId: 'from-node' })
    await store.appendTurn(sessionId, [{ role: 'user', content: 'hello from node', b: 1, a: 2 }, { role: 'tool', content: 'y'.repeat(6000) }], { turnEnd: true })
    const bytes = await exportBytes(store, sessionId)
    const restored = JSON.stringify((await store.restore(sessionId)).history)
    await store.close()
    const tampered = Uint8Array.from(bytes)
    tampered[Math.floor(tampered.length / 2)]! ^= 0x01
    const got = await browser.page.evaluate(
      async ({ good, bad }) => {
        const { verifyBundle, openBrowserStore } = (globalThis as any).chainlog
        const okReport = await verifyBundle(new Uint8Array(good))
        const badReport = await verifyBundle(new Uint8Array(bad))
        const store = await openBrowserStore({ db: new (globalThis as any).Level('chainlog-bundles', { keyEncoding: 'view', valueEncoding: 'view' }) })
        const imported = await store.importBundle(new Uint8Array(good))
        const history = JSON.stringify((await store.restore('from-node')).history)
        await store.close()
        return { ok: okReport.ok, bad: badReport.ok, badCodes: badReport.findings.map((f: { code: string }) => f.code), added: imported.entriesAdded, history }
      },
      { good: Array.from(bytes), bad: Array.from(tampered) },
    )
    expect(got.ok).toBe(true)
    expect(got.bad).toBe(false)
    expect(got.badCodes.length).toBeGreaterThan(0)
    expect(got.added).toBe(4)
    expect(got.history).toBe(restored)
  })
})
