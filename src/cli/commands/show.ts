// `chainlog show <hash|prefix>`: one entry, decoded, with where it sits in its session. The
// record is re-hashed before it is shown, so a tampered entry is reported, not displayed.
import type { Command } from 'commander'
import { ChainlogError, ErrorCodes } from '../../errors.js'
import { fromHex } from '../../encoding/hex-hash.js'
import type { ChainlogStore, StoredEntry } from '../../index.js'
import type { Ctx } from '../context.js'
import { formatTime } from '../format.js'
import { toJsonSafe } from '../json.js'
import { getStoredEntry, parseHashArg } from '../sessions.js'
import { withStore } from '../store-access.js'

/** An entry by hash or prefix, re-hashed from its decoded form: a damaged record is reported, not shown. */
export async function readVerifiedEntry(store: ChainlogStore, hashOrPrefix: string): Promise<StoredEntry> {
  const e = await getStoredEntry(store, hashOrPrefix)
  const { hashEntry } = await import('../../encoding/entry-codec.js')
  if (hashEntry(fromHex(e.prev), e.entry) === e.hash) return e
  throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `entry ${e.hash} does not hash to its key; run verify`, { hash: e.hash, sessionId: e.sessionId, seq: e.seq })
}

export function registerShow(program: Command, ctx: Ctx): void {
  program
    .command('show')
    .description('one entry, decoded, by full hash or unique prefix (4+ hex digits)')
    .argument('<hash>', 'entry hash or unique prefix', parseHashArg)
    .option('--json', 'print { hash, prev, sessionId, seq, entry } as JSON')
    .action(async (hashOrPrefix: string, opts: { json?: boolean }) => {
      const e = await withStore(ctx.storeDir(), (store) => readVerifiedEntry(store, hashOrPrefix))
      const { out } = ctx
      if (opts.json) {
        out.json({ hash: e.hash, prev: e.prev, sessionId: e.sessionId, seq: e.seq, entry: e.entry })
        return
      }
      const { c } = out
      out.line(`${c.bold('entry')}    ${c.yellow(e.hash)}`)
      out.line(`${c.bold('kind')}     ${e.entry.kind}`)
      out.line(`${c.bold('session')}  ${e.sessionId}`)
      out.line(`${c.bold('seq')}      ${e.seq}`)
      out.line(`${c.bold('prev')}     ${e.prev}`)
      out.line(`${c.bold('time')}     ${formatTime(e.entry.ts)} (${e.entry.ts})`)
      out.line()
      out.line(JSON.stringify(toJsonSafe(e.entry), null, 2))
    })
}
