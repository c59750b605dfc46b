// The chainlog command: global options, the commands, and the mapping of every failure to one
// line on stderr and a documented exit status (docs/cli.md).
import { readFileSync } from 'node:fs'
import { Command, CommanderError } from 'commander'
import type { Readable } from 'node:stream'
import { registerCompact } from './commands/compact.js'
import { registerCopy } from './commands/copy.js'
import { registerDemo } from './commands/demo.js'
import { registerExport } from './commands/export.js'
import { registerFork } from './commands/fork.js'
import { registerImport } from './commands/import.js'
import { registerInit } from './commands/init.js'
import { registerKey } from './commands/key.js'
import { registerProofs } from './commands/proofs.js'
import { registerLog } from './commands/log.js'
import { registerLs } from './commands/ls.js'
import { registerServe } from './commands/serve.js'
import { registerShow } from './commands/show.js'
import { registerState } from './commands/state.js'
import { registerStats } from './commands/stats.js'
import { registerTree } from './commands/tree.js'
import { registerVerify } from './commands/verify.js'
import { registerWitness } from './commands/witness.js'
import type { Ctx } from './context.js'
import { CliCodes, debugTrace, describeError, ExitCode } from './errors.js'
import { Output, type Io, type Progress } from './output.js'
import { reportMigrations, resolveStoreDir } from './store-access.js'

/** The package version: package.json sits two levels above both src/cli and dist/cli. */
function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

export function buildProgram(ctx: Ctx, io: Io): Command {
  const program = new Command('chainlog')
  program
    .description('Verifiable, append-only LLM agent session store (SHA-256 hash chains in LevelDB)')
    .version(packageVersion(), '-V, --version')
    .option('--store <dir>', 'the store directory (default: $CHAINLOG_STORE, else ./.chainlog)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      // Commander's own errors (unknown option, missing argument) become the CLI's one-line form.
      outputError: (s, write) => write(`chainlog: ${s.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').trim()} (${CliCodes.USAGE})\n`),
    })
    .addHelpText(
      'after',
      `
Exit status: 0 ok, 1 verification failed, 2 usage error, 3 store locked, 4 not found, 5 other error.
Every read command takes --json. Full reference: docs/cli.md`,
    )
  for (const register of [
    registerInit,
    registerLs,
    registerLog,
    registerShow,
    registerState,
    registerVerify,
    registerFork,
    registerCompact,
    registerTree,
    registerExport,
    registerImport,
    registerCopy,
    registerStats,
    registerDemo,
    registerServe,
    registerKey,
    registerProofs,
    registerWitness,
  ]) {
    register(program, ctx)
  }
  for (const cmd of program.commands) {
    cmd.exitOverride()
    cmd.configureOutput(program.configureOutput())
  }
  return program
}

/** True when the command line asks for --json (before any `--`). */
function wantsJson(args: string[]): boolean {
  const end = args.indexOf('--')
  return (end === -1 ? args : args.slice(0, end)).includes('--json')
}

/** Run the CLI with `args` (without node and the script); resolves to the exit status. */
export async function run(args: string[], io: Io & { stdin: Readable }): Promise<number> {
  const out = new Output(io)
  // A store of an older format is migrated when a command first opens it: show that on a terminal.
  let migration: Progress | undefined
  reportMigrations((p) => {
    migration ??= out.progress('migrating the store to format 2', p.total)
    migration.update(p.done, 'entries')
    if (p.done >= p.total) migration.done()
  })
  let program: Command | undefined
  const ctx: Ctx = {
    out,
    env: io.env,
    stdin: io.stdin,
    storeDir: () => resolveStoreDir(program?.opts<{ store?: string }>().store, io.env),
    exitCode: ExitCode.OK,
  }
  program = buildProgram(ctx, io)
  if (args.length === 0) {
    program.outputHelp({ error: true })
    return ExitCode.USAGE
  }
  try {
    await program.parseAsync(args, { from: 'user' })
    return ctx.exitCode
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version end here too (exit status 0); everything else is a usage error, already printed.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) return ExitCode.OK
      if (wantsJson(args) && !out.wroteJson) out.json({ ok: false, error: { code: CliCodes.USAGE, message: err.message.replace(/^error: /, '') } })
      return ExitCode.USAGE
    }
    let storeDir: string | undefined
    try {
      storeDir = ctx.storeDir()
    } catch {
      // an empty --store: the error being reported may be that one
    }
    const { code, message, exitCode, data } = describeError(err, storeDir)
    // A script that asked for JSON gets JSON on stdout whatever happened (docs/cli.md#output).
    if (wantsJson(args) && !out.wroteJson) {
      out.json({ ok: false, error: data && Object.keys(data).length > 0 ? { code, message, data } : { code, message } })
    }
    io.stderr.write(`chainlog: ${message} (${code})\n`)
    if (io.env.CHAINLOG_DEBUG) io.stderr.write(debugTrace(err))
    return exitCode
  }
}
