// Renders the results of one run (run.mjs) as Markdown: machine, workload, targets, then one
// section per case. Every chainlog figure is given as a ratio to the peers of the same run.
import { fmt } from './util.mjs'

const MB = 1e6
const MiB = 2 ** 20
const num = (x) => typeof x === 'number' && Number.isFinite(x)
const ratio = (a, b) => (num(a) && num(b) && b !== 0 ? a / b : NaN)
// Two decimals, or two significant digits below 0.01 (a ratio to an in-memory floor can be that small).
const x2 = (r) => (num(r) ? `${r >= 100 ? Math.round(r).toLocaleString('en-US') : r >= 0.01 || r === 0 ? r.toFixed(2) : r.toPrecision(2)}×` : 'n/a')
const pct = (p) => (num(p) ? `${p.toFixed(1)}%` : 'n/a')
/** Case 14: the row without the tree that the target is judged on (no tree at all, else the rows left out). */
const treeRow = (cs) => cs?.rows?.find((r) => r.key === 'notree' && r.n > 0) ?? cs?.rows?.find((r) => r.key === 'notree-rows')
/** What the tree adds to the time per turn, in %: the median over repetitions of (turns/s without ÷ turns/s with, same round) − 1. */
const treeCost = (row) => (num(row?.paired?.median) ? (row.paired.median - 1) * 100 : NaN)

/** "median (min–max)" with a formatter; a single repetition shows just the value. */
function mm(s, f = fmt.int) {
  if (!s || !num(s.median)) return 'n/a'
  if (s.n <= 1 || s.min === s.max) return f(s.median)
  return `${f(s.median)} (${f(s.min)}–${f(s.max)})`
}

const scale = (s, d) => (s ? { ...s, median: s.median / d, min: s.min / d, max: s.max / d } : s)
const row = (cells) => `| ${cells.join(' | ')} |`
const table = (head, rows) => [row(head), row(head.map(() => '---')), ...rows.map(row)].join('\n')
const find = (rows, key) => rows?.find((r) => r.key === key)
const errNote = (rows) =>
  (rows ?? [])
    .filter((r) => r.errors?.length)
    .map((r) => `- **${r.label}** failed in ${r.errors.length} repetition(s): \`${r.errors[0].split('\n')[0].slice(0, 300)}\``)
    .join('\n')

function targets(R) {
  const c = R.cases
  const T = []
  const add = (id, what, value, met, detail) => T.push({ id, what, value, met, detail })
  const cmpGe = (v, t) => (num(v) ? v >= t : null)
  const cmpLe = (v, t) => (num(v) ? v <= t : null)

  if (c.c1) {
    const ch = find(c.c1.rows, 'chainlog')?.turnsPerSec.median
    const sq = find(c.c1.rows, 'sqlite')?.turnsPerSec.median
    const cl = find(c.c1.rows, 'classic')?.turnsPerSec.median
    const r1 = ratio(ch, sq)
    const r2 = ratio(ch, cl)
    add('1a', 'relaxed append per turn ≥ 1.0× SQLite NORMAL', x2(r1), cmpGe(r1, 1.0), `${fmt.int(ch)} vs ${fmt.int(sq)} turns/s`)
    add('1b', 'relaxed append per turn ≥ 1.5× raw classic-level defaults', x2(r2), cmpGe(r2, 1.5), `${fmt.int(ch)} vs ${fmt.int(cl)} turns/s`)
  }
  if (c.c2) {
    const ch = find(c.c2.rows, 'chainlog')?.turnsPerSec.median
    const sq = find(c.c2.rows, 'sqlite')?.turnsPerSec.median
    const r = ratio(ch, sq)
    add('2', 'durable append per turn ≥ 1.0× SQLite FULL', x2(r), cmpGe(r, 1.0), `${fmt.int(ch)} vs ${fmt.int(sq)} turns/s`)
  }
  if (c.c3) {
    const ch = find(c.c3.rows, 'chainlog')?.entriesPerSec.median
    const peers = c.c3.rows.filter((r) => r.key !== 'chainlog' && !r.floor && num(r.entriesPerSec.median))
    const best = peers.reduce((a, b) => (!a || b.entriesPerSec.median > a.entriesPerSec.median ? b : a), null)
    const r = ratio(ch, best?.entriesPerSec.median)
    add('3', `${c.c3.sessions} concurrent sessions, durable: ≥ 2× the best peer's entries/s`, x2(r), cmpGe(r, 2.0), `${fmt.int(ch)} vs ${fmt.int(best?.entriesPerSec.median)} entries/s (best peer: ${best?.label ?? 'n/a'})`)
  }
  if (c.c4) {
    const ch = find(c.c4.rows, 'chainlog')
    const sq = find(c.c4.rows, 'sqlite')
    const scan = find(c.c4.rows, 'classic-scan')
    const r1 = ratio(ch?.entriesPerSec.median, sq?.entriesPerSec.median)
    const r2 = ratio(scan?.ms.median, ch?.ms.median)
    add('4a', 'full verify ≥ 1.0× SQLite read + verify (entries/s)', x2(r1), cmpGe(r1, 1.0), `${fmt.int(ch?.entriesPerSec.median)} vs ${fmt.int(sq?.entriesPerSec.median)} entries/s`)
    add('4b', 'full verify ≥ 0.9× the raw classic-level read-only scan of the same data (speed = scan time ÷ verify time)', x2(r2), cmpGe(r2, 0.9), `${fmt.ms(ch?.ms.median)} ms vs ${fmt.ms(scan?.ms.median)} ms`)
  }
  if (c.c5) {
    const ch = find(c.c5.restore, 'chainlog')?.ms.median
    const jl = find(c.c5.restore, 'jsonl')?.ms.median
    const r1 = ratio(jl, ch)
    add('5a', `full restore of a ${fmt.int(c.c5.medium)}-entry session ≥ 1.0× JSONL whole-file load (speed = JSONL time ÷ chainlog time)`, x2(r1), cmpGe(r1, 1.0), `${fmt.ms(ch)} ms vs ${fmt.ms(jl)} ms`)
    const t = c.c5.tails.medium
    const tc = find(t.rows, 'chainlog')?.ms.median
    const ts = find(t.rows, 'sqlite')?.ms.median
    const r2 = ratio(tc, ts)
    add('5b', `tail read (open + last ${c.c5.tailN} + verify) ≤ 1.5× SQLite's time (time ratio)`, x2(r2), cmpLe(r2, 1.5), `${fmt.ms(tc)} ms vs ${fmt.ms(ts)} ms`)
  }
  if (c.c6) {
    const s = c.c6.chainlog.sync
    const r1 = ratio(s.big.median, s.small.median)
    add('6a', `fork at the head of a ${fmt.int(c.c6.big)}-entry session ≤ 1.1× fork of a ${c.c6.small}-entry one (time ratio, durability sync)`, x2(r1), cmpLe(r1, 1.1), `${fmt.ms(s.big.median)} ms vs ${fmt.ms(s.small.median)} ms`)
    const r2 = ratio(c.c6.jsonl.ms.median, s.big.median)
    add('6b', `fork at ${fmt.int(c.c6.big)} ≥ 100× faster than a JSONL copy-fork (fsynced)`, x2(r2), cmpGe(r2, 100), `${fmt.ms(s.big.median)} ms vs ${fmt.ms(c.c6.jsonl.ms.median)} ms`)
  }
  if (c.c7disk) {
    const d = c.c7disk.disk
    const r = ratio(d.chainlog.perEntry, d.jsonl.perEntry)
    add('7a', 'disk bytes per entry ≤ 0.7× JSONL (size ratio)', x2(r), cmpLe(r, 0.7), `${fmt.int(d.chainlog.perEntry)} vs ${fmt.int(d.jsonl.perEntry)} B/entry`)
  }
  if (c.c7mem) {
    const peak = c.c7mem.maxRssBytes?.max
    add('7b', `verify of ${fmt.int(c.c7mem.entries)} small entries under 256 MB peak RSS`, num(peak) ? `${fmt.int(peak / MiB)} MiB` : 'n/a', num(peak) ? peak < 256 * MiB : null, `highest maxRSS of ${c.c7mem.maxRssBytes?.n ?? 0} run(s); anonymous memory peaked at ${fmt.int((c.c7mem.peakRssAnonBytes?.max ?? NaN) / MiB)} MiB, file-backed (mmap'd tables, node binary) at ${fmt.int((c.c7mem.peakRssFileBytes?.max ?? NaN) / MiB)} MiB; open-only process: ${fmt.int((c.c7mem.open?.maxRssBytes ?? NaN) / MiB)} MiB`)
  }
  if (c.c8?.rows) {
    const node = find(c.c8.rows, 'node')?.ms.median
    const help = find(c.c8.rows, 'help')?.ms.median
    const ls = find(c.c8.rows, 'ls')?.ms.median
    const r1 = ratio(help, node)
    const r2 = ratio(ls, node)
    add('8a', 'start-up: `chainlog --help` ≤ 2× a bare `node -e 0` (time ratio)', x2(r1), cmpLe(r1, 2), `${fmt.ms(help)} ms vs ${fmt.ms(node)} ms`)
    add('8b', `start-up: \`chainlog ls\` on the demo store (${c.c8.demo?.sessions ?? '?'} sessions) ≤ 4× a bare \`node -e 0\` (time ratio)`, x2(r2), cmpLe(r2, 4), `${fmt.ms(ls)} ms vs ${fmt.ms(node)} ms`)
  }
  if (c.c9) {
    const eps = c.c9.entriesPerSec?.median
    const v = c.c9.verify
    add(
      '9',
      `migrate a ${fmt.int(c.c9.entries)}-entry store of format 1 on open: ≥ 50,000 entries/s`,
      num(eps) ? `${fmt.int(eps)} entries/s` : 'n/a',
      num(eps) ? eps >= 50_000 && v?.n === v?.runs && v?.runs > 0 : null,
      `${mm(c.c9.ms, fmt.ms)} ms for ${fmt.int(c.c9.entries)} entries; verified after: ${v?.n ?? 0} of ${v?.runs ?? 0} ok`,
    )
  }
  if (c.c10?.rows) {
    const jl = find(c.c10.rows, 'jsonl')?.ms.median
    for (const [id, key, cmd] of [
      ['10a', 'ls', 'ls'],
      ['10b', 'stats', 'stats'],
      ['10c', 'tree', 'tree'],
    ]) {
      const t = find(c.c10.rows, key)?.ms.median
      const r = ratio(t, jl)
      add(id, `\`chainlog ${cmd}\` on ${fmt.int(c.c10.sessions)} small sessions ≤ 1.0× a JSONL-directory listing (time ratio)`, x2(r), cmpLe(r, 1.0), `${fmt.ms(t)} ms vs ${fmt.ms(jl)} ms`)
    }
  }
  if (c.c11?.rows) {
    const cl = find(c.c11.rows, 'cli')?.entriesPerSec.median
    const big = find(c.c11.rows, 'big')?.entriesPerSec.median
    const r = ratio(cl, big)
    add('11', `\`verify --all\` of ${fmt.int(c.c11.sessions)} small sessions (${fmt.int(c.c11.entries)} entries): entries/s ≥ 0.9× the verify of the ${fmt.int(c.c11.bigTotal)}-entry 3-session store`, x2(r), cmpGe(r, 0.9), `${fmt.int(cl)} vs ${fmt.int(big)} entries/s`)
  }
  if (c.c13?.langgraph) {
    // The chainlog row with the durability SQLite ran with (case 13 in run.mjs).
    const ch = find(c.c13.langgraph, c.c13.like ?? 'chainlog')
    const sq = find(c.c13.langgraph, 'sqlite')
    const both = c.c13.like === 'chainlog-relaxed' ? 'chainlog `relaxed`, SQLite synchronous NORMAL: neither syncs each commit' : 'both durable'
    const r1 = ratio(ch?.stepsPerSec.median, sq?.stepsPerSec.median)
    const r2 = ratio(ch?.getsPerSec.median, sq?.getsPerSec.median)
    const r3 = ratio(ch?.listPerSec.median, sq?.listPerSec.median)
    const r4 = ratio(ch?.disk?.apparent, sq?.disk?.apparent)
    const steps = fmt.int(c.c13.steps)
    add('13a', `LangGraph \`ChainlogSaver\` put + putWrites per step ≥ 1.0× \`SqliteSaver\` (${steps}-step thread, ${both})`, x2(r1), cmpGe(r1, 1.0), `${fmt.int(ch?.stepsPerSec.median)} vs ${fmt.int(sq?.stepsPerSec.median)} steps/s`)
    add('13b', `LangGraph getTuple of a random checkpoint ≥ 1.0× \`SqliteSaver\``, x2(r2), cmpGe(r2, 1.0), `${fmt.ms(ch?.getMs.median)} ms vs ${fmt.ms(sq?.getMs.median)} ms per call`)
    add('13c', `LangGraph list of the whole thread ≥ 1.0× \`SqliteSaver\` (checkpoints/s)`, x2(r3), cmpGe(r3, 1.0), `${fmt.int(ch?.listPerSec.median)} vs ${fmt.int(sq?.listPerSec.median)} checkpoints/s`)
    add('13d', `LangGraph bytes on disk ≤ 0.5× \`SqliteSaver\` (size ratio)`, x2(r4), cmpLe(r4, 0.5), `${fmt.f1((ch?.disk?.apparent ?? NaN) / MB)} MB vs ${fmt.f1((sq?.disk?.apparent ?? NaN) / MB)} MB`)
  }
  if (c.c14) {
    for (const [id, which, n] of [
      ['14a', 'relaxed', 1],
      ['14b', 'durable', 2],
    ]) {
      const cs = c.c14[which]
      const row = treeRow(cs)
      const cost = treeCost(row)
      add(id, `the Merkle tree adds ≤ 5% to the time per turn of case ${n} (${which} append; paired with a build without the tree)`, pct(cost), num(cost) ? cost <= 5 : null, `${fmt.int(find(cs.rows, 'chainlog')?.turnsPerSec.median)} turns/s with the tree, ${fmt.int(row?.turnsPerSec.median)} without (${row?.key === 'notree' ? 'no tree at all' : 'tree rows left out'})`)
    }
  }
  if (c.c15 && !c.c15.skipped) {
    const a = find(c.c15.a?.rows, 'chainlog')
    const ap = find(c.c15.a?.rows, 'peer')
    const b = find(c.c15.b?.rows, 'chainlog')
    const bp = find(c.c15.b?.rows, 'peer')
    const v = find(c.c15.c?.rows, 'chainlog')
    const vp = find(c.c15.c?.rows, 'peer')
    const r1 = ratio(a?.turnsPerSec.median, ap?.turnsPerSec.median)
    const r2 = ratio(b?.turnsPerSec.median, bp?.turnsPerSec.median)
    const r3 = ratio(v?.entriesPerSec.median, vp?.entriesPerSec.median)
    add('15a', 'PostgreSQL: durable single-session append per turn ≥ 1.0× a plain Postgres table with the same chain', x2(r1), cmpGe(r1, 1.0), `${fmt.int(a?.turnsPerSec.median)} vs ${fmt.int(ap?.turnsPerSec.median)} turns/s`)
    add('15b', `PostgreSQL: ${c.c15.b?.sessions ?? 64} sessions from ${c.c15.b?.processes ?? 4} processes, durable turns/s ≥ 1.5× the plain table`, x2(r2), cmpGe(r2, 1.5), `${fmt.int(b?.turnsPerSec.median)} vs ${fmt.int(bp?.turnsPerSec.median)} turns/s`)
    add('15c', 'PostgreSQL: full verify of a store, entries/s against the plain table read + chain check (reported, no target)', x2(r3), 'reported', `${fmt.int(v?.entriesPerSec.median)} vs ${fmt.int(vp?.entriesPerSec.median)} entries/s`)
  }
  return T
}

