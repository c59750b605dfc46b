// Forks, compactions and lineage. A fork or compaction is a new session whose genesis records
// where it came from; the source is never touched. A plain fork copies nothing, so its cost does
// not depend on the source's length; restoring it replays the source up to the fork point.
import { nodesAfterAppend } from '../proofs/merkle.js'
import { treeRowOps } from '../storage/tree.js'
import { decodeCbor, encodeCanonical } from '../encoding/cbor.js'
import { sealEntry } from '../encoding/entry-codec.js'
import { ZERO_HASH, toHex } from '../encoding/hash.js'
import { ChainlogError, ErrorCodes } from '../errors.js'
import type { Config, Entry, Origin, SessionStart, Snapshot } from '../schema/entry.js'
import type { SessionState } from '../state/reducer.js'
import { PreconditionFailed, type BatchOp } from '../storage/engine.js'
import * as K from '../storage/keys.js'
import { countItems, emptyCounts, itemsOf, type SessionStore } from '../storage/session-store.js'
import { maySpawnedId, spawnLinkOf, spawnPrefixOf, type SpawnLink } from '../import/links.js'
import { newSessionId } from '../storage/session-ids.js'


export type Relation = 'fork' | 'compaction'

/** What a dependant row records (key: source id, child id). */
export interface ChildRow {
  relation: Relation
  atHash: string
  materialized: boolean
}

export interface ForkOptions {
  sessionId?: string
  /** Write the state at the fork point into the genesis, making the fork self-contained. */
  materialize?: boolean
  ts?: number
}

function snapshotOf(state: SessionState): Snapshot {
  const snap: Snapshot = { turnCount: state.turnCount, usage: state.usage }
  if (state.cacheLockedPrefix !== null) snap.cacheLockedPrefix = state.cacheLockedPrefix
  if (state.lastOutcome) snap.lastOutcome = state.lastOutcome
  return snap
}

/** The genesis of a materialised fork at `origin`, given the source's state there. */
function materialisedGenesis(sessionId: string, ts: number, origin: Origin, state: SessionState): SessionStart {
  const g: SessionStart = {
    kind: 'session_start',
    ts,
    sessionId,
    config: state.config,
    history: state.history,
    forkedFrom: origin,
    snapshot: snapshotOf(state),
  }
  if (state.systemPrompt !== undefined) g.systemPrompt = state.systemPrompt
  return g
}

function childOp(sourceId: string, childId: string, row: ChildRow): BatchOp {
  return { type: 'put', key: K.childKey(sourceId, childId), value: encodeCanonical(row) }
}

/**
 * Fork a new session at an entry, given only its hash or a unique prefix.
 * @throws CHAINLOG_ENTRY_NOT_FOUND, CHAINLOG_AMBIGUOUS_PREFIX (nothing written)
 */
export function forkAt(store: SessionStore, hashOrPrefix: string, options: ForkOptions = {}): Promise<{ sessionId: string; head: string }> {
  return store.locks.run(LINEAGE_LOCK, () => forkAtLocked(store, hashOrPrefix, options))
}

async function forkAtLocked(store: SessionStore, hashOrPrefix: string, options: ForkOptions): Promise<{ sessionId: string; head: string }> {
  const atHash = await store.resolveHash(hashOrPrefix)
  const loc = await store.locate(atHash)
  if (!loc) throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `entry ${atHash} has no index row; run verify`, { hash: atHash })
  const sessionId = options.sessionId ?? (await newSessionId())
  const ts = options.ts ?? Date.now()
  const origin: Origin = { sessionId: loc.sessionId, atHash }
  const materialized = options.materialize === true
  let genesis: SessionStart
  if (materialized) {
    genesis = materialisedGenesis(sessionId, ts, origin, await store.restore(loc.sessionId, { at: atHash, resolveBlobs: false }))
  } else {
    genesis = { kind: 'session_start', ts, sessionId, config: {}, history: [], forkedFrom: origin }
  }
  // Under the source's lock, so a concurrent delete sees this dependant (or we see the delete).
  return store.locks.run(loc.sessionId, async () => {
    if (!(await store.readHead(loc.sessionId))) {
      throw new ChainlogError(ErrorCodes.SESSION_NOT_FOUND, `session ${loc.sessionId} was deleted`, { sessionId: loc.sessionId })
    }
    // A re-root (deleteSession with 'materialize') may have rewritten the source's hashes meanwhile.
    const still = await store.locate(atHash)
    if (!still || still.sessionId !== loc.sessionId) {
      throw new ChainlogError(ErrorCodes.ENTRY_NOT_FOUND, `entry ${atHash} is no longer in session ${loc.sessionId}`, { hash: atHash, sessionId: loc.sessionId })
    }
    // writeGenesis takes the new id's lock: with the source's id that lock is the one held here.
    if (sessionId === loc.sessionId) throw new ChainlogError(ErrorCodes.SESSION_EXISTS, `session ${sessionId} already exists`, { sessionId })
    return store.writeGenesis(genesis, [childOp(loc.sessionId, sessionId, { relation: 'fork', atHash, materialized })], {
      materialized,
    })
  })
}

