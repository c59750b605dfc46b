// `chainlog import <file>`: verify a bundle completely, then add what the store lacks in one
// atomic batch. Importing the same bundle again adds nothing.
// `chainlog import --from claude-code|codex|pi PATH...`: import agent session files
// (src/import/), incrementally: only lines the store does not have yet are added.
import { existsSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { Command } from 'commander'
import { ErrorCodes, isChainlogError } from '../../errors.js'
import { TRANSCRIPT_FORMATS } from '../../import/types.js'
import type { ChainlogStore, Damage, Finding, ImportReport, TranscriptFormat } from '../../index.js'

/** The importers, loaded when an import runs (not when the CLI starts). */
const importers = async () => ({ ...(await import('../../import/import-transcript.js')), ...(await import('../../import/read-lines.js')) })
import { readInput, type Ctx } from '../context.js'
import { CliCodes, CliError, usageError } from '../errors.js'
import { formatBytes, formatCount } from '../format.js'
import { withStore } from '../store-access.js'
import { readKeys } from './verify.js'

/** True when `bytes` start with the header line of `export --format jsonl`. */
function isJsonlExport(bytes: Uint8Array): boolean {
  if (bytes[0] !== 0x7b) return false // '{'; a bundle starts with a CBOR byte string (0x40-0x5f)
  const nl = bytes.indexOf(0x0a)
  try {
    const header = JSON.parse(Buffer.from(bytes.subarray(0, nl === -1 ? Math.min(bytes.length, 1 << 20) : nl)).toString('utf8')) as { format?: unknown }
    return header.format === 'chainlog-jsonl'
  } catch {
    return false
  }
}

export function registerImport(program: Command, ctx: Ctx): void {
  program
    .command('import <paths...>')
    .description('verify a bundle (- for stdin) and add its sessions to the store; with --from, import agent session files (files or directories)')
    .option('--from <format>', `import agent session files of this format (${TRANSCRIPT_FORMATS.join(', ')}) instead of a bundle`)
    .option('--strict', 'with --from: fail on the first damaged file instead of reporting it')
    .option('--watch [seconds]', 'with --from: keep importing what changes, checking every few seconds (default 2) until interrupted')
    .option('--key <file...>', 'a bundle import: verifier key file(s); every session must carry a checkpoint signed by one of them')
    .option('--json', 'print the result as JSON (with --watch: one JSON line per round)')
    .action(async (paths: string[], opts: ImportOpts) => {
      if (opts.from !== undefined && opts.key !== undefined) throw usageError('--key applies to bundle imports only')
      if (opts.from !== undefined) return opts.watch !== undefined ? watchTranscripts(ctx, paths, opts) : importTranscripts(ctx, paths, opts)
      if (opts.strict || opts.watch !== undefined) throw usageError('--strict and --watch apply to --from imports only')
      if (paths.length !== 1) throw usageError('a bundle import takes one file (use --from to import session files)')
      return importBundle(ctx, paths[0]!, opts)
    })
}

async function importBundle(ctx: Ctx, file: string, opts: { json?: boolean; key?: string[] }): Promise<void> {
  const { out } = ctx
  const keys = opts.key ? await readKeys(ctx, opts.key) : undefined
  const bytes = await readInput(ctx, file)
  if (isJsonlExport(bytes)) {
    throw new CliError(CliCodes.INVALID_INPUT, `${file === '-' ? 'stdin' : file} is a JSONL export, which is for reading and cannot be imported; export the session as a bundle (the default format) to import it`)
  }
  const result = await withStore(ctx.storeDir(), async (store) => {
    const progress = out.progress(`importing ${file === '-' ? 'stdin' : file}`)
    progress.status(`verifying and writing ${formatBytes(bytes.length)}…`)
    try {
      return await store.importBundle(bytes, keys ? { keys } : undefined)
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
  const checked = keys ? 'signed checkpoint verified' : 'checkpoint matches; signature not checked without --key'
  for (const s of result.sessions) out.line(`${s.added > 0 ? `added ${formatCount(s.added)}` : 'already had all'} entr${s.added === 1 ? 'y' : 'ies'} of ${s.sessionId}${s.checkpoint !== undefined ? ` (${checked})` : ''}`)
  out.line(
    result.entriesAdded > 0
      ? `imported ${formatCount(result.entriesAdded)} entr${result.entriesAdded === 1 ? 'y' : 'ies'} from ${file === '-' ? 'stdin' : file}`
      : 'nothing to import: the store already holds every entry of the bundle',
  )
}

interface ImportOpts {
  json?: boolean
  key?: string[]
  from?: string
  strict?: boolean
  watch?: string | true
}

function checkTranscriptArgs(paths: string[], opts: ImportOpts): TranscriptFormat {
  const from = opts.from as TranscriptFormat
  if (!TRANSCRIPT_FORMATS.includes(from)) throw usageError(`--from must be one of ${TRANSCRIPT_FORMATS.join(', ')}, not ${opts.from}`)
  for (const p of paths) if (!existsSync(p)) throw new CliError(CliCodes.FILE_NOT_FOUND, `no such file or directory: ${p}`)
  return from
}

async function importTranscripts(ctx: Ctx, paths: string[], opts: ImportOpts): Promise<void> {
  const { out } = ctx
  const from = checkTranscriptArgs(paths, opts)
  let report: ImportReport
  try {
    report = await withStore(ctx.storeDir(), async (store) => {
      let progress: ReturnType<typeof out.progress> | undefined
      try {
        return await (await importers()).importTranscript(store, paths, {
          from,
          strict: opts.strict === true,
          onProgress: (p) => {
            progress ??= out.progress(`importing ${from} sessions`, p.filesTotal)
            progress.update(p.filesDone, `files, ${formatCount(p.linesImported)} lines imported`)
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
  printReport(ctx, report)
}

/**
 * --watch: import, then every few seconds import again the files whose size or modification
 * time changed (new files included), until SIGINT or SIGTERM. Quiet while nothing changes.
 */
async function watchTranscripts(ctx: Ctx, paths: string[], opts: ImportOpts): Promise<void> {
  const { out } = ctx
  const from = checkTranscriptArgs(paths, opts)
  const seconds = opts.watch === true ? 2 : Number(opts.watch)
  if (!Number.isFinite(seconds) || seconds <= 0) throw usageError(`--watch takes a number of seconds, not ${opts.watch}`)
  await withStore(ctx.storeDir(), async (store) => {
    let stop = false
    let wake: () => void = () => {}
    const onSignal = () => {
      stop = true
      wake()
    }
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    const seen = new Map<string, string>()
    try {
      for (let round = 0; !stop; round++) {
        const changed = await changedFiles(paths, seen)
        if (changed.length > 0 || round === 0) {
          const report = changed.length > 0 ? await importOnce(store, changed, from, opts) : emptyReport()
          if (opts.json) {
            if (round === 0 || report.linesImported > 0 || report.damaged.length > 0) out.line(JSON.stringify({ ok: true, round, ...report }))
          }
          else if (round === 0 || report.linesImported > 0 || report.damaged.length > 0) printReport(ctx, report)
        }
        if (!stop) await new Promise<void>((r) => ((wake = r), setTimeout(r, seconds * 1000)))
      }
    } finally {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
  })
}

async function changedFiles(paths: string[], seen: Map<string, string>): Promise<string[]> {
  const out: string[] = []
  for (const f of await (await importers()).findTranscriptFiles(paths)) {
    const s = await stat(f).catch(() => undefined)
    if (!s) continue
    const key = `${s.size}:${s.mtimeMs}`
    if (seen.get(f) !== key) {
      seen.set(f, key)
      out.push(f)
    }
  }
  return out
}

async function importOnce(store: ChainlogStore, files: string[], from: TranscriptFormat, opts: ImportOpts): Promise<ImportReport> {
  return (await importers()).importTranscript(store, files, { from, strict: opts.strict === true })
}

function emptyReport(): ImportReport {
  return { files: [], sessionsCreated: [], sessionsExtended: [], linesImported: 0, entriesAppended: 0, damaged: [] }
}

function printReport(ctx: Ctx, report: ImportReport): void {
  const { out } = ctx
  for (const d of report.damaged) out.note(describeDamage(d))
  for (const f of report.files) {
    const what = f.status === 'changed' ? 'changed since it was imported, kept as stored' : f.linesImported > 0 ? `${formatCount(f.linesImported)} new line${f.linesImported === 1 ? '' : 's'}` : 'up to date'
    out.line(`${f.file}: ${what} -> ${f.sessions[0] ?? '-'}${f.sessions.length > 1 ? ` (+${f.sessions.length - 1} session${f.sessions.length === 2 ? '' : 's'})` : ''}`)
    if (f.fork?.status === 'forked') out.line(`  a fork of ${f.fork.from} after its line ${f.fork.line}`)
    else if (f.fork) out.note(`${f.file}: forked from ${f.fork.from}, imported whole: ${f.fork.reason}`)
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
