// Stores for tests: in-memory stores registered in the calling file's own array, the afterEach
// that closes them and removes temp dirs, and a session's entries read back as an array.
import { rm } from 'node:fs/promises'
import { MemoryLevel } from 'memory-level'
import type { StoredEntry, StoreOptions } from '../../src/storage/session-store.js'
import { Store } from '../../src/store.js'
import { type ChainlogStore } from '../../src/open.js'

export type MemStoreOptions = Omit<StoreOptions, 'db' | 'path'>

/**
 * An opener of fresh in-memory stores (durability 'relaxed' unless `options` say otherwise).
 * Every store it opens is pushed to `opened`, for the file's afterEach to close with closeStores.
 */
export function memStoreOpener(opened: Store[]): (options?: MemStoreOptions) => Promise<Store> {
  return async (options = {}) => {
    const store = await Store.open({ db: new MemoryLevel(), durability: 'relaxed', ...options })
    opened.push(store)
    return store
  }
}

/**
 * Close every store in `opened`, one after the other, then remove every directory in `dirs`
 * (temp dirs of on-disk stores); empties both arrays.
 */
export async function closeStores(opened: Store[], dirs: string[] = []): Promise<void> {
  for (const s of opened.splice(0)) await s.close()
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
}

/** A session's entries in order (blobs resolved unless `resolveBlobs` is false). */
export async function entriesOf(store: ChainlogStore, sessionId: string, resolveBlobs?: boolean): Promise<StoredEntry[]> {
  const out: StoredEntry[] = []
  for await (const e of store.entries(sessionId, resolveBlobs === undefined ? {} : { resolveBlobs })) out.push(e)
  return out
}
