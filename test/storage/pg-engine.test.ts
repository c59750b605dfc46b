// The storage-engine contract (engine-contract.ts) on PgEngine against a real PostgreSQL server
// that this file starts (test/support/pg-cluster.ts), and what only a shared SQL server shows:
// several engines (separate pools, so separate connections, as separate processes would have)
// racing compare-and-set on one key, the schema's version, concurrent first opens, a connection
// killed mid-commit, a server that is down, and a server restart.
import net from 'node:net'
import { describe, expect, it } from 'vitest'
import { ChainlogError, ErrorCodes } from '../../src/errors.js'
import { PreconditionFailed } from '../../src/storage/engine.js'
import { fnv1a32, openPgEngine, pgLockIds, PG_SCHEMA_VERSION, type PgEngine } from '../../src/storage/pg-engine.js'
import { findPgBin } from '../support/pg-cluster.js'
import { pgClusterForFile } from '../support/pg-file.js'
import { engineContract } from './engine-contract.js'

const pgf = pgClusterForFile()

let schemas = 0


const newSchema = () => `t${++schemas}`

async function open(schema = newSchema(), options: Partial<Parameters<typeof openPgEngine>[0]> = {}): Promise<PgEngine> {
  return openPgEngine({ connectionString: pgf.cluster.connectionString, schema, pool: { max: 4 }, ...options })
}

engineContract('postgresql', async () => {
  const schema = newSchema()
  const engine = await open(schema)
  return {
    engine,
    batches: () => engine.stats.transactions,
    cleanup: async () => {
      await engine.close()
      await pgf.admin.query(`DROP SCHEMA ${schema} CASCADE`)
    },
  }
})

