// Stores that cannot be opened or written, for the failure-mode tests (issue 18, items 1-5):
// read-only and unreadable directories, a path that is a file, damaged LevelDB files, a full
// disk. Permission cases run in a child process as an unprivileged user when the tests run as
// root (root reads and writes everything); a full disk is a 1 MiB tmpfs when we may mount one.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process'
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll } from 'vitest'
import { openStore } from '../../src/index.js'

export const ROOT = resolve(fileURLToPath(import.meta.url), '../../..')
export const DIST_INDEX = join(ROOT, 'dist/index.js')
export const CLI = join(ROOT, 'dist/cli/main.js')

/** uid/gid of `nobody`, used to drop root for permission tests. */
const NOBODY = 65534
export const isRoot = process.getuid?.() === 0

/** Spawn options that run the child without root's powers (a no-op for a normal user). */
export function unprivileged(): Pick<SpawnSyncOptions, 'uid' | 'gid'> {
  return isRoot ? { uid: NOBODY, gid: NOBODY } : {}
}

/** A fresh temp directory that an unprivileged child may enter and write in. */
export function scratchDir(dirs: string[]): string {
  const d = mkdtempSync(join(tmpdir(), 'chainlog-broken-'))
  chmodSync(d, 0o777)
  dirs.push(d)
  return d
}

/** Remove temp dirs (restoring permissions first so rm can enter them). */
export function removeScratch(dirs: string[]): void {
  for (const d of dirs.splice(0)) {
    spawnSync('chmod', ['-R', 'u+rwx', d])
    rmSync(d, { recursive: true, force: true })
  }
}

export const listing = (dir: string) => readdirSync(dir).sort()

/** A store at `dir` with one session; with `bytes`, at least that much data (so close writes a table). */
export async function makeStore(dir: string, bytes = 0): Promise<string> {
  const store = await openStore({ path: dir, exclusive: true, durability: 'relaxed' })
  const { sessionId } = await store.createSession({ ts: 1 })
  for (let n = 0; n < bytes; n += 30_000) await store.appendTurn(sessionId, [{ role: 'user', content: `${'x'.repeat(30_000)}${n}` }], { ts: 2 })
  await store.close()
  return sessionId
}

/** A store whose directory no one but root may write (mode 555). */
export async function readOnlyStore(parent: string): Promise<string> {
  const dir = join(parent, 'ro')
  await makeStore(dir)
  spawnSync('chmod', ['-R', 'a+rX,a-w', dir])
  return dir
}

/** A store directory no one but root may list or enter (mode 000). */
export async function unreadableStore(parent: string): Promise<string> {
  const dir = join(parent, 'noread')
  await makeStore(dir)
  chmodSync(dir, 0o000)
  return dir
}

/** A directory holding only a CURRENT file full of junk. */
export function junkCurrent(parent: string): string {
  const dir = join(parent, 'junk')
  mkdirSync(dir)
  writeFileSync(join(dir, 'CURRENT'), 'garbage\n')
  return dir
}

/** A store whose MANIFEST (named by CURRENT) was deleted. */
export async function missingManifest(parent: string): Promise<string> {
  const dir = join(parent, 'nomanifest')
  await makeStore(dir)
  for (const f of readdirSync(dir)) if (f.startsWith('MANIFEST-')) rmSync(join(dir, f))
  return dir
}

/** A store whose one table file (.ldb, holding every row) was overwritten with random bytes. */
export async function randomTable(parent: string): Promise<string> {
  const dir = join(parent, 'ldb')
  await makeStore(dir, 1_200_000)
  const tables = readdirSync(dir).filter((f) => f.endsWith('.ldb'))
  if (tables.length === 0) throw new Error(`no .ldb file in ${dir}: ${readdirSync(dir).join(', ')}`)
  for (const t of tables) {
    const size = spawnSync('stat', ['-c', '%s', join(dir, t)], { encoding: 'utf8' }).stdout.trim()
    const junk = Buffer.alloc(Number(size))
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 2654435761) >>> 24
    writeFileSync(join(dir, t), junk)
  }
  return dir
}

