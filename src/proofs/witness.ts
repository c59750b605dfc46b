// A witness (C2SP tlog-witness semantics, cosignature/v1 from C2SP tlog-cosignature): it keeps
// the last checkpoint it cosigned for each origin, and cosigns a new checkpoint only when a
// consistency proof shows that it extends that one. A rollback (a smaller size), a split view
// (the same size with another root) or a proof that fails is refused with
// CHAINLOG_WITNESS_REFUSED, and the state is left as it was. Whoever holds the log's signing
// key can sign a rewritten history, but cannot make it consistent with what a witness already
// saw (docs/proofs.md, section 6).
import { randomBytes } from 'node:crypto'
import { link, mkdir, open, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { ChainlogError, ErrorCodes, isChainlogError } from '../errors.js'
import { sha256, toHex } from '../encoding/hash.js'
import { cosignCheckpoint, verifyCheckpoint, type VerifiedCheckpoint } from './checkpoint.js'
import { SIG_COSIGNATURE_V1, toSignerKey, toVerifierKey, type SignerKey, type VerifierKey } from './note.js'
import { consistencyProblem, parseConsistencyFile, type ConsistencyProofText } from './proof.js'
import { encodeBase64 } from './text.js'

export interface WitnessOptions {
  /** Directory of the witness's state: one file per origin. Created when missing. */
  stateDir: string
  /** The witness's signer key (type 0x04). */
  key: string | SignerKey
  /** The log keys (type 0x01) whose checkpoints it witnesses. */
  logKeys: readonly (string | VerifierKey)[]
  /** The clock, in seconds since the epoch (tests pin it). */
  now?: () => number
  /** How long to wait for another process updating the same origin before CHAINLOG_STORE_LOCKED, in ms (default 5000). */
  lockTimeoutMs?: number
}

export interface CosignResult {
  origin: string
  sessionId: string
  size: number
  /** The size of the checkpoint cosigned before (0 for the first one). */
  oldSize: number
  /** The root (base64) and head (hex) of the cosigned checkpoint. */
  root: string
  head: string
  timestamp: number
  /** The cosignature line (`— <witness name> <base64>` and a newline), to append to the checkpoint. */
  cosignature: string
  /** The checkpoint with the cosignature added. */
  checkpoint: string
}

/** What the witness keeps for one origin. */
interface OriginState {
  version: 1
  origin: string
  /** The last cosigned checkpoint, as a signed note. */
  checkpoint: string
  /** When it was cosigned (seconds since the epoch). */
  cosignedAt: number
}

export type RefusalReason = 'rollback' | 'split_view' | 'inconsistent' | 'old_size_mismatch'

function refused(reason: RefusalReason, message: string, data: Record<string, unknown>): ChainlogError {
  return new ChainlogError(ErrorCodes.WITNESS_REFUSED, `witness refused: ${message}`, { reason, ...data })
}

export class Witness {
  readonly stateDir: string
  readonly key: SignerKey
  readonly logKeys: VerifierKey[]
  private readonly now: () => number
  private readonly lockTimeoutMs: number
  /** Per-origin queue inside this process (the lock file serialises processes). */
  private readonly queues = new Map<string, Promise<unknown>>()

  constructor(options: WitnessOptions) {
    this.stateDir = options.stateDir
    this.key = toSignerKey(options.key)
    if (this.key.type !== SIG_COSIGNATURE_V1) throw new ChainlogError(ErrorCodes.INVALID_KEY, `the witness key "${this.key.name}" must be a cosignature (type 0x04) key`, { name: this.key.name })
    this.logKeys = options.logKeys.map(toVerifierKey)
    if (this.logKeys.length === 0) throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'a witness needs at least one log key', {})
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000))
    this.lockTimeoutMs = options.lockTimeoutMs ?? 5000
  }

  /** The verifier key of this witness (what clients configure to check its cosignatures). */
  get verifierKey(): VerifierKey {
    const { name, keyId, type, publicKey } = this.key
    return { name, keyId, type, publicKey }
  }

  /**
   * Cosign `checkpoint` (a signed note) if it extends the last checkpoint cosigned for its
   * origin: `proof` is the consistency proof from that checkpoint's size (`oldSize` 0 and no
   * hashes when the witness has seen nothing of this origin). The new state is written
   * (temporary file, fsync, rename) before the cosignature is returned.
   */
  async add(checkpoint: string, proof: ConsistencyProofText = { oldSize: 0, proof: [] }): Promise<CosignResult> {
    const cp = verifyCheckpoint(checkpoint, this.logKeys)
    return this.serialised(cp.origin, () => this.addLocked(cp, proof))
  }

  /** Cosign from a consistency file (`old <m>`, proof lines, a blank line, the checkpoint). */
  async addFile(text: string): Promise<CosignResult> {
    const p = parseConsistencyFile(text)
    return this.add(p.checkpoint, p)
  }

  /** The last checkpoint cosigned for `origin`, or undefined. */
  async latest(origin: string): Promise<string | undefined> {
    return (await this.readState(origin))?.checkpoint
  }

  private async addLocked(cp: VerifiedCheckpoint, proof: ConsistencyProofText): Promise<CosignResult> {
    const state = await this.readState(cp.origin)
    let oldSize = 0
    if (state) {
      // The stored checkpoint was verified when it was cosigned; verify it again (keys may have changed).
      const old = verifyCheckpoint(state.checkpoint, this.logKeys)
      oldSize = old.size
      const problem = consistencyProblem(old, cp, proof)
      if (problem) {
        const reason: RefusalReason = problem.reason === 'origin_mismatch' ? 'inconsistent' : problem.reason
        const data: Record<string, unknown> = { ...problem.data, origin: cp.origin, latestSize: old.size }
        throw refused(reason, problem.message, data)
      }
    } else if (proof.oldSize !== 0 || proof.proof.length !== 0) {
      throw refused('old_size_mismatch', `this witness has cosigned nothing for ${cp.origin}: send old size 0 and no proof`, { origin: cp.origin, latestSize: 0, proofOldSize: proof.oldSize })
    }
    const timestamp = this.now()
    const line = cosignCheckpoint(cp.text, this.key, timestamp)
    await this.writeState({ version: 1, origin: cp.origin, checkpoint: cp.note, cosignedAt: timestamp })
    return {
      origin: cp.origin,
      sessionId: cp.sessionId,
      size: cp.size,
      oldSize,
      root: encodeBase64(cp.root),
      head: cp.head,
      timestamp,
      cosignature: line,
      checkpoint: cp.note + line,
    }
  }

  private fileOf(origin: string): string {
    return join(this.stateDir, `${toHex(sha256(new TextEncoder().encode(origin)))}.json`)
  }

  private async readState(origin: string): Promise<OriginState | undefined> {
    let raw: string
    try {
      raw = await readFile(this.fileOf(origin), 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw ioError(err, 'read the witness state', 'read')
    }
    let state: OriginState
    try {
      state = JSON.parse(raw) as OriginState
    } catch (err) {
      throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `the witness state for ${origin} is not JSON`, { file: this.fileOf(origin) }, { cause: err })
    }
    if (state?.version !== 1 || state.origin !== origin || typeof state.checkpoint !== 'string') {
      throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `the witness state file for ${origin} does not hold its checkpoint`, { file: this.fileOf(origin) })
    }
    return state
  }

  /** Write the state through a temporary file, fsynced, renamed over the old one, directory fsynced. */
  private async writeState(state: OriginState): Promise<void> {
    const file = this.fileOf(state.origin)
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
    try {
      const fh = await open(tmp, 'wx', 0o600)
      try {
        await fh.writeFile(`${JSON.stringify(state, null, 2)}\n`)
        await fh.sync()
      } finally {
        await fh.close()
      }
      await rename(tmp, file)
      const dir = await open(this.stateDir, 'r')
      try {
        await dir.sync()
      } finally {
        await dir.close()
      }
    } catch (err) {
      await rm(tmp, { force: true })
      throw ioError(err, 'write the witness state', 'write')
    }
  }

  /** Run `fn` alone for `origin`: queued in this process, and under a lock file across processes. */
  private async serialised<T>(origin: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(origin) ?? Promise.resolve()
    const run = prev.catch(() => undefined).then(() => this.withLockFile(origin, fn))
    this.queues.set(origin, run)
    try {
      return await run
    } finally {
      if (this.queues.get(origin) === run) this.queues.delete(origin)
    }
  }

  private async withLockFile<T>(origin: string, fn: () => Promise<T>): Promise<T> {
    try {
      await mkdir(this.stateDir, { recursive: true })
    } catch (err) {
      throw ioError(err, 'create the witness state directory', 'write')
    }
    const lock = `${this.fileOf(origin)}.lock`
    const deadline = Date.now() + this.lockTimeoutMs
    for (;;) {
      try {
        const fh = await open(lock, 'wx', 0o600)
        try {
          await fh.writeFile(String(process.pid))
        } finally {
          await fh.close()
        }
        break
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(err, 'lock the witness state', 'write')
      }
      // A lock whose process is gone is stale: remove it and try again.
      const holder = Number((await readFile(lock, 'utf8').catch(() => '')).trim())
      if (Number.isSafeInteger(holder) && holder > 0 && !processAlive(holder)) {
        await takeOverStaleLock(lock, holder)
        continue
      }
      if (Date.now() > deadline) {
        throw new ChainlogError(ErrorCodes.STORE_LOCKED, `another witness process (pid ${holder || 'unknown'}) is updating ${origin} in ${this.stateDir}; try again`, { path: this.stateDir, origin })
      }
      await new Promise((r) => setTimeout(r, 20))
    }
    try {
      return await fn()
    } finally {
      await rm(lock, { force: true })
    }
  }
}

