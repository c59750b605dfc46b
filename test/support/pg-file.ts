// One throwaway PostgreSQL cluster for a whole test file (pg-cluster.ts), with an admin pool for
// looking at and changing the database behind the code under test. Kept
// apart from pg-cluster.ts, which the bench also loads and which must not import vitest.
import pg from 'pg'
import { afterAll, beforeAll } from 'vitest'
import { startPgCluster, type PgCluster } from './pg-cluster.js'
import { stopChildren, type Child } from './processes.js'

export interface PgFile {
  readonly cluster: PgCluster
  readonly admin: pg.Pool
}

/**
 * Start the cluster before the file's tests and destroy it after them (call at the top level).
 * `children`: processes the tests start against it, stopped before the cluster goes.
 */
export function pgClusterForFile(options: { adminConnections?: number; children?: Child[] } = {}): PgFile {
  let cluster: PgCluster | undefined
  let admin: pg.Pool | undefined
  beforeAll(() => {
    cluster = startPgCluster()
    admin = new pg.Pool({ connectionString: cluster.connectionString, max: options.adminConnections ?? 2 })
    // A test that terminates backends or restarts the server breaks idle admin connections too.
    admin.on('error', () => undefined)
  })
  afterAll(async () => {
    if (options.children) await stopChildren(options.children)
    await admin?.end()
    cluster?.destroy()
  })
  return {
    get cluster() {
      if (!cluster) throw new Error('the PostgreSQL cluster is started in beforeAll')
      return cluster
    },
    get admin() {
      if (!admin) throw new Error('the PostgreSQL cluster is started in beforeAll')
      return admin
    },
  }
}
