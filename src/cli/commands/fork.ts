// `chainlog fork <hash|prefix>`: a new session that continues from any entry, found by hash alone.
import type { Command } from 'commander'
import type { Ctx } from '../context.js'
import { shortHash } from '../format.js'
import { getStoredEntry, parseHashArg } from '../sessions.js'
import { withStore } from '../store-access.js'

export function registerFork(program: Command, ctx: Ctx): void {
  program
    .command('fork')
    .description('start a new session at an entry (full hash or unique prefix)')
    .argument('<hash>', 'entry hash or unique prefix', parseHashArg)
    .option('--materialize', 'copy the state at the fork point into the new session, so it needs no source')
    .option('--session-id <id>', 'id for the new session (default: a new UUIDv7)')
    .option('--json', 'print { sessionId, head, forkedFrom, materialized } as JSON')
    .action(async (hashOrPrefix: string, opts: { materialize?: boolean; sessionId?: string; json?: boolean }) => {
      const result = await withStore(ctx.storeDir(), async (store) => {
        const at = await getStoredEntry(store, hashOrPrefix)
        const fork = await store.forkAt(at.hash, {
          ...(opts.materialize ? { materialize: true } : {}),
          ...(opts.sessionId !== undefined ? { sessionId: opts.sessionId } : {}),
        })
        return { ...fork, forkedFrom: { sessionId: at.sessionId, atHash: at.hash }, atSeq: at.seq, materialized: opts.materialize === true }
      })
      if (opts.json) {
        const { atSeq: _atSeq, ...json } = result
        ctx.out.json(json)
        return
      }
      const { c } = ctx.out
      ctx.out.line(`forked ${c.yellow(result.sessionId)} from session ${result.forkedFrom.sessionId} at #${result.atSeq} ${shortHash(result.forkedFrom.atHash)}${result.materialized ? ' (materialized)' : ''}`)
      ctx.out.line(`head ${result.head}`)
    })
}
