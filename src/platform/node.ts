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
}