const k = (s: string) => new TextEncoder().encode(s)
const str = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b))
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The rejection of `p` (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<ChainlogError> {
  const r = await Promise.allSettled([p])
  if (r[0]!.status === 'fulfilled') throw new Error('expected a rejection')
  return r[0]!.reason as ChainlogError
}

/** Poll `fn` until it returns something, or fail after `ms`. */
async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

/** The pid of a backend of `app` that waits on `waitEvent` (e.g. a lock, or SyncRep). */
async function waitingBackend(app: string, waitEvent: string): Promise<number> {
  return until(`a ${app} backend waiting on ${waitEvent}`, async () => {
    const r = await pgf.admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND (wait_event = $2 OR wait_event_type = $2)', [app, waitEvent])
    return r.rows[0]?.pid
  })
}

async function setSystem(name: string, value: string | undefined): Promise<void> {
  await pgf.admin.query(value === undefined ? `ALTER SYSTEM RESET ${name}` : `ALTER SYSTEM SET ${name} = '${value}'`)
  await pgf.admin.query('SELECT pg_reload_conf()')
  // pg_reload_conf only signals: wait until a new session sees the value.
  await until(`${name} to take effect`, async () => {
    const r = await pgf.admin.query<{ v: string }>(`SELECT current_setting('${name}') AS v`)
    return r.rows[0]!.v === (value ?? '') ? true : undefined
  })
}

// Key order (bytea compares bytewise, unsigned) is pinned by the contract suite above.
describe('PgEngine: keys and values', () => {
  it('stores values exactly as given: every byte value, empty, and 2 MiB', async () => {
    const e = await open()
    const every = Uint8Array.from({ length: 512 }, (_, i) => i % 256)
    const big = new Uint8Array(2 * 1024 * 1024)
    for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24
    await e.commit({ ops: [{ type: 'put', key: k('every'), value: every }, { type: 'put', key: k('empty'), value: new Uint8Array(0) }, { type: 'put', key: k('big'), value: big }] })
    expect(Buffer.from((await e.get(k('every')))!).equals(Buffer.from(every))).toBe(true)
    expect((await e.get(k('empty')))!.length).toBe(0)
    expect(Buffer.from((await e.get(k('big')))!).equals(Buffer.from(big))).toBe(true)
    // What the table holds, read by another client, is the same bytes.
    const r = await pgf.admin.query<{ key: Buffer; value: Buffer }>(`SELECT key, value FROM ${e.schema}.kv ORDER BY key`)
    expect(r.rows.map((row) => [row.key.toString(), row.value.length])).toEqual([['big', big.length], ['empty', 0], ['every', 512]])
    expect(r.rows[2]!.value.equals(Buffer.from(every))).toBe(true)
    // Big writes go as binary parameters (small ones inline as hex): deletes ride along either way.
    await e.commit({ ops: [{ type: 'del', key: k('every') }, { type: 'put', key: k('big2'), value: big.subarray(0, 300_000) }, { type: 'del', key: k('empty') }] })
    expect(await e.getMany([k('every'), k('empty')])).toEqual([undefined, undefined])
    expect(Buffer.from((await e.get(k('big2')))!).equals(Buffer.from(big.subarray(0, 300_000)))).toBe(true)
    await e.close()
  })

  it('a commit that puts and deletes the same key ends with its last op, and deletes of absent rows are no-ops', async () => {
    const e = await open()
    await e.commit({ ops: [{ type: 'put', key: k('a'), value: k('1') }, { type: 'del', key: k('a') }, { type: 'put', key: k('b'), value: k('1') }, { type: 'put', key: k('b'), value: k('2') }, { type: 'del', key: k('nothing') }] })
    expect(await e.get(k('a'))).toBeUndefined()
    expect(str(await e.get(k('b')))).toBe('2')
    await e.close()
  })
})

describe('PgEngine: several engines on one database (separate pools: separate connections, as separate processes)', () => {
  it('compare-and-set races: of the engines expecting the same head, exactly one wins each round', async () => {
    const schema = newSchema()
    const engines = await Promise.all(Array.from({ length: 6 }, () => open(schema)))
    await engines[0]!.commit({ ops: [{ type: 'put', key: k('head'), value: k('0') }] })
    for (let round = 0; round < 40; round++) {
      const results = await Promise.allSettled(
        engines.map((e, i) =>
          e.commit({ ops: [{ type: 'put', key: k('head'), value: k(String(round + 1)) }, { type: 'put', key: k(`entry/${round}`), value: k(String(i)) }], expect: [{ key: k('head'), value: k(String(round)) }] }),
        ),
      )
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []))
      expect(won, `round ${round}`).toHaveLength(1)
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(PreconditionFailed)
      expect(str(await engines[3]!.get(k(`entry/${round}`)))).toBe(String(won[0]))
    }
    expect(str(await engines[5]!.get(k('head')))).toBe('40')
    await Promise.all(engines.map((e) => e.close()))
  })

  it('no lost update: engines incrementing one counter by compare-and-set, retrying on refusal, count every increment once', async () => {
    const schema = newSchema()
    const engines = await Promise.all(Array.from({ length: 4 }, () => open(schema)))
    await engines[0]!.commit({ ops: [{ type: 'put', key: k('n'), value: k('0') }] })
    const perWriter = 25
    const landed: number[][] = engines.map(() => [])
    // Two writers per engine: each engine also orders its own commits, the database orders the engines'.
    await Promise.all(
      engines.flatMap((e, i) =>
        [0, 1].map(async () => {
          for (let done = 0; done < perWriter; ) {
            const n = Number(str(await e.get(k('n'))))
            try {
              await e.commit({ ops: [{ type: 'put', key: k('n'), value: k(String(n + 1)) }, { type: 'put', key: k(`log/${String(n + 1).padStart(4, '0')}`), value: k(String(i)) }], expect: [{ key: k('n'), value: k(String(n)) }] })
              landed[i]!.push(n + 1)
              done++
            } catch (err) {
              if (!(err instanceof PreconditionFailed)) throw err
            }
          }
        }),
      ),
    )
    const total = engines.length * 2 * perWriter
    expect(str(await engines[0]!.get(k('n')))).toBe(String(total))
    const log: string[] = []
    for await (const rows of engines[1]!.scan({ gte: k('log/'), lt: k('log0') }, 64)) for (const [key, value] of rows) log.push(`${str(key)}=${str(value)}`)
    expect(log).toHaveLength(total)
    // Every number 1..total was taken by exactly the engine that was told it landed.
    const expected = landed.flatMap((ns, i) => ns.map((n) => `log/${String(n).padStart(4, '0')}=${i}`)).sort()
    expect(log).toEqual(expected)
    await Promise.all(engines.map((e) => e.close()))
  })

  it('"expected absent" races: of engines creating the same row, exactly one wins; the others are refused, not a unique violation', async () => {
    const schema = newSchema()
    const engines = await Promise.all(Array.from({ length: 6 }, () => open(schema)))
    for (let round = 0; round < 30; round++) {
      const results = await Promise.allSettled(engines.map((e, i) => e.commit({ ops: [{ type: 'put', key: k(`new/${round}`), value: k(String(i)) }], expect: [{ key: k(`new/${round}`), value: undefined }] })))
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []))
      expect(won, `round ${round}`).toHaveLength(1)
      for (const r of results) {
        if (r.status === 'rejected') {
          expect(r.reason).toBeInstanceOf(PreconditionFailed)
          expect(str((r.reason as PreconditionFailed).actual)).toBe(String(won[0]))
        }
      }
    }
    await Promise.all(engines.map((e) => e.close()))
  })

  it('no write skew: "x absent, write y" racing "y absent, write x" never both land', async () => {
    const schema = newSchema()
    const [a, b] = await Promise.all([open(schema), open(schema)])
    let both = 0
    let one = 0
    for (let round = 0; round < 40; round++) {
      const x = k(`x/${round}`)
      const y = k(`y/${round}`)
      const results = await Promise.allSettled([
        a!.commit({ ops: [{ type: 'put', key: y, value: k('a') }], expect: [{ key: x, value: undefined }] }),
        b!.commit({ ops: [{ type: 'put', key: x, value: k('b') }], expect: [{ key: y, value: undefined }] }),
      ])
      const landed = results.filter((r) => r.status === 'fulfilled').length
      if (landed === 2) both++
      if (landed === 1) one++
      expect(landed).toBeGreaterThanOrEqual(1)
    }
    expect(both).toBe(0)
    expect(one).toBe(40)
    await Promise.all([a!.close(), b!.close()])
  })

  it('an unconditional write racing a compare-and-set of the same row is ordered before or after it, never lost in between', async () => {
    const schema = newSchema()
    const [a, b] = await Promise.all([open(schema), open(schema)])
    for (let round = 0; round < 40; round++) {
      const key = k(`r/${round}`)
      await a!.commit({ ops: [{ type: 'put', key, value: k('v0') }] })
      const [cas, blind] = await Promise.allSettled([
        a!.commit({ ops: [{ type: 'put', key, value: k('cas') }], expect: [{ key, value: k('v0') }] }),
        b!.commit({ ops: [{ type: 'put', key, value: k('blind') }] }),
      ])
      expect(blind.status).toBe('fulfilled')
      const final = str(await a!.get(key))
      // CAS then blind: 'blind'. Blind then CAS: the CAS is refused, 'blind'. Never 'cas' after a landed CAS that followed the blind write.
      if (cas.status === 'fulfilled') expect(final).toBe('blind')
      else {
        expect(cas.reason).toBeInstanceOf(PreconditionFailed)
        expect(final).toBe('blind')
      }
    }
    await Promise.all([a!.close(), b!.close()])
  })
})

