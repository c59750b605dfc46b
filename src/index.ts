// Public API: re-exports only.
export { ChainlogError, ErrorCodes, isChainlogError } from './errors.js'
export type { ErrorCode } from './errors.js'
export * from './schema/entry.js'
export { classifyItem } from './schema/classify.js'
export type { ItemClass, ItemClassifier } from './schema/classify.js'
export { encodeCanonical, decodeCanonical, decodeCbor, compareKeys, CURRENT_FORMAT } from './encoding/cbor.js'
export type { CanonicalFormat } from './encoding/cbor.js'
export { sha256, ENTRY_DOMAIN, ENTRY_DOMAIN_V1, ENTRY_DOMAIN_V2, ZERO_HASH, hashRecord, recordFormat, toHex, fromHex, isHexHash } from './encoding/hash.js'
export { validateEntry, encodeEntry, sealEntry, openRecord, hashEntry } from './encoding/entry-codec.js'
export { applyEntry, reduceEntries } from './state/reducer.js'
export type { SessionState, UsageTotals, ChainedEntry } from './state/reducer.js'
export { Store } from './store.js'
export { openStore } from './open.js'
export { copyStore } from './copy/copy-store.js'
export type { CopyOptions, CopyProgress, CopyResult, StoreLocation } from './copy/copy-store.js'
export { STORE_FORMAT_VERSION } from './storage/session-store.js'
export type {
  StoreOptions,
  Durability,
  EntryInput,
  AppendOptions,
  AppendResult,
  TurnOptions,
  TurnResult,
  CreateSessionInput,
  StoredEntry,
  SessionInfo,
  SessionMeta,
  MessageCounts,
} from './storage/session-store.js'
export { groupTurnItems } from './state/turn.js'
export type { CompactOptions, ForkOptions, Lineage, LineageRelation, Ancestor, Descendant, DeleteResult, DependantPolicy } from './lineage/lineage.js'
export { verifyBundle, BUNDLE_FORMAT, BUNDLE_VERSION } from './bundle/bundle.js'
export type { BundleHeader, BundleSession, BundleReport, BundleFormat, BundleCheckpointResult, BundleVerifyOptions, ExportOptions, ExportResult, ImportResult } from './bundle/bundle.js'
export { FindingCodes } from './verify/findings.js'
export type { Finding, FindingCode, VerifyReport, TrustedHeadResult, CheckpointResult } from './verify/findings.js'
export type { TreeHead, ProveOptions } from './storage/tree-api.js'
export type { VerifyOptions } from './verify/verify-store.js'
export { isBlobRef, DEFAULT_BLOB_THRESHOLD, TEXT_MEDIA_TYPE, BYTES_MEDIA_TYPE } from './blobs/blobs.js'
export type { BlobRef, BlobOptions, CompressionProfile } from './blobs/blobs.js'
export type { GcResult } from './storage/gc.js'
export type { UsageByModel } from './storage/usage-ledger.js'
export type { StoreFigures, KindFigures } from './storage/store-figures.js'
export type { ChainlogStore, OpenOptions } from './open.js'
export { SharedStore, socketPathFor } from './host/shared-store.js'
export type { Lease } from './storage/session-store.js'
export { importTranscript, mainSessionIdOf } from './import/import-transcript.js'
export { regenerateTranscript, regeneratedJsonl } from './import/regenerate.js'
export type { RegeneratedLine } from './import/regenerate.js'
export { importNamespace } from './import/stored.js'
export { DamageCodes, TRANSCRIPT_FORMATS } from './import/types.js'
export type { TranscriptFormat, Damage, DamageCode, ImportOptions, ImportProgress, ImportReport, FileReport, FileFork, LineRecord } from './import/types.js'
export { findTranscriptFiles } from './import/read-lines.js'
export {
  leafHash,
  nodeHash,
  EMPTY_ROOT,
  MAX_TREE_SIZE,
  frontierIds,
  rootFromFrontier,
  encodeFrontier,
  decodeFrontier,
  nodesAfterAppend,
  completedAt,
  levelsCompletedAt,
  rootIds,
  rootAt,
  inclusionProofIds,
  inclusionProof,
  consistencyProofIds,
  consistencyProof,
  verifyInclusion,
  verifyConsistency,
  MemoryNodeSource,
} from './proofs/merkle.js'
export type { NodeId, MerkleNode, MerkleNodeSource, AppendResult as MerkleAppendResult } from './proofs/merkle.js'
export {
  SIG_ED25519,
  SIG_COSIGNATURE_V1,
  computeKeyId,
  keyIdHex,
  formatVerifierKey,
  formatSignerKey,
  parseVerifierKey,
  parseSignerKey,
  generateKeyPair,
  parseNote,
  formatNote,
  signNote,
  verifyNote,
  cosignedMessage,
} from './proofs/note.js'
export type { VerifierKey, SignerKey, SignatureType, Note, NoteSignature, VerifiedNote, VerifiedSignature, GeneratedKeyPair } from './proofs/note.js'
export {
  HEAD_EXTENSION,
  checkpointOrigin,
  formatCheckpointBody,
  parseCheckpointBody,
  formatChainlogCheckpoint,
  parseChainlogCheckpoint,
  signCheckpoint,
  verifyCheckpoint,
  cosignCheckpoint,
  addSignatureLines,
} from './proofs/checkpoint.js'
export type { CheckpointBody, ChainlogCheckpoint, CheckpointInput, VerifiedCheckpoint, VerifyCheckpointOptions, Cosignature } from './proofs/checkpoint.js'
export {
  PROOF_HEADER,
  formatProofFile,
  parseProofFile,
  verifyProofFile,
  formatConsistencyProof,
  parseConsistencyProof,
  formatConsistencyFile,
  parseConsistencyFile,
  verifyConsistencyProof,
  verifyConsistencyFile,
} from './proofs/proof.js'
export type { InclusionProofFile, VerifiedInclusion, VerifyProofOptions, ConsistencyProofText, VerifiedConsistency } from './proofs/proof.js'
export { checkCarriedCheckpoint, rootOfEntryHashes } from './proofs/carried.js'
export type { CarriedCheckpointInput, CarriedCheckpointOptions, CarriedCheckpointResult, CarriedCheckpointCode } from './proofs/carried.js'
export { Witness } from './proofs/witness.js'
export type { WitnessOptions, CosignResult, RefusalReason } from './proofs/witness.js'
