// Projections of a restored SessionState, for comparing sessions field by field while leaving
// out what legitimately differs (ids, hashes, timestamps).
import type { SessionState } from '../../src/state/reducer.js'

/** The fields a runtime resumes from (not the ids, hashes and timestamps of the session itself). */
export function restorable(s: SessionState) {
  return {
    systemPrompt: s.systemPrompt,
    config: s.config,
    history: s.history,
    turnCount: s.turnCount,
    cacheLockedPrefix: s.cacheLockedPrefix,
    lastOutcome: s.lastOutcome,
    usage: s.usage,
    usageTotals: s.usageTotals,
  }
}
