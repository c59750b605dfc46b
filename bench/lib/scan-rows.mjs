// Floor of bench case 10: the rows `chainlog ls` reads, iterated with classic-level alone, in its
// own process like the CLI: the session rows (`P`; store format 4 holds head, metadata and usage
// there; a build of format 3 also reads its metadata `M` and usage `U` tables) of a store
// directory, keys and values, 1,024 rows per nextv (as the store scans them), nothing decoded.
// Prints one line per table: its tag and row count.
//   node bench/lib/scan-rows.mjs <store dir>
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { ClassicLevel } from 'classic-level'

const dir = process.argv[2]
if (!dir) {
  console.error('usage: node bench/lib/scan-rows.mjs <store dir>')
  process.exit(2)
}
// The key layout of the build under test (run.mjs's snapshot of dist/ when given).
const distDir = process.env.CHAINLOG_BENCH_DIST || path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist')
const K = await import(pathToFileURL(path.join(distDir, 'storage', 'keys.js')).href)

const db = new ClassicLevel(dir, { keyEncoding: 'view', valueEncoding: 'view' })
await db.open()
const lines = []
for (const [name, tag] of [['P', K.TAG.head], ['M', K.TAG.meta], ['U', K.TAG.usage]].filter(([, tag]) => tag !== undefined)) {
  const it = db.iterator(K.tableRange(tag))
  let n = 0
  for (;;) {
    const rows = await it.nextv(1024)
    if (rows.length === 0) break
    n += rows.length
  }
  await it.close()
  lines.push(`${name} ${n}`)
}
await db.close()
process.stdout.write(lines.join('\n') + '\n')
