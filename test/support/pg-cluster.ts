// A throwaway PostgreSQL cluster for the tests of the PostgreSQL engine: Debian's server binaries
// (/usr/lib/postgresql/<version>/bin: initdb, pg_ctl) run a cluster in a temp directory that
// listens on a unix socket in that same directory only (no TCP port, so clusters of parallel
// test files never collide), with trust authentication. initdb refuses to run as root, so as
// root the cluster runs as `nobody` (or a `chainlog-pg` system user made for it when there is no
// `nobody`), owning its directory. One cluster serves a test file: start it in beforeAll, destroy
// it in afterAll; a process that exits without that stops the server on its way out.
//
// Missing binaries are an error, not a reason to skip: the PostgreSQL tests must run. .ci/run
// installs Debian's postgresql package when it is missing.
import { execFileSync, spawnSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface PgClusterOptions {
  /** Extra server settings (postgresql.conf names), e.g. { fsync: 'off' }. */
  settings?: Record<string, string | number>
}

export interface PgCluster {
  /** The cluster's temp directory; the unix socket is in it. */
  readonly dir: string
  /** libpq-style connection string for the `postgres` superuser and database, over the socket. */
  readonly connectionString: string
  /** The same for another database of the cluster. */
  connectionStringFor(database: string): string
  /** The server major version (15, 16, ...). */
  readonly version: number
  stop(mode?: 'fast' | 'immediate'): void
  start(): void
  restart(): void
  /** Whether the server is up (as far as this helper started and stopped it). */
  running(): boolean
  /** Stop the server and remove the directory. */
  destroy(): void
  /** The server log so far (for failure messages). */
  log(): string
}

const PG_ROOT = '/usr/lib/postgresql'

/** The bin directory of the newest installed PostgreSQL server, or an Error saying what to install. */
export function findPgBin(root = PG_ROOT): { bin: string; version: number } {
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'pg_ctl')))
        .map(Number)
        .sort((a, b) => b - a)
    : []
  if (versions.length === 0) {
    throw new Error(
      `PostgreSQL server binaries not found (${root}/<version>/bin/initdb and pg_ctl). ` +
        'The PostgreSQL engine tests need a real server: install Debian\'s package with `apt-get install -y postgresql` (.ci/run does this when it is missing).',
    )
  }
  return { bin: join(root, String(versions[0]), 'bin'), version: versions[0]! }
}

/** The user the server runs as: ourselves, or (as root, which initdb refuses) an unprivileged one. */
function serverUser(): { name: string; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined
  const lookup = (name: string) => {
    const r = spawnSync('id', ['-u', name], { encoding: 'utf8' })
    if (r.status !== 0) return undefined
    const g = spawnSync('id', ['-g', name], { encoding: 'utf8' })
    return { name, uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) }
  }
  const nobody = lookup('nobody')
  if (nobody) return nobody
  const own = lookup('chainlog-pg')
  if (own) return own
  execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'chainlog-pg'], { stdio: 'pipe' })
  return lookup('chainlog-pg')!
}

export function startPgCluster(options: PgClusterOptions = {}): PgCluster {
  const { bin, version } = findPgBin()
  const user = serverUser()
  // As root the server runs as another user, who must be able to reach the directory: /tmp,
  // not a $TMPDIR that may sit under root's home.
  const dir = mkdtempSync(join(user ? '/tmp' : tmpdir(), 'chainlog-pg-'))
  if (user) chownSync(dir, user.uid, user.gid)
  const data = join(dir, 'data')
  const logFile = join(dir, 'server.log')
  const port = 5432 // only names the socket file (.s.PGSQL.5432) in `dir`: nothing listens on TCP

  const run = (tool: string, args: string[]): void => {
    const [cmd, argv] = user ? ['runuser', ['-u', user.name, '--', join(bin, tool), ...args]] : [join(bin, tool), args]
    const r = spawnSync(cmd, argv as string[], { cwd: dir, encoding: 'utf8', timeout: 120_000 })
    if (r.status !== 0) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-4000) : ''
      throw new Error(`${tool} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}${log ? `\nserver log:\n${log}` : ''}`)
    }
  }

  // --no-sync: a throwaway cluster need not fsync its initial files.
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'])
  const settings: Record<string, string | number> = {
    listen_addresses: "''",
    unix_socket_directories: `'${dir}'`,
    port,
    max_connections: 100,
    ...options.settings,
  }
  const serverOpts = Object.entries(settings)
    .map(([k, v]) => `-c ${k}=${v}`)
    .join(' ')
  let up = false
  const start = () => {
    run('pg_ctl', ['-D', data, '-l', logFile, '-w', '-t', '60', '-o', serverOpts, 'start'])
    up = true
  }
  const stop = (mode: 'fast' | 'immediate' = 'fast') => {
    if (!up) return
    run('pg_ctl', ['-D', data, '-w', '-t', '60', '-m', mode, 'stop'])
    up = false
  }
  start()

  let destroyed = false
  const onExit = () => {
    if (destroyed) return
    try {
      stop('immediate')
    } catch {
      // leave it: the directory says what ran
    }
    rmSync(dir, { recursive: true, force: true })
  }
  process.once('exit', onExit)

  const connectionStringFor = (database: string) => `postgresql://postgres@/${database}?host=${encodeURIComponent(dir)}&port=${port}`
  return {
    dir,
    version,
    connectionString: connectionStringFor('postgres'),
    connectionStringFor,
    start,
    stop,
    restart() {
      run('pg_ctl', ['-D', data, '-l', logFile, '-w', '-t', '60', '-m', 'fast', '-o', serverOpts, 'restart'])
      up = true
    },
    running: () => up,
    destroy() {
      if (destroyed) return
      try {
        stop('fast')
      } finally {
        destroyed = true
        process.removeListener('exit', onExit)
        rmSync(dir, { recursive: true, force: true })
      }
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
  }
}
