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
import { SessionStore, type StoreOptions } from './storage/session-store.js'
import type { VerifyReport } from './verify/findings.js'
import { gc, type GcResult } from './storage/gc.js'
import { checkBlobs } from './verify/verify-blobs.js'
import { verifyStore, type VerifyOptions } from './verify/verify-store.js'

export class Store extends SessionStore {
  /** Open a store at a directory (classic-level) or on an abstract-level database. */
  static async open(pathOrOptions: string | StoreOptions): Promise<Store> {
    const options: StoreOptions = typeof pathOrOptions === 'string' ? { path: pathOrOptions } : pathOrOptions
    return new Store(await SessionStore.openEngine(options), options)
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