export interface CompactOptions {
  /** The new (summarised) history the compacted session starts from. */
  history: unknown[]
  /** Defaults to the source's current system prompt. */
  systemPrompt?: string
  /** Defaults to the source's current config. */
  config?: Config
  /** The summary text, if the compaction produced one. */
  summary?: string
  /** Anything else that describes the compaction (summariser model, range covered, ...). */
  details?: Record<string, unknown>
  sessionId?: string
  ts?: number
}

/**
 * Compact a session into a new one whose genesis carries the new history and
 * `compactedFrom { sessionId, atHash: the source head now }`. The source is not touched.
 */
export function compact(store: SessionStore, sourceId: string, options: CompactOptions): Promise<{ sessionId: string; head: string }> {
  return store.locks.run(LINEAGE_LOCK, () => compactLocked(store, sourceId, options))
}

async function compactLocked(store: SessionStore, sourceId: string, options: CompactOptions): Promise<{ sessionId: string; head: string }> {
  if (!options || !Array.isArray(options.history)) {
    throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'compact needs { history: [...] }', {})
  }
  const sessionId = options.sessionId ?? (await newSessionId())
  const ts = options.ts ?? Date.now()
  return store.locks.run(sourceId, async () => {
    const head = await store.readHead(sourceId)
    if (!head) throw new ChainlogError(ErrorCodes.SESSION_NOT_FOUND, `no session ${sourceId}`, { sessionId: sourceId })
    // writeGenesis takes the new id's lock: with the source's id that lock is the one held here.
    if (sessionId === sourceId) throw new ChainlogError(ErrorCodes.SESSION_EXISTS, `session ${sessionId} already exists`, { sessionId })
    const atHash = toHex(head.hash)
    let systemPrompt = options.systemPrompt
    let config = options.config
    if (config === undefined || (systemPrompt === undefined && options.systemPrompt === undefined)) {
      const state = await store.restore(sourceId, { resolveBlobs: false })
      config ??= state.config
      systemPrompt ??= state.systemPrompt
    }
    const compaction: Record<string, unknown> = {
      ...(options.details ?? {}),
      sourceLength: head.seq + 1,
    }
    if (options.summary !== undefined) compaction.summary = options.summary
    const genesis: SessionStart = {
      kind: 'session_start',
      ts,
      sessionId,
      config,
      history: options.history,
      compactedFrom: { sessionId: sourceId, atHash },
      compaction,
    }
    if (systemPrompt !== undefined) genesis.systemPrompt = systemPrompt
    return store.writeGenesis(genesis, [childOp(sourceId, sessionId, { relation: 'compaction', atHash, materialized: true })])
  })
}

/**
 * How a session relates to the one above it in a lineage: a fork or a compaction (its genesis
 * records the source), or `subagent`: an imported subagent or sidechain session, whose genesis
 * config names the session that spawned it (docs/importers.md). A subagent does not need its
 * parent to restore; the link is read from data the session already has, not a lineage row.
 */
export type LineageRelation = Relation | 'subagent'

export interface Ancestor {
  sessionId: string
  relation: LineageRelation
  /**
   * The entry of `sessionId` that the session below it starts from (for a subagent: the entry
   * after which it was spawned; null when the import did not know it).
   */
  atHash: string | null
  /** False when the source session no longer exists (deleted). */
  present: boolean
}

