// `chainlog log <session>`: a session's entries, newest first; with --graph, the session's line
// of descent (the sources it was forked or compacted from, down to their fork points) with the
// other forks and compactions branching off where they were taken, like `git log --graph`.
import { InvalidArgumentError, type Command } from 'commander'
import type { ChainlogStore, Descendant, LineageRelation, StoredEntry } from '../../index.js'
import type { Ctx } from '../context.js'
import { usageError } from '../errors.js'
import { formatTime, oneLine, shortHash, summarizeEntry } from '../format.js'
import type { Colors } from '../output.js'
import { headSeq, locateEntry, originOf, resolveSession, sessionMap, type OriginView } from '../sessions.js'
import { withStore } from '../store-access.js'

export interface EntryView {
  sessionId: string
  seq: number
  hash: string
  prev: string
  kind: string
  ts: number
  summary: string
}

export interface BranchView {
  sessionId: string
  relation: LineageRelation
  /** Null for an imported subagent spawned at an entry the import did not know (not listed under an entry). */
  atHash: string | null
  materialized: boolean
  length: number | null
  head: string | null
  /** Sessions made from this one in turn, at any depth. */
  descendants: number
}

export interface SegmentView {
  sessionId: string
  /** The segment shows seqs 0..toSeq of the session. */
  toSeq: number
  /** Where this session came from (the next segment, when the source still exists). */
  origin: OriginView | null
  /** True when the origin's session or entry is not in the store. */
  originMissing: boolean
}

export function parseLimit(v: string): number {
  const n = Number(v)
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer')
  return n
}

export function entryView(e: StoredEntry): EntryView {
  return { sessionId: e.sessionId, seq: e.seq, hash: e.hash, prev: e.prev, kind: e.entry.kind, ts: e.entry.ts, summary: summarizeEntry(e.entry) }
}

const KIND_WIDTH = 19

function kindPaint(c: Colors, kind: string): (s: string) => string {
  switch (kind) {
    case 'session_start':
      return c.magenta
    case 'user_input':
      return c.green
    case 'assistant_items':
      return c.blue
    case 'tool_results':
      return c.cyan
    case 'run_outcome':
    case 'turn_end':
      return c.bold
    default:
      return c.dim
  }
}

/** One `log` line: hash, seq, time, kind, summary fitted to `width`. */
export function entryLine(c: Colors, e: EntryView, seqWidth: number, width: number, prefix = ''): string {
  const seq = `#${e.seq}`.padStart(seqWidth + 1)
  const time = formatTime(e.ts)
  const kind = e.kind.padEnd(KIND_WIDTH)
  const used = [...prefix].length + 12 + 2 + seq.length + 2 + time.length + 2 + KIND_WIDTH + 2
  const summary = oneLine(e.summary, Math.max(20, width - used))
  return `${prefix}${c.yellow(shortHash(e.hash))}  ${seq}  ${c.dim(time)}  ${kindPaint(c, e.kind)(kind)}  ${summary}`.trimEnd()
}

function countDescendants(d: Descendant): number {
  return d.children.reduce((n, k) => n + 1 + countDescendants(k), 0)
}

export function registerLog(program: Command, ctx: Ctx): void {
  program
    .command('log <session>')
    .description('entries of a session, newest first (session: id or unique id prefix)')
    .option('--reverse', 'oldest first')
    .option('-n, --limit <n>', 'show at most n entries', parseLimit)
    .option('--graph', "draw the session's lineage: sources below, forks and compactions branching off")
    .option('--json', 'print { sessionId, entries: [...] } as JSON')
    .action(async (session: string, opts: { reverse?: boolean; limit?: number; graph?: boolean; json?: boolean }) => {
      if (opts.graph && opts.reverse) throw usageError('--graph and --reverse cannot be used together')
      await withStore(ctx.storeDir(), async (store) => {
        const sid = await resolveSession(store, session)
        if (opts.graph) await graphLog(ctx, store, sid, opts)
        else await plainLog(ctx, store, sid, opts)
      })
    })
}

