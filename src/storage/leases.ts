// Session leases (docs/concurrency.md): while a lease is unexpired, only appends carrying its
// fencing token are accepted. The lease row (`L ‖ sessionId`) lives beside the session's head;
// a claim, renewal or release is one commit whose precondition is the lease row it read, so two
// processes (or hosts) can never both take the next token.
import { decodeCbor, encodeCanonical } from '../encoding/cbor.js'
import { ChainlogError, ErrorCodes } from '../errors.js'
import type { StorageEngine } from './engine.js'
import * as K from './keys.js'

/** A session lease: while unexpired, only appends carrying its fencing token are accepted. */
export interface Lease {
  sessionId: string
  owner: string
  /** Fencing token: grows by one with every claim of the session, never reused. */
  token: number
  /** Expiry, in ms since the epoch by the clock of the process that holds the store. */
  expiresAt: number
}

export interface LeaseRow {
  owner: string
  token: number
  expiresAt: number
  released: boolean
}

/** A lease row as read, with the stored bytes a commit's precondition compares against. */
export interface LeaseRead {
  row: LeaseRow | null
  raw: Uint8Array | undefined
}

export class LeaseTable {
  #cache = new Map<string, LeaseRead>()

  /** `cache`: keep rows between calls (only when this process is the store's only writer). */
  constructor(
    private readonly engine: StorageEngine,
    private readonly cache: boolean,
  ) {}

  async read(sessionId: string): Promise<LeaseRead> {
    const cached = this.cache ? this.#cache.get(sessionId) : undefined
    if (cached !== undefined) return cached
    const raw = await this.engine.get(K.leaseKey(sessionId))
    const read: LeaseRead = { row: raw ? (decodeCbor(raw) as LeaseRow) : null, raw }
    this.#cache.set(sessionId, read)
    return read
  }

  forget(sessionId?: string): void {
    if (sessionId === undefined) this.#cache.clear()
    else this.#cache.delete(sessionId)
  }

  /** After a commit that wrote `row` landed. */
  remember(sessionId: string, row: LeaseRow, raw: Uint8Array): void {
    this.#cache.set(sessionId, { row, raw })
  }

  /**
   * Refuse an append that does not carry the current lease (LEASE_INVALID) or that has none while
   * another owner holds one (LEASE_HELD). Returns what was read, for the commit's precondition.
   */
  async check(sessionId: string, lease: Lease | undefined): Promise<LeaseRead> {
    return this.judge(sessionId, lease, await this.read(sessionId))
  }

  /** The check of `check` on a lease row already read (returned as is when the append may go on). */
  judge(sessionId: string, lease: Lease | undefined, read: LeaseRead): LeaseRead {
    const row = read.row
    const now = Date.now()
    if (lease !== undefined) {
      if (lease === null || typeof lease !== 'object' || !Number.isSafeInteger(lease.token)) {
        throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'lease must be a lease returned by claimSession', {})
      }
      const reason = !row || lease.token !== row.token ? 'stale' : row.released ? 'released' : row.expiresAt <= now ? 'expired' : undefined
      if (reason) {
        throw new ChainlogError(ErrorCodes.LEASE_INVALID, `lease ${lease.token} on ${sessionId} is ${reason}`, {
          sessionId,
          token: lease.token,
          current: row?.token ?? null,
          reason,
        })
      }
    } else if (row && !row.released && row.expiresAt > now) {
      throw new ChainlogError(ErrorCodes.LEASE_HELD, `session ${sessionId} is leased to ${row.owner}`, { sessionId, owner: row.owner, expiresAt: row.expiresAt })
    }
    return read
  }
}

export function encodeLease(row: LeaseRow): Uint8Array {
  return encodeCanonical(row)
}