export interface Descendant {
  sessionId: string
  relation: LineageRelation
  /** As in Ancestor; null only for a subagent whose spawning entry is not known. */
  atHash: string | null
  /** True when it restores without its source: a materialised fork, a compaction, a subagent. */
  materialized: boolean
  children: Descendant[]
}

export interface Lineage {
  sessionId: string
  /** Nearest source first, root last. */
  ancestors: Ancestor[]
  descendants: Descendant[]
}

/** Direct dependants (forks and compactions made from a session). */
export async function children(store: SessionStore, sessionId: string): Promise<{ sessionId: string; row: ChildRow }[]> {
  const out: { sessionId: string; row: ChildRow }[] = []
  for await (const rows of store.engine.scan(K.childRange(sessionId), 512)) {
    for (const [key, value] of rows) out.push({ sessionId: K.parseChildKey(key).childId, row: decodeCbor(value) as ChildRow })
  }
  return out
}

/** Ancestors up to the root and the tree of descendants of a session. */
export async function lineage(store: SessionStore, sessionId: string): Promise<Lineage> {
  const meta = await store.readMeta(sessionId)
  if (!meta) throw new ChainlogError(ErrorCodes.SESSION_NOT_FOUND, `no session ${sessionId}`, { sessionId })
  const ancestors: Ancestor[] = []
  const seen = new Set([sessionId])
  // Each hop's relation is that of the session below it: its fork or compaction origin, else
  // the subagent link its genesis config records.
  let below: string = sessionId
  let m: typeof meta | undefined = meta
  while (m) {
    const origin = m.forkedFrom ?? m.compactedFrom
    let up: { sessionId: string; relation: LineageRelation; atHash: string | null }
    if (origin) up = { sessionId: origin.sessionId, relation: m.forkedFrom ? 'fork' : 'compaction', atHash: origin.atHash }
    else {
      const link = await spawnLink(store, below)
      if (!link) break
      up = { sessionId: link.parent, relation: 'subagent', atHash: link.atHash }
    }
    if (seen.has(up.sessionId)) break // a cycle can only come from tampering; verify reports it
    seen.add(up.sessionId)
    m = await store.readMeta(up.sessionId)
    ancestors.push({ ...up, present: m !== undefined })
    below = up.sessionId
  }
  const spawned = spawnedFinder(store)
  const walk = async (id: string, depth: number): Promise<Descendant[]> => {
    const out: Descendant[] = []
    const kids: { sessionId: string; relation: LineageRelation; atHash: string | null; materialized: boolean }[] = (await children(store, id)).map((k) => ({ sessionId: k.sessionId, ...k.row }))
    for (const s of await spawned(id)) kids.push({ sessionId: s.sessionId, relation: 'subagent', atHash: s.link.atHash, materialized: true })
    for (const k of kids) {
      if (depth > 10_000 || seen.has(k.sessionId)) continue
      seen.add(k.sessionId)
      out.push({ ...k, children: await walk(k.sessionId, depth + 1) })
    }
    return out
  }
  return { sessionId, ancestors, descendants: await walk(sessionId, 0) }
}

/** The genesis config of a session (one record read), or undefined. */
async function genesisConfig(store: SessionStore, sessionId: string): Promise<unknown> {
  for await (const e of store.entries(sessionId, { to: 0, verify: false, resolveBlobs: false })) {
    return e.entry.kind === 'session_start' ? e.entry.config : undefined
  }
  return undefined
}

/** The subagent link of a session, read from its genesis only when its id has an imported subagent's shape. */
async function spawnLink(store: SessionStore, sessionId: string): Promise<SpawnLink | undefined> {
  return maySpawnedId(sessionId) ? spawnLinkOf(sessionId, await genesisConfig(store, sessionId)) : undefined
}

/**
 * The subagent sessions spawned from a session. Subagent and sidechain ids start with their
 * file's main id, so one range scan of the heads under that prefix finds every candidate (a
 * session no import made has no prefix and costs nothing); each candidate's genesis is read
 * once per lineage call.
 */
