// Writing bundles (docs/format.md section 8): a session and every source it needs, as stored
// bytes, to a file or a stream, with a digest over all of it; or as JSONL for reading. Node
// only (streams, node:crypto): reached through platform/node.ts. Reading, verifying and
// importing bundles is portable (bundle.ts).
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import type { Writable } from 'node:stream'
import { encodeCanonical } from '../encoding/cbor.js'
import { HASH_BYTES, fromHex, hashRecord, toHex } from '../encoding/hash.js'
import { openRecord } from '../encoding/entry-codec.js'
import type { SessionStart } from '../schema/entry.js'
import { ChainlogError, ErrorCodes } from '../errors.js'
import * as K from '../storage/keys.js'
import { storageError } from '../storage/open-errors.js'
import type { SessionStore } from '../storage/session-store.js'
import { TEXT_MEDIA_TYPE, collectRefs, mayHaveRefs, packBlob, refHash, resolveRefs } from '../blobs/blobs.js'
import type { SignerKey } from '../proofs/note.js'
import { BUNDLE_DOMAIN, BUNDLE_FORMAT, BUNDLE_VERSION, DIGEST_BYTES, type BundleHeader, type BundleSession } from './bundle.js'

export interface ExportOptions {
  format?: BundleFormat
  onProgress?: (n: number) => void
  /**
   * A log key (signer key text, type 0x01): each session in the bundle carries a checkpoint of
   * the session as the store holds it now, signed with it, and a consistency proof from the
   * carried size when the store's session is longer (a fork's source). Store.exportSession
   * uses the store's own signing key when this is not given.
   */
  signingKey?: string | SignerKey
  /**
   * A signed checkpoint of the exported session that the caller already holds (one a witness
   * cosigned, say), carried instead of signing a new one: checked against the store before
   * anything is written (same session, a size the session has, the store's root and head at that
   * size: else CHAINLOG_INVALID_ARGUMENT or CHAINLOG_INVALID_PROOF). Its signature is checked
   * only with `checkpointKeys`; else import checks it with the keys it trusts. Sources are signed
   * only with `signingKey`.
   */
  checkpoint?: string
  /**
   * Log keys (verifier key texts, type 0x01), one of which must have signed `checkpoint`: checked
   * before anything is written, as verifyCheckpoint checks it (CHAINLOG_INVALID_SIGNATURE when
   * none did, CHAINLOG_INVALID_KEY for a key that is not a log key).
   */
  checkpointKeys?: readonly string[]
}

export type BundleFormat = 'bundle' | 'jsonl'

export interface ExportResult {
  sessions: BundleSession[]
  entries: number
  /** Bytes written to the file or stream (the whole bundle, or all JSONL lines). */
  bytes: number
}

/** Blobs read at once while exporting (memory holds one such chunk). */
const BLOB_READ_CHUNK = 16

/** CBOR head for a byte string of length n. */
function bstrHead(n: number): Uint8Array {
  if (n < 24) return Uint8Array.of(0x40 | n)
  if (n < 0x100) return Uint8Array.of(0x58, n)
  if (n < 0x10000) return Uint8Array.of(0x59, n >> 8, n & 0xff)
  const b = new Uint8Array(5)
  b[0] = 0x5a
  new DataView(b.buffer).setUint32(1, n)
  return b
}

/** The sessions a session needs to restore: plain-fork sources, each up to its fork point. */
async function plan(store: SessionStore, sessionId: string): Promise<BundleSession[]> {
  const chain: BundleSession[] = []
  let id = sessionId
  const head = await store.readHead(id)
  if (!head) throw new ChainlogError(ErrorCodes.SESSION_NOT_FOUND, `no session ${sessionId}`, { sessionId })
  let length = head.seq + 1
  let last = toHex(head.hash)
  for (let depth = 0; ; depth++) {
    chain.unshift({ sessionId: id, length, head: last })
    if (depth > 100_000) throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `lineage of ${sessionId} loops`, { sessionId })
    const rec = await store.getRaw(K.recordKey(id, 0))
    if (!rec) throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `session ${id} has no genesis; run verify`, { sessionId: id })
    const genesis = openRecord(rec).entry as SessionStart
    if (!genesis.forkedFrom || genesis.snapshot) break
    const loc = await store.locate(genesis.forkedFrom.atHash)
    if (!loc) throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `fork point ${genesis.forkedFrom.atHash} of ${id} is missing; run verify`, { sessionId: id })
    id = loc.sessionId
    length = loc.seq + 1
    last = genesis.forkedFrom.atHash
  }
  // A source reached twice (fork of a fork of the same source) needs only its longest prefix.
  const merged: BundleSession[] = []
  for (const s of chain) {
    const i = merged.findIndex((m) => m.sessionId === s.sessionId)
    if (i < 0) merged.push(s)
    else if (s.length > merged[i]!.length) merged[i] = s
  }
  return merged
}

