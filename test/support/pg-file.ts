// One throwaway PostgreSQL cluster for a whole test file (pg-cluster.ts), or the run's shared one
// for a file that only needs a database, with an admin pool for looking at and changing the
// database behind the code under test. Kept
// apart from pg-cluster.ts, which the bench also loads and which must not import vitest.
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, inject } from 'vitest'
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

export interface PgDatabase {
  /** Connection string of the `postgres` database of the cluster the file uses. */
  readonly connectionString: string
  readonly admin: pg.Pool
  /** A schema name no other file on the cluster uses: `name` after this file's prefix. */
  schema(name: string): string
  /** A new, empty database of the cluster, for code that writes to a database's default schema; its connection string. */
  database(): Promise<string>
}

/**
 * For a file whose tests only need a database to write to (they never stop, restart or break the
 * server): the run's shared cluster (pg-shared.ts), or, where the config starts none, a cluster
 * of the file's own. Starting a cluster costs ~2.4 s of initdb and pg_ctl. Schemas (and
 * databases) get a prefix unique to the file, as eachEngine's do, since other files share the
 * cluster. Call at the top level.
 */
export function pgDatabaseForFile(options: { adminConnections?: number; children?: Child[] } = {}): PgDatabase {
  const shared = inject('pgShared')
  const prefix = `f${randomUUID().replace(/-/g, '').slice(0, 10)}_`
  let own: PgCluster | undefined
  let url: string | undefined
  let admin: pg.Pool | undefined
  let databases = 0
  beforeAll(() => {
    if (shared === undefined) own = startPgCluster()
    url = shared ?? own!.connectionString
    admin = new pg.Pool({ connectionString: url, max: options.adminConnections ?? 2 })
    admin.on('error', () => undefined)
  })
  afterAll(async () => {
    if (options.children) await stopChildren(options.children)
    await admin?.end()
    own?.destroy()
  })
  const ready = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('the PostgreSQL database is set up in beforeAll')
    return v
  }
  return {
    get connectionString() {
      return ready(url)
    },
    get admin() {
      return ready(admin)
    },
    schema: (name) => `${prefix}${name}`,
    async database() {
      const name = `${prefix}db${++databases}`
      await ready(admin).query(`CREATE DATABASE ${name}`)
      // pg-cluster.ts's form: postgresql://postgres@/<database>?host=<socket dir>&port=…
      const at = ready(url).replace('@/postgres?', `@/${name}?`)
      if (at === url) throw new Error(`no database name to replace in ${url}`)
      return at
    },
  }
}
