// The JSONL peer of `chainlog ls` (bench case 10), run as its own process like the CLI:
//   node bench/lib/jsonl-ls.mjs <dir>
// A directory of session files (<id>.jsonl, the peer layout of bench/lib/peers.mjs) listed the
// way a session picker over JSONL files does it: for each file, read its first lines (one 4 KiB
// read, more only if the first user message does not fit), take the session's start time from
// the first line and a title from the first user message, then sort by time, newest first, and
// print one line per session (id, start time, title).
import fs from 'node:fs'
import path from 'node:path'

const dir = process.argv[2]
if (!dir) {
  console.error('usage: node bench/lib/jsonl-ls.mjs <dir>')
  process.exit(2)
}

const E_OFF = 76 // '{"h":"' + 64 hex + '","e":' (peers.mjs); the entry JSON runs to the line's last '}'
const CHUNK = 4096

/** { ts, title } from the first lines of one session file. */
function head(file) {
  const fd = fs.openSync(file, 'r')
  try {
    let buf = Buffer.allocUnsafe(CHUNK)
    let len = 0
    let start = 0
    let ts = null
    for (;;) {
      let nl
      while ((nl = buf.subarray(0, len).indexOf(10, start)) !== -1) {
        const e = JSON.parse(buf.toString('utf8', start + E_OFF, nl - 1))
        start = nl + 1
        if (ts === null) ts = e.ts
        if (e.type === 'UserInput') {
          const text = e.item.content?.find?.((b) => b.type === 'text')?.text ?? ''
          return { ts, title: text }
        }
      }
      if (len === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2)
        buf.copy(bigger, 0, 0, len)
        buf = bigger
      }
      const got = fs.readSync(fd, buf, len, buf.length - len, len)
      if (got === 0) return { ts, title: '' }
      len += got
    }
  } finally {
    fs.closeSync(fd)
  }
}

const rows = []
for (const name of fs.readdirSync(dir)) {
  if (!name.endsWith('.jsonl')) continue
  const h = head(path.join(dir, name))
  rows.push({ id: name.slice(0, -6), ts: h.ts ?? 0, title: h.title })
}
rows.sort((a, b) => b.ts - a.ts || (a.id < b.id ? -1 : 1))
const oneLine = (s, n) => {
  const t = s.replace(/\s+/g, ' ').trim()
  return t.length > n ? `${t.slice(0, n - 1)}…` : t
}
const out = rows.map((r) => `${r.id}  ${new Date(r.ts).toISOString()}  ${JSON.stringify(oneLine(r.title, 60))}`)
out.push('')
fs.writeSync(1, out.join('\n'))