function jsonSafe(v: unknown): unknown {
  if (v instanceof Uint8Array) return { $bytes: toHex(v) }
  if (typeof v === 'bigint') return { $bigint: v.toString() }
  if (Array.isArray(v)) return v.map(jsonSafe)
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) o[k] = jsonSafe(x)
    return o
  }
  return v
}

async function writeChunk(out: Writable, chunk: Uint8Array | string): Promise<void> {
  if (out.errored) throw out.errored
  if (out.write(chunk)) return
  // Wait for room, or for the error that means there will never be any.
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error) => {
      out.off('drain', done)
      out.off('error', done)
      if (err) reject(err)
      else resolve()
    }
    out.once('drain', done)
    out.once('error', done)
  })
}

/** A file stream that reports a bad path as an error of the call, not of the process. */
async function openFileStream(path: string): Promise<Writable> {
  const stream = createWriteStream(path)
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => {
      stream.off('error', reject)
      resolve()
    })
    stream.once('error', reject)
  })
  // Later write errors surface through writeChunk / end; keep them from being unhandled.
  stream.on('error', () => undefined)
  return stream
}

/**
 * Export a session, with every source it needs, to a stream or a file path.
 * `bundle` (default) is the verifiable CBOR sequence; `jsonl` is for people to read.
 */
