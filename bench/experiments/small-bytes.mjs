// Small typed arrays (hashes, keys) converted through a Buffer view against plain JS, CPU per call.
const OLD = await import(process.argv[2] + '/encoding/bytes.js'), NEW = await import('../../dist/encoding/bytes.js')
const OK = await import(process.argv[2] + '/storage/keys.js'), NK = await import('../../dist/storage/keys.js')
const fresh = () => { const a = new Uint8Array(32); for (let i = 0; i < 32; i++) a[i] = (Math.random() * 256) | 0; return a }
const cases = [
  ['hex(32)', (m) => m.hex(fresh()), OLD, NEW],
  ['latin1(46)', (m) => m.latin1(new Uint8Array(46).fill(7)), OLD, NEW],
  ['u64', (m) => m.u64(123456789 + Math.random() * 1000), OK, NK],
]
for (const [name, f, a, b] of cases) {
  for (let r = 0; r < 4; r++) {
    for (const [label, m] of [['old', a], ['new', b]]) {
      const c0 = process.cpuUsage()
      for (let i = 0; i < 300000; i++) f(m)
      const c = process.cpuUsage(c0)
      if (r > 0) console.log(name, label, ((c.user + c.system) / 300000).toFixed(3), 'µs')
    }
  }
}
