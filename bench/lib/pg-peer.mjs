// Case 15's peer: a hash chain in a plain PostgreSQL table, written the obvious way with `pg`
// (node-postgres, the client chainlog's engine uses too), as an application would write it
// without chainlog:
//
//   CREATE TABLE entries (session_id text, seq bigint, prev_hash bytea NOT NULL,
//                         hash bytea NOT NULL, body bytea NOT NULL, PRIMARY KEY (session_id, seq))
//
// body = the entry's JSON bytes, hash = SHA-256(prev_hash ‖ body) (prev_hash of seq 0: 32 zero
// bytes), as the other peers chain (peers.mjs). The body is bytea, not jsonb: jsonb re-orders
// keys and drops whitespace, so the hashed bytes could not be read back to check them. Table
// settings are PostgreSQL's defaults (bodies over ~2 KB are compressed by TOAST).
//
// An append (one turn, 5 workload entries) is one transaction on a pooled connection:
// BEGIN; read the session's last row (seq, hash); compute the 5 chain hashes; one INSERT of the
// 5 rows; COMMIT (durable with the server's synchronous_commit = on). Two writers of one session
// cannot fork it: both would insert the same (session_id, seq) and the primary key refuses the
// second. One connection per concurrent session (pool max = sessions of the process).
import pg from 'pg'
import { ZERO32, chainHash, eq32 } from './util.mjs'

export const PEER_TABLE = (schema) => `${schema}.entries`

export async function createPeerSchema(pool, schema) {
  await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}; CREATE TABLE ${PEER_TABLE(schema)} (session_id text NOT NULL, seq bigint NOT NULL, prev_hash bytea NOT NULL, hash bytea NOT NULL, body bytea NOT NULL, PRIMARY KEY (session_id, seq))`)
}

/** A writer for the append tasks: createSession, appendTurn(id, 5 workload entries), close. */
export async function openPgPeer(url, { schema, connections = 1, create = true }) {
  const pool = new pg.Pool({ connectionString: url, max: connections })
  if (create) await createPeerSchema(pool, schema)
  const t = PEER_TABLE(schema)
  const insertSql = (n) => {
    const tuples = []
    for (let i = 0; i < n; i++) tuples.push(`($1, $${2 + i * 4}, $${3 + i * 4}, $${4 + i * 4}, $${5 + i * 4})`)
    return `INSERT INTO ${t} (session_id, seq, prev_hash, hash, body) VALUES ${tuples.join(', ')}`
  }
  let written = 0
  let transactions = 0
  return {
    pool,
    // A session is its rows: nothing to write before the first append.
    async createSession() {},
    async appendTurn(id, entries) {
      const c = await pool.connect()
      try {
        await c.query('BEGIN')
        const last = await c.query(`SELECT seq, hash FROM ${t} WHERE session_id = $1 ORDER BY seq DESC LIMIT 1`, [id])
        let seq = last.rows.length ? Number(last.rows[0].seq) : -1
        let prev = last.rows.length ? last.rows[0].hash : ZERO32
        const values = [id]
        for (const e of entries) {
          const body = Buffer.from(JSON.stringify(e))
          const hash = chainHash(prev, body)
          values.push(++seq, prev, hash, body)
          prev = hash
        }
        await c.query(insertSql(entries.length), values)
        await c.query('COMMIT')
        written += entries.length
        transactions++
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined)
        throw err
      } finally {
        c.release()
      }
    },
    stats: () => ({ entriesWritten: written, batches: transactions }),
    close: () => pool.end(),
  }
}

/**
 * Read every row of the peer's table in (session_id, seq) order, 1,000 rows per query (keyset
 * pagination on the primary key), and check each chain: seq 0, 1, 2, ... per session, prev_hash
 * = the hash of the row before (zero for seq 0), hash = SHA-256(prev_hash ‖ body).
 */
export async function pgPeerVerifyAll(url, schema, chunk = 1000) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const t = PEER_TABLE(schema)
  let entries = 0
  let sessions = 0
  let bytes = 0
  try {
    let after = null
    let session = null
    let prev = ZERO32
    let next = 0
    for (;;) {
      const r = after
        ? await client.query(`SELECT session_id, seq, prev_hash, hash, body FROM ${t} WHERE (session_id, seq) > ($1, $2) ORDER BY session_id, seq LIMIT ${chunk}`, after)
        : await client.query(`SELECT session_id, seq, prev_hash, hash, body FROM ${t} ORDER BY session_id, seq LIMIT ${chunk}`)
      for (const row of r.rows) {
        if (row.session_id !== session) {
          session = row.session_id
          prev = ZERO32
          next = 0
          sessions++
        }
        const seq = Number(row.seq)
        if (seq !== next) throw new Error(`peer: ${session} seq ${seq}, expected ${next}`)
        if (!eq32(row.prev_hash, prev)) throw new Error(`peer: ${session} seq ${seq}: broken link`)
        const h = chainHash(prev, row.body)
        if (!eq32(h, row.hash)) throw new Error(`peer: ${session} seq ${seq}: hash mismatch`)
        prev = h
        next++
        entries++
        bytes += row.body.length
      }
      if (r.rows.length < chunk) break
      const last = r.rows[r.rows.length - 1]
      after = [last.session_id, last.seq]
    }
  } finally {
    await client.end()
  }
  return { entries, sessions, bytes }
}

/** Drop a schema (the rows of one repetition), on a short-lived connection. */
export async function dropSchema(url, schema) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  } finally {
    await client.end()
  }
}

/** Bytes the relations of a schema take (tables, indexes, TOAST). */
export async function schemaBytes(url, schema) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const r = await client.query(`SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'`, [schema])
    return Number(r.rows[0].n)
  } finally {
    await client.end()
  }
}