function spawnedFinder(store: SessionStore): (sessionId: string) => Promise<{ sessionId: string; link: SpawnLink }[]> {
  const byPrefix = new Map<string, { sessionId: string; link: SpawnLink }[]>()
  return async (sessionId) => {
    const prefix = spawnPrefixOf(sessionId)
    if (prefix === undefined) return []
    let list = byPrefix.get(prefix)
    if (!list) {
      const ids: string[] = []
      for await (const rows of store.engine.scan({ gte: K.headKey(prefix), lt: K.headKey(`${prefix}\x7f`) }, 512)) {
        for (const [key] of rows) {
          const id = K.sessionIdFromKey(key)
          if (maySpawnedId(id)) ids.push(id)
        }
      }
      list = []
      for (const id of ids) {
        const link = await spawnLink(store, id)
        if (link) list.push({ sessionId: id, link })
      }
      byPrefix.set(prefix, list)
    }
    return list.filter((s) => s.link.parent === sessionId)
  }
}

export type DependantPolicy = 'refuse' | 'delete' | 'materialize'

export interface DeleteResult {
  deleted: string[]
  /** Dependants re-rooted as self-contained sessions: their hashes changed, their state did not. */
  rerooted: { sessionId: string; oldHead: string; newHead: string }[]
}

/**
 * Ops that remove a session's records, hash-index rows, session row (head, metadata, usage
 * totals) and its row under its source.
 * The hash of each record is the prev of the next one (the last one's is the head), so nothing
 * is hashed to find the index rows.
 */
async function deleteOps(store: SessionStore, sessionId: string): Promise<BatchOp[]> {
  const ops: BatchOp[] = []
  const head = await store.readHead(sessionId)
  let first = true
  for await (const rows of store.engine.scan(K.recordRange(sessionId), 512)) {
    for (const [key, record] of rows) {
      ops.push({ type: 'del', key })
      // This record's prev is the hash of the one before it.
      if (!first && record.length >= 32) ops.push({ type: 'del', key: K.hashKey(record.slice(0, 32)) })
      first = false
    }
  }
  if (head) ops.push({ type: 'del', key: K.hashKey(head.hash) })
  ops.push({ type: 'del', key: K.headKey(sessionId) })
  for await (const rows of store.engine.scan(K.childRange(sessionId), 512)) for (const [key] of rows) ops.push({ type: 'del', key })
  // Its Merkle tree rows (docs/storage.md section 1).
  for await (const rows of store.engine.scan(K.treeRange(sessionId), 512)) for (const [key] of rows) ops.push({ type: 'del', key })
  // Its index rows (session-index.ts).
  for await (const rows of store.engine.scan(K.indexRange(sessionId), 512)) for (const [key] of rows) ops.push({ type: 'del', key })
  const meta = await store.readMeta(sessionId)
  const origin = meta?.forkedFrom ?? meta?.compactedFrom
  if (origin) ops.push({ type: 'del', key: K.childKey(origin.sessionId, sessionId) })
  return ops
}

/**
 * Delete a session. Sessions that need it to restore (forks that are not materialised, at any
 * depth) make the delete fail with CHAINLOG_HAS_DEPENDANTS unless `dependants` is:
 * - 'delete': delete them too (recursively);
 * - 'materialize': re-root each direct dependant fork as a materialised fork (same session
 *   id, same state, same entries; new hashes, reported in `rerooted`).
 * Compactions and materialised forks do not need their source; they keep their provenance
 * record, and verify reports the source as deleted.
 */
export function deleteSession(store: SessionStore, sessionId: string, options: { dependants?: DependantPolicy } = {}): Promise<DeleteResult> {
  return store.locks.run(LINEAGE_LOCK, () => deleteSessionLocked(store, sessionId, options))
}

