// `chainlog compact <session> --history <file.json>`: a new session that starts from a summarised
// history and records the source head it replaces. The source is left as it was.
import type { Command } from 'commander'
import type { SessionStart } from '../../index.js'
import { readInput, type Ctx } from '../context.js'
import { CliCodes, CliError } from '../errors.js'
import { shortHash } from '../format.js'
import { getStoredEntry, resolveSession } from '../sessions.js'
import { withStore } from '../store-access.js'

export function registerCompact(program: Command, ctx: Ctx): void {
  program
    .command('compact <session>')
    .description('compact a session into a new one that starts from a given history')
    .requiredOption('--history <file>', 'JSON file (- for stdin) holding the new history: an array of items')
    .option('--summary <text>', 'the summary text, recorded in the new genesis')
    .option('--session-id <id>', 'id for the new session (default: a new UUIDv7)')
    .option('--json', 'print { sessionId, head, compactedFrom, historyLength } as JSON')
    .action(async (session: string, opts: { history: string; summary?: string; sessionId?: string; json?: boolean }) => {
      const raw = Buffer.from(await readInput(ctx, opts.history)).toString('utf8')
      let history: unknown
      try {
        history = JSON.parse(raw)
      } catch (err) {
        throw new CliError(CliCodes.INVALID_INPUT, `${opts.history} is not JSON: ${(err as Error).message}`, { cause: err })
      }
      if (!Array.isArray(history)) throw new CliError(CliCodes.INVALID_INPUT, `${opts.history} must hold a JSON array of history items`)
      const items = history
      const result = await withStore(ctx.storeDir(), async (store) => {
        const sid = await resolveSession(store, session)
        const made = await store.compact(sid, {
          history: items,
          ...(opts.summary !== undefined ? { summary: opts.summary } : {}),
          ...(opts.sessionId !== undefined ? { sessionId: opts.sessionId } : {}),
        })
        // The genesis records the source head the compaction replaced.
        const genesis = (await getStoredEntry(store, made.head)).entry as SessionStart
        return { ...made, compactedFrom: genesis.compactedFrom!, historyLength: items.length }
      })
      if (opts.json) {
        ctx.out.json(result)
        return
      }
      const { c } = ctx.out
      ctx.out.line(`compacted session ${result.compactedFrom.sessionId} at ${shortHash(result.compactedFrom.atHash)} into ${c.yellow(result.sessionId)} (${result.historyLength} history item${result.historyLength === 1 ? '' : 's'})`)
      ctx.out.line(`head ${result.head}`)
    })
}
