// Verification findings: a union discriminated on a stable `code` (docs/verification.md lists
// every code). Each finding says where (session, seq, hash) and, where it applies, what was
// expected and what was found.

export const FindingCodes = [
  /** A record does not hash to the hash it is stored under. */
  'hash_mismatch',
  /** A record's prev is not the hash of the entry before it (or not zeros for a genesis). */
  'prev_mismatch',
  /** The sequence index skips a number. */
  'seq_gap',
  /** Store format 1 only: the sequence index named an entry whose record was missing (format 2 reports a seq_gap). */
  'entry_missing',
  /** The head pointer does not name the session's last entry (or is missing). */
  'head_mismatch',
  /** Stored entry bytes are not the canonical encoding of what they decode to (or not CBOR). */
  'non_canonical',
  /** A stored entry does not match the entry schema. */
  'schema_invalid',
  /** Seq 0 is not a session_start, a session_start appears later, or the genesis names another session. */
  'genesis_invalid',
  /** forkedFrom / compactedFrom names an entry that is not in the named session. */
  'origin_missing',
  /** The source of a self-contained session (compaction, materialised fork) is not in the store (deleted, or never imported): a warning. */
  'origin_deleted',
  /** The hash index, sequence index, dependants index or metadata disagree with the entries. */
  'index_mismatch',
  /** Store format 1 only: a stored entry that no session reached (format 2 files every record under its session). */
  'orphan_entry',
  /** The trusted head is no longer in the session's chain: history was rewritten or rolled back. */
  'trusted_head_missing',
  /** A referenced blob is missing or does not hash to its key. */
  'blob_invalid',
  /** A bundle is malformed: cut short, bad header, trailing data, or entries that do not match it. */
  'bundle_malformed',
  /** A bundle session's source is not in the bundle (a warning for self-contained sessions). */
  'origin_outside_bundle',
  /** Lineage loops back on itself. */
  'lineage_cycle',
  /** A Merkle tree row does not hold the nodes the session's entries give, is missing from a complete tree, or lies beyond the session. */
  'tree_mismatch',
  /** The session's head is behind a signed checkpoint whose entries are still stored: rolled back. */
  'checkpoint_rollback',
  /** The session has as many entries as a signed checkpoint, but another history: a fork (split view). In a bundle: the carried entries, as many as the checkpoint's size, are not the ones signed. */
  'checkpoint_fork',
  /** The session has fewer entries than a signed checkpoint, and they are gone: truncated. */
  'checkpoint_truncated',
  /** The session grew past a signed checkpoint, but its first entries are not the ones signed: rewritten. In a bundle: the checkpoint is smaller than the carried entries, and their first `size` are not the ones signed. */
  'checkpoint_rewrite',
  /** A bundle's checkpoint (or its consistency proof) is malformed, names another session, or lacks or has a superfluous consistency proof. */
  'checkpoint_invalid',
  /** A bundle's checkpoint is not signed by a trusted log key given to verify or import (or a known key's signature fails, or too few witnesses cosigned). */
  'checkpoint_signature',
  /** A bundle carries fewer entries than its checkpoint signs, and the consistency proof does not lead from them to the signed root. */
  'checkpoint_inconsistent',
  /** Keys were given to verify or import a bundle, but a session in it carries no checkpoint. */
  'checkpoint_missing',
] as const

export type FindingCode = (typeof FindingCodes)[number]

export interface Finding {
  code: FindingCode
  /** 'error' fails verification; 'warning' is reported but leaves `ok` true. */
  severity: 'error' | 'warning'
  message: string
  sessionId?: string
  seq?: number
  hash?: string
  expected?: unknown
  actual?: unknown
}

export interface TrustedHeadResult {
  hash: string
  /**
   * contained: the chain still contains it (history was only appended since);
   * rolled_back: the entry exists but the head is before it;
   * absent: no session's chain contains it (rewritten, truncated or never there).
   */
  status: 'contained' | 'rolled_back' | 'absent'
  sessionId?: string
  seq?: number
}

/** What verify found comparing a session with a signed checkpoint. */
export interface CheckpointResult {
  sessionId: string
  /** The checkpoint's size. */
  size: number
  /** The session's size in the store (its head seq + 1; 0 when gone). */
  storeSize: number
  /** consistent: the session still holds the signed history (and may have grown); unchecked: the chain could not be followed that far (see the other findings). */
  status: 'consistent' | 'rollback' | 'fork' | 'truncated' | 'rewrite' | 'unchecked'
  /**
   * How it was checked: `tree`, O(log n) reads of the stored tree, the signed head's record and
   * the head (the session's other records were not read); `walk`, the whole session walked.
   */
  method: 'tree' | 'walk'
}

export interface VerifyReport {
  ok: boolean
  checked: { sessions: number; entries: number; bytes: number }
  findings: Finding[]
  /** True when more findings existed than the report keeps. */
  truncated?: boolean
  trustedHead?: TrustedHeadResult
  /** With a checkpoint: how the session compares with it. */
  checkpoint?: CheckpointResult
}

export const MAX_FINDINGS = 10_000

export class FindingList {
  readonly items: Finding[] = []
  truncated = false
  errors = 0
  add(f: Omit<Finding, 'severity'> & { severity?: Finding['severity'] }): void {
    const finding = { severity: 'error' as const, ...f }
    if (finding.severity === 'error') this.errors++
    if (this.items.length >= MAX_FINDINGS) {
      this.truncated = true
      return
    }
    this.items.push(finding)
  }
}
