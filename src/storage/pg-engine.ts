// The storage-engine contract (engine.ts) on PostgreSQL, through the `pg` client (an optional peer
// dependency, loaded only when a PostgreSQL engine is opened). Rows live in one table, <schema>.kv
// (key bytea primary key, value bytea not null); bytea compares bytewise, unsigned, shorter-first,
// which is the key order the contract asks for. docs/scaling.md is the guide.
//
// Correct across processes and hosts without any lock held in memory: a commit runs in one
// transaction, one call of the server-side function <schema>.chainlog_commit (pg-commit.ts, schema
// version 2: one round trip), that first takes a transaction-scoped advisory lock on every key it
// reads (its preconditions) or writes, in one global order (sorted lock ids, so two writers never
// deadlock), then reads the rows its preconditions name, checks them, writes, and commits. Any
// other writer of those keys, in any process, waits on the same locks, so the check and the write
// are one step (two-phase locking on the commit's keys; absent rows are locked as well as present
// ones, which SELECT ... FOR UPDATE could not do). The lock id of a key is FNV-1a of its bytes in
// the namespace of the schema: part of the schema's contract (since schema version 1), like the
// table. Each transaction also holds a shared lock on the schema's "global" lock; a commit whose
// keys would need more than `maxLocks` locks takes that global lock exclusively instead, so a huge
// commit (a gc sweep) never fills the server's lock table.
//
// Within one process commits are applied in the order they were made (the contract): one
// transaction at a time, and everything queued while one runs goes into the next (group commit: 64
// concurrent appends cost one transaction and one WAL flush). Each commit's preconditions are
// checked against the rows as the commits before it in the group leave them; a commit whose
// precondition fails is refused alone, without failing the others.
//
// Point reads (get, getMany) issued in the same tick share one query, so the concurrent appends of
// a process, which resolve together, also read their heads, leases and metadata together.
//
// `sync: false` commits run with synchronous_commit = off for their transaction (visible at once,
// durable a moment later: a server crash may lose the last few hundred milliseconds of them, never
// part of one, and never one that a later durable commit built on); `sync: true` uses the server's
// synchronous_commit (default `on`: the WAL is flushed before COMMIT returns). A group with any
// sync commit is a sync transaction.
//
// Faults: a connection that breaks, a server that shuts down or restarts, or one that cannot be
// reached within connectionTimeoutMillis gives CHAINLOG_STORE_UNAVAILABLE (retryable). When it
// breaks after the function sent its NOTICE (its writes made, COMMIT maybe done) the engine asks
// the server, on a new connection, whether the transaction committed (txid_status); before the
// notice, a break the server made (an error reply, a closed connection) means it did not commit.
// `data.outcome` is `not-applied` when it is known that nothing was written and `unknown` when the
// server could not be asked or the client gave up on the connection (#transaction). A transaction
// is all or nothing, so a commit is never half applied.
import { ChainlogError, ErrorCodes } from '../errors.js'
import { PreconditionFailed, type Commit, type EngineStats, type KeyRange, type Row, type StorageEngine } from './engine.js'
import { COMMIT_NOTICE, commitFunctionSql, encodeGroup, parseOutcome } from './pg-commit.js'
import { byteaArray, int4Array } from './pg-wire.js'
import type * as PgTypes from 'pg'

/** The schema version this code creates and reads (rows in <schema>.chainlog_migrations). */
export const PG_SCHEMA_VERSION = 2

/** Connection pool settings handed to pg.Pool (any other pg.Pool option passes through). */
export interface PgPoolOptions {
  /** Most connections this engine opens (default 10). Commits use one at a time; reads share the rest. */
  max?: number
  /** Give up connecting after this long with CHAINLOG_STORE_UNAVAILABLE (default 5000 ms). */
  connectionTimeoutMillis?: number
  /** Close connections idle this long (default 10000 ms). */
  idleTimeoutMillis?: number
  [option: string]: unknown
}

