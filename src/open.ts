// openStore: the entry point. It picks how this process holds a store: alone (a Store over
// its own database) or shared with other processes (a SharedStore that holds it or reaches the
// process that does). Kept apart from store.ts so the store does not import its host.
import { ChainlogError, ErrorCodes } from './errors.js'
import { isPostgresUrl, isUrl, urlScheme } from './store-location.js'
import { SharedStore } from './host/shared-store.js'
import type { AnyLevel, StoreOptions } from './storage/session-store.js'
import type { PgEngineOptions } from './storage/pg-engine.js'
import { Store } from './store.js'

/** The API every opened store offers, whether this process holds it or shares it. */
export type ChainlogStore = Store | SharedStore

export interface OpenOptions extends StoreOptions {
  /**
   * Hold the directory alone: no sharing with other processes, and a second opener gets
   * CHAINLOG_STORE_LOCKED. Implied when `db` is given.
   */
  exclusive?: boolean
  /** With sharing: how long to keep trying to reach or take over the store (default 10 s). */
  connectTimeoutMs?: number
  /**
   * With sharing: a call waiting on the process that holds the store fails with the retryable
   * CHAINLOG_HOST_UNAVAILABLE if that process answers nothing, not even a ping, for this long
   * (default 10 s; docs/concurrency.md).
   */
  livenessTimeoutMs?: number
  /** With sharing: the longest any call through the socket may take (no default). */
  callTimeoutMs?: number
}

/**
 * Open a chainlog store.
 *
 * By path, any number of processes can open the same store at once: the first holds it and
 * serves the others over a local socket (docs/concurrency.md). With `db` (any abstract-level
 * database) or `exclusive: true`, this process holds it alone.
 * @example const store = await openStore('./.chainlog')
 * @example const store = await openStore({ db: new MemoryLevel(), durability: 'relaxed' })
 * @example const store = await openStore('postgres://user@db.internal/agents') // docs/scaling.md
 */
export function openStore(options: OpenOptions & ({ db: AnyLevel } | { exclusive: true } | { postgres: PgEngineOptions })): Promise<Store>
export function openStore(pathOrOptions: string | OpenOptions): Promise<ChainlogStore>
export async function openStore(pathOrOptions: string | OpenOptions): Promise<ChainlogStore> {
  if (typeof pathOrOptions === 'string' && isUrl(pathOrOptions) && !isPostgresUrl(pathOrOptions)) {
    // mysql://, sqlite://, a typo of postgres://: not a directory to create.
    const scheme = urlScheme(pathOrOptions)
    throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, `a store is a directory or a postgres:// URL, not ${scheme}…`, { scheme })
  }
  const options: OpenOptions =
    typeof pathOrOptions !== 'string' ? pathOrOptions : isPostgresUrl(pathOrOptions) ? { postgres: { connectionString: pathOrOptions } } : { path: pathOrOptions }
  // A PostgreSQL store is shared through its server: every process opens it directly.
  if (options.db || options.exclusive || options.postgres) {
    const { exclusive: _e, connectTimeoutMs: _c, livenessTimeoutMs: _l, callTimeoutMs: _t, ...rest } = options
    return Store.open(rest)
  }
  if (!options.path) throw new TypeError('openStore needs a path or a db')
  const { exclusive: _e, ...rest } = options
  return SharedStore.open({ ...rest, path: options.path }, (o) => Store.open(o))
}
