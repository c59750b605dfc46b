// Finding and opening the store a command works on: --store, else $CHAINLOG_STORE, else
// ./.chainlog. Only `init` (and `demo`) create a store; every other command refuses a directory
// that holds no store, so a typo never leaves LevelDB files in a random directory.
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import type { ChainlogStore } from '../index.js'
import { checkStoreDir } from '../storage/dir-check.js'
import { CliCodes, CliError, usageError } from './errors.js'
import { isPostgresUrl, isUrl, urlScheme } from '../store-location.js'

export const DEFAULT_STORE = '.chainlog'

export function resolveStoreDir(option: string | undefined, env: NodeJS.ProcessEnv): string {
  // An empty --store (an unset shell variable, say) must not mean the current directory.
  if (option === '') throw usageError('--store needs a directory; it was given an empty string')
  const dir = option ?? (env.CHAINLOG_STORE ? env.CHAINLOG_STORE : DEFAULT_STORE)
  if (isPostgresUrl(dir)) return dir
  // Any other URL (mysql://, sqlite://, a typo of postgres://) is not a directory to create.
  if (isUrl(dir)) {
    throw usageError(`${option === undefined ? '$CHAINLOG_STORE' : '--store'} names a store by a directory or a postgres:// URL, not ${urlScheme(dir)}…`)
  }
  return resolve(dir)
}

/** A store on PostgreSQL is named by its connection URL (docs/scaling.md). */
export { isPostgresUrl }

/** A connection URL with its password replaced by `***`, for output. */
export function redactUrl(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:/@]*):[^@]*@/, '$1:***@')
}

/** True when `dir` holds a LevelDB database (its CURRENT file names the live manifest), or names a PostgreSQL store. */
export function isStoreDir(dir: string): boolean {
  return isPostgresUrl(dir) || existsSync(resolve(dir, 'CURRENT'))
}

/** Where a migration of an older store format, done when a command opens the store, reports its progress. */
let onMigrate: ((p: { done: number; total: number }) => void) | undefined

/** Draw migrations (docs/storage.md, section 11) on the command's progress line. */
export function reportMigrations(report: ((p: { done: number; total: number }) => void) | undefined): void {
  onMigrate = report
}

/** How long a command keeps trying to open a store that a process holds without sharing it. */
export const LOCK_WAIT_MS = 1000

/**
 * Open a store directory, writes fsynced before they return. The store is shared the way the
 * library shares it (docs/concurrency.md): if another process holds it and serves others, the
 * command runs through that process; if nobody holds it, the command holds it while it runs.
 * A store held by a process that does not share it (`exclusive: true`) fails after
 * LOCK_WAIT_MS with CHAINLOG_STORE_LOCKED (exit status 3).
 */
export async function openShared(dir: string, extra: StoreExtras = {}): Promise<ChainlogStore> {
  // Loaded when a command opens a store, not when the CLI starts (`--help` needs none of it).
  const { openStore } = await import('../open.js')
  const progress = onMigrate ? { onMigrate } : {}
  // A PostgreSQL store is shared through its server; its schema is created on first use.
  if (isPostgresUrl(dir)) return openStore({ postgres: { connectionString: dir }, durability: 'sync', ...progress, ...extra })
  return openStore({ path: dir, durability: 'sync', connectTimeoutMs: LOCK_WAIT_MS, ...progress, ...extra })
}

/** Store options a command may add: the signer key text its checkpoints and proofs are signed with (in this process, also through another that holds the store). */
export interface StoreExtras {
  signingKey?: string
}

/** Open an existing store (see openShared). */
export async function openExistingStore(dir: string, extra: StoreExtras = {}): Promise<ChainlogStore> {
  if (isPostgresUrl(dir)) return openShared(dir, extra)
  // A file, a directory we may not read or damaged LevelDB files get their own error (nothing is
  // created in them), not "no store here".
  checkStoreDir(dir)
  if (!isStoreDir(dir)) {
    throw new CliError(CliCodes.STORE_NOT_FOUND, `no chainlog store at ${dir} (create one with: chainlog --store ${dir} init)`)
  }
  return openShared(dir, extra)
}

/** Run `fn` with the store open, and close it whatever happens. */
export async function withStore<T>(dir: string, fn: (store: ChainlogStore) => Promise<T>, extra: StoreExtras = {}): Promise<T> {
  const store = await openExistingStore(dir, extra)
  try {
    return await fn(store)
  } finally {
    await store.close()
  }
}
