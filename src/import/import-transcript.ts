// The import driver: reads each file, maps it with its format's mapper, plans its sessions,
// compares the plan with what earlier imports stored, and appends only the new lines, one
// atomic, compare-and-set appendMany per turn.
import { createHash } from 'node:crypto'
import { basename, extname } from 'node:path'
import { ChainlogError, ErrorCodes, isChainlogError } from '../errors.js'
import type { ChainlogStore } from '../open.js'
import type { EntryInput } from '../storage/session-store.js'
import { mapClaudeCode } from './claude-code.js'
import { mapCodex } from './codex.js'
import { mapPi } from './pi.js'
import { planFile, type CopyPlan, type ForkPoint, type PlannedLine } from './plan.js'
import { regenerateTranscript, restamp } from './regenerate.js'
import { findTranscriptFiles, readSourceLines } from './read-lines.js'
import { importNamespace, readStoredFile, sessionsOf, type StoredFile, type StoredLine } from './stored.js'
import { isObject } from './read-lines.js'
import { DamageCodes, TRANSCRIPT_FORMATS, type Damage, type FileFork, type FileReport, type ImportOptions, type ImportReport, type LineRecord, type MappedFile, type SourceLine, type TranscriptFormat } from './types.js'

const MAPPERS: Record<TranscriptFormat, (lines: readonly SourceLine[], stem: string) => MappedFile> = {
  'claude-code': mapClaudeCode,
  codex: mapCodex,
  pi: mapPi,
}

const sha8 = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 8)

/** A chainlog session id for a source id: printable ASCII, bounded; anything else gets a hash suffix. */
function safeId(id: string): string {
  const clean = id.replace(/[^\x21-\x7e]/g, '_').replace(/~/g, '_')
  return clean === id && id.length <= 150 ? id : `${clean.slice(0, 140)}-${sha8(id)}`
}

/** The main session id of a file: `<format>:<source session id>`, a subagent's `…:agent-<id>`. */
export function mainSessionIdOf(format: TranscriptFormat, mapped: MappedFile): string {
  const base = `${format}:${safeId(mapped.sourceSessionId)}`
  return mapped.agentId !== undefined ? `${base}:agent-${safeId(mapped.agentId)}` : base
}

/**
 * Import agent session files (files or directories, recursively) into a store, losslessly and
 * incrementally: importing a file again adds only the lines it did not have.
 * @example const report = await importTranscript(store, '~/.claude/projects', { from: 'claude-code' })
 * @throws CHAINLOG_INVALID_ARGUMENT (unknown format, a path that does not exist), CHAINLOG_IMPORT_DAMAGED (strict, damage found; that file not written)
 */
export async function importTranscript(store: ChainlogStore, paths: string | readonly string[], options: ImportOptions): Promise<ImportReport> {
  if (!options || !TRANSCRIPT_FORMATS.includes(options.from)) {
    throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, `from must be one of ${TRANSCRIPT_FORMATS.join(', ')}`, { from: options?.from })
  }
  // Subagent files after the others: their parent's lines (the Task call) are then in the store
  // when their link is written.
  const found = await findTranscriptFiles(typeof paths === 'string' ? [paths] : paths)
  const files = [...found.filter((f) => !isSubagentPath(f)), ...found.filter(isSubagentPath)]
  const report: ImportReport = { files: [], sessionsCreated: [], sessionsExtended: [], linesImported: 0, entriesAppended: 0, damaged: [] }
  // Session ids are listed once per call, not once per file, and kept up to date as we create.
  const known = new Set((await store.listSessions()).map((s) => s.sessionId))
  const run: RunContext = { spawns: new Map() }
  // A forked rollout whose parent is a later file of this call waits for it (once).
  const queue = [...files]
  const deferred = new Set<string>()
  let done = 0
  for (let i = 0; i < queue.length; i++) {
    const file = queue[i]!
    const progress = (linesImported: number) =>
      options.onProgress?.({ file, filesDone: done, filesTotal: files.length, linesImported: report.linesImported + linesImported })
    const mayDefer = !deferred.has(file) && i < queue.length - 1
    let wait = false
    for (let attempt = 1; ; attempt++) {
      const part: ImportReport = { files: [], sessionsCreated: [], sessionsExtended: [], linesImported: 0, entriesAppended: 0, damaged: [] }
      try {
        const fr = await importFile(store, file, options, part, known, progress, run, mayDefer)
        if (fr === 'wait') {
          wait = true
          break
        }
        merge(report, part, true)
        report.files.push(fr)
        report.linesImported += fr.linesImported
        break
      } catch (err) {
        // Another writer (a concurrent import of the same file) moved a head or created a
        // session first: what it wrote is what we would have written, so read again and go on.
        if (attempt < 3 && isChainlogError(err) && (err.code === ErrorCodes.HEAD_CONFLICT || err.code === ErrorCodes.SESSION_EXISTS)) {
          merge(report, part, false)
          for (const s of (await store.listSessions()).map((x) => x.sessionId)) known.add(s)
          continue
        }
        throw err
      }
    }
    if (wait) {
      deferred.add(file)
      queue.push(file)
      continue
    }
    done += 1
    options.onProgress?.({ file, filesDone: done, filesTotal: files.length, linesImported: report.linesImported })
  }
  return report
}

