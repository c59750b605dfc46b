// `chainlog demo`: build a realistic store in a fresh directory, verify it, and say what to try
// next. `npm start` runs this: it is the shortest way to see everything chainlog does.
import { mkdir, mkdtemp, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, isAbsolute, join, relative, resolve } from 'node:path'
import type { Command } from 'commander'
import type { OpenOptions } from '../../open.js'
const openStore = async (o: OpenOptions & { exclusive: true }) => (await import('../../open.js')).openStore(o)
import type { Ctx } from '../context.js'
import { CliCodes, CliError, usageError } from '../errors.js'
import { formatBytes, formatCount, shortHash } from '../format.js'

/** How to run this CLI again, the way it was just run: `chainlog` or `node dist/cli/main.js`. */
export function invocation(argv1: string | undefined, cwd = process.cwd()): string {
  if (!argv1 || basename(argv1) === 'chainlog') return 'chainlog'
  const rel = relative(cwd, argv1)
  return `node ${rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : argv1}`
}

function quote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`
}

async function freshDir(dir: string | undefined): Promise<string> {
  if (dir === undefined) return mkdtemp(join(tmpdir(), 'chainlog-demo-'))
  if (dir === '') throw usageError('--dir needs a directory; it was given an empty string')
  const abs = resolve(dir)
  let names: string[] = []
  try {
    names = await readdir(abs)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOTDIR') throw usageError(`${abs} is a file; demo needs a new or empty directory`)
    if (code !== 'ENOENT') throw err
  }
  if (names.length > 0) throw new CliError(CliCodes.USAGE, `${abs} is not empty; demo builds a store in a new or empty directory`)
  await mkdir(abs, { recursive: true })
  return abs
}

export function registerDemo(program: Command, ctx: Ctx): void {
  program
    .command('demo')
    .description('build a demo store of agent sessions in a fresh directory, verify it, and show what to try')
    .option('--dir <dir>', 'where to build it: a new or empty directory (default: a new temporary directory)')
    .option('--json', 'print { dir, sessions, forkPoint, verify } as JSON')
    .action(async (opts: { dir?: string; json?: boolean }) => {
      const { out } = ctx
      const dir = await freshDir(opts.dir)
      // A new directory nobody else knows of: held alone, no socket.
      const store = await openStore({ path: dir, durability: 'sync', exclusive: true })
      let built
      let report
      let infos
      try {
        // Loaded when the command runs: every other start of the CLI skips it.
        built = await (await import('../demo-data.js')).buildDemo(store)
        report = await store.verify()
        infos = new Map((await store.listSessions()).map((s) => [s.sessionId, s]))
      } finally {
        await store.close()
      }
      const sessions = built.sessions.map((s) => ({ ...s, length: infos.get(s.sessionId)?.length ?? 0, head: infos.get(s.sessionId)?.head ?? '' }))
      if (opts.json) {
        out.json({ dir, sessions, forkPoint: built.forkPoint, verify: report })
        if (!report.ok) throw new CliError(CliCodes.VERIFY_FAILED, 'the demo store failed verification')
        return
      }
      const { c } = out
      const entries = sessions.reduce((n, s) => n + s.length, 0)
      out.line(`${c.bold('chainlog demo')}: built a store of ${sessions.length} agent sessions (${formatCount(entries)} entries) in`)
      out.line(`  ${c.yellow(dir)}`)
      out.line()
      for (const s of sessions) out.line(`  ${c.yellow(s.sessionId)}  ${String(s.length).padStart(3)} entries  ${s.title}`)
      out.line()
      out.line(
        `verify: ${report.checked.sessions} sessions, ${formatCount(report.checked.entries)} entries, ${formatBytes(report.checked.bytes)} re-hashed and linked: ${report.ok ? c.green('ok') : c.red('FAILED')}`,
      )
      out.line()
      const cli = `${invocation(process.argv[1])} --store ${quote(dir)}`
      const [triage, coding, fork] = sessions
      out.line(c.bold('Try next:'))
      const tries: [string, string][] = [
        ['ls', 'sessions with age, length, origin, tokens'],
        [`log ${coding!.sessionId}`, 'the coding session, newest entry first'],
        [`log ${fork!.sessionId} --graph`, 'the fork, down through its source'],
        [`tree`, 'every session as a lineage forest'],
        [`show ${shortHash(built.forkPoint)}`, 'the entry the fork was taken at'],
        [`state ${coding!.sessionId}`, 'what a runtime resumes from'],
        [`stats`, 'token usage by model, bytes by kind'],
        [`verify --all`, 're-hash everything (exit status 1 if anything fails)'],
        [`export ${triage!.sessionId} --format jsonl`, 'a readable export (or a verifiable bundle with -o FILE)'],
        [`serve --open`, 'browse, verify and fork it all in the web viewer (Ctrl-C stops it)'],
      ]
      for (const [cmd, what] of tries) out.line(`  ${cli} ${cmd}\n      ${c.dim(`# ${what}`)}`)
      if (!report.ok) throw new CliError(CliCodes.VERIFY_FAILED, 'the demo store failed verification')
    })
}