export interface PgEngineOptions {
  /** libpq-style URL, e.g. postgres://user:pass@host:5432/db or postgresql://user@/db?host=/run/postgresql. */
  connectionString: string
  pool?: PgPoolOptions
  /** The schema holding chainlog's tables (default `chainlog`); created when missing. */
  schema?: string
  /**
   * Group commit (default true): commits queued while a transaction runs share the next one.
   * False: one transaction per commit (still one at a time, in order).
   */
  group?: boolean
  /** Most advisory locks one transaction takes before it takes the schema-wide lock instead (default 128). */
  maxLocks?: number
  /** For tests: how `pg` is loaded (default: import('pg')). */
  loadPg?: () => Promise<unknown>
}

/** Counters for tests and measurements. */
export interface PgEngineStats extends EngineStats {
  /** Transactions that carried commits and committed. */
  transactions: number
  /** Of those, how many were durable (synchronous_commit not off). */
  syncedTransactions: number
  /** Commits applied, and refused on a precondition. */
  commits: number
  refused: number
  /** Transactions that took the schema-wide lock because their keys needed more than maxLocks locks. */
  escalated: number
  /** Transactions or reads retried once on a fresh connection after the first one broke before anything was sent to commit. */
  retries: number
  /** Unknown outcomes settled by asking the server (txid_status). */
  resolved: number
  /** Errors of idle pooled connections (a server restart, a killed backend), absorbed. */
  idleErrors: number
  /** Queries made for `get` and `getMany` (point reads issued in the same tick share one). */
  readQueries: number
  /** Calls of the commit function made (one round trip each, whatever they carried or had refused). */
  commitCalls: number
}

type Pg = typeof PgTypes
type Pool = PgTypes.Pool
type PoolClient = PgTypes.PoolClient

interface Pending {
  commit: Commit
  /** Sorted, distinct advisory lock ids of the keys it reads or writes. */
  locks: number[]
  resolve: () => void
  reject: (err: unknown) => void
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/

const id = (key: Uint8Array): string => Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1')
const buf = (u: Uint8Array): Buffer => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength))
const view = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength)

/** FNV-1a, 32 bits, as a signed int4 (PostgreSQL's advisory lock ids are int4 pairs). */
export function fnv1a32(bytes: Uint8Array, seed = 0x811c9dc5): number {
  let h = seed
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!
    h = Math.imul(h, 0x01000193)
  }
  return h | 0
}

const utf8 = (s: string) => new TextEncoder().encode(s)
/** A signed int8 advisory lock id from two FNV-1a hashes of `label`. */
function lock64(label: string): string {
  const hi = fnv1a32(utf8(label)) >>> 0
  const lo = fnv1a32(utf8(label), 0x050c5d1f) >>> 0
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)).toString()
}

/** The advisory lock ids of a schema: keys (int4 pair: namespace, FNV-1a of the key), global and migration (int8). */
export function pgLockIds(schema: string): { keyNamespace: number; global: string; migrate: string } {
  return { keyNamespace: fnv1a32(utf8(`chainlog/kv/${schema}`)), global: lock64(`chainlog/global/${schema}`), migrate: lock64(`chainlog/migrate/${schema}`) }
}

// ---------------------------------------------------------------------------------------------
// Errors

const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ENOENT', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'EAI_AGAIN', 'ENOTFOUND'])
// SQLSTATE: class 08 (connection exception), admin/crash shutdown, cannot connect now, too many connections.
const UNAVAILABLE_STATE = /^(08...|57P01|57P02|57P03|57P05|53300)$/
const UNAVAILABLE_TEXT = /Connection terminated|timeout exceeded when trying to connect|connection timeout|Client has encountered a connection error|not queryable|Connection ended|socket hang up/i

interface Causal {
  code?: unknown
  message?: unknown
  cause?: unknown
  errno?: unknown
}

/** Why a PostgreSQL error makes the store unavailable, or undefined if it does not. */
function unavailableReason(err: unknown): { reason: string; code?: string } | undefined {
  for (let e = err as Causal | undefined, i = 0; e && typeof e === 'object' && i < 8; e = e.cause as Causal | undefined, i++) {
    const code = typeof e.code === 'string' ? e.code : undefined
    const message = typeof e.message === 'string' ? e.message : ''
    if (code && UNAVAILABLE_ERRNO.has(code)) return { reason: code === 'ETIMEDOUT' ? 'timeout' : 'connect', code }
    if (code && UNAVAILABLE_STATE.test(code)) return { reason: code.startsWith('57P') ? 'shutdown' : code === '53300' ? 'too-many-connections' : 'connection-lost', code }
    if (UNAVAILABLE_TEXT.test(message)) return { reason: /timeout/i.test(message) ? 'timeout' : 'connection-lost' }
  }
  return undefined
}

