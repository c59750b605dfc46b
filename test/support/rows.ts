// A store's LevelDB rows read behind the API, as plain data to compare: every row as hex, the
// blob rows (key byte 0x42 'B' ‖ sha256), and the bytes all rows take.
import type { Store } from '../../src/store.js'

const BIN = { keyEncoding: 'view', valueEncoding: 'view' } as const
const BLOB_TAG = 0x42

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

/** Every key and value of the database, as hex pairs in key order. */
export async function dump(store: Store): Promise<[string, string][]> {
  const out: [string, string][] = []
  for await (const [k, v] of store.db.iterator(BIN)) out.push([hex(k as Uint8Array), hex(v as Uint8Array)])
  return out
}

/** Every key and value of the database, as a map of hex key -> hex value. */
export async function dumpMap(store: Store): Promise<Map<string, string>> {
  return new Map(await dump(store))
}

async function blobRowsAs<T>(store: Store, value: (key: Uint8Array, value: Uint8Array) => T): Promise<Map<string, T>> {
  const out = new Map<string, T>()
  for await (const [k, v] of store.db.iterator(BIN)) {
    const key = k as Uint8Array
    if (key[0] === BLOB_TAG) out.set(hex(key.subarray(1)), value(key, v as Uint8Array))
  }
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
  for await (const [k, v] of store.db.iterator(BIN)) n += (k as Uint8Array).length + (v as Uint8Array).length
  return n
}
