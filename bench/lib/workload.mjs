// Seeded synthetic LLM-agent session workload: ported from the team baseline
// (shared/baseline-bench/lib/workload.mjs, same PRNG, seed, corpus and mix) with one fix:
// text slices never split a UTF-16 surrogate pair (the baseline's could, which JSON and cbor-x
// accept but chainlog's canonical encoder rightly refuses as a lone surrogate). The PRNG
// sequence is unchanged, so sizes and the mix are the baseline's.
//
// Mix (by entry count), fixed per "turn" of 5 entries so the mix is exact:
//   turn = [UserInput text ~500 B, Assistant tool-call ~3 KB, ToolResult ~10 KB
//           (2% of them ~200 KB), Assistant tool-call ~3 KB, Assistant text ~500 B]
//   => 40% small text, 40% assistant items with tool calls, 20% tool results.
// Text is sliced from a pre-generated pseudo-English/code corpus (so it compresses
// roughly like real prose/code, not like random bytes); ~10% of text fields come
// from a corpus containing non-ASCII characters (arrows, dashes, accents, emoji),
// as LLM output often does.

export const DEFAULT_SEED = 0x5eed2026
export const TURN_SIZE = 5

// sfc32: small fast counter PRNG, deterministic across platforms.
export function makeRng(seed = DEFAULT_SEED) {
  let a = 0x9e3779b9, b = 0x243f6a88, c = 0xb7e15162, d = seed >>> 0
  const next = () => {
    a |= 0; b |= 0; c |= 0; d |= 0
    const t = (((a + b) | 0) + d) | 0
    d = (d + 1) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) | 0
    return (t >>> 0) / 4294967296
  }
  for (let i = 0; i < 32; i++) next()
  return next
}

const WORDS = (
  'the be to of and a in that have it for not on with he as you do at this but his by from they we say her she or an will my one all would there their what so up out if about who get which go me when make can like time no just him know take people into year your good some could them see other than then now look only come its over think also back after use two how our work first well way even new want because any these give day most us is are was were been has had did said file function return const let var import export class interface type string number boolean value error result test tests build run check update fix change add remove line lines code module package config path directory output input request response server client data table index query cache store log entry hash chain session agent model tool call message content user assistant system token tokens context window stream buffer async await promise callback event handler option options default null undefined true false object array map set key keys length size count offset limit start end read write open close append verify'
).split(' ')
const CODE_TOKENS = ['{', '}', '(', ')', ';', '=>', '===', '+=', '[]', '//', '/*', '*/', '.', ',', ':', '?', '&&', '||', '!', '<', '>', '`${x}`', "'", '"']
const UNICODE_TOKENS = ['→', '—', '…', '✓', '✗', 'café', 'naïve', 'Größe', 'über', '“quoted”', '‘x’', 'λ', 'π≈3.14', '±', '×', '≤', '≥', '🙂', '🚀', '✅', '日本語', '中文', 'résumé', '•']

function zipfPick(rng, arr) {
  const r = rng()
  return arr[Math.floor(arr.length * r * r)]
}

function makeCorpus(rng, chars, unicode) {
  const parts = []
  let len = 0
  while (len < chars) {
    let line
    const r = rng()
    if (r < 0.35) {
      // code-ish line
      const indent = '  '.repeat(Math.floor(rng() * 4))
      const toks = []
      const n = 3 + Math.floor(rng() * 10)
      for (let i = 0; i < n; i++) toks.push(rng() < 0.4 ? CODE_TOKENS[Math.floor(rng() * CODE_TOKENS.length)] : zipfPick(rng, WORDS))
      line = indent + toks.join(rng() < 0.5 ? ' ' : '')
    } else {
      const toks = []
      const n = 6 + Math.floor(rng() * 18)
      for (let i = 0; i < n; i++) {
        if (unicode && rng() < 0.04) toks.push(UNICODE_TOKENS[Math.floor(rng() * UNICODE_TOKENS.length)])
        else toks.push(zipfPick(rng, WORDS))
      }
      line = toks.join(' ') + (rng() < 0.8 ? '.' : ':')
      line = line[0].toUpperCase() + line.slice(1)
    }
    parts.push(line)
    len += line.length + 1
  }
  return parts.join('\n')
}

const isHigh = (c) => c >= 0xd800 && c <= 0xdbff
const isLow = (c) => c >= 0xdc00 && c <= 0xdfff