/** Add a file's partial report; a failed attempt's damage is found again by the retry. */
function merge(into: ImportReport, part: ImportReport, withDamage: boolean): void {
  for (const s of part.sessionsCreated) if (!into.sessionsCreated.includes(s)) into.sessionsCreated.push(s)
  for (const s of part.sessionsExtended) if (!into.sessionsExtended.includes(s) && !into.sessionsCreated.includes(s)) into.sessionsExtended.push(s)
  into.entriesAppended += part.entriesAppended
  if (withDamage) into.damaged.push(...part.damaged)
}

async function importFile(
  store: ChainlogStore,
  file: string,
  options: ImportOptions,
  report: ImportReport,
  known: Set<string>,
  progress: (linesImported: number) => void,
  run: RunContext,
  mayDefer = false,
): Promise<FileReport | 'wait'> {
  const format = options.from
  const damaged: Damage[] = []
  const lines = await readSourceLines(file, damaged)
  const name = basename(file)
  const mapped = MAPPERS[format](lines, basename(file, extname(file)))
  let mainId = mainSessionIdOf(format, mapped)
  const chains = chainOf(lines)
  // A file imported before and unchanged since: known from the last imported line's record,
  // without reading the file's stored entries. The damage it holds is reported as always.
  const same = await unchangedFile(store, format, mainId, name, lines, chains, known)
  if (same) {
    const plan = planFile(file, same.mainId, {}, lines, mapped)
    damaged.push(...plan.damaged)
    damaged.sort((a, b) => a.line - b.line)
    report.damaged.push(...damaged)
    if (options.strict && damaged.length > 0) {
      throw new ChainlogError(ErrorCodes.IMPORT_DAMAGED, `${file}: ${damaged.length} damaged line(s), first ${damaged[0]!.code} at line ${damaged[0]!.line}`, { file, damaged })
    }
    const sessions = [...new Set([same.mainId, ...plan.steps.map((s) => s.session)])].filter((id) => known.has(id))
    return { file, sessions, lines: lines.length, linesImported: 0, status: 'unchanged', ...(same.fork ? { fork: same.fork } : {}) }
  }
  let stored = await readStoredFile(store, mainId, format, { known, items: false })
  // Two files claiming one source session id (a copy, a resumed session), or a session of that
  // id that no import made: this file gets an id of its own, derived from its name.
  if (stored.sessions.includes(mainId) && stored.file !== name) {
    mainId = `${mainId}@${sha8(name)}`
    stored = await readStoredFile(store, mainId, format, { known, items: false })
  }
  const rootConfig = { import: { format, sourceSessionId: mapped.sourceSessionId, file: name, role: mapped.agentId !== undefined ? 'subagent' : 'main', ...mapped.config } }
  if (mapped.agentId !== undefined && !stored.heads.has(mainId)) {
    // A subagent file: link it to the session that spawned it, when its parent is in the store.
    Object.assign(rootConfig.import, await subagentLink(store, format, mapped, known, run))
  }
  // A Codex rollout forked from a rollout in the store becomes a chainlog fork of it.
  const fork = format === 'codex' ? await codexFork(store, mainId, lines, mapped, stored, known, mayDefer) : undefined
  if (fork === 'wait') return 'wait'
  if (fork?.report.status === 'forked') Object.assign(rootConfig.import, { forkedAt: { session: fork.report.from, line: fork.report.line } })
  const plan = planFile(file, mainId, rootConfig, lines, mapped, fork?.copy)
  damaged.push(...plan.damaged)
  damaged.sort((a, b) => a.line - b.line)

  // A source rewritten in place: report it and keep what is stored.
  const changed: Damage[] = []
  const byN = new Map(lines.map((l) => [l.n, l]))
  let vanished = 0
  for (const [n, s] of stored.lines) {
    const now = byN.get(n)
    if (!now) vanished += 1
    else if (now.sha256 !== s.record.sha256) changed.push({ file, line: n, code: DamageCodes.CHANGED_LINE, message: 'this line changed since it was imported; the file is not imported further' })
  }
  if (vanished > 0) changed.push({ file, line: 0, code: DamageCodes.VANISHED_LINES, message: `${vanished} imported line(s) are no longer in the file; nothing imported` })
  damaged.push(...changed)
  report.damaged.push(...damaged)
  const fr: FileReport = { file, sessions: [], lines: lines.length, linesImported: 0, status: 'unchanged' }
  if (fork) fr.fork = fork.report
  if (options.strict && damaged.length > 0) {
    throw new ChainlogError(ErrorCodes.IMPORT_DAMAGED, `${file}: ${damaged.length} damaged line(s), first ${damaged[0]!.code} at line ${damaged[0]!.line}`, { file, damaged })
  }
  if (changed.length > 0) {
    fr.status = 'changed'
    fr.sessions = stored.sessions
    return fr
  }
  await executePlan(store, format, plan.steps, stored, report, fr, known, progress, chains, fork?.hashes)
  fr.sessions = [...new Set([mainId, ...plan.steps.map((s) => s.session)])]
  return fr
}