/** Case 14: the tree's own work alone (worker treeWork), against chainlog's time and bytes per turn in cases 14a and 14b. */
function treeWorkNote(c14) {
  const w = c14?.work
  if (!w || !num(w.usPerTurn?.median)) return ''
  const share = (cs) => {
    const ch = cs?.rows?.find((r) => r.key === 'chainlog')
    const us = ch && num(ch.turnsPerSec?.median) ? 1e6 / ch.turnsPerSec.median : NaN
    const bytes = num(ch?.bytesWritten?.median) ? ch.bytesWritten.median / cs.turns : NaN
    return `${pct((w.usPerTurn.median / us) * 100)} of its ${fmt.int(us)} µs per turn and ${pct((w.rowBytesPerTurn.median / bytes) * 100)} of the ${fmt.int(bytes)} bytes its storage engine was given per turn`
  }
  return (
    `**The tree's own work alone**, measured apart in the same run (\`appendTree\`, the call an append makes, for turns of 4 entries, in process, no store; ${w.usPerTurn.n} run(s)): ${mm(w.usPerTurn, fmt.f1)} µs per turn (CPU ${mm(w.cpuUsPerTurn, fmt.f1)} µs), its rows ${fmt.int(w.rowBytesPerTurn.median)} bytes per turn (keys and values)` +
    (num(w.allocBytesPerTurn?.median) ? `, and ${fmt.int(w.allocBytesPerTurn.median)} bytes of garbage per turn for the collector (the young generation's growth) ` : ' ') +
    '(before appendTree, nodesAfterAppend and treeRowOps: about 5,100 bytes, one array and one object per node). ' +
    `That is ${share(c14.relaxed)} in case 14a, and ${share(c14.durable)} in case 14b. The rows' storage cost past their bytes (journal, LevelDB's puts and compactions) is what the rows-left-out variant measures.`
  )
}

/** µs per turn of a row (from its median turns/s). */
const usPerTurn = (r) => (r && num(r.turnsPerSec?.median) ? 1e6 / r.turnsPerSec.median : NaN)

/** For an append case with floor rows: how chainlog's time per turn splits between its own work and LevelDB. */
function timeSplit(cs) {
  const ch = usPerTurn(find(cs.rows, 'chainlog'))
  const cpu = usPerTurn(find(cs.rows, 'floor-cpu'))
  const io = usPerTurn(find(cs.rows, 'floor-io'))
  if (!num(ch) || !num(io)) return ''
  const parts = [`**Where the time goes.** chainlog takes ${fmt.int(ch)} µs per turn. Replaying its exact LevelDB batches (${fmt.f1(find(cs.rows, 'floor-io')?.opsPerTurn?.median ?? NaN)} puts, one awaited batch per turn) takes ${fmt.int(io)} µs per turn: what each turn waited for before store directories got a journal (docs/storage.md section 12); now those batches run in the background, several turns each`]
  if (num(cpu)) parts.push(`; its own work per turn (validation, canonical encoding, hashing, blob extraction and compression, batch assembly), measured on memory-level, takes ${fmt.int(cpu)} µs (memory-level's in-memory tree included)`)
  const peers = cs.rows.filter((r) => r.key !== 'chainlog' && !r.floor)
  const best = peers.reduce((a, b) => (!a || usPerTurn(b) < usPerTurn(a) ? b : a), null)
  if (best) parts.push(`. The fastest peer here takes ${fmt.int(usPerTurn(best))} µs per turn in all (${best.label})`)
  return parts.join('') + '.'
}

