// The core's host capabilities in a browser (types.ts): the package's "browser" field maps
// node.js to this file. No compression library is bundled: blobs written here are stored raw
// (LevelDB's or IndexedDB's own handling applies), and a compressed blob from a Node-written
// store cannot be opened here (a DECODE_FAILED error; bundles carry blobs uncompressed).
import { ChainlogError, ErrorCodes } from '../errors.js'
import { sha256Noble } from '../encoding/sha256-noble.js'
import type { AsyncContext, Platform } from './types.js'

/**
 * Holds a value for the synchronous part of `fn` only. The core uses its one context to ask a
 * relaxed store for durable commits (engine.ts syncRequested); a browser engine has no such
 * choice to make, so losing the value across an await changes nothing there.
 */
class SyncOnlyContext<T> implements AsyncContext<T> {
  #value: T | undefined
  run<R>(value: T, fn: () => R): R {
    const before = this.#value
    this.#value = value
    try {
      return fn()
    } finally {
      this.#value = before
    }
  }
  getStore(): T | undefined {
    return this.#value
  }
}

const unavailable = (what: string): never => {
  throw new Error(`${what} is not available in the browser build`)
}

export const platform: Platform = {
  name: 'browser',
  asyncContext: <T>(): AsyncContext<T> => new SyncOnlyContext<T>(),
  sha256: sha256Noble,
  sha256OneShot: undefined,
  sha256Into: undefined,
  brotliCompress: () => undefined,
  brotliDecompress: () => unavailable('brotli decompression'),
  inflateRaw: () => unavailable('DEFLATE decompression'),
  // No worker pool here (yet): verify checks records in the page's thread.
  recordChecker: async () => (await import('../verify/checker.js')).inThread(),
  openStoreDir: async (path) => {
    throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, `a store directory needs Node; in a browser open the store on a database: { db: new BrowserLevel(name) } (${path})`, { path })
  },
  openPgEngine: async () => {
    throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'PostgreSQL stores need Node', {})
  },
  openJournal: async () => {
    throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'a store journal needs a directory, which needs Node', {})
  },
  readBundleFile: async (path) => {
    throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, `in a browser a bundle is given as bytes, not a path (${path})`, { path })
  },
  bundleExport: async () => {
    throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'writing a bundle needs Node (streams and files)', {})
  },
}
