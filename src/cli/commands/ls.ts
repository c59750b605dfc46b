// `chainlog ls`: sessions, most recently updated first (the newest n with -n, like git log),
// with size, origin, token usage and first user message. The listing is one range scan of the
// session rows (head, metadata and usage totals in one row), so a store of many sessions lists
// without a read per session.
import { InvalidArgumentError, type Command } from 'commander'
import type { Ctx } from '../context.js'
import { formatAge, formatCount, oneLine, shortHash, summarizeTotals } from '../format.js'
import { sessionRows, type OriginView } from '../sessions.js'
import { withStore } from '../store-access.js'
import { renderTable, type Cell } from '../table.js'

function parseCount(v: string): number {
  const n = Number(v)
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a whole number of sessions')
  return n
}

export function originLabel(o: OriginView | null): string {
  if (!o) return '-'
  const kind = o.relation === 'compaction' ? 'compaction' : o.materialized ? 'fork(m)' : 'fork'
  return `${kind}@${shortHash(o.atHash)}`
}

export function registerLs(program: Command, ctx: Ctx): void {
  program
    .command('ls')
    .description('list sessions: age, length, origin, token usage, first user message')
    .option('-n, --max-count <n>', 'show only the n most recently updated sessions', parseCount)
    .option('--json', 'print { sessions: [...] } as JSON')
    .action(async (opts: { json?: boolean; maxCount?: number }) => {
      const rows = await withStore(ctx.storeDir(), (store) => sessionRows(store, opts.maxCount))
      if (opts.json) {
        ctx.out.json({ sessions: rows })
        return
      }
      if (rows.length === 0) {
        ctx.out.note(`no sessions in ${ctx.storeDir()}`)
        return
      }
      const { c } = ctx.out
      const now = Date.now()
      // Without colours a cell is its text: a listing of 20,000 sessions has 120,000 cells.
      const cell = c.enabled ? (text: string, paint: (s: string) => string): Cell => ({ text, paint }) : (text: string): string => text
      const table: (Cell | string)[][] = [['SESSION', 'AGE', 'ENTRIES', 'ORIGIN', 'TOKENS', 'FIRST MESSAGE'].map((t) => cell(t, c.bold))]
      for (const r of rows) {
        table.push([
          cell(r.sessionId, c.yellow),
          formatAge(r.updatedAt, now),
          formatCount(r.length),
          cell(originLabel(r.origin), r.origin ? c.cyan : c.dim),
          summarizeTotals(r.usageTotals),
          r.firstUserMessage === null ? '-' : JSON.stringify(oneLine(r.firstUserMessage, 60)),
        ])
      }
      ctx.out.lines(renderTable(table, ['left', 'right', 'right', 'left', 'right', 'left']))
    })
}
