// The storage-engine contract (engine-contract.ts) on PgEngine against a real PostgreSQL server
// that this file starts (test/support/pg-cluster.ts), and what only a shared SQL server shows:
// several engines (separate pools, so separate connections, as separate processes would have)
// racing compare-and-set on one key, the schema's version, concurrent first opens, a connection
// killed mid-commit, a server that is down, and a server restart.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPgEngine, type PgEngine } from '../../src/storage/pg-engine.js'
import { startPgCluster, type PgCluster } from '../support/pg-cluster.js'
import { engineContract } from './engine-contract.js'

let cluster: PgCluster
let admin: pg.Pool
let schemas = 0

beforeAll(() => {
  cluster = startPgCluster()
  admin = new pg.Pool({ connectionString: cluster.connectionString, max: 2 })
  admin.on('error', () => undefined)
})
afterAll(async () => {
  await admin?.end()
  cluster?.destroy()
})

const newSchema = () => `t${++schemas}`

async function open(schema = newSchema(), options: Partial<Parameters<typeof openPgEngine>[0]> = {}): Promise<PgEngine> {
  return openPgEngine({ connectionString: cluster.connectionString, schema, pool: { max: 4 }, ...options })
}

engineContract('postgresql', async () => {
  const schema = newSchema()
  const engine = await open(schema)
  return {
    engine,
    batches: () => engine.stats.transactions,
    cleanup: async () => {
      await engine.close()
      await admin.query(`DROP SCHEMA ${schema} CASCADE`)
    },
  }
})
