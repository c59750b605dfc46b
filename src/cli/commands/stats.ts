// `chainlog stats [<session>]`: token usage by model and entries and bytes by kind, for one
// session or the whole store. Each entry is counted once, in the session that stores it.
import type { Command } from 'commander'
import type { EntryKind, UsageTotals } from '../../index.js'
import { ENTRY_KINDS } from '../../schema/kinds.js'
import type { Ctx } from '../context.js'
import { formatBytes, formatCount } from '../format.js'
import { addTotals, emptyTotals, resolveSession } from '../sessions.js'
import { withStore } from '../store-access.js'
import { renderTable } from '../table.js'

export interface StatsView {
  scope: 'store' | 'session'
  sessionId: string | null
  sessions: number
  entries: number
  bytes: number
  byKind: Partial<Record<EntryKind, { entries: number; bytes: number }>>
  usageByModel: Record<string, UsageTotals>
  usageTotal: UsageTotals
}

export function registerStats(program: Command, ctx: Ctx): void {
  program
    .command('stats [session]')
    .description('token usage by model; entries and bytes by kind (one session, or the whole store)')
    .option('--json', 'print the figures as JSON')
    .action(async (session: string | undefined, opts: { json?: boolean }) => {
      const { out } = ctx
      const view = await withStore(ctx.storeDir(), async (store) => {
        const sid = session === undefined ? undefined : await resolveSession(store, session)
        // Entries and bytes by kind from one pass over the records (not a read per session), and
        // token totals from the usage ledger the store keeps in the session row with every append, read alongside.
        const progress = out.progress('reading')
        progress.status('entries and bytes by kind')
        // Both settle before the store closes, whichever fails.
        const [figures, ledger] = await Promise.allSettled([store.figures(sid), store.usage(sid)]).finally(() => progress.done())
        if (figures.status === 'rejected') throw figures.reason
        if (ledger.status === 'rejected') throw ledger.reason
        const f = figures.value
        const usage = ledger.value
        const v: StatsView = {
          scope: sid === undefined ? 'store' : 'session',
          sessionId: sid ?? null,
          sessions: f.sessions,
          entries: f.entries,
          bytes: f.bytes,
          byKind: f.byKind,
          usageByModel: usage,
          usageTotal: emptyTotals(),
        }
        for (const t of Object.values(v.usageByModel)) addTotals({ total: v.usageTotal }, 'total', t)
        return v
      })
      if (opts.json) {
        out.json(view)
        return
      }
      const { c } = out
      const scope = view.scope === 'store' ? `store ${ctx.storeDir()}` : `session ${view.sessionId}`
      out.line(`${c.bold(scope)}: ${formatCount(view.sessions)} session${view.sessions === 1 ? '' : 's'}, ${formatCount(view.entries)} entries, ${formatBytes(view.bytes)}`)
      out.line()
      const models = Object.entries(view.usageByModel).sort(([a], [b]) => (a < b ? -1 : 1))
      if (models.length === 0) out.line(c.dim('no token usage recorded'))
      else {
        const row = (name: string, t: UsageTotals): string[] => [
          name,
          formatCount(t.calls),
          formatCount(t.inputTokens),
          formatCount(t.cacheReadTokens),
          formatCount(t.cacheWriteTokens),
          formatCount(t.outputTokens),
          formatCount(t.reasoningTokens),
        ]
        const header = ['MODEL', 'CALLS', 'INPUT', 'CACHE READ', 'CACHE WRITE', 'OUTPUT', 'REASONING'].map((t) => ({ text: t, paint: c.bold }))
        const rows = [header, ...models.map(([m, t]) => row(m, t))]
        if (models.length > 1) rows.push(row('total', view.usageTotal).map((t) => ({ text: t, paint: c.bold })))
        for (const l of renderTable(rows, ['left', 'right', 'right', 'right', 'right', 'right', 'right'])) out.line(l)
      }
      out.line()
      const kinds = ENTRY_KINDS.filter((k) => view.byKind[k] !== undefined)
      const rows = [
        ['KIND', 'ENTRIES', 'BYTES'].map((t) => ({ text: t, paint: c.bold })),
        ...kinds.map((k) => [k, formatCount(view.byKind[k]!.entries), formatBytes(view.byKind[k]!.bytes)]),
      ]
      for (const l of renderTable(rows, ['left', 'right', 'right'])) out.line(l)
    })
}
