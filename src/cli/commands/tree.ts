// `chainlog tree [<session>]`: lineage as a tree. With a session, the line from its root down to
// it and everything made from it; without, the forest of every session in the store.
import type { Command } from 'commander'
import type { ChainlogStore, Descendant, LineageRelation, SessionInfo } from '../../index.js'
import { maySpawnedId, spawnLinkOf } from '../../import/links.js'
import type { Ctx } from '../context.js'
import { formatCount, oneLine, shortHash } from '../format.js'
import type { Colors } from '../output.js'
import { locateEntry, originOf, resolveSession, sessionMap } from '../sessions.js'
import { withStore } from '../store-access.js'
import { codePoints } from '../table.js'

export interface TreeNode {
  sessionId: string
  /**
   * How this session was made from its parent node (`subagent`: an imported subagent session
   * under the session that spawned it); null for a root.
   */
  relation: LineageRelation | null
  /** The parent's entry this session starts from; null for a root, or a subagent spawned at an unknown entry. */
  atHash: string | null
  atSeq: number | null
  materialized: boolean
  length: number
  head: string
  createdAt: number
  firstUserMessage: string | null
  /** Set on a root whose recorded source (or spawning session) is not in the store (deleted, or never imported). */
  missingOrigin: { relation: LineageRelation; sessionId: string; atHash: string | null } | null
  children: TreeNode[]
}

/** Every session of the store as a forest, children in creation order. */
export async function buildForest(store: ChainlogStore, sessions: Map<string, SessionInfo>): Promise<TreeNode[]> {
  const nodes = new Map<string, TreeNode>()
  for (const s of sessions.values()) {
    nodes.set(s.sessionId, {
      sessionId: s.sessionId,
      relation: null,
      atHash: null,
      atSeq: null,
      // as ls shows it: a compaction is always materialised, a fork when it carries a snapshot
      materialized: originOf(s)?.materialized ?? false,
      length: s.length,
      head: s.head,
      createdAt: s.createdAt,
      firstUserMessage: s.firstUserMessage ?? null,
      missingOrigin: null,
      children: [],
    })
  }
  const roots: TreeNode[] = []
  for (const s of sessions.values()) {
    const node = nodes.get(s.sessionId)!
    const o = originOf(s)
    const parent = o ? nodes.get(o.sessionId) : undefined
    if (o && parent) {
      node.relation = o.relation
      node.atHash = o.atHash
      node.atSeq = (await locateEntry(store, o.atHash))?.seq ?? null
      parent.children.push(node)
    } else if (o) {
      node.missingOrigin = { relation: o.relation, sessionId: o.sessionId, atHash: o.atHash }
      roots.push(node)
    } else {
      // An imported subagent goes under the session that spawned it. Only ids of that shape
      // have their genesis read.
      const link = maySpawnedId(s.sessionId) ? spawnLinkOf(s.sessionId, await genesisConfig(store, s.sessionId)) : undefined
      const spawner = link ? nodes.get(link.parent) : undefined
      if (link && spawner) {
        node.relation = 'subagent'
        node.atHash = link.atHash
        node.atSeq = link.atHash !== null ? ((await locateEntry(store, link.atHash))?.seq ?? null) : null
        node.materialized = true
        spawner.children.push(node)
      } else {
        if (link) node.missingOrigin = { relation: 'subagent', sessionId: link.parent, atHash: link.atHash }
        roots.push(node)
      }
    }
  }
  // Sessions whose sources loop (only tampering makes that) are reached from no root: list them too.
  const reached = new Set<string>()
  const mark = (n: TreeNode): void => {
    if (reached.has(n.sessionId)) return
    reached.add(n.sessionId)
    n.children.forEach(mark)
  }
  roots.forEach(mark)
  for (const n of nodes.values()) if (!reached.has(n.sessionId)) (roots.push(n), mark(n))
  const order = (list: TreeNode[], seen: Set<string>): void => {
    list.sort((a, b) => a.createdAt - b.createdAt || (a.sessionId < b.sessionId ? -1 : 1))
    for (const n of list) {
      if (seen.has(n.sessionId)) continue
      seen.add(n.sessionId)
      order(n.children, seen)
    }
  }
  order(roots, new Set())
  return roots
}

/** The genesis config of a session: one record read. */
async function genesisConfig(store: ChainlogStore, sessionId: string): Promise<unknown> {
  for await (const e of store.entries(sessionId, { to: 0, verify: false, resolveBlobs: false })) return e.entry.kind === 'session_start' ? e.entry.config : undefined
  return undefined
}

interface RenderNode {
  sessionId: string
  relation: LineageRelation | null
  atHash: string | null
  atSeq: number | null
  materialized: boolean
  selected?: boolean
  note?: string
  /** A forest root whose recorded source is not in the store (its note says so). */
  missingOrigin?: TreeNode['missingOrigin']
  children: RenderNode[]
}

function noteOf(n: RenderNode): string | undefined {
  if (n.note !== undefined) return n.note
  const m = n.missingOrigin
  if (!m) return undefined
  return `(${m.relation} of ${m.sessionId}${m.atHash !== null ? ` at ${shortHash(m.atHash)}` : ''}, not in store)`
}