/** Mount a 1 MiB tmpfs at a new directory under `parent`; undefined when not permitted. */
export function mountTinyDisk(parent: string): string | undefined {
  if (!isRoot || process.platform !== 'linux') return undefined
  const dir = join(parent, 'tiny')
  mkdirSync(dir)
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { encoding: 'utf8' })
  return r.status === 0 ? dir : undefined
}

export function unmount(dir: string | undefined): void {
  if (dir) spawnSync('umount', [dir])
}

let mountable: boolean | undefined
/** Whether this process may mount a tmpfs (tried once, on a probe directory, and undone at once). */
export function canMountTmpfs(): boolean {
  if (mountable === undefined) {
    const holder: string[] = []
    const dir = mountTinyDisk(scratchDir(holder))
    mountable = dir !== undefined
    unmount(dir)
    removeScratch(holder)
  }
  return mountable
}

/**
 * A 1 MiB tmpfs for the full-disk tests of the calling file, mounted before its tests and
 * removed after them, when this process may mount one (root): the returned function gives its
 * directory (use it only in tests run under `it.runIf(canMountTmpfs())`).
 */
export function useTinyDisk(): () => string {
  const dirs: string[] = []
  let disk: string | undefined
  beforeAll(() => {
    if (canMountTmpfs()) disk = mountTinyDisk(scratchDir(dirs))
  })
  afterAll(() => {
    unmount(disk)
    removeScratch(dirs)
  })
  return () => {
    if (disk === undefined) throw new Error('no tmpfs is mounted (run this test under it.runIf(canMountTmpfs()))')
    return disk
  }
}

/** Write `file` until the filesystem it is on has no space left. */
export function fillDisk(file: string): void {
  const fd = openSync(file, 'w')
  const chunk = Buffer.alloc(4096, 1)
  try {
    for (;;) writeSync(fd, chunk)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
  } finally {
    closeSync(fd)
  }
}

/** What a child process met opening `dir` through the built library (and listing its sessions). */
export interface Outcome {
  ok?: true
  name?: string
  code?: string
  message?: string
  data?: Record<string, unknown>
  /** `code` (else name) of each error in the cause chain, outermost first. */
  causes?: string[]
}

const PROBE = `
const { openStore } = await import(process.argv[1])
const [path, mode] = process.argv.slice(2)
try {
  const s = await openStore(mode === 'exclusive' ? { path, exclusive: true } : { path, connectTimeoutMs: 500 })
  await s.listSessions()
  await s.close()
  console.log(JSON.stringify({ ok: true }))
} catch (e) {
  const causes = []
  for (let c = e.cause; c; c = c.cause) causes.push(c.code ?? c.name)
  console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message, data: e.data, causes }))
}`

/** Open `dir` in a child process (unprivileged when `unprivileged` is set) and report what happened. */
export function probeOpen(dir: string, mode: 'shared' | 'exclusive', options: { unprivileged?: boolean } = {}): Outcome {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', PROBE, DIST_INDEX, dir, mode], {
    encoding: 'utf8',
    ...(options.unprivileged ? unprivileged() : {}),
  })
  if (r.status !== 0) throw new Error(`probe exited ${r.status}: ${r.stderr}`)
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Outcome
}

/** Run the built CLI synchronously (unprivileged when asked). */
export function cli(args: string[], options: { unprivileged?: boolean; env?: NodeJS.ProcessEnv } = {}): { code: number; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...options.env }
  for (const k of ['CHAINLOG_STORE', 'FORCE_COLOR']) delete env[k]
  if (!options.env?.CHAINLOG_DEBUG) delete env.CHAINLOG_DEBUG
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env, cwd: tmpdir(), ...(options.unprivileged ? unprivileged() : {}) })
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
}
