// Store verification for auditors: walks the sequence index session by session in chunks
// (memory stays bounded by the chunk size, not the store size), recomputes every hash from the
// stored bytes, checks links, indexes, heads, genesis binding and provenance, then merges the
// entry table against the hash index to find entries no session reaches.
import { bytesEqual, decodeCbor } from '../encoding/cbor.js'
import { openRecord } from '../encoding/entry-codec.js'
import { HASH_BYTES, ZERO_HASH, fromHex, hashRecord, isHexHash, toHex } from '../encoding/hash.js'
import { ChainlogError, ErrorCodes } from '../errors.js'
import type { Entry, Origin } from '../schema/entry.js'
import * as K from '../storage/keys.js'
import type { SessionMeta, SessionStore } from '../storage/session-store.js'
import { ReadAhead } from '../storage/read-ahead.js'
import { FindingList, type TrustedHeadResult, type VerifyReport } from './findings.js'

const CHUNK = 512
const ZERO_HEX = toHex(ZERO_HASH)
const HEAD_BYTES = HASH_BYTES + 8

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

function parseHead(v: Uint8Array): { hash: Uint8Array; seq: number } | undefined {
  return v.length === HEAD_BYTES ? K.parseHeadValue(v) : undefined
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
  /** Verify one session (default: the whole store). */
  sessionId?: string
  /** With sessionId: also verify every source session the lineage reaches. */
  lineage?: boolean
  /** A head hash seen earlier: does the chain still contain it? */
  trustedHead?: string
  /** Called after each chunk with the running count of entries checked. */
  onProgress?: (checked: { entries: number; bytes: number }) => void
}

/** A hook for extra per-entry checks (blobs). Returns nothing; adds findings. */
export type EntryCheck = ((ctx: { sessionId: string; seq: number; hash: string; entry: Entry; record: Uint8Array; findings: FindingList }) => Promise<void>) & {
  /**
   * Optional read-ahead for a chunk: its entries (undefined or an Error where a record is missing
   * or cannot be opened) and their records; the returned function installs what was read.
   */
  prefetch?: (entries: readonly (Entry | Error | undefined)[], records: readonly (Uint8Array | undefined)[]) => Promise<() => void>
}

interface Ctx {
  store: SessionStore
  findings: FindingList
  checked: { sessions: number; entries: number; bytes: number }
  /** Sequence rows whose entry exists and whose hash index row points back at them. */
  confirmed: number
  onProgress: VerifyOptions['onProgress']
  extraCheck: EntryCheck | undefined
  /** Origins to check after the walk (few: one per fork or compaction). */
  origins: { childId: string; genesisHash: string; origin: Origin; relation: 'fork' | 'compaction'; selfContained: boolean }[]
}

