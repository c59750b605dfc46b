// Export/import bundles: a session and every source it needs to restore, as stored bytes.
// A bundle is a CBOR sequence (RFC 8742) of byte strings: first the canonical CBOR of the
// header, then each entry record (prev ‖ entry bytes), session by session in header order,
// then the blobs, then a 32-byte digest: SHA-256(BUNDLE_DOMAIN ‖ every byte before the digest
// item). The header names each session's head, which commits to all of its entries, and the
// digest covers the rest (createdAt), so any changed, missing or extra byte is found before
// anything is written. From version 3 each session may carry a signed checkpoint (and, when the
// checkpoint is of a longer session than the bundle carries, a consistency proof from the carried
// size): verify and import check it against the carried entries (src/proofs/carried.ts).
import { nodesAfterAppend } from '../proofs/merkle.js'
import { treeRowOps } from '../storage/tree.js'
import { ascii } from '../encoding/bytes.js'
export type { ExportOptions, ExportResult, BundleFormat } from './export.js'
import { platform } from '../platform/node.js'
import { bytesEqual, decodeCanonical, encodeCanonical } from '../encoding/cbor.js'
import { openRecord } from '../encoding/entry-codec.js'
import { HASH_BYTES, ZERO_HASH, fromHex, hashRecord, isHexHash, recordFormat, toHex } from '../encoding/hash.js'
import { ChainlogError, ErrorCodes } from '../errors.js'
import type { Entry, Origin, SessionStart } from '../schema/entry.js'
import type { BatchOp } from '../storage/engine.js'
import { PreconditionFailed, type Precondition } from '../storage/engine.js'
import * as K from '../storage/keys.js'
import { storageError } from '../storage/open-errors.js'
import { isBlobGuard } from '../storage/gc.js'
import { countItems, emptyCounts, itemsOf, type SessionMeta, type SessionStore } from '../storage/session-store.js'
import { usageOf } from '../state/reducer.js'
import { withUsages } from '../storage/usage-ledger.js'
import { FindingList, type Finding } from '../verify/findings.js'
import { TEXT_MEDIA_TYPE, collectRefs, malformedRefs, mayHaveRefs, packBlob, refHash, resolveRefs } from '../blobs/blobs.js'
import { sha256 } from '../encoding/hash.js'
import { checkCarriedCheckpoint, checkLogKeys } from '../proofs/carried.js'
import type { SignerKey, VerifierKey } from '../proofs/note.js'
import type { VerifyCheckpointOptions } from '../proofs/checkpoint.js'

export const BUNDLE_FORMAT = 'chainlog-bundle'
/**
 * 3: a session may carry a signed checkpoint (`checkpoint`, and `consistency` when the checkpoint
 * is larger than what is carried). 2: entry records may be in entry format 1 or 2 (each record
 * says which). 1: every record is in entry format 1 (bundles written before entry format 2).
 * All three are read; 3 is written.
 */
export const BUNDLE_VERSION = 3
const BUNDLE_VERSIONS_READ = [1, 2, 3]
/** Domain tag that starts the bundle digest input: ASCII "chainlog/bundle/v1" and a zero byte. */
export const BUNDLE_DOMAIN = new Uint8Array([...ascii('chainlog/bundle/v1'), 0])
export const DIGEST_BYTES = 32
const HEADER_KEYS = ['createdAt', 'format', 'root', 'sessions', 'version']
const SESSION_KEYS = ['head', 'length', 'sessionId']
/** Version 3 adds these to a session, both optional (consistency only with checkpoint). */
const SESSION_CHECKPOINT_KEYS = ['checkpoint', 'consistency']


export interface BundleSession {
  sessionId: string
  /** Number of entries of this session in the bundle (from seq 0). */
  length: number
  /** Hash of the last included entry. */
  head: string
  /** Version 3: a signed checkpoint of the session (docs/proofs.md section 4), of at least `length` entries when written by exportSession. */
  checkpoint?: string
  /** Version 3, with a checkpoint larger than `length`: `old <length>` and the consistency proof to the checkpoint's size (docs/proofs.md section 5.4). */
  consistency?: string
}

