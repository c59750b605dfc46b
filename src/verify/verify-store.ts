// Store verification for auditors: walks each session's records in chunks (memory stays
// bounded by the chunk size, not the store size; a whole store is one scan of the records
// merged with scans of the session rows (head and metadata) and tree rows), recomputes every hash from the
// stored bytes (on worker threads for a whole store: verify-threads.ts), checks links, the
// hash index, heads, genesis binding and provenance, then counts the hash index against the
// records it confirmed to find rows that name no entry.
import { bytesEqual, decodeCbor } from '../encoding/cbor.js'
import { HASH_BYTES, ZERO_HASH, fromHex, hashRecord, isHexHash, toHex } from '../encoding/hash.js'
import { ChainlogError, ErrorCodes } from '../errors.js'
import type { Origin } from '../schema/entry.js'
import * as K from '../storage/keys.js'
import type { KeyRange, Row } from '../storage/engine.js'
import { TreeCheck, type TreeRows } from './tree-check.js'
import { TableCursor, compareKeys, keyAfter } from './table-cursor.js'
import type { SessionMeta, SessionStore } from '../storage/session-store.js'
import { ReadAhead } from '../storage/read-ahead.js'
import type { RecordCheck } from './record-check.js'
import type { RecordChecker } from './checker.js'
import { platform } from '../platform/node.js'
import { FindingList, type CheckpointResult, type TrustedHeadResult, type VerifyReport } from './findings.js'
import { verifyCheckpoint, type VerifiedCheckpoint } from '../proofs/checkpoint.js'
import { latin1, utf8 } from '../encoding/bytes.js'
import { treeExtends } from './checkpoint-tree.js'

const CHUNK = 512
/** Chunks of the session-row and tree scans of a whole-store verify: small first, then larger. */
const SIDE_CHUNK = 256
const SIDE_MAX_CHUNK = 512
const ZERO_HEX = toHex(ZERO_HASH)
const HEAD_BYTES = HASH_BYTES + 8

/** The metadata bytes of a session row (`P`: head ‖ metadata), undefined when it holds none. */
function metaOf(row: Uint8Array | undefined): Uint8Array | undefined {
  return row && row.length > HEAD_BYTES ? K.rowMetaBytes(row) : undefined
}

// Index rows are read defensively: a damaged row is a finding, never a crash of verify.

/** A hash-index value (seq(u64) ‖ sessionId), or undefined when it is too short to be one. */
function parseLoc(v: Uint8Array): { sessionId: string; seq: number } | undefined {
  return v.length > 8 ? K.parseHashIndexValue(v) : undefined
}

/** Where the hash index puts an entry; `null` when the row exists but cannot be read. */
async function locate(store: SessionStore, hex: string): Promise<{ sessionId: string; seq: number } | null | undefined> {
  const raw = await store.getRaw(K.hashKey(fromHex(hex)))
  return raw ? (parseLoc(raw) ?? null) : undefined
}

/** The head of a session row: its first 40 bytes (the metadata after them is not decoded). */
function parseHead(v: Uint8Array): { hash: Uint8Array; seq: number } | undefined {
  return v.length >= HEAD_BYTES ? K.parseHeadValue(v) : undefined
}