/** Verify one session's chain from its sequence index rows. */
async function verifySessionRows(ctx: Ctx, sessionId: string): Promise<void> {
  const { store, findings } = ctx
  ctx.checked.sessions++
  const it = store.db.iterator({ ...K.seqRange(sessionId), ...K.BIN })
  let expectedSeq = 0
  let prevHash = ZERO_HEX
  let lastHash: string | undefined
  let lastSeq = -1
  // Chunks are read ahead (two in flight, read-ahead.ts) while this one is checked, so I/O
  // overlaps with hashing. Each record is opened (decoded, schema- and canonical-checked) once,
  // as its chunk arrives, so that the blob check can fetch the chunk's blobs in one read.
  const ahead = new ReadAhead(
    async () => {
      const rows = (await it.nextv(CHUNK)) as [Uint8Array, Uint8Array][]
      return rows.length === 0 ? undefined : rows
    },
    async (rows) => {
      const hashes = rows.map(([, v]) => v)
      const [records, hashRows] = await Promise.all([
        store.db.getMany(hashes.map((h) => K.entryKey(h)), K.BIN) as Promise<(Uint8Array | undefined)[]>,
        store.db.getMany(hashes.map((h) => K.hashKey(h)), K.BIN) as Promise<(Uint8Array | undefined)[]>,
      ])
      const opened: (Entry | Error | undefined)[] = records.map((r) => {
        if (!r) return undefined
        try {
          return openRecord(r).entry
        } catch (err) {
          return err as Error
        }
      })
      const install = await ctx.extraCheck?.prefetch?.(opened, records)
      return { rows, records, hashRows, opened, install }
    },
  )
  try {
    for (;;) {
      const chunk = await ahead.next()
      if (!chunk) break
      const { rows, records, hashRows, opened, install } = chunk
      install?.()
      for (let i = 0; i < rows.length; i++) {
        const { seq } = K.parseSeqKey(rows[i]![0])
        const hashBytes = rows[i]![1]
        const hash = hashBytes.length === HASH_BYTES ? toHex(hashBytes) : `(bad index value ${toHex(hashBytes)})`
        const at = { sessionId, seq, hash }
        if (seq !== expectedSeq) {
          findings.add({ code: 'seq_gap', message: `session ${sessionId} jumps from seq ${expectedSeq - 1} to ${seq}`, ...at, expected: expectedSeq, actual: seq })
        }
        expectedSeq = seq + 1
        lastSeq = seq
        lastHash = hash
        const hrow = hashRows[i]
        if (!hrow) {
          findings.add({ code: 'index_mismatch', message: `hash index has no row for ${hash}`, ...at, expected: { sessionId, seq }, actual: null })
        } else {
          const loc = parseLoc(hrow)
          if (!loc) {
            findings.add({ code: 'index_mismatch', message: `hash index row for ${hash} cannot be read`, ...at, expected: { sessionId, seq }, actual: toHex(hrow) })
          } else if (loc.sessionId !== sessionId || loc.seq !== seq) {
            findings.add({ code: 'index_mismatch', message: `hash index puts ${hash} at ${loc.sessionId}#${loc.seq}`, ...at, expected: { sessionId, seq }, actual: loc })
          } else if (records[i]) {
            ctx.confirmed++
          }
        }
        const record = records[i]
        if (!record) {
          findings.add({ code: 'entry_missing', message: `entry ${hash} is missing`, ...at })
          prevHash = hash
          continue
        }
        ctx.checked.entries++
        ctx.checked.bytes += record.length
        const actualHash = toHex(hashRecord(record))
        if (actualHash !== hash) {
          findings.add({ code: 'hash_mismatch', message: `entry stored under ${hash} hashes to ${actualHash}`, ...at, expected: hash, actual: actualHash })
        }
        const prev = record.length >= HASH_BYTES ? toHex(record.subarray(0, HASH_BYTES)) : ''
        const wantPrev = seq === 0 ? ZERO_HEX : prevHash
        if (prev !== wantPrev) {
          findings.add({ code: 'prev_mismatch', message: `entry ${hash} links to ${prev || '(nothing)'}`, ...at, expected: wantPrev, actual: prev })
        }
        prevHash = hash
        const entry = opened[i]!
        if (entry instanceof Error) {
          const code = entry instanceof ChainlogError && entry.code === ErrorCodes.INVALID_ENTRY ? 'schema_invalid' : 'non_canonical'
          findings.add({ code, message: entry.message, ...at })
          continue
        }
        if (seq === 0) {
          if (entry.kind !== 'session_start') {
            findings.add({ code: 'genesis_invalid', message: `seq 0 of ${sessionId} is a ${entry.kind}`, ...at, expected: 'session_start', actual: entry.kind })
          } else {
            if (entry.sessionId !== sessionId) {
              findings.add({ code: 'genesis_invalid', message: `genesis of ${sessionId} names session ${entry.sessionId}`, ...at, expected: sessionId, actual: entry.sessionId })
            }
            const origin = entry.forkedFrom ?? entry.compactedFrom
            if (origin) {
              ctx.origins.push({
                childId: sessionId,
                genesisHash: hash,
                origin,
                relation: entry.forkedFrom ? 'fork' : 'compaction',
                selfContained: entry.compactedFrom !== undefined || entry.snapshot !== undefined,
              })
            }
            await checkMeta(ctx, sessionId, entry.forkedFrom, entry.compactedFrom)
          }
        } else if (entry.kind === 'session_start') {
          findings.add({ code: 'genesis_invalid', message: `session_start at seq ${seq} of ${sessionId}`, ...at })
        }
        if (ctx.extraCheck) await ctx.extraCheck({ sessionId, seq, hash, entry, record, findings })
      }
      ctx.onProgress?.({ entries: ctx.checked.entries, bytes: ctx.checked.bytes })
    }
  } finally {
    await ahead.settle()
    await it.close()
  }
  const headRaw = await store.getRaw(K.headKey(sessionId))
  if (!headRaw) {
    findings.add({ code: 'head_mismatch', message: `session ${sessionId} has entries but no head`, sessionId, expected: lastHash, actual: null })
  } else {
    const head = parseHead(headRaw)
    if (!head) {
      findings.add({ code: 'head_mismatch', message: `head row of ${sessionId} cannot be read`, sessionId, expected: { hash: lastHash, seq: lastSeq }, actual: toHex(headRaw) })
      return
    }
    const headHex = toHex(head.hash)
    if (headHex !== lastHash || head.seq !== lastSeq) {
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
}

async function checkMeta(ctx: Ctx, sessionId: string, forkedFrom: Origin | undefined, compactedFrom: Origin | undefined): Promise<void> {
  const raw = await ctx.store.getRaw(K.metaKey(sessionId))
  if (!raw) {
    ctx.findings.add({ code: 'index_mismatch', message: `session ${sessionId} has no metadata row`, sessionId, seq: 0 })
    return
  }
  const meta = decodeRow(raw) as SessionMeta | undefined
  if (!meta) {
    ctx.findings.add({ code: 'index_mismatch', message: `metadata row of ${sessionId} cannot be read`, sessionId, seq: 0, expected: forkedFrom ?? compactedFrom ?? null, actual: toHex(raw) })
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

/** Merge-join the entry table against the hash index: entries no session reaches, index rows without entries. */
async function checkOrphans(ctx: Ctx): Promise<void> {
  // Every sequence row whose hash row points back at it was confirmed in the walk. If as many
  // live hash rows exist as were confirmed, they are exactly those rows; only otherwise is each
  // row looked up in the sequence index (a second pass, point reads).
  const live = await mergeEntriesAndHashRows(ctx, false)
  if (live !== ctx.confirmed) await mergeEntriesAndHashRows(ctx, true)
}

/** Returns the number of hash rows with an entry that name a live session. */
async function mergeEntriesAndHashRows(ctx: Ctx, seqOnly: boolean): Promise<number> {
  const { store, findings } = ctx
  const eIt = store.db.keys({ ...K.tableRange(K.TAG.entry), ...K.BIN })
  const hIt = store.db.iterator({ ...K.tableRange(K.TAG.hash), ...K.BIN })
  const sessionExists = new Map<string, boolean>()
  let live = 0
  try {
    let eBuf: Uint8Array[] = []
    let hBuf: [Uint8Array, Uint8Array][] = []
    let ei = 0
    let hi = 0
    let eDone = false
    let hDone = false
    const nextE = async (): Promise<Uint8Array | undefined> => {
      if (ei >= eBuf.length && !eDone) {
        eBuf = (await eIt.nextv(CHUNK)) as Uint8Array[]
        ei = 0
        if (eBuf.length === 0) eDone = true
      }
      return ei < eBuf.length ? eBuf[ei] : undefined
    }
    const nextH = async (): Promise<[Uint8Array, Uint8Array] | undefined> => {
      if (hi >= hBuf.length && !hDone) {
        hBuf = (await hIt.nextv(CHUNK)) as [Uint8Array, Uint8Array][]
        hi = 0
        if (hBuf.length === 0) hDone = true
      }
      return hi < hBuf.length ? hBuf[hi] : undefined
    }
    for (;;) {
      const e = await nextE()
      const h = await nextH()
      if (!e && !h) break
      const eh = e ? toHex(e.subarray(1)) : undefined
      const hh = h ? toHex(h[0].subarray(1)) : undefined
      if (eh !== undefined && (hh === undefined || eh < hh)) {
        if (!seqOnly) findings.add({ code: 'orphan_entry', message: `entry ${eh} is in no session`, hash: eh })
        ei++
      } else if (hh !== undefined && (eh === undefined || hh < eh)) {
        const loc = parseLoc(h![1])
        if (!seqOnly) findings.add({ code: 'index_mismatch', message: `hash index row for ${hh} has no entry`, hash: hh, sessionId: loc?.sessionId, seq: loc?.seq })
        hi++
      } else {
        // Both present: the row must point at a session that exists (its rows were checked in the walk).
        const loc = parseLoc(h![1])
        if (!loc) {
          if (!seqOnly) findings.add({ code: 'index_mismatch', message: `hash index row for ${eh} cannot be read`, hash: eh, actual: toHex(h![1]) })
          ei++
          hi++
          continue
        }
        let exists = sessionExists.get(loc.sessionId)
        if (exists === undefined) {
          exists = (await store.getRaw(K.headKey(loc.sessionId))) !== undefined
          if (sessionExists.size < 100_000) sessionExists.set(loc.sessionId, exists)
        }
        if (!exists) {
          if (!seqOnly) findings.add({ code: 'orphan_entry', message: `entry ${eh} belongs to session ${loc.sessionId}, which does not exist`, hash: eh, sessionId: loc.sessionId, seq: loc.seq })
        } else if (!seqOnly) {
          live++
        } else {
          const s = await store.getRaw(K.seqKey(loc.sessionId, loc.seq))
          if (!s || toHex(s) !== eh) {
            findings.add({ code: 'orphan_entry', message: `entry ${eh} is not at ${loc.sessionId}#${loc.seq} where the hash index puts it`, hash: eh, sessionId: loc.sessionId, seq: loc.seq, expected: eh, actual: s ? toHex(s) : null })
          }
        }
        ei++
        hi++
      }
    }
  } finally {
    await eIt.close()
    await hIt.close()
  }
  return live
}

async function checkTrustedHead(ctx: Ctx, trusted: string, sessionId: string | undefined): Promise<TrustedHeadResult> {
  const { store, findings } = ctx
  const loc = await locate(store, trusted)
  const record = await store.getRaw(K.entryKey(fromHex(trusted)))
  if (!loc || !record || (sessionId !== undefined && loc.sessionId !== sessionId)) {
    findings.add({ code: 'trusted_head_missing', message: `trusted head ${trusted} is not in ${sessionId ?? 'any session'}: history was rewritten or truncated`, hash: trusted, sessionId })
    return { hash: trusted, status: 'absent' }
  }
  const s = await store.getRaw(K.seqKey(loc.sessionId, loc.seq))
  const headRaw = await store.getRaw(K.headKey(loc.sessionId))
  const head = headRaw ? parseHead(headRaw) : undefined
  if (!s || toHex(s) !== trusted) {
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

/** All session ids in the sequence index, heads and metadata, streamed in order without duplicates. */
async function* sessionIds(store: SessionStore, findings: FindingList): AsyncGenerator<string> {
  // The sequence index is walked by jumping from one session's range to the next.
  let gte: Uint8Array = new Uint8Array([K.TAG.seq])
  const lt = new Uint8Array([K.TAG.seq + 1])
  for (;;) {
    let key: Uint8Array | undefined
    for await (const k of store.db.keys({ gte, lt, limit: 1, ...K.BIN })) key = k as Uint8Array
    if (key === undefined) break
    const next = seqKeySession(key)
    if (next === undefined) {
      // Not `S ‖ sessionId ‖ 0x00 ‖ u64`: its session's range would not contain it, so jumping
      // past that range would find it again. Report it and step over this one key.
      findings.add({ code: 'index_mismatch', message: `sequence index key ${toHex(key)} cannot be read`, actual: toHex(key) })
      const after = new Uint8Array(key.length + 1)
      after.set(key)
      gte = after
      continue
    }
    yield next
    gte = K.seqRange(next).lt!
  }
  // Sessions with a head or metadata but no entries at all.
  const empty = new Set<string>()
  for (const tag of [K.TAG.head, K.TAG.meta]) {
    for await (const key of store.db.keys({ ...K.tableRange(tag), ...K.BIN })) {
      const id = K.sessionIdFromKey(key as Uint8Array)
      if (!empty.has(id) && !(await anySeq(store, id))) {
        empty.add(id)
        yield `\u0000empty:${id}`
      }
    }
  }
}

/** The session id of a well-formed sequence key, or undefined. */
function seqKeySession(key: Uint8Array): string | undefined {
  if (key.length < 10 || key[key.length - 9] !== 0) return undefined
  const { sessionId } = K.parseSeqKey(key)
  return bytesEqual(Buffer.from(sessionId, 'utf8'), key.subarray(1, key.length - 9)) ? sessionId : undefined
}

async function anySeq(store: SessionStore, id: string): Promise<boolean> {
  for await (const _ of store.db.keys({ ...K.seqRange(id), limit: 1, ...K.BIN })) return true
  return false
}

/**
 * Verify a session, its lineage, or the whole store.
 * @example const report = await verifyStore(store); if (!report.ok) console.log(report.findings)
 */
export async function verifyStore(store: SessionStore, options: VerifyOptions = {}, extraCheck?: EntryCheck): Promise<VerifyReport> {
  const ctx: Ctx = {
    store,
    findings: new FindingList(),
    checked: { sessions: 0, entries: 0, bytes: 0 },
    onProgress: options.onProgress,
    extraCheck,
    origins: [],
    confirmed: 0,
  }
  if (options.trustedHead !== undefined && !isHexHash(options.trustedHead)) {
    throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'trustedHead must be a full 64-digit lowercase hex hash', { trustedHead: options.trustedHead })
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
    for await (const id of sessionIds(store, ctx.findings)) {
      if (id.startsWith('\u0000empty:')) {
        const sid = id.slice('\u0000empty:'.length)
        ctx.checked.sessions++
        ctx.findings.add({ code: 'seq_gap', message: `session ${sid} has a head or metadata but no entries`, sessionId: sid, expected: 0, actual: null })
        continue
      }
      await verifySessionRows(ctx, id)
    }
    await checkOrphans(ctx)
  }
  await checkOrigins(ctx)
  let trustedHead: TrustedHeadResult | undefined
  if (options.trustedHead !== undefined) trustedHead = await checkTrustedHead(ctx, options.trustedHead, options.sessionId)
  const report: VerifyReport = { ok: ctx.findings.errors === 0, checked: ctx.checked, findings: ctx.findings.items }
  if (ctx.findings.truncated) report.truncated = true
  if (trustedHead) report.trustedHead = trustedHead
  return report
}
