// `chainlog export <session>`: a session and every source it needs, as a verifiable bundle
// (binary) or JSONL (for reading), to a file or stdout.
import { createWriteStream } from 'node:fs'
import { rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import type { Writable } from 'node:stream'
import { Option, type Command } from 'commander'
import type { BundleFormat, ExportResult } from '../../index.js'
import { readInput, type Ctx } from '../context.js'
import { CliCodes, CliError, usageError } from '../errors.js'
import { formatBytes, formatCount } from '../format.js'
import { resolveSession } from '../sessions.js'
import { withStore } from '../store-access.js'
import { readSigner } from './proofs.js'
import { readKeys } from './verify.js'

/**
 * Write an export to `file` through a temporary file next to it, fsynced and renamed into place
 * when complete, so a failed export never leaves half a file.
 */
async function exportToFile(file: string, write: (stream: Writable) => Promise<ExportResult>): Promise<ExportResult> {
  const target = resolve(file)
  const st = await stat(target).catch(() => undefined)
  if (st?.isDirectory()) throw usageError(`${file} is a directory; give a file name to export to`)
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.tmp`)
  // `flush`: the file is fsynced before it is closed, so the renamed file is durable.
  const stream = createWriteStream(tmp, { flags: 'wx', flush: true })
  // A write error would leave the export waiting for 'drain' forever: fail on it instead.
  const failed = new Promise<never>((_, reject) => stream.once('error', reject))
  failed.catch(() => undefined) // raced below; an error after the race is already moot
  try {
    await Promise.race([new Promise((res) => stream.once('open', res)), failed])
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new CliError(CliCodes.FILE_NOT_FOUND, `no such directory: ${dirname(target)}`, { cause: err })
    throw err
  }
  try {
    const result = await Promise.race([write(stream), failed])
    await Promise.race([
      new Promise<void>((res) => {
        stream.once('close', () => res())
        stream.end()
      }),
      failed,
    ])
    await rename(tmp, target)
    return result
  } catch (err) {
    stream.destroy()
    await rm(tmp, { force: true })
    throw err
  }
}

export function registerExport(program: Command, ctx: Ctx): void {
  program
    .command('export <session>')
    .description('write a session and the sources it needs as a bundle or JSONL')
    .addOption(new Option('--format <format>', 'bundle (verifiable, binary) or jsonl (for reading)').choices(['bundle', 'jsonl']).default('bundle'))
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .option('--key <file>', 'a signer key file (chainlog key generate): each session carries a checkpoint signed with it')
    .option('--checkpoint <file>', 'carry this signed checkpoint of the session (one a witness cosigned, say) instead of signing a new one; checked against the store first')
    .option('--checkpoint-key <file>', 'a verifier key file (repeatable): the --checkpoint must be signed by one of these keys', (v: string, prev: string[] = []) => [...prev, v])
    .option('--json', 'with -o: print { file, format, sessions, entries, bytes } as JSON')
    .action(async (session: string, opts: { format: BundleFormat; output?: string; key?: string; checkpoint?: string; checkpointKey?: string[]; json?: boolean }) => {
      const { out } = ctx
      if (opts.output === '') throw usageError('-o needs a file name; it was given an empty string')
      if (opts.json && opts.output === undefined) throw usageError('--json needs -o FILE (without it, stdout carries the export itself)')
      if (opts.output === undefined && opts.format === 'bundle' && out.io.stdout.isTTY) {
        throw usageError('refusing to write a binary bundle to a terminal: use -o FILE or redirect stdout')
      }
      // The key text, not the parsed key: it crosses to the process that holds the store as it is.
      const signingKey = opts.key !== undefined ? (await import('../../proofs/note.js')).formatSignerKey(await readSigner(ctx, opts.key)) : undefined
      const checkpoint = opts.checkpoint !== undefined ? new TextDecoder().decode(await readInput(ctx, opts.checkpoint)) : undefined
      if (opts.checkpointKey && checkpoint === undefined) throw usageError('--checkpoint-key checks the signature of a --checkpoint: give --checkpoint FILE too')
      const checkpointKeys = opts.checkpointKey ? await readKeys(ctx, opts.checkpointKey) : undefined
      const result = await withStore(ctx.storeDir(), async (store) => {
        const sid = await resolveSession(store, session)
        const progress = out.progress(`exporting ${sid}`)
        const options = { format: opts.format, onProgress: (n: number) => progress.update(n), ...(signingKey !== undefined ? { signingKey } : {}), ...(checkpoint !== undefined ? { checkpoint } : {}), ...(checkpointKeys !== undefined ? { checkpointKeys } : {}) }
        try {
          if (opts.output === undefined) return { sid, ...(await store.exportSession(sid, out.io.stdout, options)) }
          return { sid, ...(await exportToFile(opts.output, (stream) => store.exportSession(sid, stream, options))) }
        } finally {
          progress.done()
        }
      })
      const signed = result.sessions.filter((s) => s.checkpoint !== undefined).length
      const what =
        `${formatCount(result.entries)} entr${result.entries === 1 ? 'y' : 'ies'} of ${result.sessions.length} session${result.sessions.length === 1 ? '' : 's'} (${formatBytes(result.bytes)})` +
        (signed > 0 ? `, with ${signed === 1 ? 'a signed checkpoint' : `${signed} signed checkpoints`}` : '')
      if (opts.json) out.json({ file: opts.output, format: opts.format, sessions: result.sessions, entries: result.entries, bytes: result.bytes })
      else if (opts.output !== undefined) out.line(`exported ${result.sid}: ${what} to ${opts.output}`)
      else out.note(`exported ${result.sid}: ${what}`)
    })
}
