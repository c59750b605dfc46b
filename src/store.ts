// The store as users see it: the session store plus lineage, verification, bundles and gc.
// `openStore` is the entry point. Those features are loaded on their first call, not with the
// store: a process that only appends and reads (or a CLI command that lists) does not pay for
// them at start-up.
import type { CompactOptions, DeleteResult, DependantPolicy, ForkOptions, Lineage } from './lineage/lineage.js'
import type { Writable } from 'node:stream'
import type { BundleVerifyOptions, ImportResult } from './bundle/bundle.js'
import type { ExportOptions, ExportResult } from './bundle/export.js'
import { platform } from './platform/node.js'
import { SessionStore, type AppendHook, type StoreOptions } from './storage/session-store.js'
import { turnHeadsRequested } from './storage/turn-heads.js'
import type { VerifyReport } from './verify/findings.js'
import type { GcResult } from './storage/gc.js'
import type { VerifyOptions } from './verify/verify-store.js'
import { ChainlogError, ErrorCodes } from './errors.js'
import type { SignerKey } from './proofs/note.js'
import type { ProveOptions, TreeHead } from './storage/tree-api.js'
import type { StoreFigures } from './storage/store-figures.js'

const lineageOps = () => import('./lineage/lineage.js')
const treeApi = () => import('./storage/tree-api.js')
const bundles = () => import('./bundle/bundle.js')
const turnCheckpoints = () => import('./storage/turn-checkpoints.js')

/** checkpointOnTurnEnd needs a key to sign with, and onCheckpoint a function: refused before anything is opened. */
export function checkTurnCheckpointOptions(options: StoreOptions): void {
  const on = options.checkpointOnTurnEnd
  if (on !== undefined && typeof on !== 'boolean') throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'checkpointOnTurnEnd must be true or false', { checkpointOnTurnEnd: on })
  if (on === true && options.signingKey === undefined) {
    throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'checkpointOnTurnEnd needs a signingKey to sign the checkpoints with', {})
  }
  if (options.onCheckpoint !== undefined && typeof options.onCheckpoint !== 'function') throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'onCheckpoint must be a function', {})
}

export class Store extends SessionStore {
  #signingKey: SignerKey | undefined

  /** Open a store at a directory (classic-level) or on an abstract-level database. */
  static async open(pathOrOptions: string | StoreOptions): Promise<Store> {
    const options: StoreOptions = typeof pathOrOptions === 'string' ? { path: pathOrOptions } : pathOrOptions
    // A bad key is refused before anything is opened (Ed25519 is loaded only when a key is given).
    let key: SignerKey | undefined
    if (options.signingKey !== undefined) {
      const { SIG_ED25519, toSignerKey } = await import('./proofs/note.js')
      key = toSignerKey(options.signingKey)
      if (key.type !== SIG_ED25519) throw new ChainlogError(ErrorCodes.INVALID_KEY, 'the signing key must be an Ed25519 (type 0x01) log key, not a witness key', { name: key.name })
    }
    checkTurnCheckpointOptions(options)
    const store = new Store(await SessionStore.openEngine(options), options)
    store.#signingKey = key
    if (options.checkpointOnTurnEnd === true && key) {
      const own = options.onCheckpoint ? { key, onCheckpoint: options.onCheckpoint } : { key }
      store.appendHook = (await turnCheckpoints()).turnCheckpointHook(store, own)
    }
    return store
  }

  /**
   * Serve the tree heads that processes sharing this store ask for on turn_end (their
   * checkpointOnTurnEnd, signed with their own keys): called when this process starts to hold
   * the store for others. A store that signs on turn_end itself already does.
   */
  async serveTurnHeads(): Promise<void> {
    if (this.appendHook) return
    // The signing and tree code (Ed25519 among it) is loaded when a sharing process first asks
    // for a tree head, so that a holder that only lists or reads (a CLI command) never loads it.
    let hook: AppendHook | undefined
    this.appendHook = (sessionId, entries, result, landed) => {
      if (hook) return hook(sessionId, entries, result, landed)
      if (turnHeadsRequested.getStore() !== true) return result
      return turnCheckpoints().then((m) => {
        hook ??= m.turnCheckpointHook(this, undefined)
        return hook(sessionId, entries, result, landed)
      })
    }
  }

