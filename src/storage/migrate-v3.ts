// Migration of a store from format 2 to format 3 (docs/storage.md, section 11). Format 3 keeps a
// session's Merkle tree rows (`T`) only at the leaves that complete a node of level 3 or above
// (leaf mod 8 = 7, tree.ts); format 2 kept one at every odd leaf. A row format 3 keeps holds the
// same bytes in both formats, so the migration only deletes the others. Nothing else changes.
//
// Crash safety: the first commit sets the format row to `{ version: 3, migrating: 2 }`, so a
// chainlog that reads format 2 refuses the store from then on (it would take the missing rows
// for damage) and this code knows to resume. Then the rows format 3 does not keep are deleted,
// `chunk` per commit, in one scan of `T`: format 3's readers never ask for them, so a crash part
// way leaves a store that reads and verifies as format 3 already, and the resumed run deletes
// what is left. The last commit sets `{ version: 3 }`, durably.
import type { BatchOp, StorageEngine } from './engine.js'
import * as K from './keys.js'
import type { MigrationProgress } from './migrate.js'
import { MigrationMarker } from './migration-marker.js'
import { hasRow } from './tree.js'

/** T rows deleted per commit. */
export const TREE_MIGRATION_CHUNK = 8192

/** Migrate a format-2 store to format 3 (or resume an interrupted migration). */
export async function migrateToV3(engine: StorageEngine, onProgress?: (p: MigrationProgress) => void, chunk = TREE_MIGRATION_CHUNK): Promise<MigrationProgress> {
  // Another process sharing the database (PostgreSQL) may have started the same migration
  // first: this one carries on beside it (deleting a row twice is harmless), or stops once it
  // has finished.
  const step = new MigrationMarker(engine, 2, 3)
  if (!(await step.begin())) return { done: 0, total: 0, orphansRemoved: 0, from: 2 }
  // Progress counts tree rows: those looked at, of all the store holds.
  const progress: MigrationProgress = { done: 0, total: await countTreeRows(engine), orphansRemoved: 0, from: 2 }
  const report = () => {
    if (progress.total > 0) onProgress?.({ ...progress })
  }
  report()
  let ops: BatchOp[] = []
  for await (const rows of engine.scan(K.tableRange(K.TAG.tree), 1024, 65_536)) {
    for (const [key] of rows) {
      progress.done++
      if (!hasRow(K.readU64(key, key.length - 8))) ops.push({ type: 'del', key })
      if (ops.length >= chunk) {
        // Finished by another process meanwhile: its deletes covered the rest.
        if (!(await step.commit(ops))) return progress
        ops = []
        report()
      }
    }
  }
  // (Finished by another process first: its deletes covered these rows too.)
  await step.finish(ops)
  report()
  return progress
}

async function countTreeRows(engine: StorageEngine): Promise<number> {
  let n = 0
  for await (const rows of engine.scan(K.tableRange(K.TAG.tree), 1024, 65_536)) n += rows.length
  return n
}
