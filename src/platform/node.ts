// The core's host capabilities under Node (types.ts). Bundlers that honour the package's
// "browser" field load browser.ts instead, so nothing here reaches a browser bundle.
import { AsyncLocalStorage } from 'node:async_hooks'
import { brotliCompressSync, brotliDecompressSync, constants as zc, inflateRawSync } from 'node:zlib'
import type { AsyncContext, Platform } from './types.js'

export const platform: Platform = {
  name: 'node',
  asyncContext: <T>(): AsyncContext<T> => new AsyncLocalStorage<T>(),
  brotliCompress(bytes, quality) {
    const packed = brotliCompressSync(bytes, {
      params: { [zc.BROTLI_PARAM_QUALITY]: quality, [zc.BROTLI_PARAM_SIZE_HINT]: bytes.length },
    })
    return new Uint8Array(packed.buffer, packed.byteOffset, packed.byteLength)
  },
  brotliDecompress: (bytes) => brotliDecompressSync(bytes),
  inflateRaw: (bytes) => inflateRawSync(bytes),
  // Loaded when a verify starts, so that opening a store does not load the worker pool.
  async recordChecker(threads) {
    const pool = await import('../verify/verify-threads.js')
    return pool.recordChecker(threads ?? pool.defaultThreads())
  },
  openStoreDir: async (path) => (await import('../storage/store-dir.js')).openStoreDir(path),
  openPgEngine: async (options) => (await import('../storage/pg-engine.js')).openPgEngine(options),
  openJournal: async (dir) => (await import('../storage/journal.js')).Journal.open(dir),
  async readBundleFile(path) {
    const [{ readFile }, { storageError }, { ChainlogError }] = await Promise.all([import('node:fs/promises'), import('../storage/open-errors.js'), import('../errors.js')])
    try {
      return new Uint8Array(await readFile(path))
    } catch (err) {
      // CHAINLOG_IO with the reason (not-found, permission, ...) and the fs error as cause.
      const io = storageError(err, 'read', path)
      throw new ChainlogError(io.code, `cannot read bundle ${path}: ${(err as Error).message}`, io.data, { cause: err })
    }
  },
  bundleExport: () => import('../bundle/export.js'),
}
