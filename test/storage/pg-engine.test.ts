// The storage-engine contract (engine-contract.ts) on PgEngine against a real PostgreSQL server
// that this file starts (test/support/pg-cluster.ts), and what only a shared SQL server shows:
// several engines (separate pools, so separate connections, as separate processes would have)
// racing compare-and-set on one key, the schema's version, concurrent first opens, a connection
// killed mid-commit, a server that is down, and a server restart.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ChainlogError, ErrorCodes } from '../../src/errors.js'
import { PreconditionFailed } from '../../src/storage/engine.js'
import { fnv1a32, openPgEngine, pgLockIds, PG_SCHEMA_VERSION, type PgEngine } from '../../src/storage/pg-engine.js'
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
    const r = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND (wait_event = $2 OR wait_event_type = $2)', [app, waitEvent])
    return r.rows[0]?.pid
  })
}

async function setSystem(name: string, value: string | undefined): Promise<void> {
  await admin.query(value === undefined ? `ALTER SYSTEM RESET ${name}` : `ALTER SYSTEM SET ${name} = '${value}'`)
  await admin.query('SELECT pg_reload_conf()')
  // pg_reload_conf only signals: wait until a new session sees the value.
  await until(`${name} to take effect`, async () => {
    const r = await admin.query<{ v: string }>(`SELECT current_setting('${name}') AS v`)
    return r.rows[0]!.v === (value ?? '') ? true : undefined
  })
}

describe('PgEngine: keys and values', () => {
  it('orders keys bytewise, unsigned (0x00 first, 0xff last, a prefix before its extensions)', async () => {
    const e = await open()
    const keys = [[0xff, 0xff], [0x00], [0x7f], [0x80], [0x00, 0x00], [0xff], [0x01], [0x00, 0xff], [0xff, 0x00], [0x61], [0x61, 0x00], [0x60, 0xff, 0xff]].map((b) => Uint8Array.from(b))
    await e.commit({ ops: keys.map((key, i) => ({ type: 'put' as const, key, value: Uint8Array.of(i) })) })
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
    const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))).map(hex)
    const got: string[] = []
    for await (const rows of e.scan({ gte: Uint8Array.of(0x00), lt: Uint8Array.of(0xff, 0xff, 0xff) }, 3)) for (const [key] of rows) got.push(hex(key))
    expect(got).toEqual(sorted)
    expect(sorted[0]).toBe('00')
    expect(sorted.at(-1)).toBe('ffff')
    const rev: string[] = []
    for await (const rows of e.scan({ gte: Uint8Array.of(0x00), lt: Uint8Array.of(0xff, 0xff, 0xff), reverse: true, limit: 5 }, 2)) for (const [key] of rows) rev.push(hex(key))
    expect(rev).toEqual([...sorted].reverse().slice(0, 5))
    // A prefix range: every key starting with 0x00 and nothing else; gte == lt and gte > lt are empty.
    const prefix: string[] = []
    for await (const rows of e.scan({ gte: Uint8Array.of(0x00), lt: Uint8Array.of(0x01) })) for (const [key] of rows) prefix.push(hex(key))
    expect(prefix).toEqual(['00', '0000', '00ff'])
    for (const range of [{ gte: Uint8Array.of(0x61), lt: Uint8Array.of(0x61) }, { gte: Uint8Array.of(0x80), lt: Uint8Array.of(0x7f) }]) {
      let n = 0
      for await (const rows of e.scan(range)) n += rows.length
      expect(n).toBe(0)
    }
    await e.close()
  })

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
    const r = await admin.query<{ key: Buffer; value: Buffer }>(`SELECT key, value FROM ${e.schema}.kv ORDER BY key`)
    expect(r.rows.map((row) => [row.key.toString(), row.value.length])).toEqual([['big', big.length], ['empty', 0], ['every', 512]])
    expect(r.rows[2]!.value.equals(Buffer.from(every))).toBe(true)
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
