// One suite, every engine: the lineage, verify, bundle, blob and gc suites run on memory-level,
// LevelDB (classic-level, a temp directory per store) and PostgreSQL (the run's shared cluster,
// pg-shared.ts, or where a config does not start one, a throwaway cluster per test file, started
// before the PostgreSQL block and destroyed after it; a schema per store),
// the way test/storage/contract.ts shares the store contract. A file wraps its tests in
// `eachEngine((engine, open) => { ... })`; `open(options)` makes a fresh, empty store on that
// engine, closed (and its directory removed) after each test.
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryLevel } from 'memory-level'
import { randomUUID } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, inject } from 'vitest'
import { Store } from '../../src/store.js'
import { startPgCluster, type PgCluster } from './pg-cluster.js'
import { closeStores, type MemStoreOptions } from './stores.js'

export type EngineName = 'memory-level' | 'classic-level' | 'postgresql'
export const ENGINES: readonly EngineName[] = ['memory-level', 'classic-level', 'postgresql']

/** Opens a fresh empty store on the block's engine (durability 'relaxed' unless `options` say otherwise). */
export type StoreOpener = (options?: MemStoreOptions) => Promise<Store>

let cluster: PgCluster | undefined
let users = 0
/** The run's shared cluster (pg-shared.ts), when the config started one. */
const shared: string | undefined = inject('pgShared')
/** Schema names unique across the files that share a cluster (each file counts from 1). */
const schemaPrefix = `t${randomUUID().replace(/-/g, '').slice(0, 10)}_`
let schemas = 0

/**
 * Run `body` once per engine, each in its own describe block named after the engine. The
 * PostgreSQL block shares one cluster for the file (wrap the whole file in one call, so it starts
 * once).
 */
/** Where a fresh store on an engine lives, as open options: a new MemoryLevel, a temp directory (pushed to `dirs`), a new schema. */
async function where(engine: EngineName, dirs: string[]): Promise<{ db: MemoryLevel } | { path: string } | { postgres: { connectionString: string; schema: string; pool: { max: number } } }> {
  if (engine === 'memory-level') return { db: new MemoryLevel() }
  if (engine === 'classic-level') {
    const dir = await mkdtemp(join(tmpdir(), 'chainlog-suite-'))
    dirs.push(dir)
    return { path: dir }
  }
  const connectionString = shared ?? cluster?.connectionString
  if (connectionString === undefined) throw new Error('the PostgreSQL cluster is not running (open stores inside tests)')
  return { postgres: { connectionString, schema: `${schemaPrefix}${++schemas}`, pool: { max: 4 } } }
}

/** For suites that open stores themselves (e.g. through the built dist/): where one goes, and closing it after the test. */
export interface EngineTools {
  where(): ReturnType<typeof where>
  track(store: { close(): Promise<void> }): void
}

export function eachEngine(body: (engine: EngineName, open: StoreOpener, tools: EngineTools) => void, engines: readonly EngineName[] = ENGINES): void {
  for (const engine of engines) {
    describe(`on ${engine}`, () => {
      const opened: Store[] = []
      const dirs: string[] = []
      if (engine === 'postgresql') {
        beforeAll(() => {
          if (users++ === 0 && shared === undefined) cluster = startPgCluster()
        })
        afterAll(async () => {
          await closeStores(opened, dirs)
          if (--users === 0) {
            cluster?.destroy()
            cluster = undefined
          }
        })
      }
      afterEach(() => closeStores(opened, dirs))
      const open: StoreOpener = async (options = {}) => {
        const store = await Store.open({ ...(await where(engine, dirs)), durability: 'relaxed', ...options })
        opened.push(store)
        return store
      }
      body(engine, open, {
        where: () => where(engine, dirs),
        track: (s) => void opened.push(s as Store),
      })
    })
  }
}

/**
 * Runs of a property test on `engine`: all `n` in memory, a fifth (at least 5) where each call is
 * real I/O (a LevelDB directory, a PostgreSQL round trip), so `npm test` stays quick.
 */
export const runsOn = (engine: EngineName, n: number): number => (engine === 'memory-level' ? n : Math.max(5, Math.ceil(n / 5)))