export type PgOp = 'open' | 'read' | 'commit'

/**
 * Whether a break of a connection during a call was the server's (or its kernel's) doing: an
 * error reply, the connection closed (end of stream), or, on a unix socket, reset. Everything
 * the server sent before such a break has been delivered. Not so for a timeout or an unreachable
 * network, nor for a reset over TCP (a middlebox may have dropped the connection while the server
 * still sends).
 */
function closedByServer(err: unknown, unixSocket: boolean): boolean {
  const why = unavailableReason(err)
  if (!why || why.reason === 'timeout') return false
  if (why.code === 'ECONNRESET' || why.code === 'EPIPE' || why.code === 'ECONNABORTED') return unixSocket
  return why.reason !== 'connect'
}

function unavailable(err: unknown, op: PgOp, extra: Record<string, unknown> = {}): ChainlogError {
  const why = unavailableReason(err) ?? { reason: 'connection-lost' }
  const text = err instanceof Error ? err.message : String(err)
  return new ChainlogError(ErrorCodes.STORE_UNAVAILABLE, `PostgreSQL is unavailable (${op}): ${text}`, { retryable: true, op, reason: why.reason, ...(why.code ? { code: why.code } : {}), ...extra }, { cause: err })
}

/** Any error of a PostgreSQL call as a ChainlogError: STORE_UNAVAILABLE when the server cannot be reached, IO otherwise. */
export function pgError(err: unknown, op: PgOp, extra: Record<string, unknown> = {}): ChainlogError {
  if (err instanceof ChainlogError) return err
  if (err instanceof ConnectFailed) return pgError(err.cause, op, extra)
  if (unavailableReason(err)) return unavailable(err, op, extra)
  const state = typeof (err as Causal)?.code === 'string' ? ((err as Causal).code as string) : undefined
  const reason = state === '42501' ? 'permission' : state === '53100' ? 'no-space' : state === '25006' ? 'read-only' : 'io'
  const text = err instanceof Error ? err.message : String(err)
  return new ChainlogError(ErrorCodes.IO, `PostgreSQL refused the ${op}: ${text}`, { op: op === 'commit' ? 'write' : op, reason, ...(state ? { sqlstate: state } : {}), ...extra }, { cause: err })
}

async function defaultLoadPg(): Promise<unknown> {
  return import('pg')
}

/** The `pg` module, or CHAINLOG_DEPENDENCY_MISSING when it is not installed. */
async function loadPg(load: () => Promise<unknown> = defaultLoadPg): Promise<Pg> {
  let mod: unknown
  try {
    mod = await load()
  } catch (err) {
    const code = (err as Causal)?.code
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new ChainlogError(ErrorCodes.DEPENDENCY_MISSING, 'a PostgreSQL store needs the `pg` package: npm install pg', { package: 'pg', feature: 'postgresql' }, { cause: err })
    }
    throw err
  }
  const m = mod as { default?: Pg } & Pg
  return m.default?.Pool ? m.default : m
}

// ---------------------------------------------------------------------------------------------
// Schema

interface Migration {
  version: number
  description: string
  sql: (s: string) => string[]
}

const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'kv: the rows of the storage engine (key bytea primary key, value bytea not null)',
    // STORAGE EXTERNAL: values are entry bytes already compressed where it pays (or not at all);
    // keep PostgreSQL from trying to compress them again.
    sql: (s) => [`CREATE TABLE ${s}.kv (key bytea PRIMARY KEY, value bytea NOT NULL)`, `ALTER TABLE ${s}.kv ALTER COLUMN value SET STORAGE EXTERNAL`],
  },
  {
    version: 2,
    description: 'chainlog_commit: a group of commits (locks, preconditions, writes) in one call (pg-commit.ts)',
    sql: (s) => [commitFunctionSql(s)],
  },
]
if (MIGRATIONS.at(-1)!.version !== PG_SCHEMA_VERSION) throw new Error('PG_SCHEMA_VERSION is not the last migration')