async function deleteSessionLocked(store: SessionStore, sessionId: string, options: { dependants?: DependantPolicy }): Promise<DeleteResult> {
  const policy = options.dependants ?? 'refuse'
  if (!(await store.readHead(sessionId))) throw new ChainlogError(ErrorCodes.SESSION_NOT_FOUND, `no session ${sessionId}`, { sessionId })
  const result: DeleteResult = { deleted: [], rerooted: [] }
  // Until the delete lands: a fork made meanwhile (forkAt adds it under this session's lock) is
  // seen by the check under the lock below and dealt with on the next round.
  for (;;) {
    const needy = (await children(store, sessionId)).filter((c) => c.row.relation === 'fork' && !c.row.materialized)
    if (needy.length > 0) {
      if (policy === 'refuse') {
        throw new ChainlogError(
          ErrorCodes.HAS_DEPENDANTS,
          `session ${sessionId} has ${needy.length} fork(s) that need it to restore; pass dependants: 'materialize' or 'delete'`,
          { sessionId, dependants: needy.map((c) => c.sessionId) },
        )
      }
      for (const c of needy) {
        if (policy === 'delete') {
          const sub = await deleteSessionLocked(store, c.sessionId, { dependants: 'delete' })
          result.deleted.push(...sub.deleted)
          result.rerooted.push(...sub.rerooted)
        } else {
          result.rerooted.push(...(await reroot(store, c.sessionId)))
        }
      }
    }
    const done = await store.locks.run(sessionId, async () => {
      if ((await children(store, sessionId)).some((c) => c.row.relation === 'fork' && !c.row.materialized)) return false
      const row = (await store.readRow(sessionId))!
      const head = row.head
      const ops = await deleteOps(store, sessionId)
      // A tombstone lets verify tell "source deleted" from "source never existed".
      ops.push({ type: 'put', key: K.tombstoneKey(sessionId), value: encodeCanonical({ deletedAt: Date.now(), head: toHex(head.hash), length: head.seq + 1 }) })
      // A lease on a deleted session is released, but kept, so its fencing tokens keep growing.
      const leaseRaw = await store.getRaw(K.leaseKey(sessionId))
      if (leaseRaw) ops.push({ type: 'put', key: K.leaseKey(sessionId), value: encodeCanonical({ ...(decodeCbor(leaseRaw) as object), released: true }) })
      try {
        await store.commit(ops, [{ key: K.headKey(sessionId), value: row.raw }])
      } catch (err) {
        if (!(err instanceof PreconditionFailed)) throw err
        throw new ChainlogError(ErrorCodes.HEAD_CONFLICT, `session ${sessionId} moved while it was being deleted (another writer); nothing was deleted`, { sessionId })
      } finally {
        store.invalidate(sessionId)
      }
      return true
    })
    if (done) break
  }
  result.deleted.push(sessionId)
  return result
}

/**
 * Rewrite a fork as a materialised fork under the same id, and re-chain its own entries after
 * the new genesis. Sessions made from it (at any depth) name its old hashes, so they are
 * re-chained too. The whole subtree is sealed first and written in ONE batch, under the locks
 * of every session in it: a crash leaves either the old subtree or the new one.
 * The caller holds the lineage lock, so the subtree cannot grow meanwhile.
 */
