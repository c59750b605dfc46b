// `chainlog verify`: recompute every hash and link of a session (with --lineage, its sources
// too), of the whole store, or of a bundle file without any store. Exit status 1 on any error
// finding; warnings are reported and leave the status 0.
import type { Command } from 'commander'
import { isHexHash } from '../../encoding/hex-hash.js'
import type { Finding, TrustedHeadResult, VerifyOptions } from '../../index.js'
import { readInput, type Ctx } from '../context.js'
import { CliCodes, CliError, usageError } from '../errors.js'
import { formatBytes, formatCount, shortHash } from '../format.js'
import { headSeq, resolveSession } from '../sessions.js'
import { withStore } from '../store-access.js'

interface VerifyFlags {
  all?: boolean
  lineage?: boolean
  trustedHead?: string
  bundle?: string
  checkpoint?: string
  key?: string[]
  full?: boolean
  json?: boolean
}

export function registerVerify(program: Command, ctx: Ctx): void {
  program
    .command('verify [session]')
    .description('verify a session, the whole store (default, or --all), or a bundle file')
    .option('--all', 'verify every session and the indexes of the whole store (the default)')
    .option('--lineage', 'with a session: also verify every source it was forked or compacted from')
    .option('--trusted-head <hash>', 'a full head hash seen earlier: fail if the chain no longer contains it')
    .option('--bundle <file>', 'verify a bundle file (- for stdin) instead of a store')
    .option('--checkpoint <file>', 'a signed checkpoint of the session: fail if the session no longer holds the history it signs')
    .option('--key <file...>', 'with --checkpoint: the verifier key file(s) trusted to sign it; with --bundle: to sign every checkpoint the bundle carries')
    .option('--full', 'with --checkpoint: walk the whole session (O(n)) instead of checking the stored tree (O(log n))')
    .option('--json', 'print the verification report as JSON')
    .action(async (session: string | undefined, opts: VerifyFlags) => {
      if (opts.full && opts.checkpoint === undefined) throw usageError('--full goes with --checkpoint (without one, verify always walks)')
      if (opts.bundle !== undefined) {
        if (session !== undefined || opts.all || opts.lineage || opts.trustedHead !== undefined || opts.checkpoint !== undefined) {
          throw usageError('--bundle cannot be combined with a session, --all, --lineage, --trusted-head or --checkpoint')
        }
        await verifyBundleFile(ctx, opts.bundle, opts.key ? await readKeys(ctx, opts.key) : undefined, opts.json === true)
        return
      }
      if (session !== undefined && opts.all) throw usageError('give a session or --all, not both')
      if ((opts.checkpoint === undefined) !== (opts.key === undefined)) throw usageError('--checkpoint and --key go together')
      if (opts.checkpoint !== undefined && (opts.all || opts.lineage)) throw usageError('--checkpoint verifies its own session: no --all or --lineage')
      const dec = new TextDecoder()
      const checkpoint = opts.checkpoint !== undefined ? dec.decode(await readInput(ctx, opts.checkpoint)) : undefined
      const keys = opts.key ? await readKeys(ctx, opts.key) : undefined
      if (opts.lineage && session === undefined) throw usageError('--lineage needs a session')
      if (opts.trustedHead !== undefined && !isHexHash(opts.trustedHead)) {
        throw usageError('--trusted-head needs a full 64-digit lowercase hex hash')
      }
      const report = await withStore(ctx.storeDir(), async (store) => {
        const options: VerifyOptions = {}
        let total: number | undefined
        if (session !== undefined) {
          options.sessionId = await resolveSession(store, session)
          if (opts.lineage) options.lineage = true
          // With --lineage the sources' lengths are not known up front: count without a bar.
          else total = (await headSeq(store, options.sessionId)) + 1
        } else if (ctx.out.interactive) {
          // The bar's total reads every session's metadata (bench case 11: ~1/5 of verify --all
          // of 20,000 small sessions): only when there is a bar to draw.
          try {
            total = (await store.listSessions()).reduce((n, s) => n + s.length, 0)
          } catch {
            total = undefined
          }
        }
        if (opts.trustedHead !== undefined) options.trustedHead = opts.trustedHead
        if (checkpoint !== undefined) {
          options.checkpoint = checkpoint
          options.keys = keys!
          if (opts.full) options.full = true
          total = undefined
        }
        const progress = ctx.out.progress('verifying', total)
        options.onProgress = (c) => progress.update(c.entries)
        try {
          return await store.verify(options)
        } finally {
          progress.done()
        }
      })
      if (opts.json) ctx.out.json(report)
      else {
        printReport(ctx, report.findings, report.checked, report.trustedHead, report.truncated === true)
        if (report.checkpoint) {
          const k = report.checkpoint
          const paint = k.status === 'consistent' ? ctx.out.c.green : ctx.out.c.red
          const how = k.method === 'tree' ? 'checked with the stored tree, O(log n) reads; --full walks every entry' : 'checked by walking the session'
          ctx.out.line(`checkpoint of ${k.sessionId} at ${k.size} entries (the store has ${k.storeSize}): ${paint(k.status)} (${how})`)
        }
      }
      conclude(ctx, report.ok, report.findings)
    })
}