export interface BundleHeader {
  format: typeof BUNDLE_FORMAT
  version: number
  createdAt: number
  /** The session the bundle was exported for. */
  root: string
  /** Sources first, the root last. */
  sessions: BundleSession[]
  /** Number of blob items after the entries (each: SHA-256(32) ‖ content). Absent means 0. */
  blobs?: number
}

/** What the checkpoint a bundle carries for one session came to. */
export interface BundleCheckpointResult {
  sessionId: string
  /** Entries of the session in the bundle. */
  length: number
  /** The checkpoint's size (absent when it could not be parsed). */
  size?: number
  /** consistent: it agrees with the carried entries (and, with keys, its signature verified); failed: see the findings. */
  status: 'consistent' | 'failed'
  /** True when its signature was verified with keys the caller gave. */
  signed: boolean
  /** The signed note, as carried. */
  checkpoint: string
}

export interface BundleReport {
  ok: boolean
  checked: { sessions: number; entries: number; bytes: number }
  findings: Finding[]
  header?: BundleHeader
  /** One per session that carries a checkpoint (bundle version 3), in header order. */
  checkpoints?: BundleCheckpointResult[]
}

/** How verifyBundle and importBundle check the checkpoints a bundle carries. */
export interface BundleVerifyOptions extends VerifyCheckpointOptions {
  /**
   * Log keys (verifier key texts, type 0x01) trusted to sign the checkpoints. When given, every
   * session must carry a checkpoint signed by one of them (`checkpoint_missing`,
   * `checkpoint_signature`). Without keys, carried checkpoints are still checked against the
   * entries, but their signatures are not.
   */
  keys?: readonly (string | VerifierKey)[]
}

/** Split a CBOR sequence of byte strings (with the offset each item starts at). Stops at the first malformed item. */
function splitItems(buf: Uint8Array, findings: FindingList): { items: Uint8Array[]; starts: number[] } {
  const items: Uint8Array[] = []
  const starts: number[] = []
  const done = () => ({ items, starts })
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  let pos = 0
  while (pos < buf.length) {
    const ib = buf[pos]!
    const major = ib >> 5
    const info = ib & 0x1f
    let len: number
    let hl: number
    if (major !== 2) {
      findings.add({ code: 'bundle_malformed', message: `item ${items.length} at byte ${pos} is not a byte string`, actual: ib })
      return done()
    }
    if (info < 24) [len, hl] = [info, 1]
    else if (info === 24 && pos + 2 <= buf.length) [len, hl] = [buf[pos + 1]!, 2]
    else if (info === 25 && pos + 3 <= buf.length) [len, hl] = [view.getUint16(pos + 1), 3]
    else if (info === 26 && pos + 5 <= buf.length) [len, hl] = [view.getUint32(pos + 1), 5]
    else {
      findings.add({ code: 'bundle_malformed', message: `item ${items.length} at byte ${pos} has a bad or cut-off length`, actual: ib })
      return done()
    }
    const canonicalHl = len < 24 ? 1 : len < 0x100 ? 2 : len < 0x10000 ? 3 : 5
    if (hl !== canonicalHl) {
      findings.add({ code: 'bundle_malformed', message: `item ${items.length} at byte ${pos} has a non-shortest length`, actual: ib })
      return done()
    }
    if (pos + hl + len > buf.length) {
      findings.add({ code: 'bundle_malformed', message: `bundle is cut short inside item ${items.length} (byte ${pos})`, expected: pos + hl + len, actual: buf.length })
      return done()
    }
    starts.push(pos)
    items.push(buf.subarray(pos + hl, pos + hl + len))
    pos += hl + len
  }
  return done()
}

function sameKeys(o: object, keys: string[]): boolean {
  const have = Object.keys(o)
  return have.length === keys.length && keys.every((k) => Object.prototype.hasOwnProperty.call(o, k))
}

