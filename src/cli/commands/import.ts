// `chainlog import <file>`: verify a bundle completely, then add what the store lacks in one
// atomic batch. Importing the same bundle again adds nothing.
import type { Command } from 'commander'
import { isChainlogError, ErrorCodes, type Finding } from '../../index.js'
import { readInput, type Ctx } from '../context.js'
import { CliCodes, CliError } from '../errors.js'
import { formatBytes, formatCount } from '../format.js'
import { withStore } from '../store-access.js'

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
    .command('import <file>')
    .description('verify a bundle (- for stdin) and add its sessions to the store')
    .option('--json', 'print { report, sessions, entriesAdded } as JSON')
    .action(async (file: string, opts: { json?: boolean }) => {
      const { out } = ctx
      const bytes = await readInput(ctx, file)
      if (isJsonlExport(bytes)) {
        throw new CliError(CliCodes.INVALID_INPUT, `${file === '-' ? 'stdin' : file} is a JSONL export, which is for reading and cannot be imported; export the session as a bundle (the default format) to import it`)
      }
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
    })
}
