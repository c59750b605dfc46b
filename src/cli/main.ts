#!/usr/bin/env node
// Entry point of the `chainlog` command (package.json "bin"). See docs/cli.md.
import { debugTrace } from './errors.js'
import { run } from './program.js'

// A reader that goes away (`chainlog log … | head`) is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0)
  throw err
})

// Whatever escapes the commands is still reported in one line, with the documented status 5.
const crash = (err: unknown): void => {
  process.stderr.write(`chainlog: ${err instanceof Error ? err.message : String(err)} (CHAINLOG_INTERNAL)\n`)
  if (process.env.CHAINLOG_DEBUG) process.stderr.write(debugTrace(err))
  process.exit(5)
}
process.on('uncaughtException', crash)
process.on('unhandledRejection', crash)

process.exitCode = await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env })