describe('PgEngine: schema', () => {
  it('creates its schema at the current version, recorded in chainlog_migrations', async () => {
    const schema = newSchema()
    const e = await open(schema)
    const r = await pgf.admin.query<{ version: number; description: string }>(`SELECT version, description FROM ${schema}.chainlog_migrations ORDER BY version`)
    expect(r.rows.map((row) => row.version)).toEqual(Array.from({ length: PG_SCHEMA_VERSION }, (_, i) => i + 1))
    const cols = await pgf.admin.query<{ column_name: string; data_type: string; is_nullable: string }>(
      "SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'kv' ORDER BY ordinal_position",
      [schema],
    )
    expect(cols.rows).toEqual([
      { column_name: 'key', data_type: 'bytea', is_nullable: 'NO' },
      { column_name: 'value', data_type: 'bytea', is_nullable: 'NO' },
    ])
    await e.close()
    // Opening again finds it current and changes nothing.
    const again = await open(schema)
    expect((await pgf.admin.query(`SELECT 1 FROM ${schema}.chainlog_migrations`)).rowCount).toBe(PG_SCHEMA_VERSION)
    await again.close()
  })

  it('brings a version-1 schema (as the first release laid it out, with rows) to the current version on open, rows kept', async () => {
    const schema = newSchema()
    // Version 1 as the first release created it: the kv table and the migrations row, no function.
    await pgf.admin.query(`CREATE SCHEMA ${schema}`)
    await pgf.admin.query(`CREATE TABLE ${schema}.chainlog_migrations (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`)
    await pgf.admin.query(`CREATE TABLE ${schema}.kv (key bytea PRIMARY KEY, value bytea NOT NULL)`)
    await pgf.admin.query(`ALTER TABLE ${schema}.kv ALTER COLUMN value SET STORAGE EXTERNAL`)
    await pgf.admin.query(`INSERT INTO ${schema}.chainlog_migrations (version, description) VALUES (1, 'kv')`)
    await pgf.admin.query(`INSERT INTO ${schema}.kv (key, value) VALUES ($1, $2), ($3, $4)`, [Buffer.from('head'), Buffer.from('h1'), Buffer.from('old'), Buffer.from('kept')])
    const e = await open(schema)
    const r = await pgf.admin.query<{ version: number }>(`SELECT version FROM ${schema}.chainlog_migrations ORDER BY version`)
    expect(r.rows.map((row) => row.version)).toEqual(Array.from({ length: PG_SCHEMA_VERSION }, (_, i) => i + 1))
    expect(str(await e.get(k('old')))).toBe('kept')
    // The migrated schema takes commits, preconditions included, through the current commit path.
    await e.commit({ ops: [{ type: 'put', key: k('head'), value: k('h2') }], expect: [{ key: k('head'), value: k('h1') }] })
    await expect(e.commit({ ops: [{ type: 'put', key: k('head'), value: k('h3') }], expect: [{ key: k('head'), value: k('h1') }] })).rejects.toBeInstanceOf(PreconditionFailed)
    expect(str(await e.get(k('head')))).toBe('h2')
    await e.close()
  })

  it('refuses a schema newer than it knows with CHAINLOG_UNSUPPORTED_VERSION, touching nothing', async () => {
    const schema = newSchema()
    const e = await open(schema)
    await e.commit({ ops: [{ type: 'put', key: k('a'), value: k('1') }] })
    await e.close()
    await pgf.admin.query(`INSERT INTO ${schema}.chainlog_migrations (version, description) VALUES ($1, 'from the future')`, [PG_SCHEMA_VERSION + 1])
    const err = await rejection(open(schema, { pool: { application_name: 'chainlog-refused' } }))
    expect(err).toBeInstanceOf(ChainlogError)
    expect(err.code).toBe(ErrorCodes.UNSUPPORTED_VERSION)
    expect(err.data).toEqual({ found: PG_SCHEMA_VERSION + 1, supported: PG_SCHEMA_VERSION })
    expect((await pgf.admin.query(`SELECT key FROM ${schema}.kv`)).rowCount).toBe(1)
    // The refused open closed its pool: its connection goes (the server notices the disconnect a moment later).
    await until('the refused open to leave no connection', async () => {
      const left = await pgf.admin.query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'chainlog-refused'")
      return left.rowCount === 0 ? true : undefined
    }, 5000)
  })

  it('many first opens of a new schema at once: one creates it, all open it, none fails', async () => {
    const schema = newSchema()
    const engines = await Promise.all(Array.from({ length: 8 }, () => open(schema, { pool: { max: 2 } })))
    expect((await pgf.admin.query(`SELECT version FROM ${schema}.chainlog_migrations`)).rowCount).toBe(PG_SCHEMA_VERSION)
    await engines[0]!.commit({ ops: [{ type: 'put', key: k('seen'), value: k('yes') }] })
    for (const e of engines) expect(str(await e.get(k('seen')))).toBe('yes')
    await Promise.all(engines.map((e) => e.close()))
  })

  it('refuses a schema name that is not a plain lower-case identifier, before connecting', async () => {
    for (const schema of ['Upper', 'a-b', 'x"; DROP TABLE y; --', '', '1abc']) {
      const err = await rejection(openPgEngine({ connectionString: pgf.cluster.connectionString, schema }))
      expect(err.code).toBe(ErrorCodes.INVALID_ARGUMENT)
    }
  })
})