async function executePlan(
  store: ChainlogStore,
  format: TranscriptFormat,
  steps: ReturnType<typeof planFile>['steps'],
  stored: StoredFile,
  report: ImportReport,
  fr: FileReport,
  known: Set<string>,
  progress: (linesImported: number) => void,
  chains: readonly Uint8Array[],
  copyHashes?: () => Promise<Map<number, string>>,
): Promise<void> {
  const ns = importNamespace(format)
  const lastHash = new Map<number, string>()
  for (const [n, s] of stored.lines) lastHash.set(n, s.lastHash)
  // The copied lines of a forked rollout stand for the parent's lines: a fork at one starts
  // from the parent's entry (read when first needed).
  let copies: Map<number, string> | undefined
  const copyOf = async (n: number): Promise<string | undefined> => {
    if (!copyHashes) return undefined
    copies ??= await copyHashes()
    return copies.get(n)
  }
  const resolve = async (at: ForkPoint): Promise<string> => {
    const h = 'line' in at ? ((await copyOf(at.line)) ?? lastHash.get(at.line)) : stored.genesis.get(at.genesisOf)
    if (h === undefined) throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `import: no entry for the fork point ${JSON.stringify(at)}`, { at })
    return h
  }
  const tryResolve = (at: ForkPoint): string | undefined => ('line' in at ? lastHash.get(at.line) : stored.genesis.get(at.genesisOf))
  for (const step of steps) {
    if (step.op === 'create') {
      if (stored.heads.has(step.session)) continue
      const c = step.create
      let res: { sessionId: string; head: string }
      if (c.kind === 'root') {
        let config = c.config
        const spawnedAt = c.spawnAt !== undefined ? tryResolve(c.spawnAt) : undefined
        if (spawnedAt !== undefined) config = { ...config, import: { ...(config.import as object), spawnedAt } }
        res = await store.createSession({ sessionId: step.session, ts: c.ts, config })
      }
      else if (c.kind === 'fork') res = await store.forkAt(await resolve(c.at), { sessionId: step.session, ts: c.ts })
      else res = await store.compact(c.source, { sessionId: step.session, ts: c.ts, history: c.history, ...(c.summary !== undefined ? { summary: c.summary } : {}), details: c.details })
      stored.heads.set(step.session, res.head)
      stored.genesis.set(step.session, res.head)
      known.add(step.session)
      report.sessionsCreated.push(step.session)
      continue
    }
    const fresh = step.lines.filter((l) => !stored.lines.has(l.n))
    if (fresh.length === 0) continue
    const entries: EntryInput[] = []
    const lastIndex: number[] = []
    // A forked rollout's main session says what it is (its genesis, a fork, has no config).
    if (step.config !== undefined && fresh[0] === step.lines[0]) entries.push({ kind: 'config_changed', ts: fresh[0]!.ts, config: step.config })
    for (const l of fresh) {
      // Each record carries the chain of the file's line hashes up to it: a later import tells
      // an unchanged file from the last record of each session alone.
      entries.push(...lineEntries(ns, { ...l, record: { ...l.record, chain: chains[l.n - 1]! } }, stored.usageKeys))
      lastIndex.push(entries.length - 1)
    }
    const head = stored.heads.get(step.session)!
    const res = await store.appendMany(step.session, entries, { expectedHead: head })
    stored.heads.set(step.session, res.head)
    for (const [i, l] of fresh.entries()) {
      lastHash.set(l.n, res.entries[lastIndex[i]!]!.hash)
      stored.lines.set(l.n, { session: step.session, record: l.record, recordHash: '', lastHash: lastHash.get(l.n)! })
    }
    report.entriesAppended += entries.length
    fr.linesImported += fresh.length
    fr.status = 'imported'
    progress(fr.linesImported)
    if (!report.sessionsCreated.includes(step.session) && !report.sessionsExtended.includes(step.session)) report.sessionsExtended.push(step.session)
  }
}