const quote = (ident: string) => `"${ident}"`

function tooNew(found: number): ChainlogError {
  return new ChainlogError(ErrorCodes.UNSUPPORTED_VERSION, `the PostgreSQL schema is at version ${found}, newer than this chainlog knows (${PG_SCHEMA_VERSION})`, { found, supported: PG_SCHEMA_VERSION })
}

async function schemaVersion(client: PoolClient, schema: string): Promise<number | undefined> {
  const r = await client.query<{ has: boolean }>('SELECT to_regclass($1) IS NOT NULL AS has', [`${quote(schema)}.chainlog_migrations`])
  if (!r.rows[0]!.has) return undefined
  const v = await client.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${quote(schema)}.chainlog_migrations`)
  return v.rows[0]!.v ?? 0
}

/** Bring the schema to PG_SCHEMA_VERSION; safe when several processes do it at once (an advisory lock serialises them). */
async function migrate(client: PoolClient, schema: string): Promise<void> {
  const found = await schemaVersion(client, schema)
  if (found !== undefined && found > PG_SCHEMA_VERSION) throw tooNew(found)
  if (found === PG_SCHEMA_VERSION) return
  const s = quote(schema)
  await client.query(`BEGIN; SELECT pg_advisory_xact_lock(${pgLockIds(schema).migrate})`)
  try {
    // Only create what is missing: CREATE SCHEMA IF NOT EXISTS needs CREATE on the database
    // even when the schema exists, and a DBA may have made it for us.
    const ns = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])
    if (ns.rowCount === 0) await client.query(`CREATE SCHEMA ${s}`)
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}.chainlog_migrations (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`)
    const now = (await schemaVersion(client, schema)) ?? 0
    if (now > PG_SCHEMA_VERSION) throw tooNew(now)
    for (const m of MIGRATIONS) {
      if (m.version <= now) continue
      for (const sql of m.sql(s)) await client.query(sql)
      await client.query(`INSERT INTO ${s}.chainlog_migrations (version, description) VALUES ($1, $2)`, [m.version, m.description])
    }
    await client.query('COMMIT')
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw err
  }
}

// ---------------------------------------------------------------------------------------------
// The engine

const noop = () => undefined

/** Open (and create or upgrade the schema of) a PostgreSQL engine. */
export function openPgEngine(options: PgEngineOptions): Promise<PgEngine> {
  return PgEngine.open(options)
}

export class PgEngine implements StorageEngine {
  /** Other processes and hosts write the same database. */
  readonly exclusive = false
  readonly stats: PgEngineStats = { batches: 0, syncedBatches: 0, bytesWritten: 0, transactions: 0, syncedTransactions: 0, commits: 0, refused: 0, escalated: 0, retries: 0, resolved: 0, idleErrors: 0, readQueries: 0, commitCalls: 0 }
  /** The last error of an idle pooled connection (absorbed; the pool replaces the connection). */
  lastIdleError: unknown
  readonly #pool: Pool
  readonly #s: string
  readonly #group: boolean
  readonly #maxLocks: number
  /** Tries of a read or a transaction whose connection broke: enough to get past every pooled connection. */
  readonly #attempts: number
  readonly #locks: ReturnType<typeof pgLockIds>
  #pending: Pending[] = []
  /** Point reads waiting for the end of the tick, to share one query. */
  #lookups: Lookup[] = []
  #writing = false
  #closed = false
  #sql: { get: string; getMany: string; fwd: string; fwdAfter: string; rev: string }