/** Verifier key files (or - for stdin), each without one final newline. */
export async function readKeys(ctx: Ctx, files: string[]): Promise<string[]> {
  const dec = new TextDecoder()
  return Promise.all(files.map(async (f) => dec.decode(await readInput(ctx, f)).replace(/\n$/, '')))
}

async function verifyBundleFile(ctx: Ctx, file: string, keys: string[] | undefined, json: boolean): Promise<void> {
  const bytes = await readInput(ctx, file)
  const progress = ctx.out.progress(`verifying ${file === '-' ? 'stdin' : file}`)
  let report
  try {
    progress.status(`${formatBytes(bytes.length)}…`)
    const { verifyBundle } = await import('../../bundle/bundle.js')
    report = await verifyBundle(bytes, keys ? { keys } : {})
  } finally {
    progress.done()
  }
  if (json) ctx.out.json(report)
  else {
    if (report.header) {
      const root = report.header.root
      ctx.out.line(`bundle of session ${root}: ${report.header.sessions.map((s) => `${s.sessionId} (${s.length} entries, head ${shortHash(s.head)})`).join(', ')}`)
    }
    for (const k of report.checkpoints ?? []) {
      const paint = k.status === 'consistent' ? ctx.out.c.green : ctx.out.c.red
      const size = k.size === undefined ? '' : ` of ${k.size} entries (${k.length} carried)`
      ctx.out.line(`checkpoint${size} of ${k.sessionId}, ${k.signed ? 'signature verified' : 'signature not checked (no --key)'}: ${paint(k.status)}`)
    }
    printReport(ctx, report.findings, report.checked, undefined, false)
  }
  conclude(ctx, report.ok, report.findings)
}

function printReport(
  ctx: Ctx,
  findings: Finding[],
  checked: { sessions: number; entries: number; bytes: number },
  trusted: TrustedHeadResult | undefined,
  truncated: boolean,
): void {
  const { out } = ctx
  const { c } = out
  for (const f of findings) {
    const where = [f.sessionId !== undefined ? `session ${f.sessionId}` : '', f.seq !== undefined ? `seq ${f.seq}` : '', f.hash !== undefined ? `entry ${shortHash(f.hash)}` : '']
      .filter(Boolean)
      .join(' ')
    const sev = f.severity === 'error' ? c.red('error  ') : c.yellow('warning')
    out.line(`${sev} ${c.bold(f.code)}${where ? ` (${where})` : ''}: ${f.message}`)
  }
  if (truncated) out.line(c.yellow('(more findings were found than the report keeps)'))
  if (trusted) {
    const at = trusted.sessionId !== undefined ? ` (session ${trusted.sessionId} seq ${trusted.seq})` : ''
    const paint = trusted.status === 'contained' ? c.green : c.red
    out.line(`trusted head ${shortHash(trusted.hash)}: ${paint(trusted.status)}${at}`)
  }
  const errors = findings.filter((f) => f.severity === 'error').length
  const warnings = findings.length - errors
  const summary = `checked ${formatCount(checked.sessions)} session${checked.sessions === 1 ? '' : 's'}, ${formatCount(checked.entries)} entr${checked.entries === 1 ? 'y' : 'ies'}, ${formatBytes(checked.bytes)}`
  const verdict = errors === 0 ? c.green('ok') : c.red(`${errors} error${errors === 1 ? '' : 's'}`)
  out.line(`${summary}: ${verdict}${warnings > 0 ? `, ${c.yellow(`${warnings} warning${warnings === 1 ? '' : 's'}`)}` : ''}`)
}

function conclude(ctx: Ctx, ok: boolean, findings: Finding[]): void {
  if (ok) return
  const errors = findings.filter((f) => f.severity === 'error').length
  throw new CliError(CliCodes.VERIFY_FAILED, `verification failed: ${errors} error finding${errors === 1 ? '' : 's'}`)
}
