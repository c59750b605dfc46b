// Pure: turns a file's mapped lines into an ordered plan of session creations (root, fork,
// compaction) and per-turn batches of lines, following the source's tree (id/parentId), its
// sidechains, compactions and rollbacks. The driver executes the plan against a store.
import type { Usage } from '../schema/entry.js'
import { DamageCodes, type Damage, type ItemEntryKind, type LineRecord, type MappedFile, type SourceLine } from './types.js'

/** Where a fork starts: after a source line's last entry, or at a session's genesis. */
export type ForkPoint = { line: number } | { genesisOf: string }

export type CreateStep =
  /** `spawnAt`: a sidechain's spawning line; its hash goes into `config.import.spawnedAt`. */
  | { kind: 'root'; ts: number; config: Record<string, unknown>; spawnAt?: ForkPoint }
  | { kind: 'fork'; ts: number; at: ForkPoint }
  | { kind: 'compaction'; ts: number; source: string; history: unknown[]; summary?: string; details: Record<string, unknown> }

export interface PlannedLine {
  n: number
  sha256: string
  ts: number
  record: LineRecord
  item?: { kind: ItemEntryKind; value: unknown }
  usage?: Usage
  usageKey?: string
  /** A turn_end with this count goes before the line (it closes the previous turn). */
  turnEnd?: number
}

/** `config`: a `config_changed` entry written before the batch's first line (a forked rollout's main session). */
export type Step = { op: 'create'; session: string; create: CreateStep } | { op: 'batch'; session: string; lines: PlannedLine[]; config?: Record<string, unknown> }

/**
 * A forked rollout whose first lines copy its parent's: lines 1 to `last` are written as
 * records only (no items, usage or turn ends), the copies (`refs`) naming the parent's line;
 * the main session is a fork after line `last` (the driver resolves that line to the parent's
 * entry) and continues with the parent's turn and item counts there.
 */
export interface CopyPlan {
  last: number
  refs: Map<number, NonNullable<LineRecord['copy']>>
}

export interface Plan {
  mainId: string
  steps: Step[]
  damaged: Damage[]
}

/** A persistent list of the lines on a session's path (shared by forks, never copied). */
interface PathNode {
  n: number
  prev: PathNode | null
}

interface SessionState {
  id: string
  tip?: string
  turns: number
  openTurn: boolean
  items: number
  path: PathNode | null
  turnStarts: PathNode | null
  /** Line number of the session's last line with an item (0: none). */
  lastItemLine: number
}

const snapshot = (s: SessionState) => ({ turns: s.turns, openTurn: s.openTurn, items: s.items, path: s.path, turnStarts: s.turnStarts, lastItemLine: s.lastItemLine })