  /** Open (and create or upgrade the schema of) a PostgreSQL engine; openPgEngine does the same. */
  static async open(options: PgEngineOptions): Promise<PgEngine> {
    const schema = options.schema ?? 'chainlog'
    if (!SCHEMA_NAME.test(schema)) throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, `schema must match ${SCHEMA_NAME}: ${JSON.stringify(schema)}`, { schema })
    if (typeof options.connectionString !== 'string' || options.connectionString === '') {
      throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'a PostgreSQL store needs a connectionString', {})
    }
    const maxLocks = options.maxLocks ?? 128
    if (!Number.isSafeInteger(maxLocks) || maxLocks < 1) throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'maxLocks must be a positive integer', { maxLocks })
    const pg = await loadPg(options.loadPg)
    const pool = new pg.Pool({
      max: 10,
      connectionTimeoutMillis: 5000,
      idleTimeoutMillis: 10_000,
      keepAlive: true,
      application_name: 'chainlog',
      ...options.pool,
      connectionString: options.connectionString,
    })
    const engine = new PgEngine(pool, schema, options.group ?? true, maxLocks, pool.options.max ?? 10)
    try {
      await engine.#withClient('open', (client) => migrate(client, schema))
    } catch (err) {
      await pool.end().catch(noop)
      throw pgError(err, 'open')
    }
    return engine
  }

  private constructor(
    pool: Pool,
    /** The schema holding the engine's tables. */
    readonly schema: string,
    group: boolean,
    maxLocks: number,
    poolMax: number,
  ) {
    this.#pool = pool
    this.#attempts = poolMax + 1
    this.#s = quote(schema)
    this.#group = group
    this.#maxLocks = maxLocks
    this.#locks = pgLockIds(schema)
    // An idle connection that the server closes (restart, pg_terminate_backend) emits 'error'
    // on the pool; unhandled, that would end the process. The pool drops the connection.
    pool.on('error', (err) => {
      this.stats.idleErrors++
      this.lastIdleError = err
    })
    // A new connection that the server ends in the same read as it lets it in: pg-pool hands it
    // over on "ready for query", without its own listener, and pg emits the FATAL as 'error'
    // before the code that asked for it has run. So every connection has a listener from its
    // first moment; what broke shows when it is next used (test/storage/pg-connect-race.test.ts).
    pool.on('connect', (client) => client.on('error', noop))
    const t = `${this.#s}.kv`
    this.#sql = {
      get: `SELECT value FROM ${t} WHERE key = $1`,
      getMany: `SELECT key, value FROM ${t} WHERE key = ANY($1::bytea[])`,
      fwd: `SELECT key, value FROM ${t} WHERE key >= $1 AND key < $2 ORDER BY key LIMIT $3`,
      fwdAfter: `SELECT key, value FROM ${t} WHERE key > $1 AND key < $2 ORDER BY key LIMIT $3`,
      rev: `SELECT key, value FROM ${t} WHERE key >= $1 AND key < $2 ORDER BY key DESC LIMIT $3`,
    }
  }

  /** Run `fn` on a pooled connection; a connection that broke is dropped from the pool. */
  async #withClient<T>(op: PgOp, fn: (client: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient
    try {
      client = await this.#pool.connect()
    } catch (err) {
      throw new ConnectFailed(err)
    }
    // A checked-out connection has no pool listener: one that breaks must not crash the process.
    client.on('error', noop)
    let broke: unknown
    try {
      return await fn(client)
    } catch (err) {
      if (unavailableReason(err)) broke = err
      throw err
    } finally {
      client.removeListener('error', noop)
      client.release(broke as Error | undefined)
    }
  }

  /** A read, retried on another connection when the one it got was broken (see #apply), not when none can be made. */
  async #read<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    this.#open()
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#withClient('read', fn)
      } catch (err) {
        if (err instanceof ConnectFailed || !unavailableReason(err) || attempt >= this.#attempts) throw pgError(err, 'read')
        this.stats.retries++
      }
    }
  }

  #open(): void {
    if (this.#closed) throw new ChainlogError(ErrorCodes.STORE_CLOSED, 'the PostgreSQL engine is closed')
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return (await this.#lookup([key]))[0]
  }

  async getMany(keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    if (keys.length === 0) return []
    return this.#lookup(keys)
  }

  /**
   * Point reads issued in the same tick (the concurrent appends of a process, which each read
   * their session's head, lease, tree and metadata once the group commit before them has
   * resolved) share one query: a one-key read is the prepared `get`, several keys one
   * `key = ANY(...)`. The query runs after the tick's microtasks, so it sees at least every
   * commit that had resolved when any of its reads was issued, as a query per read would.
   */
  #lookup(keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    this.#open()
    return new Promise((resolve, reject) => {
      if (this.#lookups.push({ keys, resolve, reject }) === 1) process.nextTick(() => void this.#runLookups())
    })
  }

  async #runLookups(): Promise<void> {
    const batch = this.#lookups.splice(0)
    const wanted = new Map<string, Uint8Array>()
    for (const l of batch) for (const k of l.keys) wanted.set(id(k), k)
    const found = new Map<string, Uint8Array>()
    try {
      const keys = [...wanted.values()]
      this.stats.readQueries++
      if (keys.length === 1) {
        const r = await this.#read((c) => c.query<{ value: Buffer }>({ name: `chainlog:${this.#s}:get`, text: this.#sql.get, values: [buf(keys[0]!)] }))
        if (r.rows.length > 0) found.set(id(keys[0]!), view(r.rows[0]!.value))
      } else {
        const r = await this.#read((c) => c.query<{ key: Buffer; value: Buffer }>({ name: `chainlog:${this.#s}:getMany`, text: this.#sql.getMany, values: [byteaArray(keys)] }))
        for (const row of r.rows) found.set(row.key.toString('latin1'), view(row.value))
      }
    } catch (err) {
      for (const l of batch) l.reject(err)
      return
    }
    // Each caller gets values of its own: a key that two of them asked for is copied for the second.
    const given = new Set<string>()
    for (const l of batch) {
      l.resolve(
        l.keys.map((k) => {
          const key = id(k)
          const v = found.get(key)
          if (v === undefined) return undefined
          if (given.has(key)) return v.slice()
          given.add(key)
          return v
        }),
      )
    }
  }

  /**
   * Keyset pagination: each chunk is one query that starts after the last key of the one before
   * (no OFFSET, no cursor held open between chunks). Each chunk reads the committed rows as they
   * are when it runs; chunks are not one snapshot.
   */
  async *scan(range: KeyRange, chunk = 256): AsyncIterable<Row[]> {
    this.#open()
    if (!Number.isSafeInteger(chunk) || chunk < 1) throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'chunk must be a positive integer', { chunk })
    let left = range.limit === undefined || range.limit < 0 ? Infinity : range.limit
    const reverse = range.reverse ?? false
    let last: Buffer | undefined
    const gte = buf(range.gte)
    const lt = buf(range.lt)
    while (left > 0) {
      const n = Math.min(chunk, left)
      let text: string
      let name: string
      let values: unknown[]
      if (!reverse) {
        ;[name, text, values] = last === undefined ? ['fwd', this.#sql.fwd, [gte, lt, n]] : ['fwdAfter', this.#sql.fwdAfter, [last, lt, n]]
      } else {
        ;[name, text, values] = last === undefined ? ['rev', this.#sql.rev, [gte, lt, n]] : ['rev', this.#sql.rev, [gte, last, n]]
      }
      const r = await this.#read((c) => c.query<{ key: Buffer; value: Buffer }>({ name: `chainlog:${this.#s}:${name}`, text, values }))
      if (r.rows.length === 0) return
      const rows: Row[] = r.rows.map((row) => [view(row.key), view(row.value)])
      left -= rows.length
      last = r.rows.at(-1)!.key
      yield rows
      if (r.rows.length < n) return
    }
  }

  commit(commit: Commit): Promise<void> {
    if (this.#closed) return Promise.reject(new ChainlogError(ErrorCodes.STORE_CLOSED, 'the PostgreSQL engine is closed'))
    const ids = new Set<number>()
    for (const e of commit.expect ?? []) ids.add(fnv1a32(e.key))
    for (const op of commit.ops) ids.add(fnv1a32(op.key))
    const locks = [...ids].sort((a, b) => a - b)
    return new Promise((resolve, reject) => {
      this.#pending.push({ commit, locks, resolve, reject })
      if (!this.#writing) void this.#drain()
    })
  }

  async #drain(): Promise<void> {
    this.#writing = true
    while (this.#pending.length > 0) {
      const group = this.#take()
      await this.#apply(group)
    }
    this.#writing = false
  }

  /** The next group: queued commits in order, while their locks fit in maxLocks (always at least one). */
  #take(): { group: Pending[]; locks: number[] | 'global' } {
    const first = this.#pending[0]!
    if (first.locks.length > this.#maxLocks) return { group: this.#pending.splice(0, 1), locks: 'global' }
    const ids = new Set(first.locks)
    let n = 1
    if (this.#group) {
      for (; n < this.#pending.length; n++) {
        const next = this.#pending[n]!.locks
        let added = 0
        for (const l of next) if (!ids.has(l)) added++
        if (ids.size + added > this.#maxLocks) break
        for (const l of next) ids.add(l)
      }
    }
    return { group: this.#pending.splice(0, n), locks: [...ids].sort((a, b) => a - b) }
  }

  async #apply({ group, locks }: { group: Pending[]; locks: number[] | 'global' }): Promise<void> {
    if (group.every((p) => p.commit.ops.length === 0 && (p.commit.expect ?? []).length === 0)) {
      for (const p of group) p.resolve()
      return
    }
    let outcome: [Pending, PreconditionFailed | undefined][]
    for (let attempt = 1; ; attempt++) {
      try {
        outcome = await this.#transaction(group, locks)
        break
      } catch (err) {
        // Broken before COMMIT was sent (a pooled connection that outlived a server restart, or
        // one killed): nothing was written, so trying again is safe. Each broken connection
        // leaves the pool, so after at most `max` of them comes a fresh one. A connection that
        // cannot be made at all is not retried: the server is down, say so now.
        const retry = err instanceof TransactionFailed && err.outcome === 'not-applied' && !err.connecting && unavailableReason(err.cause) && attempt < this.#attempts
        if (!retry) return this.#fail(group, err)
        this.stats.retries++
      }
    }
    for (const [p, refusal] of outcome) {
      if (refusal) {
        this.stats.refused++
        p.reject(refusal)
      } else {
        this.stats.commits++
        p.resolve()
      }
    }
  }

  #fail(group: Pending[], err: unknown): void {
    const outcome = err instanceof TransactionFailed ? err.outcome : 'not-applied'
    const cause = err instanceof TransactionFailed ? err.cause : err
    const e = pgError(cause, 'commit', { outcome })
    for (const p of group) p.reject(e)
  }

  /**
   * One transaction for a group; returns each commit with its refusal (undefined: applied). One
   * round trip: a prepared call of <schema>.chainlog_commit (pg-commit.ts), whose statement is
   * its own transaction: locks, checks, writes and COMMIT on the server, keys and values as one
   * binary parameter.
   *
   * When the connection breaks during the call: if the function's NOTICE arrived (it is flushed
   * before COMMIT), the transaction id is known and the server is asked (txid_status), as for a
   * break during COMMIT before. If it did not arrive, the function had not finished, so its
   * transaction had not committed, when the break is the server's or its kernel's doing (it closed
   * or reset the connection, or reported an error): those bytes would have been delivered before
   * the close. A break the client decides on (a timeout, an unreachable network) could have lost
   * them: outcome unknown.
   */
  async #transaction(group: Pending[], locks: number[] | 'global'): Promise<[Pending, PreconditionFailed | undefined][]> {
    let client: PoolClient
    try {
      client = await this.#pool.connect()
    } catch (err) {
      throw new TransactionFailed('not-applied', err, true)
    }
    let notice: string | undefined
    const onNotice = (msg: { message?: string }) => {
      if (msg.message?.startsWith(COMMIT_NOTICE)) notice = msg.message.slice(COMMIT_NOTICE.length)
    }
    client.on('error', noop)
    client.on('notice', onNotice)
    let released = false
    const release = (err: unknown) => {
      if (released) return
      released = true
      client.removeListener('error', noop)
      client.removeListener('notice', onNotice)
      client.release(err as Error | undefined)
    }
    let broke: unknown
    const commits = group.map((p) => p.commit)
    const sync = commits.some((c) => c.sync === true)
    const req = encodeGroup(commits)
    const L = this.#locks
    const landed = (text: string): [Pending, PreconditionFailed | undefined][] => {
      const { xid, refusals } = parseOutcome(text, commits)
      if (locks === 'global') this.stats.escalated++
      if (xid !== undefined) {
        this.stats.transactions++
        this.stats.batches++
        this.stats.bytesWritten += req.bytes
        if (sync) {
          this.stats.syncedTransactions++
          this.stats.syncedBatches++
        }
      }
      return group.map((p, i) => [p, refusals.get(i)])
    }
    try {
      this.stats.commitCalls++
      const r = await client.query<{ r: string }>({
        name: `chainlog:${this.#s}:commit`,
        text: `SELECT ${this.#s}.chainlog_commit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) AS r`,
        // The int4[] parameters in binary (pg-wire.ts): pg would write each as text for the server to parse.
        values: [sync, locks === 'global', L.keyNamespace, L.global, int4Array(locks === 'global' ? [] : locks), int4Array(req.segs), int4Array(req.cs), int4Array(req.xs), int4Array(req.kinds), int4Array(req.klens), int4Array(req.vlens), req.data],
      })
      return landed(r.rows[0]!.r)
    } catch (err) {
      // The server refused the statement (not the connection): its transaction rolled back.
      if (!unavailableReason(err)) throw new TransactionFailed('not-applied', err)
      broke = err
      if (notice === undefined) throw new TransactionFailed(closedByServer(err, String((client as { host?: unknown }).host ?? '').startsWith('/')) ? 'not-applied' : 'unknown', err)
      const { xid } = parseOutcome(notice, commits)
      // Nothing written: committed or not, the rows are as the outcome says.
      if (xid === undefined) return landed(notice)
      // The function finished; COMMIT may or may not have happened. Ask the server, on another
      // connection (this one goes back first: with pool.max 1 the question needs its slot).
      release(broke)
      const status = await this.#settle(xid)
      if (status === 'committed') {
        this.stats.resolved++
        return landed(notice)
      }
      if (status === 'aborted') this.stats.resolved++
      throw new TransactionFailed(status === 'aborted' ? 'not-applied' : 'unknown', err)
    } finally {
      release(broke)
    }
  }

  /** Whether transaction `xid` committed, asked on a fresh connection; 'unknown' if the server cannot say within ~2 s. */
  async #settle(xid: string): Promise<'committed' | 'aborted' | 'unknown'> {
    const deadline = Date.now() + 2000
    while (Date.now() < deadline) {
      try {
        const r = await this.#withClient('read', (c) => c.query<{ status: string | null }>('SELECT txid_status($1) AS status', [xid]))
        const status = r.rows[0]?.status
        if (status === 'committed' || status === 'aborted') return status
      } catch {
        // not reachable yet
      }
      await new Promise((r) => setTimeout(r, 100))
    }
    return 'unknown'
  }

  /** Resolves once the commits queued so far have been applied or refused. */
  flush(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (!this.#writing && this.#pending.length === 0) return resolve()
      // An empty commit queued last resolves after the ones before it.
      this.#pending.push({ commit: { ops: [] }, locks: [], resolve, reject: () => resolve() })
      if (!this.#writing) void this.#drain()
    })
  }

  /** Nothing is remembered about rows: every read goes to the server. */
  forget(): void {}

  async close(): Promise<void> {
    if (this.#closed) return
    // Queued commits still land.
    await this.flush()
    this.#closed = true
    await this.#pool.end()
  }
}

/** Point reads waiting to share a query (PgEngine.#lookup). */
interface Lookup {
  keys: readonly Uint8Array[]
  resolve: (values: (Uint8Array | undefined)[]) => void
  reject: (err: unknown) => void
}

/** A group's transaction failed; `outcome` says whether it is known that nothing was written. */
class TransactionFailed extends Error {
  constructor(
    readonly outcome: 'not-applied' | 'unknown',
    override readonly cause: unknown,
    /** No connection could be made. */
    readonly connecting = false,
  ) {
    super('transaction failed')
  }
}

/** No connection to the server could be made (pool.connect failed). */
class ConnectFailed extends Error {
  constructor(override readonly cause: unknown) {
    super('could not connect')
  }
}