/** The session fields of a header: version 3 may add a checkpoint (text) and, with it, a consistency proof (text). */
function sessionKeysOk(s: BundleSession, version: unknown): boolean {
  const extra = Object.keys(s).filter((k) => !SESSION_KEYS.includes(k))
  if (!SESSION_KEYS.every((k) => Object.prototype.hasOwnProperty.call(s, k))) return false
  if (extra.length === 0) return true
  if (typeof version !== 'number' || version < 3) return false
  if (!extra.every((k) => SESSION_CHECKPOINT_KEYS.includes(k))) return false
  if (s.consistency !== undefined && s.checkpoint === undefined) return false
  return (s.checkpoint === undefined || typeof s.checkpoint === 'string') && (s.consistency === undefined || typeof s.consistency === 'string')
}

function parseHeader(bytes: Uint8Array | undefined, findings: FindingList): BundleHeader | undefined {
  if (!bytes) {
    findings.add({ code: 'bundle_malformed', message: 'bundle is empty' })
    return undefined
  }
  let h: BundleHeader
  try {
    h = decodeCanonical(bytes, 1) as BundleHeader
  } catch (err) {
    findings.add({ code: 'bundle_malformed', message: `header: ${(err as Error).message}` })
    return undefined
  }
  const ok =
    h !== null &&
    typeof h === 'object' &&
    h.format === BUNDLE_FORMAT &&
    typeof h.root === 'string' &&
    Array.isArray(h.sessions) &&
    h.sessions.length > 0 &&
    h.sessions.every(
      (s) =>
        s !== null &&
        typeof s === 'object' &&
        sessionKeysOk(s, h.version) &&
        typeof s.sessionId === 'string' &&
        Number.isSafeInteger(s.length) &&
        s.length > 0 &&
        isHexHash(s.head),
    ) &&
    // Exactly the documented fields, the root last among the sessions, a plausible time.
    sameKeys(h, h.blobs === undefined ? HEADER_KEYS : [...HEADER_KEYS, 'blobs']) &&
    h.root === h.sessions[h.sessions.length - 1]!.sessionId &&
    Number.isSafeInteger(h.createdAt) &&
    h.createdAt >= 0 &&
    (h.blobs === undefined || (Number.isSafeInteger(h.blobs) && h.blobs > 0))
  if (!ok) {
    findings.add({ code: 'bundle_malformed', message: 'header is not a chainlog bundle header' })
    return undefined
  }
  if (!BUNDLE_VERSIONS_READ.includes(h.version)) {
    findings.add({ code: 'bundle_malformed', message: `bundle version ${String(h.version)} is not supported`, expected: BUNDLE_VERSION, actual: h.version })
    return undefined
  }
  return h
}

interface ParsedSession extends BundleSession {
  records: Uint8Array[]
  hashes: string[]
  /** The same hashes as bytes. */
  hashBytes: Uint8Array[]
  /** Aligned with records and hashes: undefined where a record cannot be opened. */
  entries: (Entry | undefined)[]
}

interface Parsed {
  report: BundleReport
  sessions: ParsedSession[]
  /** Blob content by hex hash. */
  blobs: Map<string, Uint8Array>
}

async function readInput(input: Uint8Array | string): Promise<Uint8Array> {
  // A path is read by the host (CHAINLOG_IO with the reason, the fs error as cause).
  if (typeof input === 'string') return platform.readBundleFile(input)
  if (input instanceof Uint8Array) return input
  throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'a bundle is given as bytes or a file path', {})
}

