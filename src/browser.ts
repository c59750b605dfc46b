// chainlog in a browser (`chainlog/browser`, docs/browser.md): the core that needs no Node
// built-in. Schema, canonical encoding, hashing (@noble/hashes where node:crypto is absent),
// the reducer, verification, bundles from bytes, and the session store on any abstract-level
// database: in a page, `level`'s BrowserLevel (IndexedDB) or memory-level.
// The package's "browser" field puts platform/browser.js in place of platform/node.js, so a
// bundler that targets a browser leaves out directories, the journal, PostgreSQL, worker threads
// and compression. Store directories, the shared-store socket, the CLI and the viewer's server
// are Node-only and not exported here.
import type { AnyLevel, StoreOptions } from './storage/session-store.js'
import { Store } from './store.js'

export { ChainlogError, ErrorCodes, isChainlogError } from './errors.js'
export type { ErrorCode } from './errors.js'
export * from './schema/entry.js'
export { classifyItem } from './schema/classify.js'
export type { ItemClass, ItemClassifier } from './schema/classify.js'
export { encodeCanonical, decodeCanonical, decodeCbor, compareKeys, CURRENT_FORMAT } from './encoding/cbor.js'
export type { CanonicalFormat } from './encoding/cbor.js'
export { sha256, ENTRY_DOMAIN, ENTRY_DOMAIN_V1, ENTRY_DOMAIN_V2, ZERO_HASH, hashRecord, recordFormat, toHex, fromHex, isHexHash } from './encoding/hash.js'
export { validateEntry, encodeEntry, sealEntry, openRecord, hashEntry } from './encoding/entry-codec.js'
export { applyEntry, reduceEntries } from './state/reducer.js'
export type { SessionState, UsageTotals, ChainedEntry } from './state/reducer.js'
export { groupTurnItems } from './state/turn.js'
export { Store }
export { STORE_FORMAT_VERSION } from './storage/session-store.js'
export type {
  StoreOptions,
  EntryInput,
  AppendOptions,
  AppendResult,
  TurnOptions,
  TurnResult,
  CreateSessionInput,
  StoredEntry,
  SessionInfo,
  SessionMeta,
  MessageCounts,
  AnyLevel,
} from './storage/session-store.js'
export { verifyBundle, BUNDLE_FORMAT, BUNDLE_VERSION } from './bundle/bundle.js'
export type { BundleHeader, BundleSession, BundleReport, BundleCheckpointResult, BundleVerifyOptions, ImportResult } from './bundle/bundle.js'
export { FindingCodes } from './verify/findings.js'
export type { Finding, FindingCode, VerifyReport } from './verify/findings.js'
export type { VerifyOptions } from './verify/verify-store.js'
export { isBlobRef, DEFAULT_BLOB_THRESHOLD, TEXT_MEDIA_TYPE, BYTES_MEDIA_TYPE } from './blobs/blobs.js'
export type { BlobRef, BlobOptions } from './blobs/blobs.js'

/**
 * Open a store on an abstract-level database (in a page: `new BrowserLevel(name)` from `level`,
 * or a MemoryLevel). The store is held by this page alone.
 * @example const store = await openBrowserStore({ db: new BrowserLevel('my-sessions') })
 */
export function openBrowserStore(options: Omit<StoreOptions, 'path' | 'postgres'> & { db: AnyLevel }): Promise<Store> {
  return Store.open(options)
}