  /**
   * A signed checkpoint of a session (docs/proofs.md section 4): origin `<key name>/<sessionId>`,
   * its size (default: now), tree root and head. Needs `signingKey`.
   */
  async checkpoint(sessionId: string, options: { size?: number } = {}): Promise<string> {
    this.checkOpen()
    return (await treeApi()).checkpoint(this, this.#signingKey, sessionId, options.size)
  }

  /** A session's tree size, root and head (unsigned), at `size` (default: now). */
  async treeHead(sessionId: string, options: { size?: number } = {}): Promise<TreeHead> {
    this.checkOpen()
    return (await treeApi()).treeHead(this, sessionId, options.size)
  }

  /**
   * A self-contained inclusion proof file for an entry (hash or unique prefix), checkable offline
   * with verifyProofFile and the verifier key (docs/proofs.md section 5.3). Against `checkpoint`
   * when given, else against a checkpoint signed now (at `size`, default the session's size).
   */
  async prove(entryHashOrPrefix: string, options: ProveOptions = {}): Promise<string> {
    this.checkOpen()
    return (await treeApi()).prove(this, this.#signingKey, entryHashOrPrefix, options)
  }

  /** A consistency file from `oldSize` to `newSize` (default: now) of a session (docs/proofs.md section 5.4). */
  async proveConsistency(sessionId: string, oldSize: number, newSize?: number): Promise<string> {
    this.checkOpen()
    return (await treeApi()).proveConsistency(this, this.#signingKey, sessionId, oldSize, newSize)
  }

  /** Fork a new session at an entry hash or unique prefix (see docs/lineage.md). */
  async forkAt(hashOrPrefix: string, options?: ForkOptions): Promise<{ sessionId: string; head: string }> {
    this.checkOpen()
    return (await lineageOps()).forkAt(this, hashOrPrefix, options)
  }

  /** Compact a session into a new one that records where it came from. */
  async compact(sessionId: string, options: CompactOptions): Promise<{ sessionId: string; head: string }> {
    this.checkOpen()
    return (await lineageOps()).compact(this, sessionId, options)
  }

  /** Ancestors up to the root and the tree of descendants. */
  async lineage(sessionId: string): Promise<Lineage> {
    this.checkOpen()
    return (await lineageOps()).lineage(this, sessionId)
  }

  /** Delete a session; refused while forks need it unless `dependants` says what to do. */
  async deleteSession(sessionId: string, options?: { dependants?: DependantPolicy }): Promise<DeleteResult> {
    this.checkOpen()
    return (await lineageOps()).deleteSession(this, sessionId, options)
  }

  /** Verify one session (with `lineage`, its sources too) or the whole store. */
  async verify(options?: VerifyOptions): Promise<VerifyReport> {
    this.checkOpen()
    const [{ verifyStore }, { checkBlobs }] = await Promise.all([import('./verify/verify-store.js'), import('./verify/verify-blobs.js')])
    return verifyStore(this, options, checkBlobs(this))
  }

  /**
   * Entries and stored bytes by kind, of one session or of every session, in one range scan of
   * the records (no read per session); entries are not re-hashed, which is verify's job.
   */
  async figures(sessionId?: string): Promise<StoreFigures> {
    this.checkOpen()
    return (await import('./storage/store-figures.js')).storeFigures(this.engine, sessionId)
  }

  /** Remove blobs and entries that no remaining session reaches; report what was removed. */
  async gc(): Promise<GcResult> {
    this.checkOpen()
    return (await import('./storage/gc.js')).gc(this)
  }

  /**
   * Write a session and the sources it needs as a bundle (or JSONL for reading) to a stream or
   * path. With a signing key (`options.signingKey`, else the store's own), each session carries a
   * signed checkpoint (docs/proofs.md section 7).
   */
  async exportSession(sessionId: string, out: Writable | string, options: ExportOptions = {}): Promise<ExportResult> {
    this.checkOpen()
    const signingKey = options.signingKey ?? this.#signingKey
    return (await platform.bundleExport()).exportSession(this, sessionId, out, signingKey === undefined ? options : { ...options, signingKey })
  }

  /** Verify a bundle (its checkpoints too; with `keys`, their signatures), then add what the store lacks in one batch (idempotent). */
  async importBundle(input: Uint8Array | string, options?: BundleVerifyOptions): Promise<ImportResult> {
    this.checkOpen()
    return (await bundles()).importBundle(this, input, options)
  }

  /** Continue at `lastSeenHead`: in the session if it is still the head, else in a new fork. */
  async ensureHeadOrFork(sessionId: string, lastSeenHead: string, options?: ForkOptions): Promise<{ sessionId: string; head: string; forked: boolean }> {
    this.checkOpen()
    return (await lineageOps()).ensureHeadOrFork(this, sessionId, lastSeenHead, options)
  }
}