/**
 * Remove a lock file left by process `holder`, which has exited. The file is first renamed away
 * (atomic), then its content checked: if another process replaced it with a fresh lock between
 * our read and the rename, that lock is put back with link() (which never overwrites).
 */
async function takeOverStaleLock(lock: string, holder: number): Promise<void> {
  const aside = `${lock}.${process.pid}.${randomBytes(4).toString('hex')}.stale`
  try {
    await rename(lock, aside)
  } catch {
    return // gone already: someone else took it over
  }
  const pid = Number((await readFile(aside, 'utf8').catch(() => '')).trim())
  if (pid !== holder) await link(aside, lock).catch(() => undefined)
  await rm(aside, { force: true })
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

const IO_REASONS: Record<string, string> = {
  EACCES: 'permission',
  EPERM: 'permission',
  ENOSPC: 'no-space',
  EDQUOT: 'no-space',
  EROFS: 'read-only',
  ENOTDIR: 'not-a-directory',
  ENOENT: 'not-found',
  EMFILE: 'too-many-open-files',
  ENFILE: 'too-many-open-files',
}

/** An errno error as CHAINLOG_IO with the data docs/errors.md lists (path, op, reason, errno). */
function ioError(err: unknown, what: string, op: 'read' | 'write'): unknown {
  if (isChainlogError(err)) return err
  const e = err as NodeJS.ErrnoException
  if (typeof e?.code !== 'string') return err
  return new ChainlogError(ErrorCodes.IO, `could not ${what}: ${e.message}`, { path: e.path, op, reason: IO_REASONS[e.code] ?? 'io', errno: e.code }, { cause: err })
}