const B62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
function id(rng, prefix, n = 24) {
  let s = prefix
  for (let i = 0; i < n; i++) s += B62[Math.floor(rng() * 62)]
  return s
}

const TOOLS = ['read_file', 'edit_file', 'bash', 'grep', 'write_file', 'list_dir']

/**
 * A seeded text source over the same kind of corpus (for the bench's synthetic transcripts, case
 * 12): `text(len)` slices ~len characters (~10% from the non-ASCII corpus, never splitting a
 * surrogate pair), `between(lo, hi)` an integer, `id(prefix, n)` a base-62 id. Its own PRNG:
 * makeWorkload's sequence is untouched.
 */
export function makeTextSource(seed = DEFAULT_SEED, asciiChars = 2 * 1024 * 1024, uniChars = 512 * 1024) {
  const rng = makeRng(seed)
  const ascii = makeCorpus(rng, asciiChars, false)
  const uni = makeCorpus(rng, uniChars, true)
  const text = (len) => {
    const src = rng() < 0.1 ? uni : ascii
    len = Math.min(len, src.length - 2)
    let off = Math.floor(rng() * (src.length - len - 1))
    let end = off + len
    if (isLow(src.charCodeAt(off))) off++
    if (isHigh(src.charCodeAt(end - 1))) end++
    return src.slice(off, end)
  }
  const between = (lo, hi) => lo + Math.floor(rng() * (hi - lo + 1))
  return { rng, text, between, id: (prefix, n = 24) => id(rng, prefix, n) }
}

export function makeWorkload(count, seed = DEFAULT_SEED) {
  const rng = makeRng(seed)
  const ascii = makeCorpus(rng, 8 * 1024 * 1024, false)
  const uni = makeCorpus(rng, 2 * 1024 * 1024, true)
  const text = (len) => {
    const src = rng() < 0.1 ? uni : ascii
    let off = Math.floor(rng() * (src.length - len - 1))
    let end = off + len
    if (isLow(src.charCodeAt(off))) off++
    if (isHigh(src.charCodeAt(end - 1))) end++
    return src.slice(off, end)
  }
  const between = (lo, hi) => lo + Math.floor(rng() * (hi - lo + 1))
  const usage = () => ({ input_tokens: between(2000, 150000), output_tokens: between(20, 4000), cache_read_tokens: between(0, 140000) })

  let ts = 1767225600000 // 2026-01-01T00:00:00Z in ms
  let lastCallId = id(rng, 'call_')
  const entries = new Array(count)
  const kinds = new Array(count)
  for (let i = 0; i < count; i++) {
    ts += between(5, 30000)
    const slot = i % TURN_SIZE
    let e, kind
    if (slot === 0) {
      kind = 'small'
      e = { type: 'UserInput', ts, item: { role: 'user', content: [{ type: 'text', text: text(between(250, 650)) }] } }
    } else if (slot === 4) {
      kind = 'small'
      e = { type: 'AssistantItem', ts, item: { role: 'assistant', content: [{ type: 'text', text: text(between(200, 600)) }], model: 'model-large-2026', stop_reason: 'end_turn', usage: usage() } }
    } else if (slot === 1 || slot === 3) {
      kind = 'toolcall'
      lastCallId = id(rng, 'call_')
      const name = TOOLS[Math.floor(rng() * TOOLS.length)]
      e = {
        type: 'AssistantItem', ts,
        item: {
          role: 'assistant',
          content: [
            { type: 'text', text: text(between(100, 500)) },
            { type: 'tool_call', id: lastCallId, name, arguments: { path: 'src/' + id(rng, '', 8) + '/' + id(rng, '', 10) + '.ts', old_string: text(between(700, 1500)), new_string: text(between(700, 1500)), replace_all: rng() < 0.1 } }
          ],
          model: 'model-large-2026', stop_reason: 'tool_use', usage: usage()
        }
      }
    } else {
      const big = rng() < 0.02
      kind = big ? 'toolresult-big' : 'toolresult'
      e = { type: 'ToolResult', ts, item: { role: 'tool', tool_call_id: lastCallId, content: [{ type: 'text', text: text(big ? between(180000, 220000) : between(5000, 15000)) }], is_error: rng() < 0.05 } }
    }
    entries[i] = e
    kinds[i] = kind
  }
  return { entries, kinds, seed }
}
