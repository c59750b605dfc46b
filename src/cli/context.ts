// What every command gets: the output, the environment, the store directory the global options
// name, and a way to set the exit status without throwing.
import { readFile } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { CliCodes, CliError, type ExitCode } from './errors.js'
import type { Output } from './output.js'

export interface Ctx {
  out: Output
  env: NodeJS.ProcessEnv
  stdin: Readable
  /** The store directory: --store, else $CHAINLOG_STORE, else ./.chainlog (absolute). */
  storeDir(): string
  exitCode: ExitCode
}

async function readAll(stream: Readable): Promise<Uint8Array> {
  const chunks: Buffer[] = []
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer))
  return new Uint8Array(Buffer.concat(chunks))
}

/** The bytes of an input file, or of stdin for `-`. */
export async function readInput(ctx: Ctx, path: string): Promise<Uint8Array> {
  if (path === '-') return readAll(ctx.stdin)
  try {
    return new Uint8Array(await readFile(path))
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new CliError(CliCodes.FILE_NOT_FOUND, `no such file: ${path}`, { cause: err })
    if (code === 'EISDIR') throw new CliError(CliCodes.INVALID_INPUT, `${path} is a directory, not a file`, { cause: err })
    throw err
  }
}