function label(c: Colors, n: RenderNode, sessions: Map<string, SessionInfo>, width: number, indent: number): string {
  const info = sessions.get(n.sessionId)
  const parts: string[] = []
  if (n.relation) {
    const rel = n.relation === 'fork' ? (n.materialized ? 'fork (materialized)' : 'fork') : n.relation
    parts.push(c.cyan(rel))
  }
  parts.push(n.selected ? c.bold(c.yellow(n.sessionId)) : c.yellow(n.sessionId))
  if (n.atHash) parts.push(c.dim(`at ${n.atSeq !== null ? `#${n.atSeq} ` : ''}${shortHash(n.atHash)}`))
  else if (n.relation === 'subagent') parts.push(c.dim('at an unknown entry'))
  const note = noteOf(n)
  if (info) parts.push(`${formatCount(info.length)} entr${info.length === 1 ? 'y' : 'ies'}`)
  else if (!note) parts.push(c.red('(not in store)'))
  if (note) parts.push(c.dim(note))
  if (n.selected) parts.push(c.green('<- this session'))
  let text = parts.join('  ')
  const msg = info?.firstUserMessage
  if (msg) {
    const room = width - indent - codePoints(text.includes('\x1b') ? text.replace(/\x1b\[[0-9;]*m/g, '') : text) - 4
    if (room > 12) text += `  ${JSON.stringify(oneLine(msg, room - 2))}`
  }
  return text
}

function render(c: Colors, roots: RenderNode[], sessions: Map<string, SessionInfo>, width: number): string[] {
  const lines: string[] = []
  const walk = (n: RenderNode, prefix: string, last: boolean, root: boolean, seen: Set<string>): void => {
    const branch = root ? '' : last ? '└── ' : '├── '
    lines.push(`${c.dim(prefix + branch)}${label(c, n, sessions, width, prefix.length + branch.length)}`)
    if (seen.has(n.sessionId)) return
    seen.add(n.sessionId)
    const childPrefix = root ? '' : prefix + (last ? '    ' : '│   ')
    n.children.forEach((k, i) => walk(k, childPrefix, i === n.children.length - 1, false, seen))
  }
  // Each root is walked with nothing seen (one set, emptied between roots: a forest has thousands).
  const seen = new Set<string>()
  for (const r of roots) {
    walk(r, '', true, true, seen)
    seen.clear()
  }
  return lines
}

function fromDescendant(d: Descendant, atSeq: Map<string, number>): RenderNode {
  return {
    sessionId: d.sessionId,
    relation: d.relation,
    atHash: d.atHash,
    atSeq: d.atHash !== null ? (atSeq.get(d.atHash) ?? null) : null,
    materialized: d.materialized,
    children: d.children.map((k) => fromDescendant(k, atSeq)),
  }
}

export function registerTree(program: Command, ctx: Ctx): void {
  program
    .command('tree [session]')
    .description('lineage tree of a session, or the forest of every session')
    .option('--json', 'print the lineage (with a session) or { roots: [...] } as JSON')
    .action(async (session: string | undefined, opts: { json?: boolean }) => {
      const { out } = ctx
      await withStore(ctx.storeDir(), async (store) => {
        const sessions = await sessionMap(store)
        if (session === undefined) {
          const roots = await buildForest(store, sessions)
          if (opts.json) out.json({ roots })
          else if (roots.length === 0) out.note(`no sessions in ${ctx.storeDir()}`)
          else out.lines(render(out.c, roots, sessions, out.width))
          return
        }
        const sid = await resolveSession(store, session)
        const lineage = await store.lineage(sid)
        if (opts.json) {
          out.json(lineage)
          return
        }
        const atSeq = new Map<string, number>()
        const hashes: (string | null)[] = [...lineage.ancestors.map((a) => a.atHash)]
        const collect = (ds: Descendant[]): void => ds.forEach((d) => (hashes.push(d.atHash), collect(d.children)))
        collect(lineage.descendants)
        for (const h of hashes) {
          if (h === null) continue
          const loc = await locateEntry(store, h)
          if (loc) atSeq.set(h, loc.seq)
        }
        // ancestors[i] is the source of the session below it (ancestors[i-1], or sid for i = 0).
        let node: RenderNode = {
          sessionId: sid,
          relation: null,
          atHash: null,
          atSeq: null,
          materialized: originOf(sessions.get(sid) ?? {})?.materialized ?? false,
          selected: true,
          children: lineage.descendants.map((d) => fromDescendant(d, atSeq)),
        }
        for (const a of lineage.ancestors) {
          node.relation = a.relation
          node.atHash = a.atHash
          node.atSeq = a.atHash !== null ? (atSeq.get(a.atHash) ?? null) : null
          if (a.relation === 'subagent') node.materialized = true
          node = {
            sessionId: a.sessionId,
            relation: null,
            atHash: null,
            atSeq: null,
            materialized: originOf(sessions.get(a.sessionId) ?? {})?.materialized ?? false,
            note: a.present ? undefined : a.relation === 'subagent' ? '(not in store)' : '(deleted)',
            children: [node],
          }
        }
        out.lines(render(out.c, [node], sessions, out.width))
      })
    })
}