/** A line's entries: [turn_end], its `line` record, [its item], [its usage]. */
function lineEntries(ns: string, l: PlannedLine, usageKeys: Set<string>): EntryInput[] {
  const out: EntryInput[] = []
  const ts = l.ts
  if (l.turnEnd !== undefined) out.push({ kind: 'turn_end', ts, turn: l.turnEnd })
  const record = { ...l.record }
  const withUsage = l.usage !== undefined && (l.usageKey === undefined || !usageKeys.has(l.usageKey))
  if (!withUsage) delete record.usageKey
  out.push({ kind: 'custom', ts, namespace: ns, type: 'line', data: record })
  if (l.item) {
    if (l.item.kind === 'user_input') out.push({ kind: 'user_input', ts, item: l.item.value })
    else out.push({ kind: l.item.kind, ts, items: [l.item.value] })
  }
  if (withUsage) {
    out.push({ kind: 'llm_usage', ts, ...l.usage! })
    if (l.usageKey !== undefined) usageKeys.add(l.usageKey)
  }
  return out
}

/** State shared by the files of one import call. */
interface RunContext {
  /** By parent main session id: the subagents its lines name, and the line that spawned each. */
  spawns: Map<string, Map<string, Spawn>>
}

interface Spawn {
  session: string
  line: number
  hash: string
}

/** Claude Code keeps subagent runs in `<session>/subagents/agent-<id>.jsonl`. */
const isSubagentPath = (f: string): boolean => /(^|[\\/])subagents[\\/][^\\/]+$/.test(f)

/**
 * `config.import` fields linking a subagent file's session to its parent: `parent` (the session
 * holding the line that spawned it, else the parent file's main id) and, when that line is in
 * the store, `spawnLine` (its line number in the parent's file) and `spawnedAt` (its last entry).
 */
async function subagentLink(store: ChainlogStore, format: TranscriptFormat, mapped: MappedFile, known: Set<string>, run: RunContext): Promise<Record<string, unknown>> {
  const parentMain = mainSessionIdOf(format, { ...mapped, agentId: undefined })
  const out: Record<string, unknown> = { parent: parentMain }
  if (!known.has(parentMain)) return out
  let index = run.spawns.get(parentMain)
  if (!index) {
    index = spawnIndex(await readStoredFile(store, parentMain, format, { known, items: false }))
    run.spawns.set(parentMain, index)
  }
  const s = index.get(mapped.agentId!)
  if (s) Object.assign(out, { parent: s.session, spawnLine: s.line, spawnedAt: s.hash })
  return out
}

/**
 * The subagents a Claude Code file's lines name, each with the line that spawned it: lines
 * naming an agent are its `agent_progress` lines (`data.agentId`, `parentToolUseID`) and the
 * Task result (`toolUseResult.agentId`, its `tool_result` block's `tool_use_id`,
 * `sourceToolAssistantUUID`); the spawning line is the assistant line with that `tool_use`.
 */
