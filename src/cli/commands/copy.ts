// `chainlog copy --to <dir|postgres://…>`: move a whole store (--from, default the --store one) to
// another engine or place, row for row, checked and verified at the end (src/copy/copy-store.ts).
import type { Command } from 'commander'
import type { CopyProgress, CopyResult } from '../../copy/copy-store.js'
import type { Ctx } from '../context.js'
import { CliCodes, CliError, usageError } from '../errors.js'
import { formatBytes, formatCount } from '../format.js'
import type { Progress } from '../output.js'
import { isPostgresUrl, redactUrl, resolveStoreDir } from '../store-access.js'
import { isUrl } from '../../store-location.js'

const PHASES: Record<CopyProgress['phase'], string> = { copy: 'copying rows', check: 'reading the copy back', verify: 'verifying the copy' }

/** A location as given: a URL as it is (copyStore refuses any but postgres://), a directory resolved; an empty one is a usage error. */
function location(value: string, option: string): string {
  if (value === '') throw usageError(`${option} needs a directory or a postgres:// URL; it was given an empty string`)
  return isUrl(value) ? value : resolveStoreDir(value, {})
}

export function registerCopy(program: Command, ctx: Ctx): void {
  program
    .command('copy')
    .description('copy a whole store to another directory or PostgreSQL database (an empty one), then check and verify the copy')
    .option('--from <dir|url>', 'the store to copy (default: --store, $CHAINLOG_STORE, else ./.chainlog)')
    .requiredOption('--to <dir|url>', 'where to copy it: a new or empty directory, or a postgres:// URL whose schema holds no store')
    .option('--chunk <rows>', 'rows per read and per commit (default 1024)')
    .option('--resume', 'continue a copy that stopped part-way (the target must hold the first rows of this source, as it left them); a copy run with --resume that fails keeps what it wrote')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { from?: string; to: string; chunk?: string; resume?: boolean; json?: boolean }) => {
      const { out } = ctx
      const from = opts.from !== undefined ? location(opts.from, '--from') : ctx.storeDir()
      const to = location(opts.to, '--to')
      const chunk = opts.chunk === undefined ? undefined : Number(opts.chunk)
      if (chunk !== undefined && (!Number.isSafeInteger(chunk) || chunk < 1)) throw usageError(`--chunk takes a positive number of rows, not ${opts.chunk}`)
      const { copyStore } = await import('../../copy/copy-store.js')
      let bar: Progress | undefined
      let phase: CopyProgress['phase'] | undefined
      let result: CopyResult
      try {
        result = await copyStore(from, to, {
          ...(chunk !== undefined ? { chunk } : {}),
          ...(opts.resume ? { resume: true } : {}),
          onProgress: (p) => {
            if (p.phase !== phase) {
              bar?.done()
              phase = p.phase
              bar = out.progress(PHASES[p.phase], p.total)
            }
            bar!.update(p.done, p.phase === 'verify' ? 'entries' : 'rows')
          },
        })
      } finally {
        bar?.done()
      }
      const shown = { from: isPostgresUrl(from) ? redactUrl(from) : from, to: isPostgresUrl(to) ? redactUrl(to) : to }
      if (opts.json) {
        const { verify, ...rest } = result
        out.json({ ...shown, ...rest, findings: verify.findings, checked: verify.checked })
      } else {
        for (const f of result.verify.findings) out.note(`${f.severity} ${f.code}${f.sessionId !== undefined ? ` (session ${f.sessionId}${f.seq !== undefined ? ` seq ${f.seq}` : ''})` : ''}: ${f.message}`)
        if (result.resumed > 0) out.line(`resumed: ${formatCount(result.resumed)} rows were already in the target`)
        out.line(
          `copied ${formatCount(result.sessions)} session${result.sessions === 1 ? '' : 's'}, ${formatCount(result.entries)} entr${result.entries === 1 ? 'y' : 'ies'} and ${formatCount(result.blobs)} blob${result.blobs === 1 ? '' : 's'} ` +
            `(${formatCount(result.rows)} rows, ${formatBytes(result.bytes)}) from ${shown.from} to ${shown.to}`,
        )
        out.line(result.ok ? `read back (sha256 ${result.digest.slice(0, 16)}…) and verified: ok` : 'read back, but the copy does not verify: the findings above were copied from the source (run chainlog verify --all on it)')
      }
      if (!result.ok) {
        const errors = result.verify.findings.filter((f) => f.severity === 'error').length
        throw new CliError(CliCodes.VERIFY_FAILED, `the copy does not verify: ${errors} error finding${errors === 1 ? '' : 's'}`)
      }
    })
}
