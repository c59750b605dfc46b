// A store's rows read behind the API (through its storage engine, so on any engine), as plain
// data to compare: every row as hex, the blob rows (key byte 0x42 'B' ‖ sha256), and the bytes
// all rows take. The journal position row of a store directory is left out (see isJournalRow).
import type { Row } from '../../src/storage/engine.js'
import type { Store } from '../../src/store.js'

const BLOB_TAG = 0x42
/** Every key the store writes starts with a table tag (an ASCII letter). */
const EVERY_ROW = { gte: Uint8Array.of(0x00), lt: Uint8Array.of(0xff) }

/** The journal position row (`J`) of a store directory: the LevelDB engine's bookkeeping, not content. */
const isJournalRow = (key: Uint8Array): boolean => key.length === 1 && key[0] === 0x4a

async function* rows(store: Store): AsyncGenerator<Row> {
  for await (const chunk of store.engine.scan(EVERY_ROW, 1024)) for (const row of chunk) if (!isJournalRow(row[0])) yield row
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

/**
 * Every row of the database as it is stored, in key order (to copy into another store with
 * writeRows). Copies: memory-level hands out its own buffers, which a later change of the store
 * (or of what a get returned) would change under the caller.
 */
export async function rawRows(store: Store): Promise<Row[]> {
  const out: Row[] = []
  // new Uint8Array(b) copies; Buffer's slice() would not.
  for await (const [k, v] of rows(store)) out.push([new Uint8Array(k), new Uint8Array(v)])
  return out
}

/** Every key and value of the database, as hex pairs in key order. */
export async function dump(store: Store): Promise<[string, string][]> {
  const out: [string, string][] = []
  for await (const [k, v] of rows(store)) out.push([hex(k), hex(v)])
  return out
}

/** Every key and value of the database, as a map of hex key -> hex value. */
export async function dumpMap(store: Store): Promise<Map<string, string>> {
  return new Map(await dump(store))
}

async function blobRowsAs<T>(store: Store, value: (key: Uint8Array, value: Uint8Array) => T): Promise<Map<string, T>> {
  const out = new Map<string, T>()
  for await (const [key, v] of rows(store)) if (key[0] === BLOB_TAG) out.set(hex(key.subarray(1)), value(key, v))
  return out
}

/** The blob rows: hex hash -> stored value. */
export function blobRows(store: Store): Promise<Map<string, Uint8Array>> {
  return blobRowsAs(store, (_key, value) => value)
}

/** The blob rows: hex hash -> bytes of key and value. */
export function blobSizes(store: Store): Promise<Map<string, number>> {
  return blobRowsAs(store, (key, value) => key.length + value.length)
}

/** Bytes of every key and value in the store. */
export async function storedBytes(store: Store): Promise<number> {
  let n = 0
  for await (const [k, v] of rows(store)) n += k.length + v.length
  return n
}

/** Write rows behind the store's API, as a tool or an attacker would (then drop the store's caches). */
export async function writeRows(store: Store, ops: ({ type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array })[]): Promise<void> {
  await store.engine.commit({ ops })
  store.invalidate()
}
