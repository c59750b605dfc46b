// Sessions moved between engines through bundles: written to a LevelDB store, exported, imported
// into a PostgreSQL store (on the run's shared cluster, test/support/pg-file.ts), verified there, exported again
// and imported into a new LevelDB store. Every hop keeps the session ids, entry hashes, heads,
// blobs and usage totals, and the signed checkpoints each bundle carries verify on import.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openStore } from '../../src/open.js'
import { generateKeyPair } from '../../src/proofs/note.js'
import type { Store } from '../../src/store.js'
import { exportToMemory } from '../support/bundle-bytes.js'
import { pgDatabaseForFile } from '../support/pg-file.js'
import { sha } from '../support/proofs.js'
import { WORLD, buildWorld, snapshotStore } from '../support/store-world.js'

const LOG = generateKeyPair('chainlog.test/copy-bundles', { seed: sha('copy bundles log key') })

const pgf = pgDatabaseForFile()
const dirs: string[] = []
afterAll(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

async function levelStore(): Promise<Store> {
  const dir = await mkdtemp(join(tmpdir(), 'chainlog-copy-bundles-'))
  dirs.push(dir)
  return openStore({ path: join(dir, 'store'), exclusive: true, durability: 'relaxed', signingKey: LOG.signerKey })
}

/**
 * Export every session of `from` and import it into `to`; the checkpoints must verify with the log
 * key. Every session, not only the leaves: a fork's bundle carries its source up to the fork point
 * only, and a compaction's carries none of its source (its genesis holds the history it needs).
 */
async function move(from: Store, to: Store): Promise<void> {
  for (const { sessionId: id } of await from.listSessions()) {
    const { bytes, result } = await exportToMemory(from, id, { signingKey: LOG.signerKey })
    expect(result.sessions.every((s) => s.checkpoint !== undefined)).toBe(true)
    const imported = await to.importBundle(bytes, { keys: [LOG.verifierKey] })
    expect(imported.report.ok).toBe(true)
    expect(imported.sessions.every((s) => s.checkpoint !== undefined)).toBe(true)
  }
}

describe('export and import between LevelDB and PostgreSQL', () => {
  it('LevelDB -> PostgreSQL -> LevelDB keeps ids, hashes, heads, blobs and usage', async () => {
    const first = await levelStore()
    const pgStore = await openStore({ postgres: { connectionString: pgf.connectionString, schema: pgf.schema('bundles') }, durability: 'sync', signingKey: LOG.signerKey })
    const last = await levelStore()
    try {
      await buildWorld(first)
      const before = await snapshotStore(first)
      // What the world is made of, so a snapshot that compares equal compares something.
      expect(before.sessions.map((s) => s.sessionId)).toEqual([WORLD.compacted, WORLD.forkOfFork, WORLD.fork, WORLD.materialized, WORLD.a, WORLD.b].sort())
      expect(Object.keys(before.blobs).length).toBeGreaterThanOrEqual(5)
      expect(Object.keys(before.storeUsage).sort()).toEqual(['model-a', 'model-b'])

      await move(first, pgStore)
      expect((await pgStore.verify()).ok).toBe(true)
      expect(await snapshotStore(pgStore)).toEqual(before)
      // Lineage survives the move: the fork of a fork still restores through both sources.
      expect((await pgStore.lineage(WORLD.forkOfFork)).ancestors.map((a) => a.sessionId)).toEqual([WORLD.fork, WORLD.a])
      expect(await pgStore.restore(WORLD.forkOfFork)).toEqual(await first.restore(WORLD.forkOfFork))

      await move(pgStore, last)
      expect((await last.verify()).ok).toBe(true)
      expect(await snapshotStore(last)).toEqual(before)
      expect(await last.restore(WORLD.compacted)).toEqual(await first.restore(WORLD.compacted))

      // Importing the same bundles again adds nothing on either engine.
      for (const { sessionId: id } of await first.listSessions()) {
        const { bytes } = await exportToMemory(first, id)
        expect((await pgStore.importBundle(bytes)).entriesAdded).toBe(0)
      }
      expect(await snapshotStore(pgStore)).toEqual(before)
    } finally {
      await first.close()
      await pgStore.close()
      await last.close()
    }
  })
})
