// The PostgreSQL engine's commit as one server-side function (schema version 2), so that a group
// of commits costs one round trip: the function takes the key locks, checks each commit's
// preconditions against the rows as the commits before it leave them, writes the accepted ones,
// and the statement's own (implicit) transaction commits them. Keys and values travel as one
// binary parameter (no hex text to build, send and parse); the function cuts it apart.
//
// Before it returns, the function sends the transaction id and the refusals as a NOTICE, which
// the server flushes to the client at once (before COMMIT). So when the connection breaks during
// the call, the engine either holds the transaction id (and asks txid_status, as before) or knows
// the function had not finished, hence had not committed (pg-engine.ts, #transaction).
import { PRESENT, PreconditionFailed, type BatchOp, type Commit } from './engine.js'

/** Item kinds in a request, per key: the preconditions first, then the commit's net writes. */
const EXPECT_ABSENT = 0
const EXPECT_VALUE = 1
const EXPECT_PRESENT = 2
const PUT = 3
const DEL = 4

/** The prefix of the function's NOTICE (and of its result): `chainlog-commit <xid|-> <refusals>`. */
export const COMMIT_NOTICE = 'chainlog-commit '

/**
 * `<s>.chainlog_commit(...)`: see the top of this file. Returns `<xid> <refusals>`, where xid is
 * `-` when nothing was written (no transaction id was assigned: all refused, or checks only) and
 * refusals are `<commit>:<precondition index>:<actual>;` for each refused commit (0-based),
 * actual `-` for an absent row, else the row's value in hex (empty for a precondition on
 * presence only, as the engine reports it).
 */
export function commitFunctionSql(s: string): string {
  return `CREATE OR REPLACE FUNCTION ${s}.chainlog_commit(
  sync boolean, escalate boolean, ns int4, global_lock int8, locks int4[],
  segs int4[], cs int4[], xs int4[], kinds int4[], klens int4[], vlens int4[], data bytea
) RETURNS text LANGUAGE plpgsql SET client_min_messages = notice AS $fn$
DECLARE
  ks bytea[];
  vs bytea[];
  a int := 1;
  b int;
  bad int[];
  msg text;
  refused text := '';
  xid text;
BEGIN
  IF NOT sync THEN PERFORM set_config('synchronous_commit', 'off', true); END IF;
  -- Locks in ascending order, all in one statement: two writers never deadlock.
  IF escalate THEN
    PERFORM pg_advisory_xact_lock(global_lock);
  ELSE
    PERFORM pg_advisory_xact_lock_shared(global_lock);
    PERFORM count(pg_advisory_xact_lock(ns, l)) FROM unnest(locks) AS l;
  END IF;
  -- Cut the keys and values out of data (each item: its key, then its value if it has one).
  SELECT array_agg(substring(data FROM (o + 1)::int FOR kl) ORDER BY i),
         array_agg(CASE WHEN vl < 0 THEN NULL ELSE substring(data FROM (o + kl + 1)::int FOR vl) END ORDER BY i)
    INTO ks, vs
    FROM (SELECT i, kl, vl, coalesce(sum(kl + greatest(vl, 0)) OVER (ORDER BY i ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS o
            FROM unnest(klens, vlens) WITH ORDINALITY AS u(kl, vl, i)) q;
  -- A segment: consecutive commits none of which reads or writes a key an earlier one of the
  -- segment writes, so all of its checks can run before any of its writes.
  FOR g IN 1 .. coalesce(array_length(segs, 1), 0) LOOP
    b := a + segs[g] - 1;
    -- Each commit's first precondition that does not hold.
    SELECT array_agg(f.c), string_agg(f.c || ':' || f.x || ':' || CASE WHEN NOT f.there THEN '-' ELSE encode(f.actual, 'hex') END || ';', '')
      INTO bad, msg
      FROM (SELECT DISTINCT ON (e.c) e.c, e.x, kv.key IS NOT NULL AS there, CASE WHEN e.t = ${EXPECT_PRESENT} THEN ''::bytea ELSE kv.value END AS actual
              FROM unnest(ks[a:b], vs[a:b], kinds[a:b], cs[a:b], xs[a:b]) AS e(k, v, t, c, x)
              LEFT JOIN ${s}.kv ON kv.key = e.k
             WHERE e.t <= ${EXPECT_PRESENT}
               AND NOT CASE e.t WHEN ${EXPECT_ABSENT} THEN kv.key IS NULL WHEN ${EXPECT_PRESENT} THEN kv.key IS NOT NULL ELSE kv.key IS NOT NULL AND kv.value = e.v END
             ORDER BY e.c, e.x) f;
    refused := refused || coalesce(msg, '');
    bad := coalesce(bad, '{}');
    IF ${DEL} = ANY (kinds[a:b]) THEN
      DELETE FROM ${s}.kv WHERE key = ANY (ARRAY(SELECT w.k FROM unnest(ks[a:b], kinds[a:b], cs[a:b]) AS w(k, t, c) WHERE w.t = ${DEL} AND NOT w.c = ANY (bad)));
    END IF;
    IF ${PUT} = ANY (kinds[a:b]) THEN
      INSERT INTO ${s}.kv (key, value) SELECT w.k, w.v FROM unnest(ks[a:b], vs[a:b], kinds[a:b], cs[a:b]) AS w(k, v, t, c) WHERE w.t = ${PUT} AND NOT w.c = ANY (bad)
        ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;
    END IF;
    a := b + 1;
  END LOOP;
  -- No id assigned: nothing was written, and COMMIT writes no record (no WAL flush).
  xid := coalesce(txid_current_if_assigned()::text, '-');
  RAISE NOTICE '%', '${COMMIT_NOTICE}' || xid || ' ' || refused;
  RETURN xid || ' ' || refused;
END
$fn$`
}

