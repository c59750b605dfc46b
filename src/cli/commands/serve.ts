// `chainlog serve`: the local web viewer (docs/viewer.md). It holds (or shares) the store the
// way every command does, prints its URL, and runs until interrupted.
import { spawn } from 'node:child_process'
import type { Command } from 'commander'
import { InvalidArgumentError } from 'commander'
import type { Ctx } from '../context.js'
import { CliCodes, CliError } from '../errors.js'
import { openExistingStore } from '../store-access.js'
import { DEFAULT_HOST, isLoopback } from '../../viewer/security.js'

export const DEFAULT_PORT = 4777

function parsePort(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('expected a port number 0-65535 (0: any free port)')
  return Number(value)
}

/** Open a URL in the user's browser; failing to is not an error (the URL is printed anyway). */
function openBrowser(url: string): void {
  const [cmd, args] = process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : ['xdg-open', [url]]
  try {
    const child = spawn(cmd as string, args as string[], { stdio: 'ignore', detached: true })
    child.on('error', () => undefined)
    child.unref()
  } catch {
    // no opener on this machine
  }
}

/** Resolves on SIGINT or SIGTERM. */
function interrupted(): Promise<string> {
  return new Promise((resolve) => {
    const on = (signal: string) => {
      process.off('SIGINT', on)
      process.off('SIGTERM', on)
      resolve(signal)
    }
    process.on('SIGINT', on)
    process.on('SIGTERM', on)
  })
}

export function registerServe(program: Command, ctx: Ctx): void {
  program
    .command('serve')
    .description('browse, verify, fork, export and import in a local web viewer')
    .option('--port <n>', `port to listen on (default ${DEFAULT_PORT}; 0 picks a free one)`, parsePort)
    .option('--host <host>', `interface to listen on (default ${DEFAULT_HOST}; anything else exposes the store to that network)`)
    .option('--open', 'open the viewer in a browser')
    .action(async (opts: { port?: number; host?: string; open?: boolean }) => {
      const dir = ctx.storeDir()
      const host = opts.host ?? DEFAULT_HOST
      const store = await openExistingStore(dir)
      let viewer
      try {
        const { startViewer } = await import('../../viewer/server.js')
        viewer = await startViewer({ store, storeDir: dir, host, port: opts.port ?? DEFAULT_PORT })
      } catch (err) {
        await store.close()
        const code = (err as NodeJS.ErrnoException).code
        if (code === 'EADDRINUSE') throw new CliError(CliCodes.USAGE, `port ${opts.port ?? DEFAULT_PORT} is in use (choose another with --port, or --port 0)`, { cause: err })
        if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EACCES') throw new CliError(CliCodes.USAGE, `cannot listen on ${host}:${opts.port ?? DEFAULT_PORT}: ${(err as Error).message}`, { cause: err })
        throw err
      }
      // The URL is the command's output (stdout); everything else is a note.
      ctx.out.line(viewer.url)
      ctx.out.note(`chainlog viewer for ${dir}; Ctrl-C stops it`)
      if (!isLoopback(host)) ctx.out.note(`warning: listening on ${host}, not loopback: anyone who can reach it can read this store (writes still need the page's token)`)
      if (opts.open) openBrowser(viewer.url)
      await interrupted()
      await viewer.close()
      await store.close()
    })
}
