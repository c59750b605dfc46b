// The core's host capabilities under Node (types.ts). Bundlers that honour the package's
// "browser" field load browser.ts instead, so nothing here reaches a browser bundle.
import { AsyncLocalStorage } from 'node:async_hooks'
import * as crypto from 'node:crypto'
import { brotliCompressSync, brotliDecompressSync, constants as zc, inflateRawSync } from 'node:zlib'
import type { AsyncContext, Platform } from './types.js'

/** A digest given as a latin1 (binary) string, as a small on-heap Uint8Array. */
function latin1Digest(s: string): Uint8Array {
  const out = new Uint8Array(32)
  for (let i = 0; i < 32; i++) out[i] = s.charCodeAt(i)
  return out
}

export const platform: Platform = {
  name: 'node',
  asyncContext: <T>(): AsyncContext<T> => new AsyncLocalStorage<T>(),
  // On-heap 32-byte arrays, as sha256OneShot below says why: an entry hash becomes a tree leaf,
  // a head and a key, and a mix of Buffer digests (each with its own off-heap memory) and plain
  // arrays cost the tree's hashing about 5 µs of CPU a turn (bench/experiments/digest-kind.mjs).
  sha256(...parts) {
    const h = crypto.createHash('sha256')
    for (const p of parts) h.update(p)
    return latin1Digest(h.digest('binary'))
  },
  // The digest comes back as a binary (latin1) string and is copied into a small (on-heap)
  // Uint8Array: a Buffer digest has its own off-heap memory, and collecting millions of them cost
  // more than the hashing (measured: about 1.5 µs per node hash this way, 2.6 µs with Buffer digests).
  sha256OneShot: typeof crypto.hash === 'function' ? (data) => latin1Digest(crypto.hash('sha256', data, 'binary')) : undefined,
  // The Merkle tree's appends hash into buffers they hold (merkle.ts appendLeaves): the digest's
  // latin1 string is the only thing allocated per hash.
  sha256Into:
    typeof crypto.hash === 'function'
      ? (data, out, offset) => {
          const s = crypto.hash('sha256', data, 'binary')
          for (let i = 0; i < 32; i++) out[offset + i] = s.charCodeAt(i)
        }
      : undefined,
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