function parseBundle(buf: Uint8Array, options: BundleVerifyOptions = {}): Parsed {
  const findings = new FindingList()
  const checked = { sessions: 0, entries: 0, bytes: 0 }
  const { items, starts } = splitItems(buf, findings)
  const header = parseHeader(items[0], findings)
  const sessions: ParsedSession[] = []
  const blobs = new Map<string, Uint8Array>()
  if (header) {
    const entryCount = header.sessions.reduce((n, s) => n + s.length, 0)
    // Header, entries, blobs, digest.
    const expected = entryCount + (header.blobs ?? 0) + 1
    // The last item is the digest of everything before it; entries and blobs come before it.
    const end = items.length - 1
    if (end >= 1) {
      const digest = items[end]!
      const want = sha256(BUNDLE_DOMAIN, buf.subarray(0, starts[end]!))
      if (digest.length !== DIGEST_BYTES || !bytesEqual(digest, want)) {
        findings.add({ code: 'bundle_malformed', message: 'the bundle digest does not match its contents (changed, cut short or extended)', expected: toHex(want), actual: toHex(digest) })
      }
    }
    if (items.length - 1 !== expected) {
      findings.add({
        code: 'bundle_malformed',
        message: items.length - 1 < expected ? 'bundle is cut short: entries are missing' : 'bundle has entries its header does not list',
        expected,
        actual: items.length - 1,
      })
    }
    let next = 1
    const ids = new Set<string>()
    for (const s of header.sessions) {
      if (ids.has(s.sessionId)) findings.add({ code: 'bundle_malformed', message: `session ${s.sessionId} listed twice`, sessionId: s.sessionId })
      ids.add(s.sessionId)
      checked.sessions++
      const ps: ParsedSession = { ...s, records: [], hashes: [], hashBytes: [], entries: [] }
      let prev = toHex(ZERO_HASH)
      for (let seq = 0; seq < s.length && next < end; seq++, next++) {
        const rec = items[next]!
        const raw = hashRecord(rec)
        const hash = toHex(raw)
        const at = { sessionId: s.sessionId, seq, hash }
        checked.entries++
        checked.bytes += rec.length
        const recPrev = rec.length > HASH_BYTES ? toHex(rec.subarray(0, HASH_BYTES)) : ''
        if (recPrev !== prev) findings.add({ code: 'prev_mismatch', message: `entry ${seq} of ${s.sessionId} does not link to the entry before it`, ...at, expected: prev, actual: recPrev })
        prev = hash
        if (header.version === 1 && rec.length > HASH_BYTES && recordFormat(rec) !== 1) {
          findings.add({ code: 'bundle_malformed', message: `entry ${seq} of ${s.sessionId} is in entry format 2, which a version-1 bundle cannot hold`, ...at })
        }
        try {
          const e = openRecord(rec).entry
          if ((seq === 0) !== (e.kind === 'session_start')) findings.add({ code: 'genesis_invalid', message: `entry ${seq} of ${s.sessionId} is a ${e.kind}`, ...at })
          if (e.kind === 'session_start' && e.sessionId !== s.sessionId) {
            findings.add({ code: 'genesis_invalid', message: `genesis names ${e.sessionId}, header says ${s.sessionId}`, ...at, expected: s.sessionId, actual: e.sessionId })
          }
          ps.entries.push(e)
        } catch (err) {
          const code = err instanceof ChainlogError && err.code === ErrorCodes.INVALID_ENTRY ? 'schema_invalid' : 'non_canonical'
          findings.add({ code, message: (err as Error).message, ...at })
          ps.entries.push(undefined)
        }
        ps.records.push(rec)
        ps.hashes.push(hash)
        ps.hashBytes.push(raw)
      }
      if (ps.hashes.length === s.length && prev !== s.head) {
        findings.add({ code: 'hash_mismatch', message: `entries of ${s.sessionId} do not chain to the head the header names`, sessionId: s.sessionId, seq: s.length - 1, expected: s.head, actual: prev })
      }
      sessions.push(ps)
    }
    // Blobs: each item hashes to the hash it starts with, the items in strictly ascending hash
    // order (so each blob once); every reference has its blob. checked.bytes counts the entry
    // records only, as store verification does (docs/verification.md section 1).
    let last: string | undefined
    for (let i = 1 + entryCount; i < end; i++) {
      const item = items[i]!
      const n = i - 1 - entryCount
      if (item.length < HASH_BYTES) {
        findings.add({ code: 'bundle_malformed', message: `blob item ${n} is ${item.length} bytes, shorter than the 32-byte hash it starts with`, expected: HASH_BYTES, actual: item.length })
        continue
      }
      const hex = toHex(item.subarray(0, HASH_BYTES))
      if (last !== undefined && hex <= last) {
        findings.add({
          code: 'bundle_malformed',
          message: hex === last ? `blob ${hex} is in the bundle twice (blob item ${n})` : `blob item ${n} (${hex}) is out of order: blobs come in ascending hash order`,
          expected: `a hash above ${last}`,
          actual: hex,
        })
      }
      last = hex
      const content = item.subarray(HASH_BYTES)
      const actual = toHex(sha256(content))
      if (actual !== hex) findings.add({ code: 'blob_invalid', message: `blob ${hex} in the bundle hashes to ${actual}`, expected: hex, actual })
      else blobs.set(hex, content)
    }
    for (const ps of sessions) {
      for (let seq = 0; seq < ps.entries.length; seq++) {
        if (ps.entries[seq] === undefined || !mayHaveRefs(ps.records[seq]!.subarray(HASH_BYTES))) continue
        for (const path of malformedRefs(ps.entries[seq])) {
          findings.add({
            code: 'blob_invalid',
            message: `entry ${seq} of ${ps.sessionId} has a malformed blob reference at ${path} (the key "$blob" is reserved for { $blob: "sha256:<hex>", size, mediaType })`,
            sessionId: ps.sessionId,
            seq,
            hash: ps.hashes[seq],
            expected: null,
            actual: { malformedReference: path },
          })
        }
        for (const ref of collectRefs(ps.entries[seq])) {
          const hex = refHash(ref)
          const content = blobs.get(hex)
          if (!content || content.length !== ref.size) {
            findings.add({ code: 'blob_invalid', message: `blob ${hex} referenced by ${ps.sessionId}#${seq} is ${content ? 'the wrong size' : 'not in the bundle'}`, sessionId: ps.sessionId, seq, hash: ps.hashes[seq], expected: hex })
          }
        }
      }
    }
    // Provenance inside the bundle.
    for (const ps of sessions) {
      const g = ps.entries[0]
      if (!g || g.kind !== 'session_start') continue
      const origin: Origin | undefined = g.forkedFrom ?? g.compactedFrom
      if (!origin) continue
      const src = sessions.find((x) => x.sessionId === origin.sessionId)
      const selfContained = g.compactedFrom !== undefined || g.snapshot !== undefined
      if (!src) {
        findings.add({
          code: selfContained ? 'origin_outside_bundle' : 'origin_missing',
          severity: selfContained ? 'warning' : 'error',
          message: `source ${origin.sessionId} of ${ps.sessionId} is not in the bundle`,
          sessionId: ps.sessionId,
          seq: 0,
          hash: ps.hashes[0],
          expected: origin,
        })
      } else if (!src.hashes.includes(origin.atHash)) {
        findings.add({ code: 'origin_missing', message: `fork point ${origin.atHash} is not among the bundled entries of ${origin.sessionId}`, sessionId: ps.sessionId, seq: 0, hash: ps.hashes[0], expected: origin })
      }
    }
  }
  const checkpoints = header ? checkCheckpoints(sessions, options, findings) : []
  const report: BundleReport = { ok: findings.errors === 0, checked, findings: findings.items }
  if (header) report.header = header
  if (checkpoints.length > 0) report.checkpoints = checkpoints
  return { report, sessions, blobs }
}

