// Verification in the viewer, in headless Chromium: an intact store verifies, and a copy of it
// with one stored record changed behind the API's back visibly fails: the badge, the finding at
// its place in the timeline, and the Verify page's verdict and findings.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildWorld, copyStore, launchBrowser, openDir, removeTempDirs, serve, tamperText, type Browser, type Served, type World } from './helpers.js'

let world: World
let intact: Served
let tampered: Served
let tamperedSeq: number
let tamperedHash: string
let browser: Browser

beforeAll(async () => {
  world = await buildWorld()
  const copy = await copyStore(world.dir)
  // Change the text of main's first answer in the copy: the record no longer hashes to its key.
  const store = await openDir(copy)
  try {
    for await (const e of store.entries(world.main)) {
      if (JSON.stringify(e.entry).includes('main answer 1')) {
        tamperedSeq = e.seq
        tamperedHash = e.hash
      }
    }
    expect(await tamperText(store, 'main answer 1', 'main ANSWER 1')).toBe(1)
  } finally {
    await store.close()
  }
  intact = await serve(world.dir)
  tampered = await serve(copy)
  browser = await launchBrowser()
})

afterAll(async () => {
  await browser?.close()
  await intact?.close()
  await tampered?.close()
  await removeTempDirs()
})

describe('an intact store', () => {
  it('verifies on the Verify page, with the progress bar full', async () => {
    const { page } = browser
    await page.goto(`${intact.viewer.url}#/verify`)
    await page.click('button[data-action=verify]')
    await page.locator('[data-verdict]').waitFor()
    expect(await page.locator('[data-verdict]').getAttribute('data-verdict')).toBe('ok')
    const total = (await intact.store.listSessions()).reduce((n, s) => n + s.length, 0)
    expect(await page.locator('.verdict').textContent()).toContain(`${total} entries`)
    expect(await page.locator('.verify-run progress').evaluate((p) => (p as unknown as { value: number; max: number }).value === (p as unknown as { max: number }).max)).toBe(true)
    expect(await page.locator('table.findings').count()).toBe(0)
  })

  it('verifies one session with its lineage', async () => {
    const { page } = browser
    await page.goto(`${intact.viewer.url}#/verify/${world.fork}`)
    await page.click('button[data-action=verify]')
    await page.locator('[data-verdict=ok]').waitFor()
    expect(await page.locator('.verdict').textContent()).toContain('2 sessions')
  })
})

describe('a tampered copy', () => {
  it('shows a failing badge on the session that was changed, and only there', async () => {
    const { page } = browser
    await page.goto(tampered.viewer.url)
    await expect.poll(() => page.locator('table.sessions tbody tr').count()).toBe(4)
    await expect.poll(() => page.locator('table.sessions .badge.pending').count()).toBe(0)
    expect(await page.locator('table.sessions .badge.ok').count()).toBe(3)
    expect(await page.locator(`tr[data-session="${world.main}"] .badge`).getAttribute('class')).toContain('bad')
    expect(await page.locator(`tr[data-session="${world.main}"] .badge`).textContent()).toBe('1 finding')
  })

  it('marks the changed entry in the timeline with its finding, and still shows it', async () => {
    const { page } = browser
    await page.goto(`${tampered.viewer.url}#/s/${world.main}`)
    const bad = page.locator('article.entry.has-finding')
    await bad.waitFor()
    expect(await bad.count()).toBe(1)
    expect(await bad.getAttribute('data-seq')).toBe(String(tamperedSeq))
    expect(await bad.locator('.finding').textContent()).toContain('hash_mismatch')
    expect(await bad.textContent()).toContain('main ANSWER 1')
    expect(await page.locator('.session-head .badge.bad').count()).toBe(1)
  })

  it('fails on the Verify page, each finding linking to its entry', async () => {
    const { page } = browser
    await page.goto(`${tampered.viewer.url}#/verify`)
    await page.click('button[data-action=verify]')
    await page.locator('[data-verdict]').waitFor()
    expect(await page.locator('[data-verdict]').getAttribute('data-verdict')).toBe('failed')
    expect(await page.locator('.verdict').textContent()).toMatch(/^FAILED/)
    const row = page.locator('table.findings tr.error', { hasText: 'hash_mismatch' })
    expect(await row.count()).toBe(1)
    await row.locator('a').click()
    await page.waitForURL(`${tampered.viewer.url}#/s/${world.main}/e/${tamperedHash}`)
    await page.locator(`article.entry.selected.has-finding[data-seq="${tamperedSeq}"]`).waitFor()
    // The entry panel cannot open a record that fails its hash: it says so, shows it as
    // stored, and offers no fork from it.
    expect(await page.locator('.entry-panel .error-box').textContent()).toContain('CHAINLOG_CORRUPT_STORE')
    expect(await page.locator('.entry-panel [data-field=hash]').textContent()).toBe(tamperedHash)
    expect(await page.locator('.entry-panel pre.decoded').textContent()).toContain('main ANSWER 1')
    expect(await page.locator('.entry-panel button[data-action=fork]').isDisabled()).toBe(true)
  })
})
