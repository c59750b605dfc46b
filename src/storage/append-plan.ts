// The rows an append writes, as a pure plan: given the session's row (head, then metadata with
// its usage totals) as read, and the entries already sealed (validated, encoded, hashed), build
// every op of the one commit and the precondition that makes it compare-and-set: the session row
// must still hold the very bytes the plan was built on. No reads, no I/O: the store reads, plans,
// commits.
import type { ItemClassifier } from '../schema/classify.js'
import type { Entry, SessionStart } from '../schema/entry.js'
import { toHex } from '../encoding/hash.js'
import { encodeCanonical } from '../encoding/cbor.js'
import { usageOf } from '../state/reducer.js'
import type { BatchOp, Precondition } from './engine.js'
import { leafHash } from '../proofs/merkle.js'
import { appendTree, type TreeState } from './tree.js'
import * as K from './keys.js'
import { countItems, emptyCounts, itemsOf, type SessionMeta } from './session-meta.js'
import { withUsages } from './usage-ledger.js'

export interface Sealed {
  record: Uint8Array
  hash: Uint8Array
}

export interface Plan {
  ops: BatchOp[]
  expect: Precondition[]
  /** The session's head and metadata (usage totals included) once the commit has landed. */
  head: { hash: Uint8Array; seq: number }
  meta: SessionMeta
  /** The session row's bytes as the commit writes them. */
  row: Uint8Array
  results: { hash: string; seq: number }[]
  /** The session's tree once the commit has landed. */
  tree: TreeState
}

export function planAppend(input: {
  sessionId: string
  head: { hash: Uint8Array; seq: number }
  /** The session row's bytes as read: the commit's precondition. */
  row: Uint8Array
  sealed: readonly Sealed[]
  /** The entries as given (blobs not yet moved out), for counting items. */
  entries: readonly Entry[]
  /** The metadata as read (not changed: the plan's is a copy). */
  meta: SessionMeta
  classify: ItemClassifier
  /** The session's tree at the head (its frontier), complete. */
  tree: TreeState
  /** Rows that complete the tree up to the head (the lazy build), written in the same commit. */
  treeBuild?: readonly BatchOp[]
}): Plan {
  const { sessionId, head, sealed, entries } = input
  const meta: SessionMeta = { ...input.meta, counts: { ...(input.meta.counts ?? emptyCounts()) } }
  const ops: BatchOp[] = []
  const results: { hash: string; seq: number }[] = []
  let seq = head.seq
  for (let i = 0; i < sealed.length; i++) {
    const s = sealed[i]!
    seq += 1
    ops.push(...K.entryRows(sessionId, seq, s.hash, s.record))
    results.push({ hash: toHex(s.hash), seq })
    countItems(meta, itemsOf(entries[i]!), input.classify)
    meta.updatedAt = entries[i]!.ts
  }
  // The tree rows of the new entries (docs/storage.md section 1), from the frontier alone.
  if (input.tree.size !== head.seq + 1) throw new Error(`tree of ${input.tree.size} leaves planned on a head at seq ${head.seq}`)
  const hashes: Uint8Array[] = []
  for (const s of sealed) hashes.push(s.hash)
  const grown = appendTree(sessionId, input.tree, hashes)
  if (input.treeBuild) ops.push(...input.treeBuild)
  for (const op of grown.ops) ops.push(op)
  const last = sealed[sealed.length - 1]!
  const usages: ReturnType<typeof usageOf>[] = []
  for (const e of entries) if (e.kind === 'llm_usage') usages.push(usageOf(e))
  if (usages.length > 0) meta.usage = withUsages(meta.usage, usages)
  const row = K.sessionRowValue(last.hash, seq, encodeCanonical(meta))
  ops.push({ type: 'put', key: K.headKey(sessionId), value: row })
  return {
    ops,
    expect: [{ key: K.headKey(sessionId), value: input.row }],
    head: { hash: last.hash, seq },
    meta,
    row,
    results,
    tree: grown.state,
  }
}

/** The rows of a new session: its genesis record and session row; refused if a session row exists. */
export function planGenesis(sessionId: string, sealed: Sealed, genesis: SessionStart, extraMeta: Partial<SessionMeta>, classify: ItemClassifier): Plan {
  const meta: SessionMeta = { createdAt: genesis.ts, updatedAt: genesis.ts, counts: emptyCounts(), ...extraMeta }
  if (genesis.forkedFrom) meta.forkedFrom = genesis.forkedFrom
  if (genesis.compactedFrom) meta.compactedFrom = genesis.compactedFrom
  countItems(meta, genesis.history, classify)
  const row = K.sessionRowValue(sealed.hash, 0, encodeCanonical(meta))
  const ops: BatchOp[] = [
    ...K.entryRows(sessionId, 0, sealed.hash, sealed.record),
    { type: 'put', key: K.headKey(sessionId), value: row },
    { type: 'del', key: K.tombstoneKey(sessionId) },
  ]
  return {
    ops,
    expect: [{ key: K.headKey(sessionId), value: undefined }],
    head: { hash: sealed.hash, seq: 0 },
    meta,
    row,
    results: [{ hash: toHex(sealed.hash), seq: 0 }],
    // One leaf: no T row; the frontier is its leaf hash.
    tree: { size: 1, frontier: [leafHash(sealed.hash)] },
  }
}