async function reroot(store: SessionStore, rootId: string): Promise<DeleteResult['rerooted']> {
  // The subtree, parents before children.
  const order: string[] = [rootId]
  for (let i = 0; i < order.length; i++) {
    for (const k of await children(store, order[i]!)) if (!order.includes(k.sessionId)) order.push(k.sessionId)
  }
  return withLocks(store, order, async () => {
    const maps = new Map<string, Map<string, string>>()
    const dels: BatchOp[] = []
    const puts: BatchOp[] = []
    const out: DeleteResult['rerooted'] = []
    for (const sessionId of order) {
      const entries: Entry[] = []
      const oldHashes: string[] = []
      for await (const e of store.entries(sessionId, { resolveBlobs: false })) {
        entries.push(e.entry)
        oldHashes.push(e.hash)
      }
      const genesis = entries[0] as SessionStart
      const origin = genesis.forkedFrom ?? genesis.compactedFrom
      let newGenesis: SessionStart
      let materialized: boolean
      if (sessionId === rootId) {
        // The dependant whose source is going away: write the source's state into its genesis.
        if (!genesis.forkedFrom) throw new Error(`reroot of ${sessionId}: not a fork`)
        const base = await store.restore(genesis.forkedFrom.sessionId, { at: genesis.forkedFrom.atHash, resolveBlobs: false })
        newGenesis = materialisedGenesis(sessionId, genesis.ts, genesis.forkedFrom, base)
        materialized = true
      } else {
        // Made from a re-chained session: same genesis, naming the new hash.
        const parentMap = origin && maps.get(origin.sessionId)
        const at = origin && (parentMap?.get(origin.atHash) ?? origin.atHash)
        newGenesis = { ...genesis }
        if (genesis.forkedFrom) newGenesis.forkedFrom = { sessionId: origin!.sessionId, atHash: at! }
        else if (genesis.compactedFrom) newGenesis.compactedFrom = { sessionId: origin!.sessionId, atHash: at! }
        materialized = genesis.compactedFrom !== undefined || genesis.snapshot !== undefined
      }
      const map = new Map<string, string>()
      dels.push(...(await deleteOps(store, sessionId)))
      let prev: Uint8Array = ZERO_HASH
      const newHashes: Uint8Array[] = []
      for (let seq = 0; seq < entries.length; seq++) {
        const s = sealEntry(prev, seq === 0 ? newGenesis : entries[seq])
        puts.push(...K.entryRows(sessionId, seq, s.hash, s.record))
        map.set(oldHashes[seq]!, toHex(s.hash))
        prev = s.hash
        newHashes.push(s.hash)
      }
      // New hashes, new tree: every row again, in the same commit.
      puts.push(...treeRowOps(sessionId, nodesAfterAppend(0, [], newHashes).nodes))
      maps.set(sessionId, map)
      const meta = { ...(await store.readMeta(sessionId))! }
      if (sessionId === rootId) {
        // Its genesis now carries the source's history: count it as a materialised fork made
        // directly would (writeGenesis counts the genesis history), then its own entries.
        meta.counts = emptyCounts()
        delete meta.firstUserMessage
        for (let seq = 0; seq < entries.length; seq++) countItems(meta, itemsOf(seq === 0 ? newGenesis : entries[seq]!), store.classify)
      }
      const newOrigin = newGenesis.forkedFrom ?? newGenesis.compactedFrom
      if (newGenesis.forkedFrom) {
        meta.forkedFrom = newGenesis.forkedFrom
        if (materialized) meta.materialized = true
      }
      if (newGenesis.compactedFrom) meta.compactedFrom = newGenesis.compactedFrom
      // Its usage totals (the ledger) stay: the same entries, the same usage.
      puts.push({ type: 'put', key: K.headKey(sessionId), value: K.sessionRowValue(prev, entries.length - 1, encodeCanonical(meta)) })
      if (newOrigin) {
        const relation: Relation = newGenesis.forkedFrom ? 'fork' : 'compaction'
        puts.push(childOp(newOrigin.sessionId, sessionId, { relation, atHash: newOrigin.atHash, materialized }))
      }
      out.push({ sessionId, oldHead: oldHashes[oldHashes.length - 1]!, newHead: toHex(prev) })
    }
    // Deletes first, then puts: a put of a key also deleted wins because it comes later.
    try {
      await store.commit([...dels, ...puts])
    } finally {
      for (const id of order) store.invalidate(id)
    }
    return out
  })
}

/** Run `fn` holding the locks of every session in `ids`, taken in sorted order (no deadlocks). */
function withLocks<T>(store: SessionStore, ids: readonly string[], fn: () => Promise<T>): Promise<T> {
  const sorted = [...new Set(ids)].sort()
  const go = (i: number): Promise<T> => (i >= sorted.length ? fn() : store.locks.run(sorted[i]!, () => go(i + 1)))
  return go(0)
}

/**
 * Operations that change lineage (fork, compact, delete, re-root) run one at a time under this
 * lock, taken before any session lock. Session ids are printable ASCII, so it never collides.
 */
const LINEAGE_LOCK = '\u0000lineage'

/**
 * For a runtime resuming with the head it last saw: if the session's head is still that head,
 * continue there; otherwise fork a new session from the caller's head and continue in it.
 */
export async function ensureHeadOrFork(
  store: SessionStore,
  sessionId: string,
  lastSeenHead: string,
  options: ForkOptions = {},
): Promise<{ sessionId: string; head: string; forked: boolean }> {
  const head = await store.head(sessionId)
  if (head === lastSeenHead) return { sessionId, head, forked: false }
  // A prefix or upper-case spelling of the current head is still the current head.
  const seen = await store.resolveHash(lastSeenHead)
  if (head === seen) return { sessionId, head, forked: false }
  const loc = await store.locate(seen)
  if (!loc || loc.sessionId !== sessionId) {
    throw new ChainlogError(ErrorCodes.ENTRY_NOT_FOUND, `entry ${lastSeenHead} is not in session ${sessionId}`, { hash: lastSeenHead, sessionId })
  }
  const fork = await forkAt(store, seen, options)
  return { ...fork, forked: true }
}

