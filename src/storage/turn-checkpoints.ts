// Checkpoints on turn_end (StoreOptions.checkpointOnTurnEnd, docs/proofs.md section 4.3): after
// an append whose entries include a turn_end, a checkpoint of the session at its new size. The
// append hands over the head and tree frontier it has just written, so the root costs a few
// hashes and no read; only an append that had already landed (an idempotent retry) reads the
// tree, O(log n). Nothing is stored: the checkpoint is returned, and given to onCheckpoint.
//
// A process sharing the store (host/shared-store.ts) asks for the same thing per request: the
// holder then returns the unsigned tree head (`turnHead`) and the asking process signs it with
// its own key, so a checkpoint is signed by the key of the process that asked for it.
import { toHex } from '../encoding/hash.js'
import { signCheckpoint } from '../proofs/checkpoint.js'
import { rootFromFrontier } from '../proofs/merkle.js'
import type { SignerKey } from '../proofs/note.js'
import type { Entry } from '../schema/entry.js'
import type { AppendHook, SessionStore, TurnCheckpoint, TurnResult } from './session-store.js'
import { treeHeadLocked, type TreeHead } from './tree-api.js'
import { turnHeadsRequested } from './turn-heads.js'

/** A turn result as it crosses the socket to a process that asked for tree heads. */
export interface WireTurnResult extends TurnResult {
  turnHead?: TreeHead
}

function endsTurn(entries: readonly Entry[]): boolean {
  for (const e of entries) if (e.kind === 'turn_end') return true
  return false
}

/** Call onCheckpoint; the append has landed whatever it throws. */
export function tell(onCheckpoint: ((c: TurnCheckpoint) => void) | undefined, c: TurnCheckpoint): void {
  if (!onCheckpoint) return
  try {
    onCheckpoint(c)
  } catch {
    // Ignored (documented): the append is already durable.
  }
}

/**
 * The append hook of a Store: `key` and `onCheckpoint` when the store itself signs on turn_end
 * (`own`), and, for a holder, the tree heads its sharing processes ask for.
 */
export function turnCheckpointHook(store: SessionStore, own: { key: SignerKey; onCheckpoint?: (c: TurnCheckpoint) => void } | undefined): AppendHook {
  return (sessionId, entries, result, landed) => {
    const remote = turnHeadsRequested.getStore() === true
    if ((!own && !remote) || !endsTurn(entries)) return result
    const finish = (th: TreeHead): TurnResult => {
      const out: WireTurnResult = { ...result }
      if (own) {
        out.checkpoint = signCheckpoint(th, own.key)
        tell(own.onCheckpoint, { sessionId, size: th.size, checkpoint: out.checkpoint })
      }
      if (remote) out.turnHead = th
      return out
    }
    if (landed) {
      return finish({ sessionId, size: landed.head.seq + 1, root: rootFromFrontier(landed.tree.frontier), head: toHex(landed.head.hash) })
    }
    // An append that had already landed: its size is its last entry's seq + 1 (O(log n) reads).
    const size = result.entries[result.entries.length - 1]!.seq + 1
    return treeHeadLocked(store, sessionId, size).then((r) => finish(r.th))
  }
}