function spawnIndex(stored: StoredFile): Map<string, Spawn> {
  const lines = [...stored.lines.values()].sort((a, b) => a.record.n - b.record.n)
  const byToolUse = new Map<string, StoredLine>()
  const byUuid = new Map<string, StoredLine>()
  for (const s of lines) {
    const env = s.record.line
    if (isObject(env) && typeof env.uuid === 'string') byUuid.set(env.uuid, s)
    const item = s.item
    if (isObject(item) && item.role === 'assistant' && Array.isArray(item.content)) {
      for (const b of item.content) if (isObject(b) && b.type === 'tool_use' && typeof b.id === 'string') byToolUse.set(b.id, s)
    }
  }
  const out = new Map<string, Spawn>()
  for (const s of lines) {
    const env = s.record.line
    if (!isObject(env)) continue
    let agent: string | undefined
    let toolUse: unknown
    let assistant: unknown
    if (isObject(env.data) && typeof env.data.agentId === 'string') {
      agent = env.data.agentId
      toolUse = env.parentToolUseID
    } else if (isObject(env.toolUseResult) && typeof env.toolUseResult.agentId === 'string') {
      agent = env.toolUseResult.agentId
      const item = s.item
      const block = isObject(item) && Array.isArray(item.content) ? item.content.find((b) => isObject(b) && b.type === 'tool_result') : undefined
      toolUse = isObject(block) ? block.tool_use_id : undefined
      assistant = env.sourceToolAssistantUUID
    }
    if (agent === undefined || out.has(agent)) continue
    const spawner = (typeof toolUse === 'string' ? byToolUse.get(toolUse) : undefined) ?? (typeof assistant === 'string' ? byUuid.get(assistant) : undefined)
    if (spawner) out.set(agent, { session: spawner.session, line: spawner.record.n, hash: spawner.lastHash })
  }
  return out
}

interface ForkImport {
  copy?: CopyPlan
  /** Child line -> the parent's entry its copy stands for (the parent's stored file, read when needed). */
  hashes?: () => Promise<Map<number, string>>
  report: FileFork
}

/**
 * A Codex rollout with `forked_from_id`: Codex writes the fork as a new rollout that starts
 * with its own `session_meta`, then the parent's lines again (each with a new timestamp). When
 * the parent's rollout is in the store, those copies become records naming the parent's lines
 * and the main session a chainlog fork after the last one; else the rollout is imported whole.
 * `wait`: the parent is not in the store yet and a later file of this call may be it.
 */
async function codexFork(
  store: ChainlogStore,
  mainId: string,
  lines: readonly SourceLine[],
  mapped: MappedFile,
  stored: StoredFile,
  known: Set<string>,
  mayDefer: boolean,
): Promise<ForkImport | 'wait' | undefined> {
  const src = mapped.config.forkedFromSourceSession
  if (typeof src !== 'string') return undefined
  const parentMain = `codex:${safeId(src)}`
  const hashesOf = (refs: Map<number, NonNullable<LineRecord['copy']>>) => async () => {
    const parent = await readStoredFile(store, parentMain, 'codex', { known, items: false })
    const out = new Map<number, string>()
    for (const [n, ref] of refs) {
      const h = parent.lines.get(ref.n)?.lastHash
      if (h !== undefined) out.set(n, h)
    }
    return out
  }
  const forked = (refs: Map<number, NonNullable<LineRecord['copy']>>, last: number): ForkImport => ({
    copy: { last, refs },
    hashes: hashesOf(refs),
    report: { from: parentMain, status: 'forked', line: refs.get(last)!.n },
  })
  const whole = (reason: string): ForkImport => ({ report: { from: parentMain, status: 'whole', reason } })
  if (stored.heads.has(mainId)) {
    // Imported before: as it was then.
    const refs = new Map<number, NonNullable<LineRecord['copy']>>()
    let last = 0
    for (const [n, s] of stored.lines) {
      if (s.record.copy === undefined) continue
      refs.set(n, s.record.copy)
      last = Math.max(last, n)
    }
    return refs.size > 0 ? forked(refs, last) : whole('imported whole before (its parent was not in the store then)')
  }
  if (!known.has(parentMain)) return mayDefer ? 'wait' : whole(`its parent session ${parentMain} is not in the store`)
  const parent = await regenerateTranscript(store, parentMain, 'codex')
  const refs = new Map<number, NonNullable<LineRecord['copy']>>()
  let last = 0
  // Line 1 is the fork's own session_meta; line i + 1 copies the parent's line i while the bytes
  // are exactly the parent's line with the new timestamp.
  for (let i = 1; i < lines.length && i <= parent.length; i++) {
    const cl = lines[i]!
    const pl = parent[i - 1]!
    if (pl.n !== i || !cl.parsed || !isObject(cl.value) || !('timestamp' in cl.value)) break
    const r = restamp(pl, cl.value.timestamp)
    if ((r.text ?? JSON.stringify(r.value)) !== cl.text) break
    refs.set(cl.n, { session: parentMain, n: pl.n, timestamp: cl.value.timestamp })
    last = cl.n
  }
  return refs.size > 0 ? forked(refs, last) : whole(`its lines after the session_meta are not a copy of the lines of ${parentMain}`)
}

