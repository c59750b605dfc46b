// Rough import throughput until bench/ gains an import row: imports the given files into a fresh
// on-disk store, then again (nothing new), and prints lines/s and store bytes vs source bytes.
// Usage: npm run build && node scripts/measure-import.mjs <claude-code|codex|pi> <sync|relaxed> FILE...
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { importTranscript, openStore } from '../dist/index.js'

const [from, durability, ...files] = process.argv.slice(2)
const dir = mkdtempSync(join(tmpdir(), 'chainlog-measure-import-'))
try {
  const store = await openStore({ path: dir, exclusive: true, durability })
  let t = performance.now()
  const first = await importTranscript(store, files, { from })
  const firstMs = performance.now() - t
  t = performance.now()
  const again = await importTranscript(store, files, { from })
  const againMs = performance.now() - t
  await store.close()
  const storeBytes = readdirSync(dir).reduce((a, f) => a + statSync(join(dir, f)).size, 0)
  const sourceBytes = files.reduce((a, f) => a + statSync(f).size, 0)
  console.log(JSON.stringify({
    from, durability, lines: first.linesImported, entries: first.entriesAppended,
    firstMs: Math.round(firstMs), linesPerSec: Math.round((first.linesImported / firstMs) * 1000),
    reimportMs: Math.round(againMs), reimportLines: again.linesImported, sourceBytes, storeBytes,
  }))
} finally {
  rmSync(dir, { recursive: true, force: true })
}