function decodeRow(raw: Uint8Array): Record<string, unknown> | undefined {
  try {
    const v = decodeCbor(raw)
    return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array) ? (v as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

export interface VerifyOptions {
  /**
   * Worker threads for the per-record work (hash, decode, canonical form, schema). Default: one
   * per core beyond the main thread's (1 to 4) for a whole-store verify, none for one session;
   * 0 checks in the main thread.
   */
  threads?: number
  /** Verify one session (default: the whole store). */
  sessionId?: string
  /** With sessionId: also verify every source session the lineage reaches. */
  lineage?: boolean
  /** A head hash seen earlier: does the chain still contain it? */
  trustedHead?: string
  /** Called after each chunk with the running count of entries checked. */
  onProgress?: (checked: { entries: number; bytes: number }) => void
  /**
   * A signed checkpoint (docs/proofs.md section 4) of the session: after its signature is
   * verified with `keys`, the session must still hold the history it signs (rollback, fork,
   * truncation and rewrite each have their finding code; verification.md section 4).
   */
  checkpoint?: string
  /** Log keys (verifier key texts) that may sign the checkpoint. */
  keys?: readonly string[]
  /**
   * With a checkpoint: walk the whole session (every record re-hashed, the root at the
   * checkpoint's size recomputed from the chain, every tree row checked), O(n), instead of the
   * O(log n) check with the stored tree. The walk also runs when the tree cannot answer (see
   * verification.md, "Signed checkpoints"), and with `lineage` or `trustedHead`.
   */
  full?: boolean
  /** Witness keys whose cosignatures count, and how many must have cosigned (default 1 with witnesses). */
  witnesses?: readonly string[]
  quorum?: number
}

/** A hook for extra per-entry checks (blobs). Returns nothing; adds findings. */
export type EntryCheck = ((ctx: { sessionId: string; seq: number; hash: string; refs: readonly { hex: string; size: number }[]; findings: FindingList }) => Promise<void>) & {
  /**
   * Optional read-ahead for a chunk: the blob references of its records (checked records
   * only); the returned function installs what was read.
   */
  prefetch?: (refs: readonly (readonly { hex: string; size: number }[] | undefined)[]) => Promise<() => void>
}

interface Ctx {
  store: SessionStore
  findings: FindingList
  checked: { sessions: number; entries: number; bytes: number }
  /** Sequence rows whose entry exists and whose hash index row points back at them. */
  confirmed: number
  onProgress: VerifyOptions['onProgress']
  extraCheck: EntryCheck | undefined
  checker: RecordChecker
  /** Origins to check after the walk (few: one per fork or compaction). */
  origins: { childId: string; genesisHash: string; origin: Origin; relation: 'fork' | 'compaction'; selfContained: boolean }[]
  /** With a checkpoint: its session and size, and the root and head the chain gives at that size. */
  checkpoint?: { sessionId: string; size: number; reached?: { root: Uint8Array; head: Uint8Array } }
}

/** Where a session walk reads the session's row (head ‖ metadata, store format 4) and tree rows. */
interface SessionSides {
  /** The session row (`P`), whole. */
  head(sessionId: string): Promise<Uint8Array | undefined>
  /** The metadata bytes of the session row, undefined when the row is missing or holds a head only. */
  meta(sessionId: string): Promise<Uint8Array | undefined>
  tree: TreeRows
}

/** One session verified alone: a point read of its session row, its tree rows from the engine. */
function pointSides(store: SessionStore): SessionSides {
  return { head: (id) => store.getRaw(K.headKey(id)), meta: async (id) => metaOf(await store.getRaw(K.headKey(id))), tree: store.engine }
}

/**
 * The whole store walked in key order: each session's row and tree rows come from one scan of
 * the `P` and `T` tables each, taken as the walk of the records reaches the session (all three
 * tables order sessions alike), instead of point reads and an iterator per session. The `P` rows
 * no walked session took are kept: their sessions may have no records at all (a finding once the
 * walk is over).
 */
class MergedSides implements SessionSides {
  readonly #store: SessionStore
  readonly #heads: TableCursor
  readonly #trees: TableCursor
  /** The row the cursor last gave, for the session being walked (its head and metadata are read apart). */
  #last: { id: string; row: Uint8Array | undefined } | undefined
  /** Keys of session rows that no walked session took, in key order. */
  readonly unmatched: { head: Uint8Array[] } = { head: [] }
  readonly tree: TreeRows

  constructor(store: SessionStore) {
    this.#store = store
    const e = store.engine
    this.#heads = new TableCursor(e, K.tableRange(K.TAG.head), SIDE_CHUNK, SIDE_MAX_CHUNK)
    this.#trees = new TableCursor(e, K.tableRange(K.TAG.tree), SIDE_CHUNK, SIDE_MAX_CHUNK)
    this.tree = { getMany: (keys) => this.#treeRows(keys), scan: (range) => this.#treeScan(range) }
  }

  /** The row at `key`, passing over (and keeping as unmatched) the rows before it. */
  async #row(cursor: TableCursor, key: Uint8Array, unmatched: Uint8Array[]): Promise<Uint8Array | undefined> {
    if (!cursor.canServe(key)) return this.#store.getRaw(key)
    await cursor.take(key, ([k]) => unmatched.push(k))
    let value: Uint8Array | undefined
    await cursor.take(keyAfter(key), ([, v]) => (value = v))
    return value
  }

  async head(sessionId: string): Promise<Uint8Array | undefined> {
    if (this.#last?.id === sessionId) return this.#last.row
    const row = await this.#row(this.#heads, K.headKey(sessionId), this.unmatched.head)
    this.#last = { id: sessionId, row }
    return row
  }

  async meta(sessionId: string): Promise<Uint8Array | undefined> {
    return metaOf(await this.head(sessionId))
  }

  /** A walked session is done: its session row, read or not, is matched. */
  async done(sessionId: string): Promise<void> {
    const head = K.headKey(sessionId)
    if (this.#last?.id !== sessionId && this.#heads.canServe(head)) await this.#row(this.#heads, head, this.unmatched.head)
    this.#last = undefined
  }

  /** Tree rows at `keys` (one session's, ascending); rows passed over are not wanted by anyone. */
  async #treeRows(keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    if (keys.length === 0) return []
    if (!this.#trees.canServe(keys[0]!)) return this.#store.engine.getMany(keys)
    await this.#trees.take(keys[0])
    const got = new Map<string, Uint8Array>()
    await this.#trees.take(keyAfter(keys[keys.length - 1]!), ([k, v]) => got.set(latin1(k), v))
    return keys.map((k) => got.get(latin1(k)))
  }

  async *#treeScan(range: KeyRange): AsyncIterable<Row[]> {
    if (!this.#trees.canServe(range.gte)) {
      yield* this.#store.engine.scan(range, 256)
      return
    }
    await this.#trees.take(range.gte)
    for (let more = true; more; ) {
      const rows: Row[] = []
      more = await this.#trees.take(range.lt, (row) => rows.push(row), 256)
      if (rows.length > 0) yield rows
    }
  }

  /** After the walk: the session rows left are unmatched. */
  async finish(): Promise<void> {
    await this.#heads.take(undefined, ([k]) => this.unmatched.head.push(k))
  }

  async close(): Promise<void> {
    await Promise.all([this.#heads.close(), this.#trees.close()])
  }
}


/** One chunk of records, with what was read and computed for it ahead of the walk. */
interface Chunk {
  rows: Row[]
  records: Uint8Array[]
  hashes: Uint8Array[]
  hashRows: (Uint8Array | undefined)[]
  checks: RecordCheck[]
  install: (() => void) | undefined
}

/**
 * Chunks of record rows, read ahead (two in flight, read-ahead.ts) while the walk checks the one
 * before, so I/O overlaps with the checks. Each record is hashed and opened (decoded, schema- and
 * canonical-checked) once, as its chunk arrives, and the chunk's hash-index rows and blobs are
 * fetched in one read each.
 */
function readChunks(ctx: Ctx, range: KeyRange): { ahead: ReadAhead<Row[], Chunk>; close: () => Promise<void> } {
  const { store } = ctx
  const rowsIt = store.engine.scan(range, CHUNK)[Symbol.asyncIterator]()
  const ahead = new ReadAhead(
    async () => {
      const r = await rowsIt.next()
      return r.done ? undefined : r.value
    },
    async (rows: Row[]): Promise<Chunk> => {
      const records = rows.map(([, v]) => v)
      const checks = await ctx.checker.check(records)
      const hashes = checks.map((c) => c.hash)
      const [hashRows, install] = await Promise.all([store.engine.getMany(hashes.map((h) => K.hashKey(h))), ctx.extraCheck?.prefetch?.(checks.map((c) => c.refs))])
      return { rows, records, hashes, hashRows, checks, install }
    },
  )
  return {
    ahead,
    close: async () => {
      await ahead.settle()
      await rowsIt.return?.()
    },
  }
}

/**
 * Verify one session's chain from its records, fed to it in seq order. A record does not carry
 * its own hash: the chain does (the next record's prev, or the head for the last). Each record
 * is hashed once, and its hash compared with the one the chain gives it; where they differ, the
 * hash index tells which side was changed: if it still puts the chain's hash at this seq, this
 * record was rewritten (hash_mismatch), else the next record's link was (prev_mismatch).
 */
class SessionWalk {
  /** Records fed so far. */
  rows = 0
  /** The record read last, checked once the chain's hash for it is known. */
  #held: Held | undefined
  #expectedSeq = 0
  #lastSeq = -1
  /** Links of the records fed since the last flush, for the tree. */
  #links: Uint8Array[] = []
  // The tree rows are checked against the chain's links (the hash each record's successor
  // names, the head for the last): the hashes the tree was built from.
  readonly #tree: TreeCheck

  constructor(
    private readonly ctx: Ctx,
    readonly sessionId: string,
    private readonly sides: SessionSides,
  ) {
    ctx.checked.sessions++
    this.#tree = new TreeCheck(sides.tree, sessionId, ctx.findings)
    if (ctx.checkpoint?.sessionId === sessionId) this.#tree.target = ctx.checkpoint.size
  }

  /** The next record row of the session, with its hash, hash-index row and check. */
  async row(key: Uint8Array, record: Uint8Array, hash: Uint8Array, hashRow: Uint8Array | undefined, check: RecordCheck): Promise<void> {
    const { ctx, sessionId } = this
    const { findings } = ctx
    const tree = this.#tree
    const { seq } = K.parseRecordKey(key)
    this.rows++
    if (seq !== this.#expectedSeq) {
      tree.stop()
      findings.add({ code: 'seq_gap', message: `session ${sessionId} jumps from seq ${this.#expectedSeq - 1} to ${seq}`, sessionId, seq, expected: this.#expectedSeq, actual: seq })
    }
    ctx.checked.entries++
    ctx.checked.bytes += record.length
    const prev = record.length >= HASH_BYTES ? record.subarray(0, HASH_BYTES) : undefined
    if (seq > 0) {
      if (prev) this.#links.push(prev.slice())
      else tree.stop()
    }
    // The previous record is settled against the link this one declares (when they are adjacent).
    const held = this.#held
    if (held) {
      const adjacent = held.seq === seq - 1
      await this.#settle(held, adjacent ? prev : undefined, adjacent ? hash : undefined)
    }
    if (seq === 0 && (!prev || !bytesEqual(prev, ZERO_HASH))) {
      findings.add({ code: 'prev_mismatch', message: `genesis of ${sessionId} links to ${prev ? toHex(prev) : '(nothing)'}`, sessionId, seq, hash: toHex(hash), expected: ZERO_HEX, actual: prev ? toHex(prev) : '' })
    }
    this.#held = { seq, hash, hashRow, check }
    this.#expectedSeq = seq + 1
    this.#lastSeq = seq
  }

  /** Check the tree rows the links fed since the last flush complete. */
  async flush(): Promise<void> {
    const links = this.#links
    this.#links = []
    await this.#tree.add(links)
  }

  /** After the last record: settle it against the head, and check the head and the tree's end. */
  async end(): Promise<void> {
    const { ctx, sessionId } = this
    const { store, findings } = ctx
    const tree = this.#tree
    const lastSeq = this.#lastSeq
    let lastHash: string | undefined
    const headRaw = await this.sides.head(sessionId)
    const head = headRaw ? parseHead(headRaw) : undefined
    const held = this.#held
    if (held) {
      await this.#settle(held, head && head.seq === held.seq ? head.hash : undefined, undefined)
      lastHash = toHex(held.hash)
    }
    if (!headRaw) {
      findings.add({ code: 'head_mismatch', message: `session ${sessionId} has entries but no head`, sessionId, expected: lastHash, actual: null })
      return
    }
    if (!head) {
      findings.add({ code: 'head_mismatch', message: `head row of ${sessionId} cannot be read`, sessionId, expected: { hash: lastHash, seq: lastSeq }, actual: toHex(headRaw) })
      return
    }
    const headHex = toHex(head.hash)
    if (head.seq === lastSeq && lastSeq >= 0) {
      await tree.add([new Uint8Array(head.hash)])
      await tree.finish()
    }
    if (ctx.checkpoint?.sessionId === sessionId && tree.atTarget) ctx.checkpoint.reached = tree.atTarget
    if (head.seq !== lastSeq || (headHex !== lastHash && !(await rewrittenAt(store, headHex, sessionId, lastSeq)))) {
      findings.add({
        code: 'head_mismatch',
        message: `head of ${sessionId} is ${headHex}#${head.seq}, last entry is ${lastHash}#${lastSeq}`,
        sessionId,
        seq: head.seq,
        hash: headHex,
        expected: { hash: lastHash, seq: lastSeq },
        actual: { hash: headHex, seq: head.seq },
      })
    }
  }

  /** Check a record once the chain's hash for it is known (`next`: the record after it, when adjacent). */
  async #settle(h: Held, claimed: Uint8Array | undefined, next: Uint8Array | undefined): Promise<void> {
    const { ctx, sessionId } = this
    const { store, findings } = ctx
    const hash = toHex(h.hash)
    let at = { sessionId, seq: h.seq, hash }
    let rewritten = false
    if (claimed !== undefined && !bytesEqual(claimed, h.hash)) {
      const claimedHex = toHex(claimed)
      const loc = await locate(store, claimedHex)
      if (loc && loc.sessionId === sessionId && loc.seq === h.seq) {
        rewritten = true
        findings.add({ code: 'hash_mismatch', message: `entry ${claimedHex} at ${sessionId}#${h.seq} now hashes to ${hash}`, ...at, hash: claimedHex, expected: claimedHex, actual: hash })
        // Later findings about this record name it by the hash the chain knows it by.
        at = { ...at, hash: claimedHex }
      } else if (next !== undefined) {
        findings.add({ code: 'prev_mismatch', message: `entry at ${sessionId}#${h.seq + 1} links to ${claimedHex}, not to ${hash}`, sessionId, seq: h.seq + 1, hash: toHex(next), expected: hash, actual: claimedHex })
      }
    }
    // A rewritten record's new hash has no index row (hash_mismatch says it all); one that has a
    // row elsewhere is a known entry moved here (a splice or a swap), and that row is reported.
    if (!rewritten || h.hashRow) {
      if (!h.hashRow) {
        findings.add({ code: 'index_mismatch', message: `hash index has no row for ${hash}`, sessionId, seq: h.seq, hash, expected: { sessionId, seq: h.seq }, actual: null })
      } else {
        const loc = parseLoc(h.hashRow)
        if (!loc) {
          findings.add({ code: 'index_mismatch', message: `hash index row for ${hash} cannot be read`, sessionId, seq: h.seq, hash, expected: { sessionId, seq: h.seq }, actual: toHex(h.hashRow) })
        } else if (loc.sessionId !== sessionId || loc.seq !== h.seq) {
          findings.add({ code: 'index_mismatch', message: `hash index puts ${hash} at ${loc.sessionId}#${loc.seq}`, sessionId, seq: h.seq, hash, expected: { sessionId, seq: h.seq }, actual: loc })
        } else {
          ctx.confirmed++
        }
      }
    }
    const c = h.check
    if (c.error) {
      findings.add({ code: c.error.code, message: c.error.message, ...at })
      return
    }
    if (h.seq === 0) {
      const g = c.genesis
      if (!g) {
        findings.add({ code: 'genesis_invalid', message: `seq 0 of ${sessionId} is a ${c.kind}`, ...at, expected: 'session_start', actual: c.kind })
      } else {
        if (g.sessionId !== sessionId) {
          findings.add({ code: 'genesis_invalid', message: `genesis of ${sessionId} names session ${g.sessionId}`, ...at, expected: sessionId, actual: g.sessionId })
        }
        const origin = g.forkedFrom ?? g.compactedFrom
        if (origin) {
          ctx.origins.push({ childId: sessionId, genesisHash: hash, origin, relation: g.forkedFrom ? 'fork' : 'compaction', selfContained: g.selfContained })
        }
        checkMeta(ctx, sessionId, await this.sides.meta(sessionId), g.forkedFrom, g.compactedFrom)
      }
    } else if (c.genesis) {
      findings.add({ code: 'genesis_invalid', message: `session_start at seq ${h.seq} of ${sessionId}`, ...at })
    }
    for (const path of c.malformedRefs ?? []) {
      findings.add({ code: 'blob_invalid', message: `entry at ${sessionId}#${h.seq} has a malformed blob reference at ${path} (the key "$blob" is reserved for { $blob: "sha256:<hex>", size, mediaType })`, ...at, expected: null, actual: { malformedReference: path } })
    }
    if (ctx.extraCheck && c.refs) await ctx.extraCheck({ sessionId, seq: h.seq, hash: at.hash, refs: c.refs, findings })
  }
}

interface Held {
  seq: number
  hash: Uint8Array
  hashRow: Uint8Array | undefined
  check: RecordCheck
}

/** Verify one session alone: a scan of its records, point reads of its head and metadata. */
async function verifySessionRows(ctx: Ctx, sessionId: string): Promise<void> {
  const walk = new SessionWalk(ctx, sessionId, pointSides(ctx.store))
  const { ahead, close } = readChunks(ctx, K.recordRange(sessionId))
  try {
    for (;;) {
      const chunk = await ahead.next()
      if (!chunk) break
      const { rows, records, hashes, hashRows, checks, install } = chunk
      install?.()
      for (let i = 0; i < rows.length; i++) await walk.row(rows[i]![0], records[i]!, hashes[i]!, hashRows[i], checks[i]!)
      await walk.flush()
      ctx.onProgress?.({ entries: ctx.checked.entries, bytes: ctx.checked.bytes })
    }
  } finally {
    await close()
  }
  await walk.end()
}

/**
 * Verify every session: one scan of the records (`R`, keyed sessionId ‖ 0x00 ‖ seq), cut into
 * sessions where the key's session changes, merged with one scan each of the heads, metadata
 * and tree rows (MergedSides). Chunks of records span sessions, so a store of many small
 * sessions costs a read, a hash-index getMany and a worker round trip per chunk, not per
 * session. A session's tree rows are checked every CHUNK of its records, as when it is verified
 * alone, so its findings come in the same order either way. Sessions with a head or metadata
 * but no records are reported after the walk.
 */
async function verifyAll(ctx: Ctx): Promise<void> {
  const { store, findings } = ctx
  const sides = new MergedSides(store)
  try {
    const { ahead, close } = readChunks(ctx, K.tableRange(K.TAG.record))
    let walk: SessionWalk | undefined
    /** The current session's records end before this key. */
    let end: Uint8Array = new Uint8Array(0)
    const endWalk = async (): Promise<void> => {
      if (!walk) return
      const w = walk
      walk = undefined
      await w.flush()
      await w.end()
      await sides.done(w.sessionId)
    }
    try {
      for (;;) {
        const chunk = await ahead.next()
        if (!chunk) break
        const { rows, records, hashes, hashRows, checks, install } = chunk
        // The chunk's blobs are installed once the session that ends at its start is done.
        let installed = false
        for (let i = 0; i < rows.length; i++) {
          const key = rows[i]![0]
          if (!walk || compareKeys(key, end) >= 0) {
            await endWalk()
            const id = seqKeySession(key)
            if (id === undefined) {
              // Not `R ‖ sessionId ‖ 0x00 ‖ u64`: no session's range would contain it.
              findings.add({ code: 'index_mismatch', message: `record key ${toHex(key)} cannot be read`, actual: toHex(key) })
              continue
            }
            walk = new SessionWalk(ctx, id, sides)
            end = K.recordRange(id).lt
          }
          if (!installed) {
            install?.()
            installed = true
          }
          await walk.row(key, records[i]!, hashes[i]!, hashRows[i], checks[i]!)
          if (walk.rows % CHUNK === 0) await walk.flush()
        }
        ctx.onProgress?.({ entries: ctx.checked.entries, bytes: ctx.checked.bytes })
      }
    } finally {
      await close()
    }
    await endWalk()
    await sides.finish()
  } finally {
    await sides.close()
  }
  // Sessions with a head or metadata but no entries at all.
  const empty = new Set<string>()
  for (const key of sides.unmatched.head) {
    const id = K.sessionIdFromKey(key)
    if (!empty.has(id) && !(await anySeq(store, id))) {
      empty.add(id)
      ctx.checked.sessions++
      findings.add({ code: 'seq_gap', message: `session ${id} has a head or metadata but no entries`, sessionId: id, expected: 0, actual: null })
    }
  }
}

/**
 * Compare a session with a verified checkpoint of it (verification.md section 4): the store's
 * size comes from its head, the root and head at the checkpoint's size from the chain walked.
 */
async function checkCheckpoint(store: SessionStore, findings: FindingList, reached: { root: Uint8Array; head: Uint8Array } | undefined, cp: VerifiedCheckpoint, method: 'tree' | 'walk'): Promise<CheckpointResult> {
  const sessionId = cp.sessionId
  const headRaw = await store.getRaw(K.headKey(sessionId))
  const head = headRaw ? parseHead(headRaw) : undefined
  const size = head ? head.seq + 1 : 0
  const base = { sessionId, size: cp.size, storeSize: size, method }
  if (size < cp.size) {
    const loc = await locate(store, cp.head)
    if (loc && loc.sessionId === sessionId && loc.seq === cp.size - 1 && (await store.getRaw(K.recordKey(sessionId, loc.seq)))) {
      findings.add({ code: 'checkpoint_rollback', message: `head of ${sessionId} is at size ${size}, behind the checkpoint's ${cp.size}, whose entries are still stored`, sessionId, seq: cp.size - 1, hash: cp.head, expected: cp.size, actual: size })
      return { ...base, status: 'rollback' }
    }
    findings.add({ code: 'checkpoint_truncated', message: `session ${sessionId} has ${size} entries; the checkpoint signs ${cp.size}`, sessionId, seq: cp.size - 1, hash: cp.head, expected: cp.size, actual: size })
    return { ...base, status: 'truncated' }
  }
  const got = reached
  if (!got) return { ...base, status: 'unchecked' }
  if (bytesEqual(got.root, cp.root) && toHex(got.head) === cp.head) return { ...base, status: 'consistent' }
  const detail = { sessionId, seq: cp.size - 1, hash: cp.head, expected: { root: toHex(cp.root), head: cp.head }, actual: { root: toHex(got.root), head: toHex(got.head) } }
  if (size === cp.size) {
    findings.add({ code: 'checkpoint_fork', message: `session ${sessionId} holds another history of ${cp.size} entries than the checkpoint signs`, ...detail })
    return { ...base, status: 'fork' }
  }
  findings.add({ code: 'checkpoint_rewrite', message: `the first ${cp.size} entries of ${sessionId} are not those the checkpoint signs: history was rewritten`, ...detail })
  return { ...base, status: 'rewrite' }
}

/** Whether the hash index puts `hex` at sessionId#seq (then a mismatch there is a rewritten record, already reported). */
async function rewrittenAt(store: SessionStore, hex: string, sessionId: string, seq: number): Promise<boolean> {
  const loc = await locate(store, hex)
  return loc !== undefined && loc !== null && loc.sessionId === sessionId && loc.seq === seq
}

function checkMeta(ctx: Ctx, sessionId: string, raw: Uint8Array | undefined, forkedFrom: Origin | undefined, compactedFrom: Origin | undefined): void {
  if (!raw) {
    ctx.findings.add({ code: 'index_mismatch', message: `session ${sessionId} has no metadata in its session row`, sessionId, seq: 0 })
    return
  }
  const meta = decodeRow(raw) as SessionMeta | undefined
  if (!meta) {
    ctx.findings.add({ code: 'index_mismatch', message: `metadata in the session row of ${sessionId} cannot be read`, sessionId, seq: 0, expected: forkedFrom ?? compactedFrom ?? null, actual: toHex(raw) })
    return
  }
  const same = (a?: Origin, b?: Origin) => a?.sessionId === b?.sessionId && a?.atHash === b?.atHash
  if (!same(meta.forkedFrom, forkedFrom) || !same(meta.compactedFrom, compactedFrom)) {
    ctx.findings.add({
      code: 'index_mismatch',
      message: `metadata of ${sessionId} records a different origin than its genesis`,
      sessionId,
      seq: 0,
      expected: forkedFrom ?? compactedFrom ?? null,
      actual: meta.forkedFrom ?? meta.compactedFrom ?? null,
    })
  }
}

async function checkOrigins(ctx: Ctx): Promise<void> {
  const { store, findings } = ctx
  for (const o of ctx.origins) {
    const at = { sessionId: o.childId, seq: 0, hash: o.genesisHash }
    const { sessionId: src, atHash } = o.origin
    const loc = isHexHash(atHash) ? await locate(store, atHash) : undefined
    const sourceExists = (await store.getRaw(K.headKey(src))) !== undefined
    if (!loc || loc.sessionId !== src) {
      // A self-contained session does not need its source. When the source is not in this store
      // at all (deleted, or never imported: a bundle carries a compaction without its source),
      // that is a warning; a source that is here but lacks the entry is an error.
      const deleted = !sourceExists && o.selfContained ? (await store.getRaw(K.tombstoneKey(src))) !== undefined : false
      if (!sourceExists && o.selfContained && (deleted || loc === undefined)) {
        const message = deleted ? `source ${src} of ${o.childId} was deleted` : `source ${src} of ${o.childId} is not in this store (never imported)`
        findings.add({ code: 'origin_deleted', severity: 'warning', message, ...at, expected: o.origin })
      } else {
        findings.add({
          code: 'origin_missing',
          message: `${o.relation} ${o.childId} names ${atHash} in ${src}, which ${loc ? `is in ${loc.sessionId}` : 'does not exist'}`,
          ...at,
          expected: o.origin,
          actual: loc ?? null,
        })
      }
      continue
    }
    const rowRaw = await store.getRaw(K.childKey(src, o.childId))
    const row = rowRaw ? (decodeRow(rowRaw) as { relation?: string; atHash?: string } | undefined) : undefined
    if (!row || row.atHash !== atHash || row.relation !== o.relation) {
      findings.add({ code: 'index_mismatch', message: `dependants index of ${src} disagrees with the genesis of ${o.childId}`, ...at, expected: { relation: o.relation, atHash }, actual: row ?? null })
    }
  }
}

/** Hash-index rows that no record confirmed: pointing at no record, or at one with another hash. */
async function checkOrphans(ctx: Ctx): Promise<void> {
  // Every record whose hash row points back at it was confirmed in the walk. If the hash index
  // has exactly as many rows as were confirmed, they are those rows; only otherwise is each row
  // checked against the record it names (a second pass, point reads and hashing).
  const { store, findings } = ctx
  let rows = 0
  for await (const chunk of store.engine.scan(K.tableRange(K.TAG.hash), 4096)) rows += chunk.length
  if (rows === ctx.confirmed) return
  for await (const chunk of store.engine.scan(K.tableRange(K.TAG.hash), CHUNK)) {
    const locs = chunk.map(([, v]) => parseLoc(v))
    const present = locs.map((l, i) => (l ? i : -1)).filter((i) => i >= 0)
    const records = await store.engine.getMany(present.map((i) => K.recordKey(locs[i]!.sessionId, locs[i]!.seq)))
    const recordOf = new Map(present.map((i, j) => [i, records[j]]))
    for (let i = 0; i < chunk.length; i++) {
      const [key, value] = chunk[i]!
      const hex = toHex(key.subarray(1))
      const loc = locs[i]
      if (!loc) {
        findings.add({ code: 'index_mismatch', message: `hash index row for ${hex} cannot be read`, hash: hex, actual: toHex(value) })
        continue
      }
      const record = recordOf.get(i)
      if (!record) {
        findings.add({ code: 'index_mismatch', message: `hash index row for ${hex} names ${loc.sessionId}#${loc.seq}, which has no entry`, hash: hex, sessionId: loc.sessionId, seq: loc.seq })
      } else if (toHex(hashRecord(record)) !== hex) {
        // A rewritten record is reported at its place in the walk (hash_mismatch); a row that names a record with another hash is only stale here when nothing there claims it.
        if (!(await claimedAt(store, hex, loc.sessionId, loc.seq))) {
          findings.add({ code: 'index_mismatch', message: `hash index puts ${hex} at ${loc.sessionId}#${loc.seq}, whose entry has another hash`, hash: hex, sessionId: loc.sessionId, seq: loc.seq })
        }
      }
    }
  }
}

/** Whether the chain claims `hex` for sessionId#seq: the next record links to it, or the head is it. */
async function claimedAt(store: SessionStore, hex: string, sessionId: string, seq: number): Promise<boolean> {
  const next = await store.getRaw(K.recordKey(sessionId, seq + 1))
  if (next) return next.length >= HASH_BYTES && toHex(next.subarray(0, HASH_BYTES)) === hex
  const headRaw = await store.getRaw(K.headKey(sessionId))
  const head = headRaw ? parseHead(headRaw) : undefined
  return head !== undefined && head.seq === seq && toHex(head.hash) === hex
}

async function checkTrustedHead(ctx: Ctx, trusted: string, sessionId: string | undefined): Promise<TrustedHeadResult> {
  const { store, findings } = ctx
  const loc = await locate(store, trusted)
  const record = loc ? await store.getRaw(K.recordKey(loc.sessionId, loc.seq)) : undefined
  if (!loc || !record || (sessionId !== undefined && loc.sessionId !== sessionId)) {
    findings.add({ code: 'trusted_head_missing', message: `trusted head ${trusted} is not in ${sessionId ?? 'any session'}: history was rewritten or truncated`, hash: trusted, sessionId })
    return { hash: trusted, status: 'absent' }
  }
  const headRaw = await store.getRaw(K.headKey(loc.sessionId))
  const head = headRaw ? parseHead(headRaw) : undefined
  if (toHex(hashRecord(record)) !== trusted) {
    findings.add({ code: 'trusted_head_missing', message: `trusted head ${trusted} is no longer at ${loc.sessionId}#${loc.seq}`, hash: trusted, sessionId: loc.sessionId, seq: loc.seq })
    return { hash: trusted, status: 'absent', sessionId: loc.sessionId, seq: loc.seq }
  }
  if (!head || head.seq < loc.seq) {
    findings.add({
      code: 'trusted_head_missing',
      message: `head of ${loc.sessionId} was moved back before the trusted head ${trusted}`,
      hash: trusted,
      sessionId: loc.sessionId,
      seq: loc.seq,
      expected: { atLeastSeq: loc.seq },
      actual: head ? { hash: toHex(head.hash), seq: head.seq } : null,
    })
    return { hash: trusted, status: 'rolled_back', sessionId: loc.sessionId, seq: loc.seq }
  }
  // The chain walk checked every link from genesis to head, so the head commits to this entry.
  return { hash: trusted, status: 'contained', sessionId: loc.sessionId, seq: loc.seq }
}

/** The session id of a well-formed record key, or undefined. */
function seqKeySession(key: Uint8Array): string | undefined {
  if (key.length < 10 || key[key.length - 9] !== 0) return undefined
  const { sessionId } = K.parseRecordKey(key)
  return bytesEqual(utf8(sessionId), key.subarray(1, key.length - 9)) ? sessionId : undefined
}

async function anySeq(store: SessionStore, id: string): Promise<boolean> {
  for await (const rows of store.engine.scan({ ...K.recordRange(id), limit: 1 }, 1)) if (rows.length > 0) return true
  return false
}

/**
 * Verify a session, its lineage, or the whole store.
 * @example const report = await verifyStore(store); if (!report.ok) console.log(report.findings)
 */
export async function verifyStore(store: SessionStore, options: VerifyOptions = {}, extraCheck?: EntryCheck): Promise<VerifyReport> {
  if (options.trustedHead !== undefined && !isHexHash(options.trustedHead)) {
    throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'trustedHead must be a full 64-digit lowercase hex hash', { trustedHead: options.trustedHead })
  }
  const { threads } = options
  if (threads !== undefined && !(Number.isSafeInteger(threads) && threads >= 0 && threads <= 64)) {
    throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, `threads must be an integer from 0 to 64, not ${String(threads)}`, { threads })
  }
  if (options.checkpoint !== undefined && options.full !== true && options.lineage !== true && options.trustedHead === undefined) {
    const fast = await checkpointByTree(store, { ...options, checkpoint: options.checkpoint })
    if (fast) return fast
  }
  const oneSession = options.sessionId !== undefined || options.checkpoint !== undefined
  const checker = await platform.recordChecker(threads ?? (oneSession ? 0 : undefined))
  try {
    return await verifyWith(store, options, extraCheck, checker)
  } finally {
    await checker.close()
  }
}

/** The checkpoint given to verify, its signature checked with the keys given, and of the session asked for (if one is). */
function verifiedCheckpoint(options: VerifyOptions & { checkpoint: string }): VerifiedCheckpoint {
  const cp = verifyCheckpoint(options.checkpoint, options.keys ?? [], { ...(options.witnesses ? { witnesses: options.witnesses } : {}), ...(options.quorum !== undefined ? { quorum: options.quorum } : {}) })
  if (options.sessionId !== undefined && options.sessionId !== cp.sessionId) {
    throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, `the checkpoint is of session ${cp.sessionId}, not ${options.sessionId}`, { sessionId: options.sessionId, checkpointSession: cp.sessionId })
  }
  return cp
}

/**
 * Verify against a checkpoint with the stored tree, O(log n) reads (checkpoint-tree.ts): a head
 * behind the checkpoint is a rollback or a truncation, found from the head row and the hash
 * index; a session the tree shows extends the checkpoint is consistent. Undefined when only the
 * full walk can tell (no head row, no complete tree, or the tree does not extend it).
 */
async function checkpointByTree(store: SessionStore, options: VerifyOptions & { checkpoint: string }): Promise<VerifyReport | undefined> {
  const cp = verifiedCheckpoint(options)
  const headRaw = await store.getRaw(K.headKey(cp.sessionId))
  const head = headRaw ? parseHead(headRaw) : undefined
  if (!head) return undefined
  const findings = new FindingList()
  const checked = { sessions: 1, entries: 0, bytes: 0 }
  if (head.seq + 1 < cp.size) {
    const checkpoint = await checkCheckpoint(store, findings, undefined, cp, 'tree')
    return { ok: findings.errors === 0, checked, findings: findings.items, checkpoint }
  }
  const t = await treeExtends(store, cp, head)
  if (!t) return undefined
  return {
    ok: true,
    checked: { sessions: 1, entries: t.entries, bytes: t.bytes },
    findings: [],
    checkpoint: { sessionId: cp.sessionId, size: cp.size, storeSize: head.seq + 1, status: 'consistent', method: 'tree' },
  }
}

async function verifyWith(store: SessionStore, options: VerifyOptions, extraCheck: EntryCheck | undefined, checker: RecordChecker): Promise<VerifyReport> {
  const ctx: Ctx = {
    store,
    findings: new FindingList(),
    checked: { sessions: 0, entries: 0, bytes: 0 },
    onProgress: options.onProgress,
    extraCheck,
    checker,
    origins: [],
    confirmed: 0,
  }
  let cp: VerifiedCheckpoint | undefined
  if (options.checkpoint !== undefined) {
    cp = verifiedCheckpoint({ ...options, checkpoint: options.checkpoint })
    options = { ...options, sessionId: cp.sessionId }
    ctx.checkpoint = { sessionId: cp.sessionId, size: cp.size }
    if (!(await store.getRaw(K.headKey(cp.sessionId))) && !(await anySeq(store, cp.sessionId))) {
      // The whole session is gone: truncated to nothing.
      ctx.findings.add({ code: 'checkpoint_truncated', message: `session ${cp.sessionId} is gone; the checkpoint signs ${cp.size} entries`, sessionId: cp.sessionId, expected: cp.size, actual: 0 })
      return { ok: false, checked: ctx.checked, findings: ctx.findings.items, checkpoint: { sessionId: cp.sessionId, size: cp.size, storeSize: 0, status: 'truncated', method: 'walk' } }
    }
  }
  if (options.sessionId !== undefined) {
    if (!(await store.getRaw(K.headKey(options.sessionId))) && !(await anySeq(store, options.sessionId))) {
      throw new ChainlogError(ErrorCodes.SESSION_NOT_FOUND, `no session ${options.sessionId}`, { sessionId: options.sessionId })
    }
    const todo = [options.sessionId]
    const done = new Set<string>()
    while (todo.length > 0) {
      const id = todo.shift()!
      if (done.has(id)) {
        ctx.findings.add({ code: 'lineage_cycle', message: `lineage of ${options.sessionId} reaches ${id} twice`, sessionId: id })
        continue
      }
      done.add(id)
      const before = ctx.origins.length
      await verifySessionRows(ctx, id)
      if (options.lineage) {
        for (const o of ctx.origins.slice(before)) {
          if (await store.getRaw(K.headKey(o.origin.sessionId))) todo.push(o.origin.sessionId)
        }
      }
    }
  } else {
    await verifyAll(ctx)
    await checkOrphans(ctx)
  }
  await checkOrigins(ctx)
  let trustedHead: TrustedHeadResult | undefined
  if (options.trustedHead !== undefined) trustedHead = await checkTrustedHead(ctx, options.trustedHead, options.sessionId)
  const checkpoint = cp ? await checkCheckpoint(store, ctx.findings, ctx.checkpoint?.reached, cp, 'walk') : undefined
  const report: VerifyReport = { ok: ctx.findings.errors === 0, checked: ctx.checked, findings: ctx.findings.items }
  if (checkpoint) report.checkpoint = checkpoint
  if (ctx.findings.truncated) report.truncated = true
  if (trustedHead) report.trustedHead = trustedHead
  return report
}