/**
 * For each line, the chain of the file's line hashes up to it: c(n) = sha256(C(n-1) ‖ h(n)),
 * C(0) empty, over the 32-byte hashes, each kept as its first 16 bytes (C(n) the whole digest
 * chains on). Equal chains at line n: lines 1..n unchanged.
 */
export function chainOf(lines: readonly SourceLine[]): Uint8Array[] {
  const out: Uint8Array[] = []
  let prev = Buffer.alloc(0)
  for (const l of lines) {
    prev = createHash('sha256').update(prev).update(l.sha256, 'hex').digest()
    // 16 bytes: enough to tell a changed file (a second preimage of 2^128), 24 bytes a line stored.
    out.push(new Uint8Array(prev.subarray(0, CHAIN_BYTES)))
  }
  return out
}

const CHAIN_BYTES = 16

const sameBytes = (a: Uint8Array | undefined, b: unknown): boolean =>
  a !== undefined && b instanceof Uint8Array && a.length === b.length && a.every((x, i) => x === b[i])

/**
 * Whether a file was imported whole before and has not changed since (no line added, changed or
 * gone), from the first two entries of its main session and the last `line` record of each of
 * its sessions: a few entries read, whatever the file's length. Undefined: the full comparison
 * decides (a new or grown file, records written before chains were recorded, ...).
 */
async function unchangedFile(
  store: ChainlogStore,
  format: TranscriptFormat,
  mainId: string,
  name: string,
  lines: readonly SourceLine[],
  chains: readonly Uint8Array[],
  known: Set<string>,
): Promise<{ mainId: string; fork?: FileFork } | undefined> {
  const ns = importNamespace(format)
  for (const id of [mainId, `${mainId}@${sha8(name)}`]) {
    if (!known.has(id)) continue
    // The file a main session was made from: its genesis config, or (a forked rollout) the config_changed after it.
    let imp: Record<string, unknown> | undefined
    let forkedAt: unknown
    for await (const e of store.entries(id, { to: 1, resolveBlobs: false })) {
      const config = e.entry.kind === 'session_start' ? e.entry.config : e.entry.kind === 'config_changed' ? e.entry.config : undefined
      const i = isObject(config) && isObject(config.import) ? config.import : undefined
      if (i && typeof i.file === 'string') {
        imp = i
        forkedAt = i.forkedAt
      }
    }
    if (imp?.file !== name) continue
    let last: LineRecord | undefined
    for (const s of await sessionsOf(store, id, known)) {
      for await (const e of store.entries(s, { reverse: true, resolveBlobs: false })) {
        const entry = e.entry
        if (entry.kind === 'session_start') break
        if (entry.kind === 'custom' && entry.namespace === ns && entry.type === 'line') {
          const r = entry.data as LineRecord
          if (!last || r.n > last.n) last = r
          break
        }
      }
    }
    if (!last || last.n !== lines.length || !sameBytes(chains[last.n - 1], last.chain)) return undefined
    let fork: FileFork | undefined
    if (isObject(forkedAt) && typeof forkedAt.session === 'string' && typeof forkedAt.line === 'number') fork = { from: forkedAt.session, status: 'forked', line: forkedAt.line }
    else if (format === 'codex' && typeof imp.forkedFromSourceSession === 'string') {
      fork = { from: `codex:${safeId(imp.forkedFromSourceSession)}`, status: 'whole', reason: 'imported whole before (its parent was not in the store then)' }
    }
    return { mainId: id, ...(fork ? { fork } : {}) }
  }
  return undefined
}
