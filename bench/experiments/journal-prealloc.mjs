// What an fdatasync costs after a write past the end of a file (the journal before it was written
// ahead) against one into zeros written ahead (the journal now): 22 KB records (one turn of the
// workload), blocks of 100 write+fdatasync alternating between the two files, with the block
// device's write and flush requests counted from /sys/block/<dev>/stat over each block.
//   node bench/experiments/journal-prealloc.mjs [dir] [device]
// The device counters include other processes' writes: compare the two rows of one run.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const dir = fs.mkdtempSync(path.join(process.argv[2] ?? os.tmpdir(), 'journal-prealloc-'))
const dev = process.argv[3] ?? 'vda'
const REC = 22000
const BLOCK = 100
const ROUNDS = 6
const record = Buffer.alloc(REC, 7)
const devStat = () => {
  try {
    const f = fs.readFileSync(`/sys/block/${dev}/stat`, 'utf8').trim().split(/\s+/).map(Number)
    return { writes: f[4], flushes: f[15] ?? NaN }
  } catch {
    return { writes: NaN, flushes: NaN }
  }
}
const arms = {}
for (const arm of ['past-end', 'written-ahead']) {
  const fd = fs.openSync(path.join(dir, arm), 'w+')
  if (arm === 'written-ahead') {
    const zeros = Buffer.alloc(1 << 20)
    for (let i = 0; i < Math.ceil((REC * BLOCK * ROUNDS) / zeros.length) + 1; i++) fs.writeSync(fd, zeros)
    fs.fsyncSync(fd)
  }
  arms[arm] = { fd, at: 0, writes: 0, flushes: 0, ms: 0 }
}
for (let r = 0; r < ROUNDS; r++) {
  for (const name of r % 2 ? ['past-end', 'written-ahead'] : ['written-ahead', 'past-end']) {
    const a = arms[name]
    const s0 = devStat()
    const t0 = performance.now()
    for (let i = 0; i < BLOCK; i++) {
      fs.writeSync(a.fd, record, 0, REC, a.at)
      a.at += REC
      fs.fdatasyncSync(a.fd)
    }
    a.ms += performance.now() - t0
    const s1 = devStat()
    a.writes += s1.writes - s0.writes
    a.flushes += s1.flushes - s0.flushes
  }
}
const n = BLOCK * ROUNDS
for (const [name, a] of Object.entries(arms)) {
  console.log(`${name.padEnd(14)} per write+fdatasync: ${((a.ms / n) * 1000).toFixed(0)} µs, device writes ${(a.writes / n).toFixed(2)}, flushes ${(a.flushes / n).toFixed(2)}`)
  fs.closeSync(a.fd)
}
fs.rmSync(dir, { recursive: true, force: true })
