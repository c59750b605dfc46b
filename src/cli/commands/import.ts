// `chainlog import <file>`: verify a bundle completely, then add what the store lacks in one
// atomic batch. Importing the same bundle again adds nothing.
// `chainlog import --from claude-code|codex|pi PATH...`: import agent session files
// (src/import/), incrementally: only lines the store does not have yet are added.
import { existsSync } from 'node:fs'
import type { Command } from 'commander'
import { importTranscript, isChainlogError, ErrorCodes, TRANSCRIPT_FORMATS, type Damage, type Finding, type ImportReport, type TranscriptFormat } from '../../index.js'
import { readInput, type Ctx } from '../context.js'
import { CliCodes, CliError, usageError } from '../errors.js'
import { formatBytes, formatCount } from '../format.js'
import { withStore } from '../store-access.js'

export function registerImport(program: Command, ctx: Ctx): void {
  program
    .command('import <paths...>')
    .description('verify a bundle (- for stdin) and add its sessions to the store; with --from, import agent session files (files or directories)')
    .option('--from <format>', `import agent session files of this format (${TRANSCRIPT_FORMATS.join(', ')}) instead of a bundle`)
    .option('--strict', 'with --from: fail on the first damaged file instead of reporting it')
    .option('--json', 'print the result as JSON')
    .action(async (paths: string[], opts: { json?: boolean; from?: string; strict?: boolean }) => {
      if (opts.from !== undefined) return importTranscripts(ctx, paths, opts)
      if (opts.strict) throw usageError('--strict applies to --from imports only')
      if (paths.length !== 1) throw usageError('a bundle import takes one file (use --from to import session files)')
      return importBundle(ctx, paths[0]!, opts)
    })
}

async function importBundle(ctx: Ctx, file: string, opts: { json?: boolean }): Promise<void> {
  const { out } = ctx
  const bytes = await readInput(ctx, file)
  const result = await withStore(ctx.storeDir(), async (store) => {
    const progress = out.progress(`importing ${file === '-' ? 'stdin' : file}`)
    progress.status(`verifying and writing ${formatBytes(bytes.length)}…`)
    try {
      return await store.importBundle(bytes)
    } catch (err) {
      if (isChainlogError(err, ErrorCodes.INVALID_BUNDLE)) {
        const findings = (err.data.findings ?? []) as Finding[]
        if (opts.json) out.json({ ok: false, error: { code: err.code, message: err.message }, findings })
        else for (const f of findings) out.note(`${f.severity} ${f.code}${f.sessionId !== undefined ? ` (session ${f.sessionId}${f.seq !== undefined ? ` seq ${f.seq}` : ''})` : ''}: ${f.message}`)
      }
      throw err
    } finally {
      progress.done()
    }
  })
  if (opts.json) {
    out.json({ ok: true, ...result })
    return
  }
  for (const f of result.report.findings) out.note(`${f.severity} ${f.code}: ${f.message}`)
  for (const s of result.sessions) out.line(`${s.added > 0 ? `added ${formatCount(s.added)}` : 'already had all'} entr${s.added === 1 ? 'y' : 'ies'} of ${s.sessionId}`)
  out.line(
    result.entriesAdded > 0
      ? `imported ${formatCount(result.entriesAdded)} entr${result.entriesAdded === 1 ? 'y' : 'ies'} from ${file === '-' ? 'stdin' : file}`
      : 'nothing to import: the store already holds every entry of the bundle',
  )
}

async function importTranscripts(ctx: Ctx, paths: string[], opts: { json?: boolean; from?: string; strict?: boolean }): Promise<void> {
  const { out } = ctx
  const from = opts.from as TranscriptFormat
  if (!TRANSCRIPT_FORMATS.includes(from)) throw usageError(`--from must be one of ${TRANSCRIPT_FORMATS.join(', ')}, not ${opts.from}`)
  for (const p of paths) if (!existsSync(p)) throw new CliError(CliCodes.FILE_NOT_FOUND, `no such file or directory: ${p}`)
  let report: ImportReport
  try {
    report = await withStore(ctx.storeDir(), async (store) => {
      let progress: ReturnType<typeof out.progress> | undefined
      try {
        return await importTranscript(store, paths, {
          from,
          strict: opts.strict === true,
          onProgress: (p) => {
            progress ??= out.progress(`importing ${from} sessions`, p.filesTotal)
            progress.update(p.filesDone, 'files')
          },
        })
      } finally {
        progress?.done()
      }
    })
  } catch (err) {
    if (isChainlogError(err, ErrorCodes.IMPORT_DAMAGED)) {
      const damaged = (err.data.damaged ?? []) as Damage[]
      if (opts.json) out.json({ ok: false, error: { code: err.code, message: err.message }, damaged })
      else for (const d of damaged) out.note(describeDamage(d))
    }
    throw err
  }
  if (opts.json) {
    out.json({ ok: true, ...report })
    return
  }
  for (const d of report.damaged) out.note(describeDamage(d))
  for (const f of report.files) {
    const what = f.status === 'changed' ? 'changed since it was imported, kept as stored' : f.linesImported > 0 ? `${formatCount(f.linesImported)} new line${f.linesImported === 1 ? '' : 's'}` : 'up to date'
    out.line(`${f.file}: ${what} -> ${f.sessions[0] ?? '-'}${f.sessions.length > 1 ? ` (+${f.sessions.length - 1} session${f.sessions.length === 2 ? '' : 's'})` : ''}`)
  }
  out.line(
    `imported ${formatCount(report.linesImported)} line${report.linesImported === 1 ? '' : 's'} from ${formatCount(report.files.length)} file${report.files.length === 1 ? '' : 's'}: ` +
      `${formatCount(report.sessionsCreated.length)} session${report.sessionsCreated.length === 1 ? '' : 's'} created, ${formatCount(report.sessionsExtended.length)} extended` +
      (report.damaged.length > 0 ? `, ${formatCount(report.damaged.length)} damaged line${report.damaged.length === 1 ? '' : 's'} reported` : ''),
  )
}

function describeDamage(d: Damage): string {
  return `${d.code} ${d.file}${d.line > 0 ? `:${d.line}` : ''}: ${d.message}`
}