describe('PgEngine: locks and groups', () => {
  it('splits a group whose keys would need more than maxLocks locks; a single commit above it takes the schema-wide lock', async () => {
    const e = await open(newSchema(), { maxLocks: 4 })
    const before = e.stats.transactions
    await Promise.all(Array.from({ length: 10 }, (_, i) => e.commit({ ops: [{ type: 'put', key: k(`p/${i}`), value: k('x') }], expect: [{ key: k(`q/${i}`), value: undefined }] })))
    // 10 commits of 2 keys each, at most 4 locks a transaction: at least 5 transactions.
    expect(e.stats.transactions - before).toBeGreaterThanOrEqual(5)
    expect(e.stats.escalated).toBe(0)
    await e.commit({ ops: Array.from({ length: 50 }, (_, i) => ({ type: 'put' as const, key: k(`big/${i}`), value: k('y') })) })
    expect(e.stats.escalated).toBe(1)
    let n = 0
    for await (const rows of e.scan({ gte: k('big/'), lt: k('big0') })) n += rows.length
    expect(n).toBe(50)
    await e.close()
  })

  it('a commit waits for another connection holding the advisory lock of one of its keys, and is checked after it', async () => {
    const schema = newSchema()
    const e = await open(schema)
    await e.commit({ ops: [{ type: 'put', key: k('head'), value: k('h0') }] })
    const holder = await pgf.admin.connect()
    try {
      const { keyNamespace } = pgLockIds(schema)
      await holder.query('BEGIN')
      await holder.query('SELECT pg_advisory_xact_lock($1, $2)', [keyNamespace, fnv1a32(k('head'))])
      // Another process's transaction changes the head while holding the lock, as a PgEngine would.
      await holder.query(`UPDATE ${schema}.kv SET value = 'h1' WHERE key = 'head'`)
      let settled = false
      const p = rejection(e.commit({ ops: [{ type: 'put', key: k('head'), value: k('mine') }], expect: [{ key: k('head'), value: k('h0') }] }).finally(() => (settled = true)))
      await waitingBackend('chainlog', 'advisory')
      expect(settled).toBe(false)
      await holder.query('COMMIT')
      const err = await p
      expect(err).toBeInstanceOf(PreconditionFailed)
      expect(str((err as unknown as PreconditionFailed).actual)).toBe('h1')
    } finally {
      holder.release()
    }
    await e.close()
  })
})

