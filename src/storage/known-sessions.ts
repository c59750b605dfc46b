// What a process's own last append of a session left (its session row: head and metadata; its
// lease row), kept so that the next append on an engine other processes write too (PostgreSQL)
// can skip the read of those rows: one round trip per append instead of two. Nothing here is
// trusted: the append's commit names both rows, with the bytes kept here, as preconditions, so if
// another process moved either the engine refuses the commit whole, the store forgets the session
// and reads again (docs/scaling.md, section 7).
import type { LeaseRead } from './leases.js'
import type { SessionMeta } from './session-meta.js'

export interface KnownSession {
  head: { hash: Uint8Array; seq: number }
  lease: LeaseRead
  meta: SessionMeta
  /** The session row's bytes (head ‖ metadata), for the commit's precondition. */
  row: Uint8Array
}

/** Appends of a session that read its rows after one of its commits was refused. */
const COOL_OFF = 8
const MAX_SESSIONS = 10_000

export class KnownSessions {
  #known = new Map<string, KnownSession>()
  /** Sessions another writer moved lately: written by more than one process, so reading pays. */
  #coolOff = new Map<string, number>()

  get(sessionId: string): KnownSession | undefined {
    return this.#known.get(sessionId)
  }

  /** After an append's commit landed. */
  remember(sessionId: string, known: KnownSession): void {
    const left = this.#coolOff.get(sessionId)
    if (left !== undefined) {
      if (left > 1) this.#coolOff.set(sessionId, left - 1)
      else this.#coolOff.delete(sessionId)
      return
    }
    if (this.#known.size >= MAX_SESSIONS && !this.#known.has(sessionId)) this.#known.clear()
    this.#known.set(sessionId, known)
  }

  /** After this process wrote the session's lease row (a claim, renewal or release). */
  leaseWritten(sessionId: string, lease: LeaseRead): void {
    const known = this.#known.get(sessionId)
    if (known) this.#known.set(sessionId, { ...known, lease })
  }

  /** After a commit of the session was refused (another writer moved its rows). */
  refused(sessionId: string): void {
    this.#known.delete(sessionId)
    if (this.#coolOff.size >= MAX_SESSIONS) this.#coolOff.clear()
    this.#coolOff.set(sessionId, COOL_OFF)
  }

  forget(sessionId?: string): void {
    if (sessionId === undefined) this.#known.clear()
    else this.#known.delete(sessionId)
  }
}