/** Why each unmet target is not met, from the floor rows of this same run. */
function limits(R) {
  const c = R.cases
  const out = []
  const T = targets(R)
  const unmet = (id) => T.find((t) => t.id === id)?.met === false
  if (c.c1 && (unmet('1a') || unmet('1b'))) {
    const cpu = usPerTurn(find(c.c1.rows, 'floor-cpu'))
    const io = usPerTurn(find(c.c1.rows, 'floor-io'))
    const sq = usPerTurn(find(c.c1.rows, 'sqlite'))
    const cl = usPerTurn(find(c.c1.rows, 'classic'))
    const free = ratio(sq, cpu)
    const ch = usPerTurn(find(c.c1.rows, 'chainlog'))
    out.push(
      `- **1a/1b, relaxed appends.** chainlog takes ${fmt.int(ch)} µs per turn, of which its own work (validation, encoding, hashing, blobs, measured on memory-level: floor-cpu row) is ${fmt.int(cpu)} µs. ` +
        `The awaited LevelDB batch of a turn's ${fmt.f1(find(c.c1.rows, 'floor-io')?.opsPerTurn?.median ?? NaN)} puts (${fmt.int(io)} µs, floor-io row) is no longer on the caller's path: a store directory acknowledges a commit once it is in its journal and moves it into LevelDB in the background (docs/storage.md section 12). ` +
        `The acknowledgement's median fell (p50 ${fmt.f3(find(c.c1.rows, 'chainlog')?.p50ms?.median ?? NaN)} ms), but in a stream of back-to-back turns LevelDB's background batches are the bound: the journal lets LevelDB fall behind by at most 8 MiB, then commits wait for it, so turns/s stays near what an awaited batch gave (A/B in bench/README.md). ` +
        `What is left past the own work, ${fmt.int(ch - cpu)} µs, is that wait, the journal write and the main thread's share of the LevelDB batches (classic-level copies every put into its WriteBatch on the main thread), with the two cores shared between the main thread and LevelDB's writes and compactions. ` +
        `SQLite NORMAL takes ${fmt.int(sq)} µs per turn in all, so with LevelDB costing nothing chainlog would be at ${x2(free)} of it; 1.5× the raw classic-level peer (${fmt.int(cl)} µs per turn) leaves ${fmt.int(cl / 1.5)} µs per turn for everything. ` +
        'Past this, the own work per turn has to shrink (profile: GC, canonical encoding, SHA-256 of entries and blobs, the blob walk over each item, the rows and keys of the batch) or leave the main thread.',
    )
  }
  if (c.c2 && unmet('2')) {
    const io = usPerTurn(find(c.c2.rows, 'floor-io'))
    const sq = usPerTurn(find(c.c2.rows, 'sqlite'))
    const ch = usPerTurn(find(c.c2.rows, 'chainlog'))
    const cpu = usPerTurn(find(c.c1?.rows, 'floor-cpu'))
    out.push(
      `- **2, durable appends.** chainlog takes ${fmt.int(ch)} µs per turn against SQLite FULL's ${fmt.int(sq)} µs; its own work is ${fmt.int(cpu)} µs (case 1 floor-cpu), and the rest is the journal's write and fdatasync (and the background LevelDB batches sharing the two cores). ` +
        `Replaying chainlog's batches with sync:true, which is what an acknowledgement cost before the journal, takes ${fmt.int(io)} µs per turn (floor-io row).`,
    )
  }
  if (c.c3 && unmet('3')) {
    const cpu = usPerTurn(find(c.c1?.rows, 'floor-cpu'))
    const best = c.c3.rows.filter((r) => r.key !== 'chainlog' && !r.floor).reduce((a, b) => (!a || b.entriesPerSec.median > a.entriesPerSec.median ? b : a), null)
    out.push(
      `- **3, 16 durable sessions.** Group commit works (see the turns per fdatasync under the table), so the limit is the main thread: at ${fmt.int(cpu)} µs of chainlog's own work per turn (case 1 floor-cpu), one core allows at most ${fmt.int(num(cpu) ? 5e6 / cpu : NaN)} workload entries/s, against the ${fmt.int((best?.entriesPerSec.median ?? NaN) * 2)} the target asks. Moving validation, encoding and hashing to worker threads is the way past it.`,
    )
  }
  if (c.c4 && (unmet('4a') || unmet('4b'))) {
    const ch = find(c.c4.rows, 'chainlog')?.ms.median
    const walk = find(c.c4.rows, 'walk-io')?.ms.median
    const scan = find(c.c4.rows, 'classic-scan')?.ms.median
    const sq = find(c.c4.rows, 'sqlite')?.ms.median
    out.push(
      `- **4a/4b, verify.** The reads of verify's walk alone take ${fmt.ms(walk)} ms (walk-io row; the raw scan takes ${fmt.ms(scan)} ms, SQLite's whole verify ${fmt.ms(sq)} ms), and they overlap with checking. The rest of the ${fmt.ms(ch)} ms is per-entry work: each record is hashed, decoded and checked (canonical form, schema) on a worker thread, while the main thread reads the records, one getMany of their hash-index rows and one of their blobs per chunk (classic-level moves every value into a JS buffer on the main thread: ~2 µs a key for a getMany, ~5 µs a row for a scan, measured apart), hashes the blobs and checks the tree; they share the 2 cores with LevelDB's own threads. ` +
        'Reaching 0.9× the raw scan needs fewer rows read per entry (the hash-index read is one per record) or the reads themselves off the main thread.',
    )
  }
  if (c.c5 && unmet('5a')) {
    out.push(
      '- **5a, restore.** A JSONL restore is one file read and one parse per line; chainlog reads each record (and each tool result blob) as its own LevelDB value, checks each hash and blob hash, and decodes CBOR. With the blob reads now batched per chunk (it was ~45% idle before), the profile is spread over moving values out of LevelDB, GC, decoding and hashing, with no single hot spot left.',
    )
  }
  if (c.c5 && unmet('5b')) {
    const t = c.c5.tails.medium
    const open = find(t.rows, 'floor-open')?.ms.median
    const sq = find(t.rows, 'sqlite')?.ms.median
    const tc = find(t.rows, 'chainlog')?.ms.median
    const target = num(sq) ? sq * 1.5 : NaN
    out.push(
      `- **5b, tail read.** Opening and closing the LevelDB directory alone, with no read at all, takes ${fmt.ms(open)} ms (floor-open row), against ${fmt.ms(sq)} ms for SQLite's whole tail read` +
        (open >= target
          ? `; the target of ${fmt.ms(target)} ms is below what any LevelDB store can do here.`
          : `; the target of ${fmt.ms(target)} ms leaves ${fmt.ms(target - open)} ms after the open, where chainlog spends ${fmt.ms(tc - open)} ms.`) +
        " Since store format 2 the last 100 records are one range scan (their blobs one getMany); what is left past the open is the shared-store open (a lock file and a socket), reading the head, hashing and decoding the records, and the blobs of their tool results (each one's hash checked and its text decoded from UTF-8): one record in five is a tool result whose ~10 KB (2% of them ~200 KB) is a blob.",
    )
  }
  if (c.c7mem && unmet('7b')) {
    out.push(
      `- **7b, memory.** Anonymous memory (JS heap and native allocations) peaks at ${fmt.int((c.c7mem.peakRssAnonBytes?.max ?? NaN) / MiB)} MiB; the rest of maxRSS is file-backed: LevelDB reads its tables through mmap (up to 1,000 files, not configurable in classic-level), so every page a verify reads stays counted while the table is open. ` +
        "Opening with a small `maxOpenFiles` caps it (about 234 MiB with 20 on this machine) but makes a random-order verify of 1,000,000 entries about twice as slow, because tables are reopened; a verify that reads the tables in key order would avoid both.",
    )
  }
  if (c.c8?.rows && (unmet('8a') || unmet('8b'))) {
    const node = find(c.c8.rows, 'node')?.ms.median
    const help = find(c.c8.rows, 'help')?.ms.median
    const ls = find(c.c8.rows, 'ls')?.ms.median
    const imp = find(c.c8.rows, 'import')?.ms.median
    out.push(
      `- **8a/8b, start-up.** A bare node takes ${fmt.ms(node)} ms; loading the library's modules and doing nothing else (\`node dist/index.js\`, floor row) takes ${fmt.ms(imp)} ms (${x2(ratio(imp, node))}), ` +
        `and \`--help\` takes ${fmt.ms(help)} ms: the commands load the store, importers, viewer and Ed25519 only when they run, so what \`--help\` still pays past a bare node is commander, the command definitions and the small modules they import, where 2× node leaves ${fmt.ms(node)} ms for everything past start-up. ` +
        `\`ls\` adds ${fmt.ms(ls - help)} ms to \`--help\`: opening the store (LevelDB, the shared-store lock and socket), the listing and the usage ledger, and closing. ` +
        'The store loads its schema (zod), lineage, bundles, verify and gc on first use, so `ls` loads neither; what is left is the module graph of the store itself and the LevelDB open.',
    )
  }
  if (c.c9 && unmet('9')) {
    const ms = c.c9.ms?.median
    const reopen = c.c9.reopenMs?.median
    out.push(
      `- **9, migration.** Opening the migrated store again, with nothing to migrate, takes ${fmt.ms(reopen)} ms, so ${fmt.ms(ms - reopen)} ms of the ${fmt.ms(ms)} ms is the migration: per ${fmt.int(2048)} records, a scan of the \`E\` rows merged with one of \`H\` (both in hash order), a getMany of the \`S\` rows at the positions \`H\` names, one commit that puts the \`R\` rows (1 op per record) and a range delete of the chunk's \`E\` rows; the \`S\` table goes by one range delete at the end. ` +
        `Writing the same records as \`R\` rows alone, into a fresh database, nothing read or deleted (floor row), runs at ${fmt.int(c.c9.floor?.entriesPerSec?.median)} entries/s` +
        (num(c.c9.floor?.entriesPerSec?.median) && c.c9.floor.entriesPerSec.median < 50_000
          ? ': the write of the data alone is below the target, before any reading or deleting, so the target asks for a migration that costs no more than LevelDB writing the migrated records once.'
          : `: the rest of the migration's time goes to reading the \`E\` records and the \`H\` and \`S\` rows, and to LevelDB compacting the \`R\` rows, which arrive in hash order, not key order (part of that compaction is still running at the close).`),
    )
  }
  if (c.c10?.rows && (unmet('10a') || unmet('10b') || unmet('10c'))) {
    const jl = find(c.c10.rows, 'jsonl')?.ms.median
    const node = find(c.c10.rows, 'node')?.ms.median
    const n = c.c10.sessions
    const per = (key) => fmt.sig((((find(c.c10.rows, key)?.ms.median ?? NaN) - node) / n) * 1000)
    out.push(
      `- **10, many small sessions.** Past process start-up (${fmt.ms(node)} ms, floor row), per session: \`ls\` ${per('ls')} µs, \`stats\` ${per('stats')} µs, \`tree\` ${per('tree')} µs, the JSONL listing ${per('jsonl')} µs. ` +
        `\`ls -n 20\` takes ${fmt.ms(find(c.c10.rows, 'ls-n20')?.ms.median)} ms against the whole listing's ${fmt.ms(find(c.c10.rows, 'ls')?.ms.median)} ms. ` +
        (find(c.c10.rows, 'scan')
          ? `Iterating the rows a session that \`ls\` reads (store format 4: one, head ‖ metadata with usage) with classic-level alone, nothing decoded, takes ${per('scan')} µs a session past start-up (floor row \`scan-rows.mjs\`): ${fmt.sig(((find(c.c10.rows, 'scan').ms.median - node) / (jl - node)) * 100)}% of the JSONL listing's whole time past start-up, before any decoding, sorting or printing. `
          : '') +
        `bench/README.md says what the profiles show.`,
    )
  }
  if (c.c11?.rows && unmet('11')) {
    const cli = find(c.c11.rows, 'cli')
    const many = find(c.c11.rows, 'many')
    const big = find(c.c11.rows, 'big')
    const extra = ((many?.ms.median ?? NaN) - ((c.c11.entries ?? NaN) / (big?.entriesPerSec.median ?? NaN)) * 1000) / c.c11.sessions
    out.push(
      `- **11, verify of many small sessions.** In-process, \`store.verify()\` of the ${fmt.int(c.c11.sessions)} sessions runs at ${fmt.int(many?.entriesPerSec.median)} entries/s (the CLI at ${fmt.int(cli?.entriesPerSec.median)}), against ${fmt.int(big?.entriesPerSec.median)} for 3 long sessions: at the long sessions' rate per entry, each small session costs ${fmt.sig(extra * 1000)} µs more: a fixed cost per session that 5 entries do not amortise (bench/README.md says what the profile shows it is).`,
    )
  }
  if (c.c13?.langgraph && (unmet('13a') || unmet('13b') || unmet('13c') || unmet('13d'))) {
    const L = c.c13.langgraph
    const ch = find(L, 'chainlog')
    const rx = find(L, 'chainlog-relaxed')
    const sq = find(L, 'sqlite')
    const mem = find(L, 'memory')
    const us = (r) => (num(r?.stepsPerSec?.median) ? 1e6 / r.stepsPerSec.median : NaN)
    out.push(
      `- **13, LangGraph saver.** Per step (putWrites + put): chainlog ${fmt.int(us(ch))} µs durable, ${fmt.int(us(rx))} µs relaxed, \`SqliteSaver\` ${fmt.int(us(sq))} µs, \`MemorySaver\` ${fmt.int(us(mem))} µs (LangGraph's own serialisation and copying, no storage). ` +
        `A step is two chainlog appends (the writes entry, then the checkpoint entry), each its own commit and, durable, its own fdatasync of the journal; the SQLite saver's two transactions ${c.c13.sqliteMode?.synchronous === 'NORMAL' ? 'are not synced (synchronous NORMAL in WAL), so the like-for-like row is chainlog `relaxed`' : 'each sync the WAL too'}. ` +
        `Reads: a random getTuple takes ${fmt.ms(ch?.getMs.median)} ms against ${fmt.ms(sq?.getMs.median)} ms (one indexed row with its writes); listing the ${fmt.int(c.c13.steps)} checkpoints ${fmt.ms(ch?.listMs.median)} ms against ${fmt.ms(sq?.listMs.median)} ms; ` +
        `the first getTuple after opening (through the thread's index rows: a bounded number of reads, docs/adapters.md) ${fmt.ms(ch?.resumeMs.median)} ms against ${fmt.ms(sq?.resumeMs.median)} ms. ` +
        `Bytes: chainlog keeps only the channels a step changed (the ~2 KB context channel once), each checkpoint and write as a hashed, CBOR-encoded entry (bytes: the store directory as the close leaves it, not compacted); the SQLite saver writes the whole serialised checkpoint per step.`,
    )
  }
  if (c.c15 && !c.c15.skipped && (unmet('15a') || unmet('15b'))) {
    const f = (part, key) => find(c.c15[part]?.rows, key)
    const cpu = (part) => `client ${fmt.int(f(part, 'chainlog')?.cpuUsPerTurn?.median)} against ${fmt.int(f(part, 'peer')?.cpuUsPerTurn?.median)} µs, server ${fmt.int(f(part, 'chainlog')?.serverCpuUsPerTurn?.median)} against ${fmt.int(f(part, 'peer')?.serverCpuUsPerTurn?.median)} µs`
    out.push(
      `- **15, PostgreSQL.** CPU per turn, chainlog against the plain table: 15a ${cpu('a')}; 15b ${cpu('b')}. ` +
        `Queries to the server per turn: chainlog ${fmt.f2(f('a', 'chainlog')?.queriesPerTurn?.median)} in 15a and ${fmt.f2(f('b', 'chainlog')?.queriesPerTurn?.median)} in 15b, the peer 4 (BEGIN, read the last row, INSERT, COMMIT). ` +
        'A session\'s next append after this process\'s own one reads nothing: its head, lease and metadata as that append left them go into the commit as preconditions, so one call of a server-side function (locks, precondition checks and writes in the statement\'s own transaction; keys and values as one binary parameter) is the whole append; a refused commit (another process moved the session) reads them (one query, shared by the appends of a process in the same tick) and tries again (docs/scaling.md, section 7). It writes about a dozen rows per turn (4 records, 4 hash-index rows, head, metadata, tree rows, a blob) to the peer\'s 5. ' +
        `In 15b each process commits one transaction at a time (the contract's order within a process), ${fmt.f2(f('b', 'chainlog')?.turnsPerBatch?.median)} turns per transaction; the peer's 64 connections commit in parallel and PostgreSQL flushes their WAL together, so it gets group commit from the server without asking, while a process's own transactions do not overlap. ` +
        'On a shared 2-core machine the client\'s CPU (canonical encoding, hashing, blobs, `pg`\'s queries) competes with the server\'s, and 15b is bound by the two together (docs/scaling.md, section 7). What would move it: less client CPU per append (the store\'s own work, and `pg`\'s per-query cost), and fewer rows per append. Profile: `npm run bench -- --only 15 --profile`, then bench/profile-summary.mjs on the `c15*` profiles.',
    )
  }
  if (c.c14 && (unmet('14a') || unmet('14b'))) {
    const cpuCost = (row) => (num(row?.pairedCpu?.median) ? (row.pairedCpu.median - 1) * 100 : NaN)
    const mainCost = (row) => (num(row?.pairedMain?.median) ? (row.pairedMain.median - 1) * 100 : NaN)
    const parts = ['relaxed', 'durable'].map((w) => {
      const cs = c.c14[w]
      const rows = find(cs.rows, 'notree-rows')
      const all = treeRow(cs)
      const noisy = num(all?.paired?.min) && all.paired.min < 1 && all.paired.max > 1
      return (
        `${w}: ${pct(treeCost(all))} of the time per turn in all (paired repetitions from ${pct((all?.paired?.min - 1) * 100)} to ${pct((all?.paired?.max - 1) * 100)}${noisy ? ': on both sides of zero, so this run cannot tell the cost from the noise' : ''}), ` +
        `${pct(cpuCost(all))} of the CPU per turn, ${pct(mainCost(all))} of the main thread's; the rows alone ${pct(treeCost(rows))} of the time, ${pct(cpuCost(rows))} of the CPU (${fmt.int(find(cs.rows, 'chainlog')?.treeRows?.median)} rows for ${fmt.int(find(cs.rows, 'chainlog')?.entriesWritten?.median)} entries)`
      )
    })
    out.push(
      `- **14, tree cost.** What the tree adds to a turn, median of the paired repetitions: ${parts.join('; ')}. ` +
        'Past the rows, the tree is hashing on the main thread: SHA-256 of each new leaf (1 per entry) and of each node it completes (1 per entry on average), and the garbage that leaves for the collector. ' +
        (treeWorkNote(c.c14) ? `${treeWorkNote(c.c14).replace(/\*\*/g, '')} ` : '') +
        'Where the paired ratios spread over tens of percent, the machine was busy: rerun `--only 14 --reps 9` on a quiet one before reading the cost.',
    )
  }
  return out
}

