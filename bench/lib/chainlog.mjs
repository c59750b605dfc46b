// chainlog as the bench uses it: the built package (../../dist/index.js), opened the way a
// runtime opens it, and the workload mapped onto its API.
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

// run.mjs points CHAINLOG_BENCH_DIST at a snapshot of dist/ taken when the run starts, so a
// rebuild by someone else during a long run cannot change the code under test half-way.
const distDir = process.env.CHAINLOG_BENCH_DIST || path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist')
const distUrl = pathToFileURL(path.join(distDir, 'index.js')).href

/** The chainlog package (dist/index.js; run `npm run build` first). */
export const chainlog = await import(distUrl)

// The workload's tool results are `{ role: 'tool', tool_call_id, content }` (OpenAI Chat shape),
// which the default classifier leaves as 'other'; say they are tool results.
export const classify = (item) => (item && item.role === 'tool' ? 'tool_result' : chainlog.classifyItem(item))

export function openChainlog(dir, { durability = 'relaxed' } = {}) {
  return chainlog.openStore({ path: dir, durability, classify })
}

/** A workload turn (5 baseline entries) as the items appendTurn takes. */
export const turnItems = (entries) => entries.map((e) => e.item)

/**
 * Workload entries mapped 1:1 to chainlog entries (same items, one entry each), for data sets
 * that must hold exactly the peers' entries: appendMany writes these.
 */
export function toEntries(entries) {
  return entries.map((e) => {
    switch (e.type) {
      case 'UserInput':
        return { kind: 'user_input', ts: e.ts, item: e.item }
      case 'ToolResult':
        return { kind: 'tool_results', ts: e.ts, items: [e.item] }
      default:
        return { kind: 'assistant_items', ts: e.ts, items: [e.item] }
    }
  })
}

/** The in-process Store behind what openStore returned (a shared-store wrapper may sit in front). */
export const localStore = (store) => store.local ?? store

/** Which full-store verification the build offers. */
export const verifyMethod = (store) => (typeof store.verify === 'function' ? 'store.verify()' : 'entries(verify:true) per session')

/**
 * Verify the whole store. Uses `store.verify()` when the build has it; until then a full,
 * verified read of every session through `entries(..., { verify: true })`.
 * Returns { entries, ok }.
 */
export async function verifyStore(store) {
  if (typeof store.verify === 'function') {
    const report = await store.verify()
    return { entries: report.checked?.entries ?? NaN, ok: report.ok === true, method: 'store.verify()' }
  }
  return { ...(await readAllVerified(store)), method: 'entries(verify:true) per session' }
}

/** Every entry of every session, read with verify:true (hash, link, seq and genesis checks). */
export async function readAllVerified(store) {
  let entries = 0
  for (const s of await store.listSessions()) {
    for await (const _ of store.entries(s.sessionId, { verify: true })) entries++
  }
  return { entries, ok: true }
}

/** chainlog's LevelDB write buffer for stores opened by path (src/storage/session-store.ts). */
export const { WRITE_BUFFER_BYTES } = await import(pathToFileURL(path.join(distDir, 'storage', 'session-store.js')).href)

/** chainlog's key layout (src/storage/keys.ts), for the floors that read its LevelDB rows directly. */
export const keys = await import(pathToFileURL(path.join(distDir, 'storage', 'keys.js')).href)

/** A module of the built package by its path under dist/ (for the bench's own store building). */
export const distModule = (rel) => import(pathToFileURL(path.join(distDir, rel)).href)

/** The CLI entry point of the build under test (`node <cliMain> ...` is `chainlog ...`). */
export const cliMain = path.join(distDir, 'cli', 'main.js')