export async function exportSession(
  store: SessionStore,
  sessionId: string,
  out: Writable | string,
  options: ExportOptions = {},
): Promise<ExportResult> {
  const format = options.format ?? 'bundle'
  if (format !== 'bundle' && format !== 'jsonl') {
    throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, `unknown export format ${String(format)}`, { format })
  }
  const signer = options.signingKey === undefined ? undefined : await logSigner(options.signingKey)
  if (options.checkpointKeys !== undefined) {
    const keys: unknown = options.checkpointKeys
    if (!Array.isArray(keys) || keys.some((k) => typeof k !== 'string')) {
      throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'checkpointKeys must be an array of verifier key texts', {})
    }
    if (options.checkpoint === undefined) {
      throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'checkpointKeys check the signature of a given checkpoint: give checkpoint too', {})
    }
    const { verifyCheckpoint } = await import('../proofs/checkpoint.js')
    verifyCheckpoint(options.checkpoint, options.checkpointKeys)
  }
  // A checkpoint the caller gives is checked first (the session only grows, so the plan below carries all it signs).
  const given = options.checkpoint === undefined ? undefined : await (await import('../storage/tree-api.js')).checkGivenCheckpoint(store, sessionId, options.checkpoint)
  const sessions = await plan(store, sessionId)
  const root = sessions.find((s) => s.sessionId === sessionId)!
  if (given && given.size > root.length) {
    throw new ChainlogError(ErrorCodes.INVALID_PROOF, `session ${sessionId} has ${root.length} entries, fewer than the ${given.size} the checkpoint signs`, { reason: 'inconsistent', sessionId, size: given.size, length: root.length })
  }
  if (signer) await addCheckpoints(store, signer, given ? sessions.filter((s) => s !== root) : sessions)
  // At most the carried length: no consistency proof (docs/proofs.md section 7, rule 3).
  if (given) root.checkpoint = options.checkpoint!
  const header: BundleHeader = { format: BUNDLE_FORMAT, version: BUNDLE_VERSION, createdAt: Date.now(), root: sessionId, sessions }
  // Blobs the bundled entries reference (a first pass, so the header can count them).
  const blobTypes = new Map<string, string>()
  for (const s of sessions) {
    for await (const e of store.entries(s.sessionId, { to: s.length - 1, resolveBlobs: false, verify: false })) {
      for (const ref of collectRefs(e.entry)) blobTypes.set(refHash(ref), ref.mediaType)
    }
  }
  const blobs = new Set(blobTypes.keys())
  if (blobs.size > 0) header.blobs = blobs.size
  const stream = typeof out === 'string' ? await openFileStream(out) : out
  let entries = 0
  let bytes = 0
  const write = async (chunk: Uint8Array | string): Promise<void> => {
    bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk, 'utf8') : chunk.length
    await writeChunk(stream, chunk)
  }
  // Every byte of a bundle before its digest item goes through the digest.
  const digest = format === 'bundle' ? createHash('sha256').update(BUNDLE_DOMAIN) : undefined
  const emit = async (chunk: Uint8Array): Promise<void> => {
    digest?.update(chunk)
    await write(chunk)
  }
  try {
    if (format === 'bundle') {
      // The header keeps the sorted-key profile of format 1 in every bundle version (its layout is ours, not a caller's value).
      const h = encodeCanonical(header, 1)
      await emit(bstrHead(h.length))
      await emit(h)
    } else {
      await write(`${JSON.stringify({ ...header, format: 'chainlog-jsonl' })}\n`)
    }
    for (const s of sessions) {
      for (let from = 0; from < s.length; from += 512) {
        const to = Math.min(s.length - 1, from + 511)
        // The records of [from, to] and the one after (whose prev is the hash of `to`), or the head.
        const rows: Uint8Array[] = []
        for await (const chunk of store.engine.scan(K.recordRange(s.sessionId, from, Math.min(to + 1, s.length - 1)), 512)) for (const [, r] of chunk) rows.push(r)
        const hashOf = (i: number): string => (from + i + 1 < s.length ? (rows[i + 1] && rows[i + 1]!.length >= 32 ? toHex(rows[i + 1]!.subarray(0, 32)) : '') : s.head)
        const records = rows.slice(0, to - from + 1)
        if (records.length !== to - from + 1) {
          throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `session ${s.sessionId} lacks records in seq ${from}..${to}; run verify`, { sessionId: s.sessionId, seq: from })
        }
        for (let i = 0; i < records.length; i++) {
          const rec = records[i]!
          const hash = hashOf(i)
          if (toHex(hashRecord(rec)) !== hash) {
            throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `entry ${hash} of ${s.sessionId} is missing or corrupt; run verify`, { sessionId: s.sessionId, seq: from + i })
          }
          if (format === 'bundle') {
            await emit(bstrHead(rec.length))
            await emit(rec)
          } else {
            const opened = openRecord(rec)
            const line = { sessionId: s.sessionId, seq: from + i, hash, prev: toHex(opened.prev), entry: jsonSafe(opened.entry) }
            await write(`${JSON.stringify(line)}\n`)
          }
          entries++
        }
        options.onProgress?.(entries)
      }
    }
    const sorted = [...blobs].sort()
    for (let i = 0; i < sorted.length; i += BLOB_READ_CHUNK) {
      const chunk = await store.readBlobs(sorted.slice(i, i + BLOB_READ_CHUNK))
      for (const [hex, content] of chunk) {
        if (format === 'bundle') {
          await emit(bstrHead(32 + content.length))
          await emit(fromHex(hex))
          await emit(content)
        } else {
          // Text blobs as text; anything else as hex, so no byte is lost.
          const mediaType = blobTypes.get(hex)!
          const body = Buffer.from(content.buffer, content.byteOffset, content.byteLength)
          const content_ = mediaType === TEXT_MEDIA_TYPE ? body.toString('utf8') : { $bytes: body.toString('hex') }
          await write(`${JSON.stringify({ blob: hex, size: content.length, mediaType, content: content_ })}\n`)
        }
      }
    }
    if (digest) {
      await write(bstrHead(DIGEST_BYTES))
      await write(new Uint8Array(digest.digest()))
    }
  } finally {
    if (typeof out === 'string') await new Promise<void>((resolve, reject) => stream.end((err?: Error | null) => (err ? reject(err) : resolve())))
  }
  return { sessions, entries, bytes }
}

async function logSigner(key: string | SignerKey): Promise<SignerKey> {
  const { SIG_ED25519, toSignerKey } = await import('../proofs/note.js')
  const k = toSignerKey(key)
  if (k.type !== SIG_ED25519) throw new ChainlogError(ErrorCodes.INVALID_KEY, 'checkpoints are signed with an Ed25519 (type 0x01) log key, not a witness key', { name: k.name })
  return k
}

/**
 * A signed checkpoint of each planned session as the store holds it now, with the consistency
 * proof from the carried length when the session has grown past it (a fork's source). Each comes
 * from one consistency file (storage/tree-api.ts: under the session's lock, O(log n) reads).
 */
async function addCheckpoints(store: SessionStore, key: SignerKey, sessions: BundleSession[]): Promise<void> {
  const [{ proveConsistency }, { parseConsistencyFile, formatConsistencyProof }, { parseChainlogCheckpoint }, { parseNote }] = await Promise.all([
    import('../storage/tree-api.js'),
    import('../proofs/proof.js'),
    import('../proofs/checkpoint.js'),
    import('../proofs/note.js'),
  ])
  for (const s of sessions) {
    const file = parseConsistencyFile(await proveConsistency(store, key, s.sessionId, s.length))
    s.checkpoint = file.checkpoint
    if (parseChainlogCheckpoint(parseNote(file.checkpoint).text).size > s.length) s.consistency = formatConsistencyProof(file)
  }
}