describe('PgEngine: round trips', () => {
  /** An engine whose connections count the queries they send (pg.Pool with a Client of our own). */
  async function counted(schema = newSchema()): Promise<{ e: PgEngine; queries: string[] }> {
    const queries: string[] = []
    const pg = ((await import('pg')) as unknown as { default: typeof import('pg') }).default
    class CountingClient extends pg.Client {
      override query(...args: unknown[]): never {
        const q = args[0] as string | { text: string }
        queries.push(typeof q === 'string' ? q : q.text)
        return (super.query as (...a: unknown[]) => never)(...args)
      }
    }
    class CountingPool extends pg.Pool {
      constructor(options: object) {
        super({ ...options, Client: CountingClient })
      }
    }
    const e = await open(schema, { loadPg: async () => ({ ...pg, Pool: CountingPool }) })
    return { e, queries }
  }

  it('a commit with preconditions, puts and deletes is one query to the server, and so is a group of 16', async () => {
    const { e, queries } = await counted()
    await e.commit({ ops: [{ type: 'put', key: k('head'), value: k('h0') }, { type: 'put', key: k('gone'), value: k('x') }] })
    queries.length = 0
    await e.commit({
      ops: [{ type: 'put', key: k('head'), value: k('h1') }, { type: 'put', key: k('rec/1'), value: new Uint8Array(20_000).fill(7) }, { type: 'del', key: k('gone') }],
      expect: [{ key: k('head'), value: k('h0') }, { key: k('rec/1'), value: undefined }],
      sync: true,
    })
    expect(queries).toHaveLength(1)
    expect(queries[0]).toMatch(/chainlog_commit/)
    expect(str(await e.get(k('head')))).toBe('h1')
    expect(await e.get(k('gone'))).toBeUndefined()
    expect((await e.get(k('rec/1')))!.length).toBe(20_000)
    // 16 commits made at once: at most 2 transactions (the first alone, the rest grouped), a query each.
    queries.length = 0
    const before = e.stats.transactions
    await Promise.all(Array.from({ length: 16 }, (_, i) => e.commit({ ops: [{ type: 'put', key: k(`s/${i}`), value: k('1') }], expect: [{ key: k(`s/${i}`), value: undefined }], sync: true })))
    expect(e.stats.transactions - before).toBeLessThanOrEqual(2)
    expect(queries).toHaveLength(e.stats.transactions - before)
    await e.close()
  })

  it('a refused commit is one query and writes nothing; in a group the others still land, each checked after the ones before it', async () => {
    const { e, queries } = await counted()
    await e.commit({ ops: [{ type: 'put', key: k('n'), value: k('0') }] })
    queries.length = 0
    const before = e.stats.transactions
    const err = await rejection(e.commit({ ops: [{ type: 'put', key: k('n'), value: k('9') }], expect: [{ key: k('other'), value: undefined }, { key: k('n'), value: k('5') }] }))
    expect(err).toBeInstanceOf(PreconditionFailed)
    expect((err as unknown as PreconditionFailed).index).toBe(1)
    expect(str((err as unknown as PreconditionFailed).actual)).toBe('0')
    expect(queries).toHaveLength(1)
    // Nothing written: no transaction id, no commit record.
    expect(e.stats.transactions).toBe(before)
    expect(str(await e.get(k('n')))).toBe('0')
    // One group: n 0 -> 1, then 1 -> 2 (sees the first), then a stale 0 -> 1 (refused), then 2 -> 3.
    const results = await Promise.allSettled(['0', '1', '0', '2'].map((from) => e.commit({ ops: [{ type: 'put', key: k('n'), value: k(String(Number(from) + 1)) }], expect: [{ key: k('n'), value: k(from) }] })))
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled'])
    expect(str(((results[2] as PromiseRejectedResult).reason as PreconditionFailed).actual)).toBe('2')
    expect(str(await e.get(k('n')))).toBe('3')
    await e.close()
  })
})