async function plainLog(ctx: Ctx, store: ChainlogStore, sid: string, opts: { reverse?: boolean; limit?: number; json?: boolean }): Promise<void> {
  const { out } = ctx
  const seqWidth = String((await headSeq(store, sid)) + 1).length
  const collected: EntryView[] = []
  let n = 0
  for await (const e of store.entries(sid, { reverse: !opts.reverse })) {
    const v = entryView(e)
    if (opts.json) collected.push(v)
    else out.line(entryLine(out.c, v, seqWidth, out.width))
    if (opts.limit !== undefined && ++n >= opts.limit) break
  }
  if (opts.json) out.json({ sessionId: sid, entries: collected })
}

async function graphLog(ctx: Ctx, store: ChainlogStore, sid: string, opts: { limit?: number; json?: boolean }): Promise<void> {
  const { out } = ctx
  const { c } = out
  const sessions = await sessionMap(store)
  // The main line: this session, then each source down to where the one above was taken.
  const segments: SegmentView[] = []
  const seen = new Set<string>()
  let cur: string | undefined = sid
  let toSeq = sessions.get(sid)!.length - 1
  while (cur !== undefined && !seen.has(cur)) {
    seen.add(cur)
    const info = sessions.get(cur)!
    const origin = originOf(info)
    const seg: SegmentView = { sessionId: cur, toSeq, origin, originMissing: false }
    segments.push(seg)
    cur = undefined
    if (origin) {
      const loc = await locateEntry(store, origin.atHash)
      if (!loc || loc.sessionId !== origin.sessionId || !sessions.has(origin.sessionId)) seg.originMissing = true
      else {
        cur = origin.sessionId
        toSeq = loc.seq
      }
    }
  }
  const seqWidth = String(Math.max(...segments.map((s) => s.toSeq + 1))).length
  const entries: (EntryView & { branches: BranchView[] })[] = []
  let n = 0
  const full = (): boolean => opts.limit !== undefined && n >= opts.limit
  if (!opts.json) out.line(c.bold(`session ${sid}`))
  for (let i = 0; i < segments.length && !full(); i++) {
    const seg = segments[i]!
    const mainChild = i > 0 ? segments[i - 1]!.sessionId : undefined
    if (i > 0 && !opts.json) {
      const above = segments[i - 1]!.origin!
      out.line(c.dim('|'))
      out.line(c.dim(`| ${above.relation === 'fork' ? 'forked' : 'compacted'} from session ${seg.sessionId}`))
    }
    const byHash = new Map<string, BranchView[]>()
    for (const d of (await store.lineage(seg.sessionId)).descendants) {
      if (d.sessionId === mainChild) continue
      const info = sessions.get(d.sessionId)
      const b: BranchView = {
        sessionId: d.sessionId,
        relation: d.relation,
        atHash: d.atHash,
        materialized: d.materialized,
        length: info?.length ?? null,
        head: info?.head ?? null,
        descendants: countDescendants(d),
      }
      if (d.atHash === null) continue
      const list = byHash.get(d.atHash) ?? []
      list.push(b)
      byHash.set(d.atHash, list)
    }
    for await (const e of store.entries(seg.sessionId, { to: seg.toSeq, reverse: true })) {
      const branches = byHash.get(e.hash) ?? []
      const v = { ...entryView(e), branches }
      if (opts.json) entries.push(v)
      else {
        for (const b of branches) {
          const label = b.relation !== 'fork' ? b.relation : b.materialized ? 'fork (materialized)' : 'fork'
          const size = b.length !== null ? `${b.length} entr${b.length === 1 ? 'y' : 'ies'}, head ${shortHash(b.head!)}` : 'not in store'
          const more = b.descendants > 0 ? `, +${b.descendants} made from it` : ''
          out.line(`${c.dim('|')} ${c.cyan('*')} ${label} ${c.yellow(b.sessionId)}  ${c.dim(`${size}${more}`)}`)
          out.line(c.dim('|/'))
        }
        out.line(entryLine(c, v, seqWidth, out.width, `${c.bold('*')} `))
      }
      n++
      if (full()) break
    }
    if (seg.originMissing && !opts.json && !full()) {
      out.line(c.dim('|'))
      out.line(c.dim(`~ ${seg.origin!.relation === 'fork' ? 'forked' : 'compacted'} from session ${seg.origin!.sessionId} at ${shortHash(seg.origin!.atHash)}, which is not in this store`))
    }
  }
  if (opts.json) out.json({ sessionId: sid, segments, entries })
}
