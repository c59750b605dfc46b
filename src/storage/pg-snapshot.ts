// The PostgreSQL side of copyStore (src/copy/copy-store.ts): whether a schema holds a chainlog store, asked
// without creating anything (opening an engine creates its schema), and a scan of every row from
// one snapshot (REPEATABLE READ, READ ONLY), so a copy of a store that other processes keep
// writing is the store as it was at one moment. The engine's own scan pages outside any
// transaction and is not one snapshot (docs/scaling.md section 6); writers are not held up by this
// one (MVCC), it only keeps the old row versions alive until it ends.
import type * as PgTypes from 'pg'
import { ChainlogError, ErrorCodes } from '../errors.js'
import type { Row } from './engine.js'
import { pgError, type PgEngineOptions } from './pg-engine.js'
import * as K from './keys.js'

type Pg = typeof PgTypes

async function loadPg(options: PgEngineOptions): Promise<Pg> {
  let mod: unknown
  try {
    mod = await (options.loadPg ?? (() => import('pg')))()
  } catch (err) {
    const code = (err as { code?: unknown })?.code
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new ChainlogError(ErrorCodes.DEPENDENCY_MISSING, 'a PostgreSQL store needs the `pg` package: npm install pg', { package: 'pg', feature: 'postgresql' }, { cause: err })
    }
    throw err
  }
  const m = mod as { default?: Pg } & Pg
  return m.default?.Pool ? m.default : m
}

/** A read-only view of one PostgreSQL store's rows, from one snapshot. */
export interface PgSnapshot {
  /** Whether the schema holds a chainlog store (its kv table with a format row). */
  readonly exists: boolean
  /** How many rows it holds besides its format row (one count, in the snapshot: for a progress bar). */
  count(): Promise<number>
  /** Every row in key order, `chunk` at a time. */
  rows(chunk: number): AsyncIterable<Row[]>
  close(): Promise<void>
}

/** Open a snapshot of the store in `options.schema` (default `chainlog`); nothing is written. */
export async function openPgSnapshot(options: PgEngineOptions): Promise<PgSnapshot> {
  const schema = options.schema ?? 'chainlog'
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, `schema must be lower-case letters, digits and _: ${JSON.stringify(schema)}`, { schema })
  if (typeof options.connectionString !== 'string' || options.connectionString === '') throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'a PostgreSQL store needs a connectionString', {})
  const pg = await loadPg(options)
  const client = new pg.Client({ connectionTimeoutMillis: 5000, keepAlive: true, application_name: 'chainlog copy', ...clientOptions(options), connectionString: options.connectionString })
  client.on('error', () => undefined) // a broken connection fails the query in flight
  try {
    await client.connect()
  } catch (err) {
    await client.end().catch(() => undefined)
    throw pgError(err, 'open')
  }
  let open = false
  const end = async () => {
    if (open) await client.query('COMMIT').catch(() => undefined)
    open = false
    await client.end().catch(() => undefined)
  }
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
    open = true
    const table = `"${schema}".kv`
    const has = await client.query<{ has: boolean }>('SELECT to_regclass($1) IS NOT NULL AS has', [table])
    const exists = has.rows[0]!.has && (await client.query(`SELECT 1 FROM ${table} WHERE key = $1`, [Buffer.from(K.formatKey())])).rowCount === 1
    return {
      exists,
      async count() {
        const r = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE key <> $1`, [Buffer.from(K.formatKey())]).catch((err: unknown) => {
          throw pgError(err, 'read')
        })
        return Number(r.rows[0]!.n)
      },
      async *rows(chunk: number) {
        let after: Buffer | undefined
        for (;;) {
          const r = await client
            .query<{ key: Buffer; value: Buffer }>(
              after === undefined ? `SELECT key, value FROM ${table} ORDER BY key LIMIT $1` : `SELECT key, value FROM ${table} WHERE key > $2 ORDER BY key LIMIT $1`,
              after === undefined ? [chunk] : [chunk, after],
            )
            .catch((err: unknown) => {
              throw pgError(err, 'read')
            })
          if (r.rows.length === 0) return
          after = r.rows.at(-1)!.key
          yield r.rows.map((row): Row => [view(row.key), view(row.value)])
          if (r.rows.length < chunk) return
        }
      },
      close: end,
    }
  } catch (err) {
    await end()
    throw pgError(err, 'read')
  }
}

const view = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength)

/** The pool options that also apply to one client (ssl, timeouts, ...), without the pool's own. */
function clientOptions(options: PgEngineOptions): Record<string, unknown> {
  const { max: _m, idleTimeoutMillis: _i, min: _n, maxUses: _u, allowExitOnIdle: _a, ...rest } = options.pool ?? {}
  return rest
}