describe('PgEngine: faults', () => {
  const APP = 'chainlog-victim'
  const victim = (schema: string) => open(schema, { pool: { max: 4, application_name: APP } })

  /** Hold the advisory lock of `key` on a connection of its own until release(). */
  async function holdLock(schema: string, key: Uint8Array): Promise<{ release: () => Promise<void> }> {
    const holder = await pgf.admin.connect()
    await holder.query('BEGIN')
    await holder.query('SELECT pg_advisory_xact_lock($1, $2)', [pgLockIds(schema).keyNamespace, fnv1a32(key)])
    return {
      release: async () => {
        await holder.query('ROLLBACK')
        holder.release()
      },
    }
  }

  const terminate = (pid: number) => pgf.admin.query('SELECT pg_terminate_backend($1)', [pid])

  it('a connection killed while its commit waits for a lock: retried on another connection, the commit lands once', async () => {
    const schema = newSchema()
    const e = await victim(schema)
    const lock = await holdLock(schema, k('a'))
    const p = e.commit({ ops: [{ type: 'put', key: k('a'), value: k('1') }, { type: 'put', key: k('b'), value: k('1') }], expect: [{ key: k('a'), value: undefined }] })
    const pid = await waitingBackend(APP, 'advisory')
    await terminate(pid)
    // The retry waits on the same lock, on another connection.
    await until('the retry', async () => {
      const r = await pgf.admin.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event = 'advisory' AND pid <> $2", [APP, pid])
      return r.rows[0]?.pid
    })
    await lock.release()
    await p
    expect(e.stats.retries).toBeGreaterThanOrEqual(1)
    expect(str(await e.get(k('a')))).toBe('1')
    expect(str(await e.get(k('b')))).toBe('1')
    await e.close()
  })

  it('killed on every retry: CHAINLOG_STORE_UNAVAILABLE, retryable, outcome not-applied, nothing written; the engine carries on', async () => {
    const schema = newSchema()
    const e = await victim(schema)
    const lock = await holdLock(schema, k('a'))
    let settled = false
    const p = rejection(e.commit({ ops: [{ type: 'put', key: k('a'), value: k('1') }, { type: 'put', key: k('b'), value: k('1') }] }).finally(() => (settled = true)))
    // Each retry takes another connection (at most pool.max + 1 tries); kill every one that waits.
    const killed: number[] = []
    while (!settled) {
      const r = await pgf.admin.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event = 'advisory' AND NOT pid = ANY($2::int[])", [APP, killed])
      for (const { pid } of r.rows) {
        killed.push(pid)
        await terminate(pid)
      }
      await sleep(10)
    }
    const err = await p
    expect(killed.length).toBeGreaterThan(1)
    expect(killed.length).toBeLessThanOrEqual(5)
    expect(e.stats.retries).toBe(killed.length - 1)
    await lock.release()
    expect(err).toBeInstanceOf(ChainlogError)
    expect(err.code).toBe(ErrorCodes.STORE_UNAVAILABLE)
    expect(err.data).toMatchObject({ retryable: true, op: 'commit', outcome: 'not-applied', reason: 'shutdown', code: '57P01' })
    expect((await pgf.admin.query(`SELECT 1 FROM ${schema}.kv`)).rowCount).toBe(0)
    await e.commit({ ops: [{ type: 'put', key: k('a'), value: k('2') }] })
    expect(str(await e.get(k('a')))).toBe('2')
    await e.close()
  })

  it('sync: true waits for synchronous_commit (here: a synchronous standby that never answers); sync: false does not', async () => {
    const e = await victim(newSchema())
    await setSystem('synchronous_standby_names', 'chainlog_absent_standby')
    try {
      // synchronous_commit = off for this transaction: no wait for the standby (nor the local flush).
      await e.commit({ ops: [{ type: 'put', key: k('relaxed'), value: k('1') }], sync: false })
      let settled = false
      const p = e.commit({ ops: [{ type: 'put', key: k('durable'), value: k('1') }], sync: true }).finally(() => (settled = true))
      await waitingBackend(APP, 'SyncRep')
      expect(settled).toBe(false)
      await setSystem('synchronous_standby_names', undefined)
      await p
      expect(e.stats.syncedTransactions).toBe(1)
    } finally {
      await setSystem('synchronous_standby_names', undefined)
    }
    expect(str(await e.get(k('durable')))).toBe('1')
    await e.close()
  })

  it('a connection killed during COMMIT: the engine asks the server (txid_status) and reports the commit as landed, whole', async () => {
    const schema = newSchema()
    // One connection only: the question must not wait for the slot of the connection that broke.
    const e = await open(schema, { pool: { max: 1, application_name: APP } })
    await setSystem('synchronous_standby_names', 'chainlog_absent_standby')
    try {
      // COMMIT has flushed locally and waits for the standby when the connection is killed:
      // committed, but the client never hears so.
      const p = e.commit({ ops: [{ type: 'put', key: k('a'), value: k('1') }, { type: 'put', key: k('b'), value: k('1') }], sync: true })
      await terminate(await waitingBackend(APP, 'SyncRep'))
      await p
      expect(e.stats.resolved).toBe(1)
    } finally {
      await setSystem('synchronous_standby_names', undefined)
    }
    const rows = await pgf.admin.query<{ key: Buffer }>(`SELECT key FROM ${schema}.kv ORDER BY key`)
    expect(rows.rows.map((r) => r.key.toString())).toEqual(['a', 'b'])
    await e.close()
  })

  it('killed during COMMIT with a refused commit in its group: asked and landed, the refusal still reported from the NOTICE', async () => {
    const schema = newSchema()
    const e = await open(schema, { pool: { max: 1, application_name: APP } })
    await e.commit({ ops: [{ type: 'put', key: k('h'), value: k('0') }] })
    await setSystem('synchronous_standby_names', 'chainlog_absent_standby')
    try {
      // The two commits of the group queue up while the first waits for the standby.
      const first = e.commit({ ops: [{ type: 'put', key: k('x'), value: k('1') }], sync: true })
      const pid = await waitingBackend(APP, 'SyncRep')
      const group = Promise.allSettled([
        e.commit({ ops: [{ type: 'put', key: k('h'), value: k('1') }], expect: [{ key: k('h'), value: k('0') }], sync: true }),
        e.commit({ ops: [{ type: 'put', key: k('h'), value: k('9') }], expect: [{ key: k('h'), value: k('0') }], sync: true }),
      ])
      await terminate(pid)
      await first
      const next = await until('the group waiting on SyncRep', async () => {
        const r = await pgf.admin.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event = 'SyncRep' AND pid <> $2", [APP, pid])
        return r.rows[0]?.pid
      })
      await terminate(next)
      const [a, b] = await group
      expect(a.status).toBe('fulfilled')
      expect(b.status).toBe('rejected')
      expect((b as PromiseRejectedResult).reason).toBeInstanceOf(PreconditionFailed)
      expect(str(((b as PromiseRejectedResult).reason as PreconditionFailed).actual)).toBe('1')
      expect(e.stats.resolved).toBe(2)
      expect(e.stats.transactions).toBe(3)
    } finally {
      await setSystem('synchronous_standby_names', undefined)
    }
    expect(str(await e.get(k('h')))).toBe('1')
    expect(str(await e.get(k('x')))).toBe('1')
    await e.close()
  })

  it('idle connections the server drops do not crash the process; the pool replaces them', async () => {
    const e = await victim(newSchema())
    // Four reads at once leave four idle connections in the pool.
    await Promise.all(Array.from({ length: 4 }, () => e.get(k('x'))))
    const idle = await pgf.admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [APP])
    expect(idle.rowCount).toBeGreaterThan(0)
    for (const { pid } of idle.rows) await terminate(pid)
    await until('the idle errors', async () => (e.stats.idleErrors >= idle.rowCount! ? true : undefined))
    await e.commit({ ops: [{ type: 'put', key: k('x'), value: k('1') }] })
    expect(str(await e.get(k('x')))).toBe('1')
    await e.close()
  })

  it('a server that is down: reads, commits and opens fail at once with CHAINLOG_STORE_UNAVAILABLE; after it starts again the engine works', async () => {
    const schema = newSchema()
    const e = await victim(schema)
    await e.commit({ ops: [{ type: 'put', key: k('a'), value: k('1') }] })
    pgf.cluster.stop()
    try {
      const started = Date.now()
      const read = await rejection(e.get(k('a')))
      expect(read.code).toBe(ErrorCodes.STORE_UNAVAILABLE)
      expect(read.data).toMatchObject({ retryable: true, op: 'read' })
      const write = await rejection(e.commit({ ops: [{ type: 'put', key: k('b'), value: k('1') }] }))
      expect(write.code).toBe(ErrorCodes.STORE_UNAVAILABLE)
      expect(write.data).toMatchObject({ retryable: true, op: 'commit', outcome: 'not-applied' })
      const opened = await rejection(open(schema))
      expect(opened.code).toBe(ErrorCodes.STORE_UNAVAILABLE)
      expect(opened.data).toMatchObject({ op: 'open', reason: 'connect' })
      // Not a hang: a socket that is gone is refused at once (no connectionTimeoutMillis wait).
      expect(Date.now() - started).toBeLessThan(4000)
    } finally {
      pgf.cluster.start()
    }
    expect(str(await e.get(k('a')))).toBe('1')
    await e.commit({ ops: [{ type: 'put', key: k('b'), value: k('1') }] })
    expect(await e.get(k('b'))).toBeDefined()
    await e.close()
  })

  it('a server that accepts the connection but never answers: open fails with CHAINLOG_STORE_UNAVAILABLE after connectionTimeoutMillis', async () => {
    const sockets: import('node:net').Socket[] = []
    const silent = net.createServer((s) => sockets.push(s))
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    const port = (silent.address() as import('node:net').AddressInfo).port
    try {
      const started = Date.now()
      const err = await rejection(openPgEngine({ connectionString: `postgresql://nobody@127.0.0.1:${port}/db`, pool: { connectionTimeoutMillis: 300 } }))
      expect(err.code).toBe(ErrorCodes.STORE_UNAVAILABLE)
      expect(err.data).toMatchObject({ retryable: true, op: 'open', reason: 'timeout' })
      expect(Date.now() - started).toBeLessThan(3000)
    } finally {
      for (const s of sockets) s.destroy()
      await new Promise((r) => silent.close(r))
    }
  })

  it('a server restart between calls: the engine goes on without an error (stale pooled connections are replaced)', async () => {
    const e = await victim(newSchema())
    await Promise.all(Array.from({ length: 3 }, (_, i) => e.commit({ ops: [{ type: 'put', key: k(`r${i}`), value: k('1') }] })))
    await Promise.all(Array.from({ length: 3 }, (_, i) => e.get(k(`r${i}`))))
    pgf.cluster.restart()
    expect(str(await e.get(k('r0')))).toBe('1')
    await e.commit({ ops: [{ type: 'put', key: k('after'), value: k('1') }], expect: [{ key: k('r1'), value: k('1') }] })
    expect(str(await e.get(k('after')))).toBe('1')
    await e.close()
  })

  it('the server stops during COMMIT: CHAINLOG_STORE_UNAVAILABLE with outcome unknown; after a restart the commit is wholly there', async () => {
    const schema = newSchema()
    const e = await victim(schema)
    await setSystem('synchronous_standby_names', 'chainlog_absent_standby')
    let err: ChainlogError
    try {
      const p = rejection(e.commit({ ops: [{ type: 'put', key: k('a'), value: k('1') }, { type: 'put', key: k('b'), value: k('1') }], sync: true }))
      await waitingBackend(APP, 'SyncRep')
      pgf.cluster.stop('immediate')
      err = await p
    } finally {
      if (!pgf.cluster.running()) pgf.cluster.start()
      await setSystem('synchronous_standby_names', undefined)
    }
    expect(err.code).toBe(ErrorCodes.STORE_UNAVAILABLE)
    expect(err.data).toMatchObject({ retryable: true, op: 'commit', outcome: 'unknown' })
    // Its WAL was flushed before COMMIT waited for the standby, so crash recovery keeps it: whole.
    const rows = await pgf.admin.query<{ key: Buffer }>(`SELECT key FROM ${schema}.kv ORDER BY key`)
    expect(rows.rows.map((r) => r.key.toString())).toEqual(['a', 'b'])
    await e.close()
  })
})

