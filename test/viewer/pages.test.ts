// The viewer in headless Chromium: the session list, a timeline, lineage, usage, a fork made
// from the page, an import from the page, and a timeline that follows appends live.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildWorld, launchBrowser, removeTempDirs, serve, tempDir, turnItems, type Browser, type Served, type World } from './helpers.js'

let world: World
let served: Served
let browser: Browser
let url: string

beforeAll(async () => {
  world = await buildWorld()
  served = await serve(world.dir)
  url = served.viewer.url
  browser = await launchBrowser()
})

afterAll(async () => {
  await browser?.close()
  await served?.close()
  await removeTempDirs()
})

describe('sessions', () => {
  it('lists every session with its origin and a verified badge', async () => {
    const { page } = browser
    await page.goto(url)
    const rows = page.locator('table.sessions tbody tr')
    await expect.poll(() => rows.count()).toBe(4)
    await expect.poll(() => page.locator('table.sessions .badge.ok').count()).toBe(4)
    const forkRow = page.locator(`tr[data-session="${world.fork}"]`)
    expect(await forkRow.textContent()).toContain(`fork @${world.forkPoint.slice(0, 8)}`)
    expect(await page.locator(`tr[data-session="${world.main}"]`).textContent()).toContain('main question 1')
  })

  it('searches and sorts', async () => {
    const { page } = browser
    await page.fill('input.search', 'claude')
    await expect.poll(() => page.locator('table.sessions tbody tr').count()).toBe(2)
    await page.fill('input.search', '')
    await page.click('button[data-sort=length]') // longest first
    await page.locator('th[aria-sort=descending] button[data-sort=length]').waitFor()
    const ids = await page.locator('table.sessions tbody tr').evaluateAll((trs) => trs.map((t) => t.getAttribute('data-session')))
    const lengths = await Promise.all(ids.map(async (id) => (await served.store.readHead(id!))!.seq))
    expect(lengths).toEqual([...lengths].sort((a, b) => b - a))
    await page.click('button[data-sort=length]') // shortest first
    await page.locator('th[aria-sort=ascending] button[data-sort=length]').waitFor()
    const again = await page.locator('table.sessions tbody tr').evaluateAll((trs) => trs.map((t) => t.getAttribute('data-session')))
    expect(again).toEqual([...ids].reverse())
  })
})

describe('timeline', () => {
  it('shows every entry by kind, with its hash, and opens the decoded entry by its link', async () => {
    const { page } = browser
    await page.goto(url)
    await page.click(`tr[data-session="${world.main}"] a`)
    const length = (await served.store.readHead(world.main))!.seq + 1
    await expect.poll(() => page.locator('article.entry').count()).toBe(length)
    const text = await page.locator('.timeline').textContent()
    for (const s of ['main question 1', 'main thinking 1', 'list_files', 'main files 1: a.ts b.ts', 'main answer 2', 'end of turn', 'temperature', 'outcome: finished', 'gpt-5: 1000 in']) expect(text).toContain(s)
    const tool = page.locator(`article[data-hash="${world.forkPoint}"]`)
    await tool.locator('a.hash').click()
    await page.locator('.entry-panel [data-field=hash]').waitFor()
    expect(await page.locator('.entry-panel [data-field=hash]').textContent()).toBe(world.forkPoint)
    expect(page.url()).toBe(`${url}#/s/${world.main}/e/${world.forkPoint}`)
    expect(await tool.getAttribute('class')).toContain('selected')
  })

  it('a link to an entry hash prefix opens its session at that entry', async () => {
    const { page } = browser
    await page.goto(`${url}#/e/${world.forkPoint.slice(0, 12)}`)
    await page.waitForURL(`${url}#/s/${world.main}/e/${world.forkPoint}`)
    expect(await page.locator('.entry-panel dd').nth(2).textContent()).toBe(String(world.forkSeq))
  })
})

describe('blobs', () => {
  it('shows a large stored payload as not loaded, and loads it on request', async () => {
    const { page } = browser
    await page.goto(`${url}#/s/${world.other}`)
    const entry = page.locator('article.entry', { has: page.locator('button.load-blobs') })
    await entry.waitFor()
    expect(await entry.textContent()).toContain('not loaded')
    expect(await entry.textContent()).not.toContain('big-line 0000')
    await entry.locator('button.load-blobs').click()
    await page.getByText('big-line 0000', { exact: false }).waitFor()
    expect(await page.locator('button.load-blobs').count()).toBe(0)
    await page.locator('article.entry button', { hasText: 'show all' }).last().click()
    await page.getByText('END-OF-BIG-OUTPUT', { exact: false }).waitFor()
  })
})

