// Opening a store's database and checking its format row (`F`). A store of an older format is
// migrated here, on open, before any other call can see it, one numbered step at a time (format 1
// to 2: migrate.ts; 2 to 3: migrate-v3.ts; 3 to 4: migrate-v4.ts; docs/storage.md section 11); a store of a newer format
// than this code reads is refused, untouched.
import { decodeCbor, encodeCanonical } from '../encoding/cbor.js'
import { ChainlogError, ErrorCodes } from '../errors.js'
import { PreconditionFailed, type StorageEngine } from './engine.js'
import * as K from './keys.js'
import type { AnyLevel } from './level-engine.js'
import type { MigrationProgress } from './migrate.js'
import { storageError } from './open-errors.js'
import { platform } from '../platform/node.js'

/** The store layout version this code writes. Stores of formats 1 to 3 are migrated on open. */
export const STORE_FORMAT_VERSION = 4

/**
 * LevelDB's write buffer (memtable) for stores opened by path: 32 MiB instead of LevelDB's 4 MiB.
 * Fewer, larger level-0 flushes mean fewer compactions and write stalls under a stream of
 * ~20 KB turns (+20% relaxed appends in bench case 1). The cost is at open: LevelDB replays
 * its log into a memtable and writes it out, so a clean close flushes first (flushOnClose).
 */
export const WRITE_BUFFER_BYTES = 32 * 1024 * 1024

/** Open (or create) the LevelDB database of a store directory, or open a given abstract-level database. */
export async function openLevel(options: { path?: string; db?: AnyLevel }): Promise<AnyLevel> {
  const db = options.db
  // A directory is the host's business (classic-level under Node: store-dir.ts).
  if (!db) {
    if (!options.path) throw new TypeError('openStore needs a path or a db')
    return platform.openStoreDir(options.path)
  }
  try {
    if (db.status !== 'open') await db.open()
  } catch (err) {
    throw storageError(err, 'open', options.path)
  }
  return db
}

export interface FormatOptions {
  /** Migrate an older store on open (default true); false refuses it with CHAINLOG_UNSUPPORTED_VERSION. */
  migrate?: boolean
  /** Progress of a migration, after each step. */
  onMigrate?: (progress: MigrationProgress) => void
  /** For error messages. */
  path?: string
}

/** The version in a format row, or a typed error when the row is not one. */
export function parseFormatRow(raw: Uint8Array): { version: number; migrating?: number } {
  let row: unknown
  try {
    row = decodeCbor(raw)
  } catch {
    row = null
  }
  const r = row !== null && typeof row === 'object' ? (row as { version?: unknown; migrating?: unknown }) : {}
  const version = r.version
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    throw new ChainlogError(ErrorCodes.CORRUPT_STORE, 'the store format row is unreadable; is this a chainlog store?', { found: version ?? null })
  }
  return typeof r.migrating === 'number' ? { version, migrating: r.migrating } : { version }
}

/** Check (or write, on an empty store) the format row; migrate a format-1 store. */
export async function checkFormat(engine: StorageEngine, options: FormatOptions = {}): Promise<void> {
  let raw = await engine.get(K.formatKey())
  if (raw === undefined) {
    if (await isEmpty(engine)) {
      try {
        await engine.commit({ ops: [{ type: 'put', key: K.formatKey(), value: encodeCanonical({ version: STORE_FORMAT_VERSION }) }], expect: [{ key: K.formatKey(), value: undefined }], sync: true })
        return
      } catch (err) {
        if (!(err instanceof PreconditionFailed)) throw err
      }
    }
    // Rows, or a refused commit: another process sharing the database (PostgreSQL) may have
    // created the store since the row was read. Its format row is then checked like any other.
    raw = await engine.get(K.formatKey())
    if (raw === undefined) throw new ChainlogError(ErrorCodes.CORRUPT_STORE, 'the store has rows but no format row; is this a chainlog store?', { found: null })
  }
  const { version, migrating } = parseFormatRow(raw)
  if (version > STORE_FORMAT_VERSION) {
    throw new ChainlogError(ErrorCodes.UNSUPPORTED_VERSION, `store format version ${version} is newer than this chainlog reads (${STORE_FORMAT_VERSION})`, {
      found: version,
      supported: STORE_FORMAT_VERSION,
    })
  }
  if (version === STORE_FORMAT_VERSION && migrating === undefined) return
  if (options.migrate === false) {
    throw new ChainlogError(ErrorCodes.UNSUPPORTED_VERSION, `store format version ${version} must be migrated to ${STORE_FORMAT_VERSION} first (open it without migrate: false, or run chainlog migrate)`, {
      found: version,
      supported: STORE_FORMAT_VERSION,
      migrate: true,
    })
  }
  // An older store, or one whose migration was interrupted (it resumes where it stopped): each
  // step a store has not finished runs in turn (a format-1 store, or one stopped on its way to 2,
  // goes to 2 first, then to 3, then to 4).
  // The migrations are loaded only here: a store of the current format never needs them.
  if (version < 2 || (version === 2 && migrating !== undefined)) await (await import('./migrate.js')).migrateToV2(engine, options.onMigrate)
  if (version < 3 || (version === 3 && migrating !== undefined)) await (await import('./migrate-v3.js')).migrateToV3(engine, options.onMigrate)
  await (await import('./migrate-v4.js')).migrateToV4(engine, options.onMigrate)
}

async function isEmpty(engine: StorageEngine): Promise<boolean> {
  for await (const rows of engine.scan({ gte: new Uint8Array([0]), lt: new Uint8Array([0xff, 0xff]), limit: 1 }, 1)) if (rows.length > 0) return false
  return true
}