describe('PgEngine: lifecycle', () => {
  it('close lets queued commits land; calls after close fail with CHAINLOG_STORE_CLOSED', async () => {
    const e = await open()
    const pending = Array.from({ length: 10 }, (_, i) => e.commit({ ops: [{ type: 'put', key: k(`c${i}`), value: k('1') }] }))
    await e.close()
    expect((await Promise.allSettled(pending)).map((r) => r.status)).toEqual(Array(10).fill('fulfilled'))
    expect((await rejection(e.commit({ ops: [] }))).code).toBe(ErrorCodes.STORE_CLOSED)
    expect((await rejection(e.get(k('c1')))).code).toBe(ErrorCodes.STORE_CLOSED)
    const r = await pgf.admin.query(`SELECT 1 FROM ${e.schema}.kv`)
    expect(r.rowCount).toBe(10)
  })

  it('the test cluster helper fails, saying what to install, when the server binaries are missing (the tests then fail, not skip)', () => {
    expect(() => findPgBin('/nonexistent/postgresql')).toThrow(/not found.*apt-get install -y postgresql/s)
    expect(findPgBin().version).toBe(pgf.cluster.version)
  })

  it('without the pg package installed: CHAINLOG_DEPENDENCY_MISSING naming it', async () => {
    const missing = 'chainlog-no-such-package-' + 'pg'
    const err = await rejection(openPgEngine({ connectionString: pgf.cluster.connectionString, loadPg: () => import(missing) }))
    expect(err.code).toBe(ErrorCodes.DEPENDENCY_MISSING)
    expect(err.data).toMatchObject({ package: 'pg' })
  })
})
