// The CLI on a store in PostgreSQL: --store takes a postgres:// URL (or $CHAINLOG_STORE does),
// and the commands work as on a directory. The server is a throwaway cluster this file starts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStore } from '../../src/open.js'
import { startPgCluster, type PgCluster } from '../support/pg-cluster.js'
import { chainlog, chainlogJson } from './helpers.js'

let cluster: PgCluster
beforeAll(() => {
  cluster = startPgCluster()
})
afterAll(() => cluster?.destroy())

describe('chainlog --store postgres://…', () => {
  it('init, then ls, log, verify and export read what the library wrote', async () => {
    const url = cluster.connectionString
    const init = await chainlog(['init', '--store', url])
    expect(init.code, init.stderr).toBe(0)
    expect(init.stdout).toMatch(/ready on PostgreSQL/)
    const store = await openStore({ postgres: { connectionString: url } })
    try {
      await store.createSession({ sessionId: 'pg-one', ts: 1_700_000_000_000 })
      await store.appendTurn('pg-one', [{ role: 'user', content: 'hello from postgres' }, { role: 'assistant', content: 'hi' }], { ts: 1_700_000_000_001, turnEnd: true })
    } finally {
      await store.close()
    }
    const { sessions } = await chainlogJson<{ sessions: { sessionId: string; length: number; firstUserMessage?: string }[] }>(['ls', '--json', '--store', url])
    expect(sessions).toEqual([expect.objectContaining({ sessionId: 'pg-one', length: 4, firstUserMessage: 'hello from postgres' })])
    const verify = await chainlog(['verify', '--all', '--store', url])
    expect(verify.code, verify.stderr).toBe(0)
    // $CHAINLOG_STORE names it too.
    const log = await chainlog(['log', 'pg-one'], { env: { CHAINLOG_STORE: url } })
    expect(log.code, log.stderr).toBe(0)
    expect(log.stdout).toContain('hello from postgres')
  })
})