export function renderReport(R) {
  const P = R.params
  const m = R.machine
  const c = R.cases
  const out = []
  const p = (...blocks) => {
    for (const b of blocks) out.push(b, '')
  }

  p(
    '# chainlog benchmarks',
    `Generated by \`npm run bench${P.quick ? ' -- --quick' : ''}\` (bench/run.mjs) on ${m.date.slice(0, 10)} in ${R.durationMin?.toFixed(1) ?? '?'} min.${P.quick ? ' **Quick smoke run: small counts, 1 repetition; the figures are not meaningful.**' : ''}`,
    'Every figure below was measured in this one run, chainlog and its peers side by side on the same seeded workload, each measurement in its own child process (bench/worker.mjs). ' +
      `A figure is the **median of ${P.reps} repetitions (min–max)**; a repetition is one process, and the stores take turns (the order rotates each repetition) so that drift in the machine hits them alike. ` +
      'Ratios are chainlog ÷ peer: for rates higher is better; where a target is stated as a time or size ratio, it says so.',
  )

  p('## Targets', table(['#', 'target', 'measured', 'met?', 'detail'], targets(R).map((t) => [t.id, t.what, `**${t.value}**`, t.met === null ? 'n/a' : t.met === 'reported' ? 'reported' : t.met ? 'met' : '**not met**', t.detail])))
  const why = limits(R)
  if (why.length) {
    p(
      '## What limits the targets not met',
      'From the floor rows of this same run (marked "floor:" in the tables below: the same work with one part taken away) and the profiles described in bench/README.md.',
      why.join('\n'),
    )
  }

  p(
    '## Machine',
    table(
      ['fact', 'value'],
      [
        ['date', m.date],
        ['node', m.node],
        ['CPU', m.cpu],
        ['memory', m.memory],
        ['kernel', m.kernel],
        ['data dir', `${m.dataDir} (page cache warm for all reads; no cache drop)`],
        ['filesystem', `\`${m.filesystem}\``],
        ['load average (1, 5, 15 min) at start / end', `${m.loadStart} / ${m.loadEnd ?? '?'}`],
        ['packages', m.packages],
        ['chainlog', m.chainlog],
      ],
    ),
    'The machine is shared: other work (builds, test runs) may have run during the bench; the min–max ranges show how much that moved the figures.',
  )

  p(
    '## Workload',
    'bench/lib/workload.mjs, ported from the team baseline (shared/baseline-bench): seeded PRNG (sfc32, seed `0x5eed2026`), turns of 5 entries — ' +
      'user text ~500 B, assistant message with a tool call ~3 KB, tool result ~10 KB (2% of them ~200 KB), assistant message with a tool call ~3 KB, assistant text ~500 B; ' +
      'text sliced from generated pseudo-English/code, ~10% with non-ASCII characters (one fix: slices never split a surrogate pair, which chainlog rightly refuses to encode).',
    '- **chainlog** gets each turn\'s 5 items in one `appendTurn(sessionId, items, { ts, expectedHead })` call (compare-and-set on the head the caller last saw), on a store opened with `openStore({ path, durability, classify })` and otherwise default options ' +
      '(a classifier marks the workload\'s `role: "tool"` items as tool results). `appendTurn` groups the two adjacent assistant items into one `assistant_items` entry, so a turn is **4 chainlog entries** for the peers\' 5; the append cases therefore compare **turns/s**, and entries/s counts workload entries (5 per turn) for every store. ' +
      'The read data sets (cases 4–7) are written with `appendMany` one workload entry per chainlog entry, so chainlog holds the same entries as the peers (plus one genesis entry per session).',
    '- **peers** (bench/lib/peers.mjs; layouts of the baseline, extended to many sessions): every entry carries `SHA-256(prev ‖ encoded entry)`; ' +
      '**JSONL**: one file per session, line `{"h":"<hex>","e":<json>}`, hash over the JSON bytes, one write per turn (+ fsync when durable); ' +
      '**SQLite** (better-sqlite3): one database, WAL, `entries(id INTEGER PRIMARY KEY, session TEXT, seq, hash BLOB, body BLOB)` + unique index (session, seq), one transaction per turn, body cbor-x; ' +
      '**classic-level** with defaults (4 MB write buffer, Snappy): key `sessionId ‖ 0 ‖ u64 seq`, value `hash ‖ cbor-x`, one batch per turn. The peers do no validation and no canonical encoding.',
  )

  // ---- case 1-3
  const appendTable = (cs, note) => {
    const ch = find(cs.rows, 'chainlog')
    const rows = cs.rows.map((r) => [
      r.label,
      mm(r.turnsPerSec),
      mm(r.entriesPerSec),
      mm(r.p50ms, fmt.ms),
      mm(r.p99ms, fmt.ms),
      r.key === 'chainlog' ? '—' : `**${x2(ratio(ch?.turnsPerSec.median, r.turnsPerSec.median))}**`,
    ])
    const lines = [table(['store', 'turns/s', 'workload entries/s', 'p50 ms per turn', 'p99 ms per turn', 'chainlog ÷ this'], rows)]
    if (ch && num(ch.entriesWritten?.median)) {
      const turns = cs.sessions * cs.turns
      lines.push(
        `chainlog wrote ${fmt.int(ch.entriesWritten.median)} entries for ${fmt.int(turns)} turns (${fmt.f2(ch.entriesWritten.median / turns)} per turn) in ${fmt.int(ch.batches?.median)} commit groups, each one journal write (${fmt.f2(turns / ch.batches?.median)} turns per group${cs.durable ? ', i.e. per fdatasync' : ''}; session creation included; LevelDB gets them in the background, several groups per batch).`,
      )
    }
    if (note) lines.push(note)
    const split = timeSplit(cs)
    if (split) lines.push(split)
    const e = errNote(cs.rows)
    if (e) lines.push(e)
    return lines.join('\n\n')
  }
  p('## 1. Single session, relaxed append per turn')
  p(c.c1 ? appendTable(c.c1, `${fmt.int(c.c1.turns)} turns (${fmt.int(c.c1.turns * 5)} workload entries) per repetition, one awaited call per turn. No fsync in any store.`) : '_not run_')
  p('## 2. Single session, durable append per turn')
  p(c.c2 ? appendTable(c.c2, `${fmt.int(c.c2.turns)} turns per repetition; every store makes each turn durable (fsync/fdatasync) before the next.`) : '_not run_')
  p(`## 3. ${c.c3?.sessions ?? 16} sessions appending concurrently, durable`)
  p(
    c.c3
      ? appendTable(
          c.c3,
          `${c.c3.sessions} async loops in one process, each appending ${fmt.int(c.c3.turns)} turns to its own session and awaiting each before the next (${fmt.int(c.c3.sessions * c.c3.turns)} turns in all). ` +
            'better-sqlite3 and synchronous fs calls block, so those peers serialise the loops; the async JSONL variant lets libuv run several writes/fsyncs at once; classic-level runs batches on its thread pool, where LevelDB itself merges concurrent writers.',
        )
      : '_not run_',
  )

  // ---- case 4
  p('## 4. Full verify of the store')
  if (c.c4) {
    const ch = find(c.c4.rows, 'chainlog')
    const rows = c.c4.rows.map((r) => [
      r.label + (r.method && r.key === 'chainlog' ? ` — \`${r.method}\`` : ''),
      mm(r.ms, fmt.ms),
      r.key === 'classic-scan' ? `${fmt.int(r.rows)} rows` : fmt.int(r.entries),
      mm(r.entriesPerSec),
      r.key === 'chainlog' ? '—' : `**${x2(ratio(r.ms.median, ch?.ms.median))}**`,
    ])
    p(
      `A store of ${fmt.int(c.c4.total)} workload entries (sessions of ${fmt.int(R.dataset.sessions.big)}, ${fmt.int(R.dataset.sessions.medium)} and ${fmt.int(R.dataset.sessions.small)}), built once per store; each of ${P.readReps} repetitions opens it in a fresh process, reads and verifies everything, and closes it (times include open and close).`,
      table(['what', 'ms', 'entries', 'entries/s', 'chainlog speed ÷ this (this ms ÷ chainlog ms)'], rows),
      'The raw scan reads every key and value of chainlog\'s LevelDB directory (entries, both indexes, heads, metadata, blobs) with classic-level, `nextv(1000)`, no hashing or decoding: the ceiling for any verification of that data. ' +
        'Peers verify hashes only (no decode) unless the row says so; chainlog\'s verification also decodes every entry and checks its schema, canonical form, links, indexes, heads and provenance.',
    )
    const e = errNote(c.c4.rows)
    if (e) p(e)
  } else p('_not run_')

  // ---- case 5
  p('## 5. Restore and tail read')
  if (c.c5) {
    const ch = find(c.c5.restore, 'chainlog')
    p(
      `Full restore of the ${fmt.int(c.c5.medium)}-entry session into its decoded state (every item in memory). Each repetition is a process that opens the store once and restores ${P.restoreIters} times after one warm-up; the figure per repetition is the median of those.`,
      table(
        ['what', 'ms', 'items', 'chainlog speed ÷ this (this ms ÷ chainlog ms)'],
        c.c5.restore.map((r) => [r.label, mm(r.ms, fmt.ms), fmt.int(r.items), r.key === 'chainlog' ? '—' : `**${x2(ratio(r.ms.median, ch?.ms.median))}**`]),
      ),
      `chainlog store open: ${mm(ch?.openMs, fmt.ms)} ms (not in the restore time).`,
    )
    for (const [which, t] of Object.entries(c.c5.tails)) {
      const tc = find(t.rows, 'chainlog')
      p(
        `Tail read of the ${fmt.int(t.length)}-entry session: open + last ${c.c5.tailN} entries (+ 1 anchor for the first link) + verify + decode + close; ${P.tailIters} times per process after a warm-up.`,
        table(
          ['what', 'ms', 'chainlog time ÷ this'],
          t.rows.map((r) => [r.label, mm(r.ms, fmt.ms), r.key === 'chainlog' ? '—' : `**${x2(ratio(tc?.ms.median, r.ms.median))}**`]),
        ),
      )
      const e = errNote(t.rows)
      if (e) p(e)
    }
    const e = errNote(c.c5.restore)
    if (e) p(e)
  } else p('_not run_')

  // ---- case 6
  p('## 6. Fork at the head')
  if (c.c6) {
    const s = c.c6.chainlog
    const j = c.c6.jsonl
    p(
      `\`store.forkAt(headHash)\` on the data-set store (the ${c.c6.small}-entry and ${fmt.int(c.c6.big)}-entry sessions live in the same store), alternating targets, ${P.forkIters} forks per target per process after a warm-up; the JSONL copy-fork scans the source file for the fork line and copies everything up to it into a new file, then fsyncs it.`,
      table(
        ['what', `fork of the ${c.c6.small}-entry session, ms`, `fork of the ${fmt.int(c.c6.big)}-entry session, ms`, `time ratio ${fmt.int(c.c6.big)} ÷ ${c.c6.small}`, 'JSONL copy-fork time ÷ this'],
        [
          ['chainlog `forkAt`, durability `sync` (default)', mm(s.sync.small, fmt.ms), mm(s.sync.big, fmt.ms), `**${x2(ratio(s.sync.big.median, s.sync.small.median))}**`, `**${x2(ratio(j.ms.median, s.sync.big.median))}**`],
          ['chainlog `forkAt`, durability `relaxed`', mm(s.relaxed.small, fmt.ms), mm(s.relaxed.big, fmt.ms), `**${x2(ratio(s.relaxed.big.median, s.relaxed.small.median))}**`, `**${x2(ratio(j.ms.median, s.relaxed.big.median))}**`],
          [`JSONL copy-fork of the ${fmt.int(c.c6.big)}-entry file (${fmt.f1((j.bytes ?? NaN) / MB)} MB), fsynced`, '', mm(j.ms, fmt.ms), '', ''],
        ],
      ),
    )
    const errs = [...(s.sync.errors ?? []), ...(s.relaxed.errors ?? []), ...(j.errors ?? [])]
    if (errs.length) p(`- failures: \`${errs[0].split('\n')[0].slice(0, 300)}\``)
  } else p('_not run_')

  // ---- case 7
  p('## 7. Bytes on disk and memory')
  if (c.c7disk) {
    const d = c.c7disk.disk
    const names = { chainlog: 'chainlog (LevelDB, after compactRange + close)', classic: 'classic-level peer (after compactRange + close)', sqlite: 'SQLite (after close; WAL checkpointed)', jsonl: 'JSONL' }
    p(
      `The case-4 data set (${fmt.int(c.c7disk.total)} workload entries) per store; B/entry = apparent bytes of the store directory ÷ workload entries. One measurement (sizes are deterministic for a given build).`,
      table(
        ['store', 'bytes', 'B/entry', 'allocated B/entry', 'as written, before compaction', 'files', 'chainlog size ÷ this'],
        ['chainlog', 'jsonl', 'sqlite', 'classic'].map((k) => [
          names[k],
          fmt.int(d[k].apparent),
          fmt.int(d[k].perEntry),
          fmt.int(d[k].allocatedPerEntry),
          d[k].asWritten ? `${fmt.int(d[k].asWritten.apparent / c.c7disk.total)} B/entry` : 'n/a',
          fmt.int(d[k].files),
          k === 'chainlog' ? '—' : `**${x2(ratio(d.chainlog.perEntry, d[k].perEntry))}**`,
        ]),
      ),
    )
  }
  if (c.c7mem) {
    const mem = c.c7mem
    p(
      `Peak RSS (\`process.resourceUsage().maxRSS\`) of a child process that opens a store of ${fmt.int(mem.entries)} small entries (~100 B user messages, ${mem.sessions} sessions) and verifies all of it with \`${mem.method ?? '?'}\`:`,
      table(
        ['process', 'peak RSS (maxRSS) MiB', 'of which anonymous, MiB (sampled peak)', 'file-backed, MiB (sampled peak)', 'time s', 'entries/s'],
        [
          ['open + listSessions only (baseline)', fmt.f1((mem.open?.maxRssBytes ?? NaN) / MiB), fmt.f1((mem.open?.peakRssAnonBytes ?? NaN) / MiB), fmt.f1((mem.open?.peakRssFileBytes ?? NaN) / MiB), fmt.f2((mem.open?.ms ?? NaN) / 1000), ''],
          ['open + full verify', mm(scale(mem.maxRssBytes, MiB), fmt.f1), mm(scale(mem.peakRssAnonBytes, MiB), fmt.f1), mm(scale(mem.peakRssFileBytes, MiB), fmt.f1), mm(scale(mem.ms, 1000), fmt.f2), fmt.int(mem.entries / (mem.ms.median / 1000))],
        ],
      ),
      'maxRSS counts every resident page, including file-backed ones: the node binary and the LevelDB table files, which LevelDB reads through mmap, so that part grows with the size of the store read (it is page cache, reclaimable, not heap). ' +
        'The anonymous part (JS heap, native allocations) is sampled from /proc/self/status every 20 ms. The target is judged on maxRSS, as the issue states it.',
    )
    if (mem.errors?.length) p(`- failures: \`${mem.errors[0].split('\n')[0].slice(0, 300)}\``)
  }
  if (!c.c7disk && !c.c7mem) p('_not run_')

  // ---- case 8
  p('## 8. Start-up')
  if (c.c8?.rows) {
    const node = find(c.c8.rows, 'node')
    p(
      `Each command is spawned as its own process (\`child_process.spawnSync\`, stdout to /dev/null except in the first repetition's first round, where it is piped and checked) and timed from spawn to exit; \`chainlog\` is \`node dist/cli/main.js\` of the build under test. ` +
        `Each repetition is one process that runs every command once per round, the order rotating, for ${c.c8.iterations} timed round(s) (the first repetition after ${c.c8.warmup ?? 1} untimed warm-up round(s)); its figure per command is the median of those. ` +
        `The demo store is what \`chainlog demo --dir X\` builds (${c.c8.demo?.sessions ?? '?'} sessions, ${fmt.int(c.c8.demo?.entries)} entries); \`ls\` prints its table (not --json).`,
      table(
        ['what', 'ms', 'time ÷ bare node'],
        c.c8.rows.map((r) => [r.label, mm(r.ms, fmt.ms), r.key === 'node' ? '—' : `**${x2(ratio(r.ms.median, node?.ms.median))}**`]),
      ),
    )
    if (c.c8.demo?.error) p(`- \`chainlog demo\` failed: \`${c.c8.demo.error.split('\n')[0].slice(0, 300)}\``)
    const e = errNote(c.c8.rows)
    if (e) p(e)
  } else p('_not run_')

  // ---- case 9
  p('## 9. Migrating a store of format 1')
  if (c.c9) {
    const b = c.c9.build ?? {}
    const ch = c.c9.checks
    p(
      `The code under test writes only store format 2, so the bench writes a format-1 store itself, row by row with classic-level, as chainlog 0.1.0 laid it out (docs/storage.md, sections 1, 2 and 11): ` +
        `${c.c9.sessions} sessions of a genesis and ${fmt.int(c.c9.perSession)} workload entries each (${fmt.int(c.c9.entries)} entries), entry format 1, large strings in ${fmt.int(b.blobs)} blobs (threshold 4096 bytes, profile balanced); ` +
        'rows `F` → `{ version: 1 }`, `E ‖ hash` → record, `S ‖ id ‖ 0x00 ‖ u64 seq` → hash, `H ‖ hash` → `u64 seq ‖ id`, `P ‖ id` → `hash ‖ u64 seq`, `M ‖ id` → metadata, `B ‖ sha256` → blob, then compacted in full, so that the migration does not pay for the compaction backlog of a store written this fast (a store at rest has none) ' +
        `(${fmt.f1((b.disk?.apparent ?? NaN) / MB)} MB on disk). Each repetition copies it (not timed), checks the copy is format 1, then times \`openStore({ path, exclusive: true })\`, which migrates before it resolves; then closes, checks the rows, opens it again (no migration) and closes; a separate process then verifies the migrated store (\`store.verify()\`).`,
      table(
        ['what', 'ms', 'entries/s'],
        [
          ['`openStore` of the format-1 store (migration included)', mm(c.c9.ms, fmt.ms), `**${mm(c.c9.entriesPerSec)}**`],
          ['`close()` after the migration', mm(c.c9.closeMs, fmt.ms), ''],
          ['`openStore` of the migrated store (nothing to migrate)', mm(c.c9.reopenMs, fmt.ms), ''],
          [`\`store.verify()\` of the migrated store (separate process; ok in ${c.c9.verify?.n ?? 0} of ${c.c9.verify?.runs ?? 0} repetitions, ${fmt.int(c.c9.verify?.entries)} entries checked)`, mm(c.c9.verify?.ms, fmt.ms), ''],
          [`floor: the same records (${fmt.f1((c.c9.floor?.bytes ?? NaN) / MB)} MB) written as \`R\` rows into a fresh classic-level database with chainlog's options, in key order, 2,048 per awaited batch, nothing read or deleted`, mm(c.c9.floor?.ms, fmt.ms), mm(c.c9.floor?.entriesPerSec)],
          ['floor: its close (memtable flushed to a table first, as chainlog closes)', mm(c.c9.floor?.closeMs, fmt.ms), ''],
        ],
      ),
      ch
        ? `Checked in every repetition: before the open, the \`F\` row is ${JSON.stringify(ch.before?.format)} with ${fmt.int(ch.before?.E)} \`E\` rows, ${fmt.int(ch.before?.S)} \`S\` rows and ${fmt.int(ch.before?.R)} \`R\` rows; after it, ${JSON.stringify(ch.after?.format)} with ${fmt.int(ch.after?.E)} \`E\`, ${fmt.int(ch.after?.S)} \`S\` and ${fmt.int(ch.after?.R)} \`R\` rows (the migration reported ${fmt.int(ch.moved)} records moved).`
        : '',
    )
    if (c.c9.errors?.length) p(`- failures: \`${c.c9.errors[0].split('\n')[0].slice(0, 300)}\``)
    if (c.c9.verify?.errors?.length) p(`- verification failed: \`${c.c9.verify.errors[0].split('\n')[0].slice(0, 300)}\``)
  } else p('_not run_')

  // ---- case 10
  p('## 10. Many small sessions: ls, stats, tree')
  if (c.c10?.rows) {
    const jl = find(c.c10.rows, 'jsonl')
    const b = c.c10.build
    p(
      `A store of ${fmt.int(c.c10.sessions)} small sessions (${fmt.int(c.c10.entries)} entries): each a genesis and one \`appendTurn\` of a user message and an assistant reply with \`usage\` and \`turnEnd\` (5 entries), written with the library (${fmt.f1((b?.chainlog?.ms ?? NaN) / 1000)} s, ${fmt.f1((b?.chainlog?.disk?.apparent ?? NaN) / MB)} MB); ` +
        `the JSONL peer holds the same sessions as ${fmt.int(c.c10.sessions)} files of 5 lines (${fmt.f1((b?.jsonl?.disk?.apparent ?? NaN) / MB)} MB). ` +
        `Commands run as in case 8 (own process, stdout to /dev/null, text output as a user sees it, not --json), ${P.readReps} repetition(s) of ${c.c10.iterations} timed round(s) (the first after ${c.c10.warmup ?? 1} warm-up round(s)). ` +
        'The JSONL listing (bench/lib/jsonl-ls.mjs) opens each file, reads its first 4 KiB (enough for the start time and the first user message), sorts by time, newest first, and prints a line per session.',
      table(
        ['what', 'ms', 'lines printed', 'time ÷ JSONL listing'],
        c.c10.rows.map((r) => [r.label, mm(r.ms, fmt.ms), fmt.int(r.check?.lines), r.key === 'jsonl' ? '—' : `**${x2(ratio(r.ms.median, jl?.ms.median))}**`]),
      ),
    )
    const e = errNote(c.c10.rows)
    if (e) p(e)
  } else p(c.c10?.error ? `- failed: \`${c.c10.error.split('\n')[0].slice(0, 300)}\`` : '_not run_')

  // ---- case 11
  p('## 11. verify --all of many small sessions')
  if (c.c11?.rows) {
    const big = find(c.c11.rows, 'big')
    p(
      `The case-10 store (${fmt.int(c.c11.sessions)} sessions, ${fmt.int(c.c11.entries)} entries) verified whole, against the full verify of case 4's store (${fmt.int(c.c11.bigTotal)} workload entries in 3 sessions), each in its own process, the rows taking turns (${P.readReps} repetitions). ` +
        'The CLI row is timed from spawn to exit; the in-process rows, as in case 4, from open to close.',
      table(
        ['what', 'ms', 'entries', 'entries/s', 'entries/s ÷ the reference'],
        c.c11.rows.map((r) => [r.label, mm(r.ms, fmt.ms), fmt.int(r.entries), mm(r.entriesPerSec), r.key === 'big' ? '—' : `**${x2(ratio(r.entriesPerSec.median, big?.entriesPerSec.median))}**`]),
      ),
    )
    const e = errNote(c.c11.rows)
    if (e) p(e)
  } else p(c.c11?.error ? `- failed: \`${c.c11.error.split('\n')[0].slice(0, 300)}\`` : '_not run_')

  // ---- case 12
  p('## 12. Importing agent transcripts')
  if (c.c12?.formats) {
    p(
      `\`importTranscript(store, dir, { from })\`, the library call behind \`chainlog import --from <format> DIR\`, on session files the bench writes itself (bench/lib/transcripts.mjs): ${c.c12.files} file(s) per format, seeded, shaped as docs/importers.md describes each format, with the line mix and line sizes of real sessions (Claude Code: mostly hook progress lines, tool calls and tool results of a few KB, 2% of results 30-40 KB, each result twice in its line as Claude Code writes it; Codex: a turn_context and token_count snapshots per turn, reasoning with encrypted content; pi: user, assistant and toolResult messages with usage). ` +
        `Each repetition imports every file of the format into a fresh store in its own process; the time is the call's (open and close apart). Every run checks that every line was imported, one session per file, with no damage reported. ` +
        'Bytes on disk: the store directory after the close, and after a full LevelDB compaction (`compactRange`, untimed), against the source files\' bytes.',
    )
    for (const [format, f] of Object.entries(c.c12.formats)) {
      if (f.error) {
        p(`### ${format}`, `- failed: \`${f.error.split('\n')[0].slice(0, 300)}\``)
        continue
      }
      const rel = find(f.rows, 'relaxed')
      const floor = find(f.rows, 'floor')
      p(
        `### ${format}: ${fmt.int(f.lines)} lines, ${fmt.f1(f.bytes / MB)} MB of JSONL in ${f.files} file(s)`,
        table(
          ['what', 'ms', 'lines/s', 'source MB/s', 'chainlog entries', 'bytes on disk after close (÷ source)', 'after compaction (÷ source)', 'lines/s ÷ the relaxed import'],
          f.rows.map((r) => [
            r.label,
            mm(r.ms, fmt.ms),
            mm(r.linesPerSec),
            mm(scale(r.bytesPerSec, MB), fmt.f2),
            r.floor ? '' : fmt.int(r.entries),
            r.disk ? `${fmt.f1(r.disk.apparent / MB)} MB (**${x2(r.disk.apparent / f.bytes)}**)` : '',
            r.compacted ? `${fmt.f1(r.compacted.apparent / MB)} MB (**${x2(r.compacted.apparent / f.bytes)}**)` : '',
            r.key === 'relaxed' ? '—' : `**${x2(ratio(r.linesPerSec.median, rel?.linesPerSec.median))}**`,
          ]),
        ),
        num(floor?.ms?.median) && num(rel?.ms?.median)
          ? `**What limits it.** Reading, hashing and parsing the lines (floor row) is ${fmt.f1((floor.ms.median / rel.ms.median) * 100)}% of the relaxed import's time; the rest is the import's own work per line (mapping, planning the sessions and turns, building the line records and item entries, chainlog's validation, canonical encoding, hashing and blob extraction of ${fmt.f2((rel.entries ?? NaN) / f.lines)} entries per line) and the appends (one \`appendMany\` per turn).`
          : '',
      )
      const e = errNote(f.rows)
      if (e) p(e)
    }
  } else p('_not run_')

  // ---- case 13
  p('## 13. Framework adapters: LangGraph.js checkpointer and OpenAI Agents SDK session')
  if (c.c13?.langgraph) {
    const L = c.c13.langgraph
    const sq = find(L, 'sqlite')
    const base = find(L, c.c13.like ?? 'chainlog') ?? { key: 'chainlog' }
    p(
      '### 13a. LangGraph.js: `ChainlogSaver` against `SqliteSaver`',
      `One thread of ${fmt.int(c.c13.steps)} supersteps of an agent graph (bench/lib/adapters.mjs): each step \`putWrites\` (2 writes of the step's task) on the current checkpoint, then \`put\` of the next checkpoint (4 channels: a window of the last 4 messages, a step counter, a tool result of 1-4 KB every other step, a ~2 KB context written once; \`newVersions\` names the channels the step changed). ` +
        `Then the saver is closed and opened again, and the reads are timed: the first \`getTuple\` of the latest checkpoint (a resume, the open included), \`getTuple\` of ${c.c13.gets} checkpoints picked at random (median per call), \`list\` of the whole thread and \`list\` with \`limit: 10\`. Each read is checked (the checkpoint asked for, its 2 pending writes, newest first). ${P.readReps} repetition(s), each saver in its own process, taking turns.`,
      table(
        ['saver', 'steps/s (put + putWrites)', 'p50 ms per step', 'p99 ms per step', 'resume: open + getTuple(latest), ms', 'getTuple (random), ms', 'list all, checkpoints/s', 'list limit 10, ms', 'MB on disk', `chainlog (${c.c13.like === 'chainlog-relaxed' ? '`relaxed`' : '`sync`'}) ÷ this: steps/s, getTuple/s, list/s, bytes`],
        L.map((r) => [
          r.label,
          mm(r.stepsPerSec),
          mm(r.p50ms, fmt.ms),
          mm(r.p99ms, fmt.ms),
          mm(r.resumeMs, fmt.ms),
          mm(r.getMs, fmt.ms),
          mm(r.listPerSec),
          mm(r.list10Ms, fmt.ms),
          r.disk ? fmt.f1(r.disk.apparent / MB) : '—',
          r.key === base.key
            ? '—'
            : [ratio(base?.stepsPerSec.median, r.stepsPerSec.median), ratio(base?.getsPerSec.median, r.getsPerSec.median), ratio(base?.listPerSec.median, r.listPerSec.median)]
                .map((x) => `**${x2(x)}**`)
                .join(', ') + (r.disk ? `, **${x2(ratio(base?.disk?.apparent, r.disk.apparent))}**` : ''),
        ]),
      ),
      c.c13.sqliteMode
        ? `The SQLite saver as its package ships it: \`SqliteSaver.fromConnString(file)\` sets WAL, and the worker reads the synchronous level it then runs with: ${c.c13.sqliteMode.synchronous}${c.c13.sqliteMode.synchronous === 'NORMAL' ? " (better-sqlite3 builds SQLite with WAL's default NORMAL): a commit is not synced, the WAL is synced at checkpoints, so a power loss can lose the last commits but a killed process cannot; that is chainlog's durability `relaxed`, the row the ratios and the summary compare with" : ': each commit is synced, like chainlog\'s durability `sync`, the row the ratios compare with'}.`
        : `The SQLite saver as its package ships it${sq ? '' : ' (row missing)'}.`,
    )
    const e = errNote(L)
    if (e) p(e)
  }
  if (c.c13?.agents) {
    const A = c.c13.agents
    const ch = find(A, 'chainlog')
    p(
      '### 13b. OpenAI Agents SDK: `ChainlogSession` against a file session',
      `${c.c13.turns} turns on one session, as the SDK's runner drives a session in \`run(agent, input, { session })\`: \`getItems()\` of the whole history, \`addItems\` of the user input, \`addItems\` of what the turn produced (a function call, its result of 1-4 KB, 2% 30-40 KB, and the answer): ${fmt.int(ch?.items)} items in all. ` +
        "The SDK ships no file-backed session (only `MemorySession`, which its docs call not for production, and the remote `OpenAIConversationsSession`); its examples' `FileSession` keeps a session as one JSON array file, and that is the peer here, written from the example's description, and a JSONL file as one would write it instead. " +
        `Then a new session object on the reopened store reads the whole history (resume) and the last 20 items, checked against what was written. ${P.readReps} repetition(s), each in its own process, taking turns.`,
      table(
        ['session', 'turns/s', 'p50 ms per turn', 'p99 ms per turn', 'last turn, ms', 'resume: getItems() after reopening, ms', 'getItems(20), ms', 'KB on disk', 'chainlog turns/s ÷ this'],
        A.map((r) => [
          r.label,
          mm(r.turnsPerSec, fmt.sig),
          mm(r.p50ms, fmt.ms),
          mm(r.p99ms, fmt.ms),
          mm(r.lastMs, fmt.ms),
          mm(r.resumeMs, fmt.ms),
          mm(r.tail20Ms, fmt.ms),
          r.disk ? fmt.int(r.disk.apparent / 1000) : '—',
          r.key === 'chainlog' ? '—' : `**${x2(ratio(ch?.turnsPerSec.median, r.turnsPerSec.median))}**`,
        ]),
      ),
      '**What limits it.** Every turn begins with `getItems()` of the whole history (the runner asks for all of it), so each store reads and decodes more per turn as the session grows: the last turn\'s time shows where that is at the end. ' +
        '`ChainlogSession.getItems()` without a limit restores the session (verified read of every entry); with a limit it reads only the tail.',
    )
    const e = errNote(A)
    if (e) p(e)
  }
  if (!c.c13) p('_not run_')

  // ---- case 14
  p('## 14. Cost of the Merkle tree on appends')
  if (c.c14) {
    p(
      "Each session's Merkle tree (docs/proofs.md) is kept in the same commit as each append: the leaf hash of each new entry, the nodes it completes, and their `T` rows. " +
        'Cases 1 and 2 again (same workload and counts), chainlog as is against two variants made in the bench alone, the three taking turns in each repetition: ' +
        '**rows left out**: every commit is passed on to the storage engine without its tree rows (the tree is still computed; its frontier stays in memory, so appends never read the rows back); ' +
        "**no tree**: a copy of the build under test whose append plan skips the tree (`appendTree` patched out of dist/storage/append-plan.js): no hashes, no rows. " +
        'Each run counts the tree rows left in its store after the close, then reads every session back with `verify: true` (untimed). The cost is the median over repetitions of (turns/s without ÷ turns/s with, same round) − 1: what the tree adds to the time per turn; the target is judged on it. ' +
        'The CPU column is the same pairing on the process\'s CPU time per turn (all its threads, from the first append to the end of the close), which other load on a shared machine moves less than the wall time. ' +
        "It holds LevelDB's compaction thread, whose work is a step function of the bytes written: a compaction that the tree's 0.4% more bytes bring inside the window (or into the close) adds hundreds of µs per turn to one run and none to the next. " +
        "The main-thread column leaves that thread out: the tree's hashing, the collections its garbage causes, and the synchronous calls into LevelDB. " +
        'bench/experiments/tree-ab.mjs measures the same with the tree on and off in alternating blocks of one process and one store, so that other load falls on both alike.',
    )
    if (c.c14.noTreeError) p(`- the no-tree build could not be made: \`${c.c14.noTreeError.slice(0, 300)}\``)
    const wk = treeWorkNote(c.c14)
    if (wk) p(wk)
    for (const [which, n] of [
      ['relaxed', 1],
      ['durable', 2],
    ]) {
      const cs = c.c14[which]
      const ch = find(cs.rows, 'chainlog')
      p(
        `### 14${which === 'relaxed' ? 'a' : 'b'}. Case ${n}: ${fmt.int(cs.turns)} turns, ${which === 'relaxed' ? 'durability relaxed' : 'durability sync'}`,
        table(
          ['store', 'turns/s', 'p50 ms per turn', 'p99 ms per turn', 'CPU µs per turn (process, close included)', 'main-thread CPU µs per turn', 'tree rows in the store after the run', 'the tree adds to the time per turn (paired: median (min–max))', 'the tree adds to the CPU per turn (paired)', 'the tree adds to the main thread\'s CPU per turn (paired)'],
          cs.rows.map((r) => [
            r.label,
            mm(r.turnsPerSec),
            mm(r.p50ms, fmt.ms),
            mm(r.p99ms, fmt.ms),
            mm(r.cpuUsPerTurn),
            mm(r.mainCpuUsPerTurn),
            fmt.int(r.treeRows?.median),
            r.key === 'chainlog' ? '—' : num(r.paired?.median) ? `**${pct((r.paired.median - 1) * 100)}** (${pct((r.paired.min - 1) * 100)} – ${pct((r.paired.max - 1) * 100)})` : 'n/a',
            r.key === 'chainlog' ? '—' : num(r.pairedCpu?.median) ? `${pct((r.pairedCpu.median - 1) * 100)} (${pct((r.pairedCpu.min - 1) * 100)} – ${pct((r.pairedCpu.max - 1) * 100)})` : 'n/a',
            r.key === 'chainlog' ? '—' : num(r.pairedMain?.median) ? `${pct((r.pairedMain.median - 1) * 100)} (${pct((r.pairedMain.min - 1) * 100)} – ${pct((r.pairedMain.max - 1) * 100)})` : 'n/a',
          ]),
        ),
        ch && num(ch.entriesWritten?.median) ? `Entries written per run: ${fmt.int(ch.entriesWritten.median)} (${fmt.f2(ch.entriesWritten.median / cs.turns)} per turn); a tree row is written for every eighth entry (store format 3: each leaf i with i mod 8 = 7, holding the nodes of levels 1 and up it completes; lower nodes elsewhere are hashed again from their leaves when a proof needs them).` : '',
      )
      const e = errNote(cs.rows)
      if (e) p(e)
    }
  } else p('_not run_')

  // ---- case 15
  p('## 15. PostgreSQL: appends and verify against a plain table')
  if (c.c15?.skipped) p(`_skipped: ${c.c15.skipped}_`)
  else if (c.c15) {
    const sv = c.c15.server
    p(
      'The bench starts its own throwaway PostgreSQL cluster (bench/lib/pg-cluster.mjs, which loads the tests\' test/support/pg-cluster.ts: Debian\'s `initdb` and `pg_ctl`, a temp directory on the machine\'s disk, a unix socket, no TCP), with the server\'s default durability settings, and stops it at the end. ' +
        (sv ? `Server: ${sv.version.split(',')[0]}; ${Object.entries(sv.settings).map(([k, v]) => `\`${k}\` ${v}`).join(', ')}; client ${sv.pg}. ` : '') +
        'chainlog: `openStore({ postgres: { connectionString, schema } , durability: \'sync\' })` with its defaults (pool of 10, group commit), `appendTurn` with `expectedHead` as in cases 1-3; a fresh schema per repetition. ' +
        'The peer (bench/lib/pg-peer.mjs) is a hash chain in a plain table written the obvious way with the same client (`pg`): `entries(session_id text, seq bigint, prev_hash bytea, hash bytea, body bytea)`, primary key (session_id, seq), body the entry\'s JSON bytes (bytea, so the hashed bytes can be checked again; jsonb would not keep them), hash = SHA-256(prev_hash ‖ body); ' +
        'an append is one transaction on a pooled connection (one connection per session): BEGIN, read the session\'s last row, INSERT the turn\'s 5 rows, COMMIT, durable with `synchronous_commit = on` (checked by the worker). It does no validation, no canonical encoding, no indexes by hash, no heads, leases or tree. ' +
        'Both run the same workload turns as cases 1-3. Each run checks afterwards that every session holds exactly what was appended. ' +
        'Client CPU: the writer processes\' own CPU time (all threads) from the first append to the end of the close, per turn; server CPU: the CPU time of all the cluster\'s processes (backends, WAL writer, checkpointer; from /proc) over the whole run, its setup included, per turn. On a 2-core machine the two share the cores.',
    )
    const appendRows = (cs) => {
      const ch = find(cs.rows, 'chainlog')
      return table(
        ['store', 'turns/s', 'workload entries/s', 'p50 ms per turn', 'p99 ms per turn', 'turns per transaction', 'client CPU µs per turn', 'server CPU µs per turn', 'chainlog ÷ this'],
        cs.rows.map((r) => [r.label, mm(r.turnsPerSec), mm(r.entriesPerSec), mm(r.p50ms, fmt.ms), mm(r.p99ms, fmt.ms), mm(r.turnsPerBatch, fmt.f2), mm(r.cpuUsPerTurn), mm(r.serverCpuUsPerTurn), r.key === 'chainlog' ? '—' : `**${x2(ratio(ch?.turnsPerSec.median, r.turnsPerSec.median))}**`]),
      )
    }
    if (c.c15.a) {
      p(`### 15a. One session, durable append per turn`, `${fmt.int(c.c15.a.turns)} turns per repetition, one awaited call per turn.`, appendRows(c.c15.a))
      const e = errNote(c.c15.a.rows)
      if (e) p(e)
    }
    if (c.c15.b) {
      const ch = find(c.c15.b.rows, 'chainlog')
      p(
        `### 15b. ${c.c15.b.sessions} sessions from ${c.c15.b.processes} processes, durable`,
        `${c.c15.b.processes} writer processes, ${fmt.int(c.c15.b.sessions / c.c15.b.processes)} sessions each, ${fmt.int(c.c15.b.turns)} turns per session, all sessions appending at once (the processes set up, then start together on a signal; turns/s is all turns over the span from the first start to the last end; latencies over all turns). ` +
          'chainlog: one store per process, whose engine groups the commits queued while a transaction runs into the next one; the peer: one pooled connection per session, a transaction per turn.',
        appendRows(c.c15.b),
        num(ch?.startSpreadMs?.median) ? `The processes started within ${fmt.ms(ch.startSpreadMs.max)} ms of each other.` : '',
      )
      const e = errNote(c.c15.b.rows)
      if (e) p(e)
    }
    if (c.c15.c) {
      const ch = find(c.c15.c.rows, 'chainlog')
      p(
        `### 15c. Full verify of a store`,
        `${fmt.int(c.c15.c.sessions)} sessions of ${fmt.int(c.c15.c.perSession)} workload entries (chainlog: written with \`appendMany\`, one entry per workload entry, plus a genesis entry per session; the peer: its append transaction), built once, untimed; each repetition opens, verifies everything and closes.`,
        table(
          ['store', 'entries checked', 'ms', 'entries/s', 'table bytes (incl. indexes, TOAST)', 'chainlog ÷ this (entries/s)'],
          c.c15.c.rows.map((r) => [r.label, fmt.int(r.entries), mm(r.ms, fmt.ms), mm(r.entriesPerSec), fmt.int(r.build?.bytes), r.key === 'chainlog' ? '—' : `**${x2(ratio(ch?.entriesPerSec.median, r.entriesPerSec.median))}**`]),
        ),
      )
      const e = errNote(c.c15.c.rows)
      if (e) p(e)
    }
    if (c.c15.error) p(`- **case 15 failed:** \`${c.c15.error.split('\n')[0].slice(0, 300)}\``)
  } else p('_not run_')

  p(
    '## Reproduce',
    '```sh\nnpm install && npm run build\nnpm run bench                 # full run, writes docs/benchmarks.md (+ raw JSON in bench/results/)\nnpm run bench -- --quick      # ~1-2 min smoke run, writes bench/results/benchmarks-quick.md\nnpm run bench -- --only 1,2 --profile   # chainlog workers under node --cpu-prof (bench/results/profiles/)\nnode bench/profile-summary.mjs bench/results/profiles/<file>.cpuprofile\n```',
  )
  return out.join('\n')
}
