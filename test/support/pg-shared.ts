// Vitest globalSetup (npm test): one throwaway PostgreSQL cluster for the whole run, for the
// suites that only need a database to write to (eachEngine in engines.ts: a schema per store).
// Starting a cluster costs ~2.4 s (initdb, pg_ctl start) and 16 files each started their own.
// Files that stop, restart or break the server (pg-engine faults, the connect race, the slow
// process races) keep clusters of their own (pg-file.ts, pg-cluster.ts).
import type { TestProject } from 'vitest/node'
import { startPgCluster } from './pg-cluster.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Connection string of the run's shared cluster (pg-shared.ts). */
    pgShared: string
  }
}

export default function setup(project: TestProject): () => void {
  const cluster = startPgCluster()
  project.provide('pgShared', cluster.connectionString)
  return () => cluster.destroy()
}
