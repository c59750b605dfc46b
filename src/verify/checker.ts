// What checks records for verify: the main thread (here), or a pool of worker threads where the
// host has them (verify-threads.ts, Node; chosen through platform/).
import { checkRecord, type RecordCheck } from './record-check.js'

export interface RecordChecker {
  check(records: Uint8Array[]): Promise<RecordCheck[]>
  close(): Promise<void>
  /** Worker threads in use (0: in the main thread). */
  readonly threads: number
}

/** Check records in the main thread. */
export function inThread(): RecordChecker {
  return { threads: 0, check: async (records) => records.map(checkRecord), close: async () => undefined }
}