/**
 * Each session's carried checkpoint against its carried entries (docs/proofs.md section 7): the
 * root (or, for a checkpoint of a longer session, the consistency proof), the head, and with
 * keys the signature. A session whose records did not all arrive is not checked (the item count
 * is already a finding).
 */
function checkCheckpoints(sessions: ParsedSession[], options: BundleVerifyOptions, findings: FindingList): BundleCheckpointResult[] {
  const results: BundleCheckpointResult[] = []
  for (const ps of sessions) {
    if (ps.checkpoint === undefined) {
      if (options.keys !== undefined) {
        findings.add({ code: 'checkpoint_missing', message: `session ${ps.sessionId} carries no checkpoint, and keys were given to check one`, sessionId: ps.sessionId })
      }
      continue
    }
    if (ps.hashes.length !== ps.length) continue
    const input = { sessionId: ps.sessionId, entryHashes: ps.hashBytes, checkpoint: ps.checkpoint, ...(ps.consistency !== undefined ? { consistency: ps.consistency } : {}) }
    const r = checkCarriedCheckpoint(input, options)
    const result: BundleCheckpointResult = { sessionId: ps.sessionId, length: ps.length, status: r.ok ? 'consistent' : 'failed', signed: r.ok && r.signed, checkpoint: ps.checkpoint }
    if (r.checkpoint) result.size = r.checkpoint.size
    results.push(result)
    if (!r.ok) {
      const at = r.checkpoint ? { seq: Math.min(r.checkpoint.size, ps.length) - 1 } : {}
      findings.add({ code: r.code, message: r.message, sessionId: ps.sessionId, ...at, ...(r.expected !== undefined ? { expected: r.expected } : {}), ...(r.actual !== undefined ? { actual: r.actual } : {}) })
    }
  }
  return results
}