export function planFile(file: string, mainId: string, rootConfig: Record<string, unknown>, lines: readonly SourceLine[], mapped: MappedFile, copy?: CopyPlan): Plan {
  const steps: Step[] = []
  const damaged: Damage[] = []
  const sessions = new Map<string, SessionState>()
  const tipOwner = new Map<string, string>()
  const nodeLine = new Map<string, number>()
  const nodeSession = new Map<string, string>()
  const sidechains = new Set<string>()
  const afterLine = new Map<number, ReturnType<typeof snapshot> & { session: string }>()
  let current: string | undefined
  let currentSide: string | undefined
  /**
   * Each session's batch for its current turn: lines of the turn that a sidechain interleaves
   * still go into one atomic append. A compaction closes its source's batch (it summarises the
   * source's head as it is then).
   */
  const open = new Map<string, Extract<Step, { op: 'batch' }>>()
  let lastTs = mapped.lines.find((m) => m.ts !== undefined)?.ts ?? 0
  const firstTs = lastTs
  /** In a forked rollout's copied lines: state is followed, nothing is written but records. */
  let copying = copy !== undefined && copy.last > 0
  const copied: PlannedLine[] = []

  const create = (id: string, step: CreateStep, from?: ReturnType<typeof snapshot>, fresh?: { items: number }): SessionState => {
    if (step.kind === 'compaction') open.delete(step.source)
    if (!copying) steps.push({ op: 'create', session: id, create: step })
    const s: SessionState = from
      ? { id, ...from, ...(fresh ? { items: fresh.items, path: null, turnStarts: null } : {}) }
      : { id, turns: 0, openTurn: false, items: fresh?.items ?? 0, path: null, turnStarts: null, lastItemLine: 0 }
    sessions.set(id, s)
    return s
  }
  const main = () => {
    if (!sessions.has(mainId)) create(mainId, { kind: 'root', ts: lastTs, config: rootConfig })
    return sessions.get(mainId)!
  }
  const forkAtLine = (id: string, n: number, ts: number): SessionState => {
    const at = afterLine.get(n)!
    if (sidechains.has(at.session)) sidechains.add(id)
    return create(id, { kind: 'fork', ts, at: { line: n } }, at)
  }

  for (const [i, l] of lines.entries()) {
    const ml = mapped.lines[i]!
    const ts = ml.ts ?? lastTs
    lastTs = ts
    if (ml.damage) damaged.push({ file, line: l.n, code: ml.damage.code, message: ml.damage.message })
    let target: SessionState
    const lane = () => (ml.sidechain ? (currentSide !== undefined ? sessions.get(currentSide)! : undefined) : current !== undefined ? sessions.get(current)! : undefined)
    const newSidechain = () => {
      sidechains.add(`${mainId}~s${l.n}`)
      // Spawned by its parent line (the Task call) when that is a line of the conversation: the
      // link names the session holding it and, once written, its last entry.
      const p = ml.parentId
      const spawner = p !== null && p !== undefined && nodeLine.has(p) && !sidechains.has(nodeSession.get(p)!) ? p : undefined
      const link = spawner !== undefined ? { parent: nodeSession.get(spawner)!, spawnLine: nodeLine.get(spawner)! } : { parent: mainId }
      return create(`${mainId}~s${l.n}`, {
        kind: 'root',
        ts,
        config: { import: { ...(rootConfig.import as object), role: 'sidechain', ...link, line: l.n } },
        ...(spawner !== undefined ? { spawnAt: { line: nodeLine.get(spawner)! } } : {}),
      })
    }
    if (ml.compaction) {
      const parentOwner = ml.parentId ? tipOwner.get(ml.parentId) : undefined
      const source = parentOwner !== undefined ? sessions.get(parentOwner)! : (lane() ?? main())
      const c = ml.compaction
      target = create(
        `${mainId}~c${l.n}`,
        { kind: 'compaction', ts, source: source.id, history: c.history, ...(c.summary !== undefined ? { summary: c.summary } : {}), details: c.details },
        snapshot(source),
        { items: c.history.length },
      )
    } else if (ml.rewindTurns !== undefined) {
      const from = lane() ?? main()
      // The fork point: the line before the Nth-last turn start on this session's path.
      let start = from.turnStarts
      for (let k = 1; k < ml.rewindTurns && start; k++) start = start.prev
      if (!start) {
        target = create(`${mainId}~r${l.n}`, { kind: 'fork', ts, at: { genesisOf: from.id } })
      } else {
        let node = from.path
        while (node && node.n !== start.n) node = node.prev
        const before = node?.prev
        target = before ? forkAtLine(`${mainId}~r${l.n}`, before.n, ts) : create(`${mainId}~r${l.n}`, { kind: 'fork', ts, at: { genesisOf: from.id } })
      }
    } else if (ml.id !== undefined) {
      const parent = ml.parentId
      if (parent === null || parent === undefined) {
        target = ml.sidechain ? newSidechain() : (lane() ?? main())
      } else if (nodeLine.has(parent)) {
        const owner = tipOwner.get(parent)
        const holder = sessions.get(nodeSession.get(parent)!)!
        // turn-start: only a prompt on a line followed by more conversation is a branch (lines
        // of hooks or progress after the parent are not).
        const branches = mapped.branchOn === 'any' || (ml.startsTurn === true && holder.lastItemLine > nodeLine.get(parent)!)
        if (owner !== undefined) target = sessions.get(owner)!
        else if (!branches) target = holder
        else target = forkAtLine(`${mainId}~b${l.n}`, nodeLine.get(parent)!, ts)
      } else {
        damaged.push({ file, line: l.n, code: DamageCodes.MISSING_PARENT, message: `parent ${parent} is not in the file; kept on the current branch` })
        target = lane() ?? (ml.sidechain ? newSidechain() : main())
      }
    } else {
      target = lane() ?? main()
    }
    // A sidechain line linked to a line of the main conversation starts its own sidechain.
    if (ml.sidechain && !sidechains.has(target.id) && !ml.compaction) target = newSidechain()
    if (ml.sidechain) currentSide = target.id
    else current = target.id

    if (ml.id !== undefined) {
      if (target.tip !== undefined && tipOwner.get(target.tip) === target.id) tipOwner.delete(target.tip)
      target.tip = ml.id
      tipOwner.set(ml.id, target.id)
      nodeLine.set(ml.id, l.n)
      nodeSession.set(ml.id, target.id)
    }

    const pl: PlannedLine = { n: l.n, sha256: l.sha256, ts, record: { n: l.n, sha256: l.sha256 } }
    if (ml.startsTurn) {
      if (target.openTurn) {
        target.turns += 1
        pl.turnEnd = target.turns
      }
      target.openTurn = true
    }
    target.path = { n: l.n, prev: target.path }
    if (ml.startsTurn) target.turnStarts = { n: l.n, prev: target.turnStarts }
    const v = l.value as Record<string, unknown>
    // A line its writer did not serialise as JSON.stringify would (`4.0`, spaces, escapes) also
    // keeps its text, so it comes back byte for byte.
    if (!l.parsed || JSON.stringify(l.value) !== l.text) pl.record.text = l.text
    if (!l.parsed) {
      // raw text only
    } else if (ml.item) {
      // Key '' : the whole line is the item (Codex's first rollout format).
      pl.record.line = ml.item.key === '' ? null : { ...v, [ml.item.key]: null }
      pl.record.item = ml.item.key
      pl.item = { kind: ml.item.kind, value: ml.item.key === '' ? v : v[ml.item.key] }
    } else {
      pl.record.line = l.value
      if (ml.derivedItem) pl.item = ml.derivedItem
    }
    if (pl.item) {
      target.items += 1
      target.lastItemLine = l.n
    }
    if (ml.usage) {
      pl.usage = { ...ml.usage.usage, historyLength: Math.max(0, target.items - (ml.usage.outputItems ?? 0)) }
      if (ml.usage.key !== undefined) pl.usageKey = pl.record.usageKey = ml.usage.key
    }
    afterLine.set(l.n, { session: target.id, ...snapshot(target) })

    if (copying) {
      const ref = copy!.refs.get(l.n)
      copied.push(ref ? { n: l.n, sha256: l.sha256, ts, record: { n: l.n, sha256: l.sha256, copy: ref } } : { n: l.n, sha256: l.sha256, ts, record: pl.record })
      if (l.n < copy!.last) continue
      // The end of the copy: the main session is a fork after it, in the state it left.
      copying = false
      sessions.clear()
      open.clear()
      create(mainId, { kind: 'fork', ts: firstTs, at: { line: l.n } }, afterLine.get(l.n))
      current = mainId
      currentSide = undefined
      const first: Extract<Step, { op: 'batch' }> = { op: 'batch', session: mainId, lines: copied, config: rootConfig }
      steps.push(first)
      open.set(mainId, first)
      continue
    }

    let batch = open.get(target.id)
    if (!batch || ml.startsTurn) {
      batch = { op: 'batch', session: target.id, lines: [] }
      steps.push(batch)
      open.set(target.id, batch)
    }
    batch.lines.push(pl)
  }
  if (sessions.size === 0) main()
  return { mainId, steps, damaged }
}
