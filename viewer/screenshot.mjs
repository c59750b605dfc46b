// Screenshots of the viewer on a demo store, for the README and docs/viewer.md:
//   npm run build && node viewer/screenshot.mjs [outDir]   (default docs/)
// Uses Debian's chromium through playwright-core; nothing is downloaded.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { execFileSync } from 'node:child_process'
import { chromium } from 'playwright-core'
import { openStore } from '../dist/index.js'
import { startViewer } from '../dist/viewer/server.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const outDir = resolve(process.argv[2] ?? join(root, 'docs'))
const work = await mkdtemp(join(tmpdir(), 'chainlog-shots-'))
const storeDir = join(work, 'store')
execFileSync(process.execPath, [join(root, 'dist/cli/main.js'), 'demo', '--dir', storeDir], { stdio: 'ignore' })
const store = await openStore({ path: storeDir, exclusive: true })
const viewer = await startViewer({ store, storeDir: '~/project/.chainlog' })
const browser = await chromium.launchPersistentContext(join(work, 'profile'), {
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1280, height: 760 },
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
})
try {
  const page = await browser.newPage()
  const sessions = await store.listSessions()
  const fork = sessions.find((s) => s.forkedFrom)
  await page.goto(viewer.url)
  await page.locator('.badge.ok').first().waitFor()
  await page.waitForFunction(() => document.querySelectorAll('.badge.pending').length === 0)
  await page.screenshot({ path: join(outDir, 'viewer-sessions.png') })
  if (fork) {
    await page.goto(`${viewer.url}#/lineage/${fork.sessionId}`)
    await page.locator('svg.lineage').waitFor()
    await page.screenshot({ path: join(outDir, 'viewer-lineage.png') })
    await page.goto(`${viewer.url}#/s/${fork.forkedFrom.sessionId}/e/${fork.forkedFrom.atHash}`)
    await page.locator('.entry-panel [data-field=hash]').waitFor()
    await page.waitForTimeout(300)
    await page.screenshot({ path: join(outDir, 'viewer-timeline.png') })
  }
  // Then change one stored record behind the API's back, as an attacker editing the files
  // would, and show the Verify page failing.
  const BIN = { keyEncoding: 'view', valueEncoding: 'view' }
  const from = Buffer.from('Off by exactly one hour')
  const to = Buffer.from('Off by exactly two hour')
  for await (const [key, value] of store.db.iterator(BIN)) {
    const buf = Buffer.from(value)
    const at = buf.indexOf(from)
    if (at === -1) continue
    to.copy(buf, at)
    await store.db.put(key, new Uint8Array(buf), BIN)
  }
  store.invalidate()
  await page.goto(`${viewer.url}#/verify`)
  await page.click('button[data-action=verify]')
  await page.locator('[data-verdict]').waitFor()
  await page.screenshot({ path: join(outDir, 'viewer-verify-tampered.png') })
  console.log(`screenshots in ${outDir}`)
} finally {
  await browser.close()
  await viewer.close()
  await store.close()
  await rm(work, { recursive: true, force: true })
}
