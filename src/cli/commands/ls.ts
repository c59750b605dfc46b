// `chainlog ls`: sessions, most recently updated first (the newest n with -n, like git log),
// with size, origin, token usage and first user message. The listing and the usage ledger are
// each one range scan, so a store of many sessions lists without a read per session.
import { InvalidArgumentError, type Command } from 'commander'
import type { UsageTotals } from '../../index.js'
import type { Ctx } from '../context.js'
import { formatAge, formatCount, oneLine, shortHash, summarizeTotals } from '../format.js'
import { originOf, type OriginView } from '../sessions.js'
import { withStore } from '../store-access.js'
import { renderTable } from '../table.js'

export interface LsRow {
  sessionId: string
  head: string
  length: number
  createdAt: number
  updatedAt: number
  firstUserMessage: string | null
  counts: { user: number; assistant: number; toolCalls: number; toolResults: number; reasoning: number; other: number }
  origin: OriginView | null
  usageTotals: Record<string, UsageTotals>
}

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
      const rows = await withStore(ctx.storeDir(), async (store) => {
        const out: LsRow[] = []
        const sessions = await store.listSessions({ order: 'newest', limit: opts.maxCount })
        // A few sessions: their own ledger rows; many: one scan of the whole ledger.
        const all = sessions.length > 64 ? await store.usageBySession() : undefined
        for (const s of sessions) {
          const usageTotals = all ? (all[s.sessionId] ?? {}) : await store.usage(s.sessionId)
          out.push({
            sessionId: s.sessionId,
            head: s.head,
            length: s.length,
            createdAt: s.createdAt,
            updatedAt: s.updatedAt,
            firstUserMessage: s.firstUserMessage ?? null,
            counts: s.counts,
            origin: originOf(s),
            usageTotals,
          })
        }
        return out
      })
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
      const table = [
        ['SESSION', 'AGE', 'ENTRIES', 'ORIGIN', 'TOKENS', 'FIRST MESSAGE'].map((t) => ({ text: t, paint: c.bold })),
        ...rows.map((r) => [
          { text: r.sessionId, paint: c.yellow },
          { text: formatAge(r.updatedAt, now) },
          { text: formatCount(r.length) },
          { text: originLabel(r.origin), paint: r.origin ? c.cyan : c.dim },
          { text: summarizeTotals(r.usageTotals) },
          { text: r.firstUserMessage === null ? '-' : JSON.stringify(oneLine(r.firstUserMessage, 60)) },
        ]),
      ]
      const lines = renderTable(table, ['left', 'right', 'right', 'left', 'right', 'left'])
      for (const l of lines) ctx.out.line(l)
    })
}
