// The store as users see it: the session store plus lineage (and, as they land, verification,
// bundles and blobs). `openStore` is the entry point.
import {
  compact,
  deleteSession,
  ensureHeadOrFork,
  forkAt,
  lineage,
  type CompactOptions,
  type DeleteResult,
  type DependantPolicy,
  type ForkOptions,
  type Lineage,
} from './lineage/lineage.js'
import type { Writable } from 'node:stream'
import { exportSession, importBundle, type BundleFormat, type ExportResult, type ImportResult } from './bundle/bundle.js'
import { SharedStore } from './host/shared-store.js'
import { SessionStore, type AnyLevel, type StoreOptions } from './storage/session-store.js'
import type { VerifyReport } from './verify/findings.js'
import { gc, type GcResult } from './storage/gc.js'
import { checkBlobs } from './verify/verify-blobs.js'
import { verifyStore, type VerifyOptions } from './verify/verify-store.js'

export class Store extends SessionStore {
  /** Open a store at a directory (classic-level) or on an abstract-level database. */
  static async open(pathOrOptions: string | StoreOptions): Promise<Store> {
    const options: StoreOptions = typeof pathOrOptions === 'string' ? { path: pathOrOptions } : pathOrOptions
    const db: AnyLevel = await SessionStore.openDb(options)
    return new Store(db, options)
  }

  /** Fork a new session at an entry hash or unique prefix (see docs/lineage.md). */
  forkAt(hashOrPrefix: string, options?: ForkOptions): Promise<{ sessionId: string; head: string }> {
    this.checkOpen()
    return forkAt(this, hashOrPrefix, options)
  }

  /** Compact a session into a new one that records where it came from. */
  compact(sessionId: string, options: CompactOptions): Promise<{ sessionId: string; head: string }> {
    this.checkOpen()
    return compact(this, sessionId, options)
  }

  /** Ancestors up to the root and the tree of descendants. */
  lineage(sessionId: string): Promise<Lineage> {
    this.checkOpen()
    return lineage(this, sessionId)
  }

  /** Delete a session; refused while forks need it unless `dependants` says what to do. */
  deleteSession(sessionId: string, options?: { dependants?: DependantPolicy }): Promise<DeleteResult> {
    this.checkOpen()
    return deleteSession(this, sessionId, options)
  }

  /** Verify one session (with `lineage`, its sources too) or the whole store. */
  verify(options?: VerifyOptions): Promise<VerifyReport> {
    this.checkOpen()
    return verifyStore(this, options, checkBlobs(this))
  }

  /** Remove blobs and entries that no remaining session reaches; report what was removed. */
  gc(): Promise<GcResult> {
    this.checkOpen()
    return gc(this)
  }

  /** Write a session and the sources it needs as a bundle (or JSONL for reading) to a stream or path. */
  exportSession(sessionId: string, out: Writable | string, options?: { format?: BundleFormat; onProgress?: (entries: number) => void }): Promise<ExportResult> {
    this.checkOpen()
    return exportSession(this, sessionId, out, options)
  }

  /** Verify a bundle, then add what the store lacks in one batch (idempotent). */
  importBundle(input: Uint8Array | string): Promise<ImportResult> {
    this.checkOpen()
    return importBundle(this, input)
  }

  /** Continue at `lastSeenHead`: in the session if it is still the head, else in a new fork. */
  ensureHeadOrFork(sessionId: string, lastSeenHead: string, options?: ForkOptions): Promise<{ sessionId: string; head: string; forked: boolean }> {
    this.checkOpen()
    return ensureHeadOrFork(this, sessionId, lastSeenHead, options)
  }
}

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
}

/**
 * Open a chainlog store.
 *
 * By path, any number of processes can open the same store at once: the first holds it and
 * serves the others over a local socket (docs/concurrency.md). With `db` (any abstract-level
 * database) or `exclusive: true`, this process holds it alone.
 * @example const store = await openStore('./.chainlog')
 * @example const store = await openStore({ db: new MemoryLevel(), durability: 'relaxed' })
 */
export function openStore(options: OpenOptions & ({ db: AnyLevel } | { exclusive: true })): Promise<Store>
export function openStore(pathOrOptions: string | OpenOptions): Promise<ChainlogStore>
export async function openStore(pathOrOptions: string | OpenOptions): Promise<ChainlogStore> {
  const options: OpenOptions = typeof pathOrOptions === 'string' ? { path: pathOrOptions } : pathOrOptions
  if (options.db || options.exclusive) {
    const { exclusive: _e, connectTimeoutMs: _c, ...rest } = options
    return Store.open(rest)
  }
  if (!options.path) throw new TypeError('openStore needs a path or a db')
  const { exclusive: _e, ...rest } = options
  return SharedStore.open({ ...rest, path: options.path }, (o) => Store.open(o))
}