/** The parameters of one call for a group, after `sync`, `escalate`, `ns`, `global_lock`, `locks`. */
export interface CommitRequest {
  /** Items per segment (see the function). */
  segs: number[]
  /** Per item: the index of its commit in the group, and of its precondition in the commit (-1 for a write). */
  cs: number[]
  xs: number[]
  kinds: number[]
  klens: number[]
  vlens: number[]
  data: Buffer
  /** Bytes of keys and values the group writes. */
  bytes: number
}

const buf = (u: Uint8Array): Buffer => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength))
const view = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
const id = (key: Uint8Array): string => buf(key).toString('latin1')

/**
 * Encode a group's commits: each commit's preconditions in order, then its net writes (the last
 * op per key); a new segment starts at a commit that reads or writes a key that a commit before
 * it in the segment writes (its check must see that write).
 */
export function encodeGroup(commits: readonly Commit[]): CommitRequest {
  const segs: number[] = []
  const cs: number[] = []
  const xs: number[] = []
  const kinds: number[] = []
  const klens: number[] = []
  const vlens: number[] = []
  const parts: Buffer[] = []
  let size = 0
  let bytes = 0
  let segStart = 0
  let written = new Set<string>()
  const add = (c: number, x: number, kind: number, key: Uint8Array, value: Uint8Array | undefined) => {
    cs.push(c)
    xs.push(x)
    kinds.push(kind)
    klens.push(key.length)
    vlens.push(value === undefined ? -1 : value.length)
    parts.push(buf(key))
    size += key.length
    if (value !== undefined) {
      parts.push(buf(value))
      size += value.length
    }
  }
  commits.forEach((commit, c) => {
    const expect = commit.expect ?? []
    let ops: Iterable<BatchOp> = commit.ops
    const keys: string[] = []
    if (commit.ops.length > 1) {
      const net = new Map<string, BatchOp>()
      for (const op of commit.ops) net.set(id(op.key), op)
      ops = net.values()
      keys.push(...net.keys())
    } else {
      for (const op of commit.ops) keys.push(id(op.key))
    }
    if (written.size > 0 && (keys.some((k) => written.has(k)) || expect.some((e) => written.has(id(e.key))))) {
      segs.push(kinds.length - segStart)
      segStart = kinds.length
      written = new Set()
    }
    expect.forEach((e, x) => {
      if (e.value === undefined) add(c, x, EXPECT_ABSENT, e.key, undefined)
      else if (e.value === PRESENT) add(c, x, EXPECT_PRESENT, e.key, undefined)
      else add(c, x, EXPECT_VALUE, e.key, e.value)
    })
    for (const op of ops) {
      if (op.type === 'put') {
        add(c, -1, PUT, op.key, op.value)
        bytes += op.key.length + op.value.length
      } else {
        add(c, -1, DEL, op.key, undefined)
        bytes += op.key.length
      }
    }
    for (const k of keys) written.add(k)
  })
  if (kinds.length > segStart) segs.push(kinds.length - segStart)
  return { segs, cs, xs, kinds, klens, vlens, data: parts.length === 1 ? parts[0]! : Buffer.concat(parts, size), bytes }
}

/** The outcome a call reports (its result, or its NOTICE): the transaction id (undefined: nothing written) and the refusals. */
export interface CommitOutcome {
  xid: string | undefined
  refusals: Map<number, PreconditionFailed>
}

/** Parse `<xid|-> <refusals>` against the commits of the group it was made for. */
export function parseOutcome(text: string, commits: readonly Commit[]): CommitOutcome {
  const space = text.indexOf(' ')
  const xid = text.slice(0, space)
  const refusals = new Map<number, PreconditionFailed>()
  for (const part of text.slice(space + 1).split(';')) {
    if (part === '') continue
    const [c, i, actual] = part.split(':') as [string, string, string]
    const commit = commits[Number(c)]!
    const index = Number(i)
    const key = commit.expect![index]!.key
    refusals.set(Number(c), new PreconditionFailed(index, key, actual === '-' ? undefined : view(Buffer.from(actual, 'hex'))))
  }
  return { xid: xid === '-' ? undefined : xid, refusals }
}