/**
 * Verify a bundle without a store. The checkpoints it carries are checked against its entries;
 * with `keys`, every session must carry one signed by them.
 */
export async function verifyBundle(input: Uint8Array | string, options: BundleVerifyOptions = {}): Promise<BundleReport> {
  checkLogKeys(options.keys, options.witnesses)
  return parseBundle(await readInput(input), options).report
}

export interface ImportResult {
  report: BundleReport
  /** Per session of the bundle; `checkpoint` is the checkpoint it carried, checked against its entries (and, with keys, signed). */
  sessions: { sessionId: string; added: number; checkpoint?: string }[]
  entriesAdded: number
}

/**
 * Verify a bundle completely, then write what the store lacks in one atomic batch.
 * Importing the same bundle twice adds nothing. A tampered or truncated bundle is refused with
 * CHAINLOG_INVALID_BUNDLE (data.findings) and nothing is written.
 */
export async function importBundle(store: SessionStore, input: Uint8Array | string, options: BundleVerifyOptions = {}): Promise<ImportResult> {
  checkLogKeys(options.keys, options.witnesses)
  const { report, sessions, blobs } = parseBundle(await readInput(input), options)
  if (!report.ok) {
    throw new ChainlogError(ErrorCodes.INVALID_BUNDLE, `bundle failed verification: ${report.findings.find((f) => f.severity === 'error')?.message}`, {
      findings: report.findings,
    })
  }
  const ids = [...new Set(sessions.map((s) => s.sessionId))].sort()
  // Hold every touched session's lock (in a fixed order, so two imports cannot deadlock).
  const withLocks = async <T>(i: number, fn: () => Promise<T>): Promise<T> =>
    i >= ids.length ? fn() : store.locks.run(ids[i]!, () => withLocks(i + 1, fn))
  const carried = (s: ParsedSession) => (s.checkpoint !== undefined ? { checkpoint: s.checkpoint } : {})
  return withLocks(0, async () => {
    const ops: BatchOp[] = []
    const expect: Precondition[] = []
    const result: ImportResult = { report, sessions: [], entriesAdded: 0 }
    for (const s of sessions) {
      store.invalidate(s.sessionId)
      const row = await store.readRow(s.sessionId)
      const head = row?.head
      // The session row as read (head and metadata): an import that raced an append is refused whole.
      expect.push({ key: K.headKey(s.sessionId), value: row?.raw })
      let from = 0
      let meta: SessionMeta
      if (head) {
        const headHex = toHex(head.hash)
        const landed = await store.locate(s.head)
        if (landed && landed.sessionId === s.sessionId && landed.seq === s.length - 1) {
          result.sessions.push({ sessionId: s.sessionId, added: 0, ...carried(s) })
          continue
        }
        if (head.seq >= s.length || s.hashes[head.seq] !== headHex) {
          throw new ChainlogError(ErrorCodes.HEAD_CONFLICT, `session ${s.sessionId} in the store has diverged from the bundle`, {
            sessionId: s.sessionId,
            expected: s.hashes[Math.min(head.seq, s.length - 1)],
            actual: headHex,
          })
        }
        from = head.seq + 1
        meta = { ...(store.rowMeta(row!) ?? { createdAt: s.entries[0]!.ts, updatedAt: s.entries[0]!.ts, counts: emptyCounts() }) }
        meta.counts = { ...meta.counts }
      } else {
        const g = s.entries[0] as SessionStart
        meta = { createdAt: g.ts, updatedAt: g.ts, counts: emptyCounts() }
        if (g.forkedFrom) {
          meta.forkedFrom = g.forkedFrom
          meta.materialized = g.snapshot !== undefined
        }
        if (g.compactedFrom) meta.compactedFrom = g.compactedFrom
        const origin = g.forkedFrom ?? g.compactedFrom
        if (origin) {
          const row = { relation: g.forkedFrom ? 'fork' : 'compaction', atHash: origin.atHash, materialized: g.forkedFrom ? g.snapshot !== undefined : true }
          ops.push({ type: 'put', key: K.childKey(origin.sessionId, s.sessionId), value: encodeCanonical(row) })
        }
        ops.push({ type: 'del', key: K.tombstoneKey(s.sessionId) })
      }
      for (let seq = from; seq < s.length; seq++) {
        ops.push(...K.entryRows(s.sessionId, seq, s.hashBytes[seq]!, s.records[seq]!))
        // Counted on the items as appended (blobs put back), as an append counts them: a first
        // user message stored as a blob still gives the session its firstUserMessage.
        const e = s.entries[seq]!
        const items = mayHaveRefs(s.records[seq]!) && collectRefs(e).every((r) => blobs.has(refHash(r))) ? (resolveRefs(e, (hex) => blobs.get(hex)!) as Entry) : e
        countItems(meta, itemsOf(items), store.classify)
        meta.updatedAt = s.entries[seq]!.ts
      }
      // The session's Merkle tree rows, all of them (the old ones are rewritten with the same
      // bytes), so an imported session's tree is complete at once.
      ops.push(...treeRowOps(s.sessionId, nodesAfterAppend(0, [], s.hashBytes).nodes))
      // The usage ledger (the session row's totals) counts the entries added.
      const added = s.entries.slice(from).filter((e): e is Extract<Entry, { kind: 'llm_usage' }> => e?.kind === 'llm_usage')
      if (added.length > 0) meta.usage = withUsages(meta.usage, added.map(usageOf))
      ops.push({ type: 'put', key: K.headKey(s.sessionId), value: K.sessionRowValue(fromHex(s.head), s.length - 1, encodeCanonical(meta)) })
      result.sessions.push({ sessionId: s.sessionId, added: s.length - from, ...carried(s) })
      result.entriesAdded += s.length - from
    }
    if (result.entriesAdded > 0) {
      for (const [hex, content] of blobs) {
        // During a gc, always write: the sweep must not take a blob this import uses.
        if (store.gcActive > 0 || !(await store.hasBlob(hex))) ops.push({ type: 'put', key: K.blobKey(fromHex(hex)), value: packBlob(content, store.blobProfile) })
      }
      // Every session's head as it was read: an import that raced an append is refused whole.
      for (;;) {
        try {
          await store.commit(ops, expect)
          break
        } catch (err) {
          if (!(err instanceof PreconditionFailed)) throw err
          // A stored blob it did not write was swept meanwhile by another process's gc (gc.ts): the
          // bundle carries it, so write it too.
          const swept = isBlobGuard(err.key) ? toHex(err.key.subarray(1)) : undefined
          if (swept !== undefined && blobs.has(swept)) {
            ops.push({ type: 'put', key: K.blobKey(fromHex(swept)), value: packBlob(blobs.get(swept)!, store.blobProfile) })
            continue
          }
          for (const id of ids) store.invalidate(id)
          throw new ChainlogError(ErrorCodes.HEAD_CONFLICT, 'a session of the bundle moved while it was imported (another writer); nothing was written', { sessionIds: ids })
        }
      }
      for (const id of ids) store.invalidate(id)
    }
    return result
  })
}
