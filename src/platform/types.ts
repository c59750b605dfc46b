// What the core needs from its host beyond the language: one module per host implements it
// (node.ts; browser.ts, which the package's "browser" field puts in node.ts's place when a
// bundler targets a browser). docs/browser.md says what differs.

/** A value carried through an async call tree (Node's AsyncLocalStorage). */
export interface AsyncContext<T> {
  run<R>(value: T, fn: () => R): R
  getStore(): T | undefined
}

import type { RecordChecker } from '../verify/checker.js'
import type { AnyLevel } from '../storage/level-engine.js'
import type { StorageEngine } from '../storage/engine.js'
import type { PgEngineOptions } from '../storage/pg-engine.js'
import type { Journal, JournalRecord } from '../storage/journal.js'

/** SHA-256 over the concatenation of the parts. */
export type Sha256 = (...parts: Uint8Array[]) => Uint8Array

export interface Platform {
  /** 'node' or 'browser'. */
  readonly name: 'node' | 'browser'
  asyncContext<T>(): AsyncContext<T>
  /** SHA-256 over the concatenation of the parts: node:crypto under Node, @noble/hashes in a browser. */
  sha256: Sha256
  /** A native one-shot SHA-256 of one buffer returning an on-heap array (Merkle nodes), or undefined. */
  sha256OneShot: ((data: Uint8Array) => Uint8Array) | undefined
  /** A native one-shot SHA-256 of one buffer written into `out` at `offset` (no array per digest), or undefined. */
  sha256Into: ((data: Uint8Array, out: Uint8Array, offset: number) => void) | undefined
  /** Brotli at `quality` (0-11), or undefined where no compressor exists (blobs are then stored raw). */
  brotliCompress(bytes: Uint8Array, quality: number): Uint8Array | undefined
  /** Throws where no decompressor exists. */
  brotliDecompress(bytes: Uint8Array): Uint8Array
  /** Raw DEFLATE (RFC 1951) decompression; throws where no decompressor exists. */
  inflateRaw(bytes: Uint8Array): Uint8Array
  /** What checks records for verify: `threads` workers (undefined: the host's default), or the main thread. */
  recordChecker(threads: number | undefined): Promise<RecordChecker>
  /** The opened database of a store directory (Node: classic-level; a browser has no directories). */
  openStoreDir(path: string): Promise<AnyLevel>
  /** A PostgreSQL engine (Node only). */
  openPgEngine(options: PgEngineOptions): Promise<StorageEngine>
  /** The write-ahead journal of a store directory and the records it holds (Node only). */
  openJournal(dir: string): Promise<{ journal: Journal; records: JournalRecord[] }>
  /** A bundle file's bytes (Node only: a page passes bytes). CHAINLOG_IO when it cannot be read. */
  readBundleFile(path: string): Promise<Uint8Array>
  /** Bundle writing: streams and files (Node only). */
  bundleExport(): Promise<typeof import('../bundle/export.js')>
}
