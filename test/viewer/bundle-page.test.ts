// The viewer's bundle page in headless Chromium: a bundle file chosen in the page is verified by
// chainlog's browser build in the page (no request reaches the server), a damaged one fails with
// its findings, and a verified one is browsed with the other pages (sessions, timeline with a
// blob, verify) from a store in the page, until "Back to the store".
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exportBytes } from '../support/bundle-bytes.js'
import { BIG_OUTPUT, buildWorld, launchBrowser, openDir, removeTempDirs, serve, tempDir, type Browser, type Served, type World } from './helpers.js'

let world: World
let served: Served
let browser: Browser
let url: string
let good: string
let bad: string
/** Requests the page made to the server's API, by path. */
const apiCalls: string[] = []

beforeAll(async () => {
  world = await buildWorld()
  // The bundle: the fork (it carries its source, main, up to the fork point) from another store,
  // so nothing in it is in the served store.
  const otherWorld = await buildWorld()
  const source = await openDir(otherWorld.dir)
  const bytes = await exportBytes(source, otherWorld.fork)
  const bigBytes = await exportBytes(source, otherWorld.other)
  await source.close()
  const dir = await tempDir()
  good = join(dir, 'fork.bundle')
  bad = join(dir, 'damaged.bundle')
  await writeFile(good, bytes)
  await writeFile(join(dir, 'other.bundle'), bigBytes)
  const damaged = Buffer.from(bytes)
  const at = damaged.indexOf('fork answer 1')
  expect(at).toBeGreaterThan(0)
  damaged.write('FORK', at)
  await writeFile(bad, damaged)
  // The served store holds other sessions: remove the ones the bundle names, so a page that
  // asked the server would find nothing.
  const store = await openDir(world.dir)
  await store.deleteSession(world.fork)
  await store.deleteSession(world.compacted)
  await store.deleteSession(world.main)
  await store.close()
  served = await serve(world.dir)
  url = served.viewer.url
  browser = await launchBrowser()
  browser.page.on('request', (r) => {
    const u = new URL(r.url())
    if (u.pathname.startsWith('/api/')) apiCalls.push(u.pathname)
  })
})

afterAll(async () => {
  await browser?.close()
  await served?.close()
  await removeTempDirs()
})

describe('bundle page', () => {
  it('verifies a damaged bundle in the page and shows its findings, with nothing sent to the server', async () => {
    const { page } = browser
    await page.goto(`${url}#/bundle`)
    await page.locator('input[data-field=bundle-file]').waitFor()
    apiCalls.length = 0
    await page.setInputFiles('input[data-field=bundle-file]', bad)
    const result = page.locator('.bundle-result')
    await result.waitFor()
    expect(await result.getAttribute('data-result')).toBe('failed')
    expect(await result.textContent()).toContain('bundle_malformed')
    expect(await result.textContent()).toContain('does not link to the entry before it')
    expect(await page.locator('[data-action=browse-bundle]').count()).toBe(0)
    expect(apiCalls).toEqual([])
  })

  it('verifies a good bundle in the page and browses its sessions, timeline and verify from the page', async () => {
    const { page } = browser
    apiCalls.length = 0
    await page.setInputFiles('input[data-field=bundle-file]', good)
    await page.locator('.bundle-result[data-result=ok]').waitFor()
    expect(await page.locator('.bundle-result').textContent()).toContain('verified in this page')
    expect(await page.locator('.bundle-sessions li').count()).toBe(2)
    await page.click('[data-action=browse-bundle]')
    await page.locator('[data-testid=page-source]').waitFor()
    expect(await page.locator('[data-testid=page-source]').textContent()).toContain('fork.bundle')
    // The list is the bundle's: the fork and the part of main it starts from.
    const rows = page.locator('table.sessions tbody tr')
    await expect.poll(() => rows.count()).toBe(2)
    expect(await page.locator(`tr[data-session="${world.fork}"]`).count()).toBe(1)
    await expect.poll(() => page.locator('table.sessions .badge.ok').count()).toBe(2)
    // A timeline, read from the store in the page.
    await page.goto(`${url}#/s/${world.fork}`)
    await expect.poll(async () => (await page.locator('main').textContent()) ?? '').toContain('fork answer 1')
    // Verify runs in the page with its progress events.
    await page.goto(`${url}#/verify`)
    await page.click('button[data-action=verify]')
    await page.locator('[data-verdict=ok]').waitFor()
    expect(await page.locator('[data-verdict=ok]').textContent()).toContain('2 sessions')
    expect(apiCalls).toEqual([])
  })

  it('loads a blob of a bundle on request, in the page', async () => {
    const { page } = browser
    await page.click('[data-testid=page-source] button')
    await page.goto(`${url}#/bundle`)
    // Back on the store, the page reads the server: a request still in flight from that would be
    // counted below. A reload drops it and starts the bundle page afresh.
    await page.reload({ waitUntil: 'networkidle' })
    apiCalls.length = 0
    await page.setInputFiles('input[data-field=bundle-file]', join(good, '..', 'other.bundle'))
    await page.locator('.bundle-result[data-result=ok]').waitFor()
    await page.click('[data-action=browse-bundle]')
    await page.locator('[data-testid=page-source]').waitFor()
    await page.goto(`${url}#/s/${world.other}`)
    const entry = page.locator('article.entry', { has: page.locator('button.load-blobs') })
    await entry.waitFor()
    expect(await entry.textContent()).toContain('not loaded')
    await entry.locator('button.load-blobs').click()
    await page.getByText(BIG_OUTPUT.slice(0, 13), { exact: false }).waitFor()
    expect(await page.locator('button.load-blobs').count()).toBe(0)
    expect(apiCalls).toEqual([])
  })

  it('"Back to the store" reads the server again', async () => {
    const { page } = browser
    await page.click('[data-testid=page-source] button')
    await expect.poll(() => page.locator('[data-testid=page-source]').count()).toBe(0)
    await page.goto(url)
    const rows = page.locator('table.sessions tbody tr')
    // The served store now holds only the session the test left in it.
    await expect.poll(() => rows.count()).toBe(1)
    expect(apiCalls.length).toBeGreaterThan(0)
  })
})
