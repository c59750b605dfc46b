// The CLI on a store in PostgreSQL: --store takes a postgres:// URL (or $CHAINLOG_STORE does),
// and the commands work as on a directory. On a database of its own in the run's shared cluster
// (test/support/pg-file.ts).
import { describe, expect, it } from 'vitest'
import { openStore } from '../../src/open.js'
import { pgDatabaseForFile } from '../support/pg-file.js'
import { chainlog, chainlogJson } from './helpers.js'

const pgf = pgDatabaseForFile()

describe('chainlog --store postgres://…', () => {
  it('init, then ls, stats, tree, log, verify and export read what the library wrote', async () => {
    const url = await pgf.database()
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
    // stats: one pass over the records and the ledger, as on LevelDB.
    const stats = await chainlogJson(['stats', '--store', url])
    expect(stats).toMatchObject({ scope: 'store', sessions: 1, entries: 4 })
    expect(Object.keys(stats.byKind)).toEqual(['session_start', 'user_input', 'assistant_items', 'turn_end'])
    const tree = await chainlog(['tree', '--store', url])
    expect(tree.stdout).toMatch(/^pg-one {2}4 entries {2}"hello from postgres"\n$/)
    const verify = await chainlog(['verify', '--all', '--store', url])
    expect(verify.code, verify.stderr).toBe(0)
    // $CHAINLOG_STORE names it too.
    const log = await chainlog(['log', 'pg-one'], { env: { CHAINLOG_STORE: url } })
    expect(log.code, log.stderr).toBe(0)
    expect(log.stdout).toContain('hello from postgres')
  })
})