describe('lineage', () => {
  it('draws the fork and the compaction, edges labelled with their entry, and clicks through', async () => {
    const { page } = browser
    await page.goto(`${url}#/lineage/${world.fork}`)
    await page.locator('svg.lineage').waitFor()
    expect(await page.locator('svg.lineage a.node').count()).toBe(3)
    expect(await page.locator('svg.lineage .node.current').getAttribute('data-session')).toBe(world.fork)
    const edge = page.locator(`g.edge[data-from="${world.main}"][data-to="${world.fork}"]`)
    expect(await edge.textContent()).toBe(`fork @ #${world.forkSeq} ${world.forkPoint.slice(0, 8)}`)
    expect(await page.locator(`g.edge.compaction[data-to="${world.compacted}"]`).count()).toBe(1)
    await edge.locator('a.edge-label').click()
    await page.waitForURL(`${url}#/s/${world.main}/e/${world.forkPoint}`)
    await page.goto(`${url}#/lineage/${world.fork}`)
    await page.locator(`svg.lineage a.node[data-session="${world.compacted}"]`).click()
    await page.waitForURL(`${url}#/s/${world.compacted}`)
  })
})

describe('usage', () => {
  it('charts and tabulates tokens by model and by day', async () => {
    const { page } = browser
    await page.goto(`${url}#/usage`)
    await page.locator('[data-table=by-model]').waitFor()
    expect(await page.locator('tr[data-model="gpt-5"] td').nth(2).textContent()).toBe((3000).toLocaleString('en-US'))
    expect(await page.locator('tr[data-model="claude-sonnet-4-5"] td').nth(1).textContent()).toBe('2')
    const days = await page.locator('g.bar[data-category^="2026-"]').evaluateAll((gs) => gs.map((g) => g.getAttribute('data-category')))
    expect(days).toEqual(['2026-03-01', '2026-03-02'])
  })
})

describe('actions', () => {
  it('forks at an entry from the page and shows the new session', async () => {
    const { page } = browser
    const before = new Set((await served.store.listSessions()).map((s) => s.sessionId))
    await page.goto(`${url}#/s/${world.main}/e/${world.forkPoint}`)
    await page.click('.entry-panel button[data-action=fork]')
    await page.waitForURL((u) => /#\/s\/[^/]+$/.test(u.hash) && !u.hash.includes(world.main))
    const made = (await served.store.listSessions()).filter((s) => !before.has(s.sessionId))
    expect(made).toHaveLength(1)
    expect(made[0]!.forkedFrom).toEqual({ sessionId: world.main, atHash: world.forkPoint })
    expect(page.url()).toBe(`${url}#/s/${made[0]!.sessionId}`)
    await expect.poll(() => page.locator('article.entry').count()).toBe(1)
    await page.locator('.session-head', { hasText: `fork of ${world.main}` }).waitFor()
  })

  it('imports a bundle from the page, and refuses a damaged one without writing', async () => {
    const { page } = browser
    // A bundle of a session this store does not have, from another store.
    const otherWorld = await buildWorld()
    const other = await serve(otherWorld.dir)
    const bundle = new Uint8Array(await (await fetch(`${other.viewer.url}api/sessions/${otherWorld.other}/export`)).arrayBuffer())
    const exportedHead = await other.store.head(otherWorld.other)
    await other.close()
    // The same session id exists here: delete it first, so the import has something to add.
    await served.store.deleteSession(world.other)
    const dir = await tempDir()
    const good = join(dir, 'good.bundle')
    const bad = join(dir, 'bad.bundle')
    await writeFile(good, bundle)
    const damaged = Buffer.from(bundle)
    const at = damaged.indexOf('other answer 1')
    expect(at).toBeGreaterThan(0)
    damaged.write('OTHER', at)
    await writeFile(bad, damaged)

    await page.goto(`${url}#/actions`)
    await page.setInputFiles('input[data-field=bundle]', bad)
    await page.locator('[data-verdict=refused]').waitFor()
    expect(await page.locator('[data-verdict=refused]').textContent()).toContain('CHAINLOG_INVALID_BUNDLE')
    expect(await served.store.readHead(world.other)).toBeUndefined()

    await page.setInputFiles('input[data-field=bundle]', good)
    await page.locator('[data-verdict=imported]').waitFor()
    expect(await page.locator('[data-verdict=imported]').textContent()).toContain(world.other)
    expect(await served.store.head(world.other)).toBe(exportedHead)
  })

  it('links to a bundle download of a session', async () => {
    const { page } = browser
    await page.goto(`${url}#/s/${world.fork}`)
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('text=Export bundle')])
    expect(download.suggestedFilename()).toBe('fork-session.bundle')
  })
})

describe('live', () => {
  it('a timeline shows entries appended while it is open, without a reload', async () => {
    const { page } = browser
    await page.goto(`${url}#/s/${world.compacted}`)
    const before = (await served.store.readHead(world.compacted))!.seq + 1
    await expect.poll(() => page.locator('article.entry').count()).toBe(before)
    await page.locator('.badge.live').waitFor()
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 42))
    await served.store.appendTurn(world.compacted, turnItems('live', 7), { turnEnd: true })
    await expect.poll(() => page.locator('article.entry').count()).toBeGreaterThan(before)
    await page.getByText('live answer 7').waitFor()
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(42) // the same page: no reload
  })
})
