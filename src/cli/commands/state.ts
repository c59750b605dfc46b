// `chainlog state <session> [--at <hash>]`: the state a runtime resumes from, as of the head or
// of any entry of the session (time travel).
import type { Command } from 'commander'
import { classifyItem } from '../../schema/classify.js'
import type { SessionState } from '../../index.js'
import type { Ctx } from '../context.js'
import { formatTime, oneLine, shortHash, summarizeItem, summarizeUsage } from '../format.js'
import { parseHashArg, resolveSession } from '../sessions.js'
import { withStore } from '../store-access.js'

const ROLE: Record<string, string> = {
  user_message: 'user',
  assistant_message: 'assistant',
  tool_call: 'tool call',
  tool_result: 'tool result',
  reasoning: 'reasoning',
  other: 'other',
}

export function registerState(program: Command, ctx: Ctx): void {
  program
    .command('state <session>')
    .description('the restored state of a session (session: id or unique id prefix)')
    .option('--at <hash>', 'the state as of this entry of the session (hash or prefix)', parseHashArg)
    .option('--json', 'print the SessionState as JSON')
    .action(async (session: string, opts: { at?: string; json?: boolean }) => {
      const state = await withStore(ctx.storeDir(), async (store) => {
        const sid = await resolveSession(store, session)
        return store.restore(sid, opts.at !== undefined ? { at: opts.at } : {})
      })
      if (opts.json) ctx.out.json(state)
      else printState(ctx, state)
    })
}

function printState(ctx: Ctx, s: SessionState): void {
  const { out } = ctx
  const { c } = out
  const row = (k: string, v: string): void => out.line(`${c.bold(k.padEnd(13))}${v}`)
  row('session', s.sessionId)
  row('head', `${c.yellow(s.head)} (${s.length} own entr${s.length === 1 ? 'y' : 'ies'})`)
  if (s.forkedFrom) row('forked from', `${s.forkedFrom.sessionId} at ${shortHash(s.forkedFrom.atHash)}`)
  if (s.compactedFrom) row('compacted', `from ${s.compactedFrom.sessionId} at ${shortHash(s.compactedFrom.atHash)}`)
  row('created', formatTime(s.createdAt))
  row('updated', formatTime(s.updatedAt))
  row('system', s.systemPrompt === undefined ? '-' : JSON.stringify(oneLine(s.systemPrompt, 100)))
  row('config', JSON.stringify(s.config))
  row('turns', String(s.turnCount))
  row('cache lock', s.cacheLockedPrefix === null ? 'unlocked' : `first ${s.cacheLockedPrefix} history items`)
  row('last outcome', s.lastOutcome ? `${s.lastOutcome.status}${s.lastOutcome.message ? `: ${s.lastOutcome.message}` : ''}${s.lastOutcome.interrupted ? ' (interrupted)' : ''}` : '-')
  const models = Object.entries(s.usageTotals)
  if (models.length === 0) row('usage', '-')
  for (const [i, [model, t]] of models.entries()) {
    row(i === 0 ? 'usage' : '', `${t.calls} call${t.calls === 1 ? '' : 's'}, ${summarizeUsage({ model, ...t })}`)
  }
  out.line()
  out.line(c.bold(`history (${s.history.length} item${s.history.length === 1 ? '' : 's'})`))
  const w = String(Math.max(0, s.history.length - 1)).length
  const lockAt = s.cacheLockedPrefix
  s.history.forEach((item, i) => {
    if (lockAt !== null && i === lockAt && lockAt > 0) out.line(c.dim(`  ${'-'.repeat(w + 2)} cache lock ends here`))
    const role = (ROLE[classifyItem(item)] ?? 'other').padEnd(11)
    out.line(`  ${c.dim(`[${String(i).padStart(w)}]`)} ${role} ${oneLine(summarizeItem(item), Math.max(20, out.width - w - 18))}`)
  })
}
