// A verification worker thread (verify-threads.ts): checks the records it is sent with
// checkRecord and sends the results back, in order.
import { parentPort } from 'node:worker_threads'
import { checkRecord } from './record-check.js'

parentPort?.on('message', (msg: { id: number; records: Uint8Array[] }) => {
  parentPort!.postMessage({ id: msg.id, results: msg.records.map(checkRecord) })
})
