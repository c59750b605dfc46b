// One store, many processes. LevelDB admits one process per directory, so the first process to
// open a store holds it and serves the others over a local socket; they forward every call to
// it. All writes therefore run in one process, where compare-and-set heads, idempotent retries,
// per-session ordering, leases and group commit already hold. When the holder goes away, the
// next caller takes the store over and the rest reconnect (docs/concurrency.md).
import { createHash } from 'node:crypto'
import { rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { resolve as resolvePath, join } from 'node:path'
import { Writable } from 'node:stream'
import { ChainlogError, ErrorCodes, isChainlogError } from '../errors.js'
import type { ItemClass } from '../schema/classify.js'
import { classifyItem } from '../schema/classify.js'
import type { StoredEntry, StoreOptions, TurnOptions } from '../storage/session-store.js'
import { checkTurnCheckpointOptions, type Store } from '../store.js'
import type { SignerKey } from '../proofs/note.js'
import type { ProveOptions, TreeHead } from '../storage/tree-api.js'
import type { WireTurnResult } from '../storage/turn-checkpoints.js'
import { turnHeadsRequested } from '../storage/turn-heads.js'
import type { BundleVerifyOptions, ExportOptions } from '../bundle/bundle.js'
import { syncRequested } from '../storage/engine.js'
import { encodeFrame, errorFromWire, errorToWire, isControl, onFrames, type Request, type Response } from './protocol.js'

/** Methods a sharing process may call on the holder, forwarded as they are. */
const FORWARDED = [
  'createSession',
  'append',
  'appendMany',
  'appendTurnEnd',
  'appendUsage',
  'changeConfig',
  'recordOutcome',
  'lockCache',
  'unlockCache',
  'appendCustom',
  'restore',
  'listSessions',
  'head',
  'getEntry',
  'resolveHash',
  'forkAt',
  'compact',
  'lineage',
  'deleteSession',
  'ensureHeadOrFork',
  'verify',
  'gc',
  'usage',
  'usageBySession',
  'figures',
  'claimSession',
  'renewLease',
  'releaseLease',
  'locate',
  'readHead',
  'readMeta',
  'readIndex',
  'scanIndex',
  'entriesAt',
  'treeHead',
  'checkpoint',
  'prove',
  'proveConsistency',
] as const

/** Forwarded calls that append: with checkpointOnTurnEnd, they ask the holder for tree heads. */
const APPENDS = new Set<string>(['append', 'appendMany', 'appendTurn', 'appendTurnEnd', 'appendUsage', 'changeConfig', 'recordOutcome', 'lockCache', 'unlockCache', 'appendCustom'])

/** The proof formats, loaded on the first checkpoint or proof (not with the store). */
const treeApi = () => import('../storage/tree-api.js')

type Forwarded = (typeof FORWARDED)[number]
type StoreMethods = { [K in Forwarded]: Store[K] }

/** Where the holder listens: a socket in the store directory, or a named pipe on Windows. */
export function socketPathFor(dir: string): string {
  const abs = resolvePath(dir)
  const id = createHash('sha256').update(abs).digest('hex').slice(0, 16)
  if (process.platform === 'win32') return `\\\\.\\pipe\\chainlog-${id}`
  const inDir = join(abs, 'chainlog.sock')
  // Unix socket paths are limited to ~107 bytes.
  return Buffer.byteLength(inDir) < 100 ? inDir : join(tmpdir(), `chainlog-${id}.sock`)
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Entries per `entriesPage` call. */
const PAGE = 512

// ---- the holder's side --------------------------------------------------------------------

async function serve(store: Store, req: Request): Promise<unknown> {
  const { method, args } = req
  if ((FORWARDED as readonly string[]).includes(method)) {
    if (method === 'verify' && args[0] && typeof args[0] === 'object') delete (args[0] as { onProgress?: unknown }).onProgress
    return (store[method as Forwarded] as (...a: unknown[]) => Promise<unknown>).apply(store, args)
  }
  switch (method) {
    case 'ping':
      return 'pong'
    case 'appendTurn': {
      // The caller classified its items (classifiers are functions and do not travel).
      const [sessionId, items, options, classes] = args as [string, unknown[], TurnOptions, ItemClass[]]
      let i = 0
      return store.appendTurn(sessionId, items, { ...options, classify: () => classes[i++] ?? 'other' })
    }
    case 'entriesPage': {
      const [sessionId, options, limit] = args as [string, Parameters<Store['entries']>[1], number]
      const out: StoredEntry[] = []
      for await (const e of store.entries(sessionId, options)) {
        out.push(e)
        if (out.length >= limit) break
      }
      return out
    }
    case 'exportBytes': {
      const [sessionId, options] = args as [string, { format?: 'bundle' | 'jsonl'; signingKey?: string }]
      const chunks: Buffer[] = []
      const sink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          chunks.push(Buffer.from(chunk))
          cb()
        },
      })
      const result = await store.exportSession(sessionId, sink, options)
      return { result, bytes: Buffer.concat(chunks) }
    }
    case 'exportFile': {
      const [sessionId, path, options] = args as [string, string, { format?: 'bundle' | 'jsonl'; signingKey?: string }]
      return store.exportSession(sessionId, path, options)
    }
    case 'importBundle':
      return store.importBundle(args[0] as Uint8Array | string, args[1] as BundleVerifyOptions | undefined)
    // The unsigned parts of proofs, for a sharing process that signs with its own key.
    case 'inclusionParts':
      return (await treeApi()).inclusionParts(store, args[0] as string, (args[1] ?? {}) as ProveOptions)
    case 'consistencyParts':
      return (await treeApi()).consistencyParts(store, args[0] as string, args[1] as number, args[2] as number | undefined)
    default:
      throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, `unknown method ${method}`, { method })
  }
}

/** What the holder knows about one sharing process's connection. */
interface Peer {
  /** Requests read and not answered yet. */
  inFlight: number
  /** The peer answered `closing` with `drained`: it sends nothing more. */
  drained: boolean
}

/** How long a closing holder waits for its peers to drain before it cuts them off. */
const DRAIN_TIMEOUT_MS = 5_000

class Host {
  readonly sockets = new Map<net.Socket, Peer>()
  #closing = false
  #onSettle: (() => void) | undefined

  constructor(
    readonly server: net.Server,
    readonly path: string,
  ) {}

  static async start(store: Store, path: string): Promise<Host> {
    // Sharing processes with checkpointOnTurnEnd ask this one for tree heads on turn_end.
    await store.serveTurnHeads()
    // We hold the LevelDB lock, so a socket file left here is from a holder that died.
    if (process.platform !== 'win32') rmSync(path, { force: true })
    const server = net.createServer()
    const host = new Host(server, path)
    server.on('connection', (socket) => {
      const peer: Peer = { inFlight: 0, drained: false }
      host.sockets.set(socket, peer)
      // Sharing processes do not keep the holder alive; when it exits they take over.
      socket.unref()
      socket.on('close', () => {
        host.sockets.delete(socket)
        host.#settle()
      })
      socket.on('error', () => socket.destroy())
      // Accepted while closing: hand over like the others.
      if (host.#closing) socket.write(encodeFrame({ control: 'closing' }))
      onFrames(socket, (f) => {
        if (isControl(f)) {
          if (f.control === 'drained') {
            peer.drained = true
            host.#settle()
          }
          return
        }
        const req = f as Request
        peer.inFlight++
        syncRequested.run(req.sync === true, () => (req.turnHeads === true ? turnHeadsRequested.run(true, () => serve(store, req)) : serve(store, req)))
          .then(
            (value) => reply(socket, { id: req.id, ok: true, value }),
            (err) => reply(socket, { id: req.id, ok: false, error: errorToWire(err) }),
          )
          .finally(() => {
            peer.inFlight--
            host.#settle()
          })
      })
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(path, () => {
        server.off('error', reject)
        resolve()
      })
    })
    server.unref()
    return host
  }

  #settle(): void {
    if (!this.#closing || !this.#onSettle) return
    for (const [socket, peer] of this.sockets) {
      if (!socket.destroyed && !(peer.drained && peer.inFlight === 0)) return
    }
    this.#onSettle()
  }

  /**
   * Stop serving. Peers are told the store is closing; requests they sent before they heard it
   * are still answered, so a clean close fails no call (only a holder that dies does).
   */
  async stop(): Promise<void> {
    this.#closing = true
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    let timer: NodeJS.Timeout | undefined
    await new Promise<void>((resolve) => {
      this.#onSettle = resolve
      timer = setTimeout(resolve, DRAIN_TIMEOUT_MS)
      for (const socket of this.sockets.keys()) if (!socket.destroyed) socket.write(encodeFrame({ control: 'closing' }))
      this.#settle()
    })
    clearTimeout(timer)
    for (const s of this.sockets.keys()) s.destroy()
    await closed
  }
}

function reply(socket: net.Socket, res: Response): void {
  if (socket.destroyed) return
  try {
    socket.write(encodeFrame(res))
  } catch (err) {
    socket.write(encodeFrame({ id: res.id, ok: false, error: errorToWire(err) }))
  }
}

// ---- the sharing side ---------------------------------------------------------------------

/** How long a holder may stay silent while a call waits before it counts as unresponsive. */
export const DEFAULT_LIVENESS_TIMEOUT_MS = 10_000

/** Deadlines of calls through the socket (SharedStoreOptions). */
export interface CallTiming {
  livenessTimeoutMs: number
  callTimeoutMs: number | undefined
}

interface PendingCall {
  resolve: (v: unknown) => void
  reject: (e: unknown) => void
  method: string
  deadline: NodeJS.Timeout | undefined
}

class Connection {
  #next = 1
  #pending = new Map<number, PendingCall>()
  closed = false
  /** The holder is closing: send nothing more here (calls already sent are still answered). */
  closing = false
  /** When the holder last sent us anything (any frame proves its event loop runs). */
  #lastHeard = Date.now()
  #pinged = false
  #probe: NodeJS.Timeout | undefined
  /** Why the connection was cut, for the errors of the calls it fails. */
  #cutReason: string | undefined

  constructor(
    readonly socket: net.Socket,
    onClose: (conn: Connection) => void,
    onClosing: (conn: Connection) => void,
    readonly timing: CallTiming = { livenessTimeoutMs: DEFAULT_LIVENESS_TIMEOUT_MS, callTimeoutMs: undefined },
  ) {
    onFrames(socket, (f) => {
      this.#lastHeard = Date.now()
      this.#pinged = false
      if (isControl(f)) {
        if (f.control === 'closing' && !this.closing) {
          this.closing = true
          socket.write(encodeFrame({ control: 'drained' }))
          onClosing(this)
        }
        return
      }
      const res = f as Response
      const p = this.#pending.get(res.id)
      // Not pending: the answer to a liveness ping, or to a call whose deadline passed.
      if (!p) return
      this.#pending.delete(res.id)
      clearTimeout(p.deadline)
      if (res.ok) p.resolve(res.value)
      else p.reject(errorFromWire(res.error))
    })
    socket.on('error', () => socket.destroy())
    socket.on('close', () => {
      this.closed = true
      clearTimeout(this.#probe)
      for (const [, p] of this.#pending) {
        clearTimeout(p.deadline)
        p.reject(this.#cutReason ? unavailable(p.method, 'unresponsive', this.#cutReason) : unavailable(p.method))
      }
      this.#pending.clear()
      onClose(this)
    })
  }

  static connect(path: string, onClose: (conn: Connection) => void, onClosing: (conn: Connection) => void, timing?: CallTiming): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(path)
      socket.once('error', reject)
      socket.once('connect', () => {
        socket.off('error', reject)
        socket.unref()
        resolve(new Connection(socket, onClose, onClosing, timing))
      })
    })
  }

  /**
   * Liveness: while calls wait, the holder must send something at least every
   * livenessTimeoutMs. After a quarter of that in silence we ping it (the holder answers pings
   * from its event loop, whatever calls it is still working on); a holder that stays silent for
   * the whole timeout is cut off, and the calls fail with the retryable HOST_UNAVAILABLE.
   */
  #armProbe(): void {
    if (this.#probe || this.closed || this.#pending.size === 0) return
    const step = Math.max(1, Math.floor(this.timing.livenessTimeoutMs / 4))
    this.#probe = setTimeout(() => {
      this.#probe = undefined
      if (this.closed || this.#pending.size === 0) return
      const silent = Date.now() - this.#lastHeard
      if (silent >= this.timing.livenessTimeoutMs) {
        // Our own event loop may have been the slow one: let frames already received be read
        // (the poll phase runs before setImmediate) before deciding.
        setImmediate(() => {
          if (this.closed || this.#pending.size === 0) return
          if (Date.now() - this.#lastHeard < this.timing.livenessTimeoutMs) return this.#armProbe()
          this.#cutReason = `the process holding the store did not answer for ${Date.now() - this.#lastHeard} ms`
          this.socket.destroy()
        })
        return
      }
      if (silent >= step && !this.#pinged) {
        this.#pinged = true
        this.socket.write(encodeFrame({ id: this.#next++, method: 'ping', args: [] }))
      }
      this.#armProbe()
    }, step)
    this.#probe.unref()
  }

  /** Usable for a new call. */
  get open(): boolean {
    return !this.closed && !this.closing
  }

  request(method: string, args: unknown[], sync: boolean, turnHeads = false): Promise<unknown> {
    if (!this.open) return Promise.reject(unavailable(method))
    const id = this.#next++
    return new Promise((resolve, reject) => {
      let deadline: NodeJS.Timeout | undefined
      const ms = this.timing.callTimeoutMs
      if (ms !== undefined && ms > 0) {
        deadline = setTimeout(() => {
          if (!this.#pending.delete(id)) return
          reject(unavailable(method, 'deadline', `no answer to ${method} within callTimeoutMs (${ms} ms)`))
        }, ms)
        deadline.unref()
      }
      if (this.#pending.size === 0) this.#lastHeard = Date.now()
      this.#pending.set(id, { resolve, reject, method, deadline })
      // Keep the process alive while a call is in flight, not while idle.
      this.socket.ref()
      const req: Request = sync ? { id, method, args, sync } : { id, method, args }
      if (turnHeads) req.turnHeads = true
      this.socket.write(encodeFrame(req))
      this.#armProbe()
    }).finally(() => {
      if (this.#pending.size === 0) this.socket.unref()
    })
  }

  close(): void {
    this.socket.end()
    this.socket.destroy()
  }
}

/** Why a call through the socket failed: the holder went away, stopped answering, or ran past the deadline. */
export type UnavailableReason = 'gone' | 'unresponsive' | 'deadline'

function unavailable(method: string, reason: UnavailableReason = 'gone', why?: string): ChainlogError {
  const message = why ? `${why} during ${method}; retry` : `the process holding the store went away during ${method}; retry`
  return new ChainlogError(ErrorCodes.HOST_UNAVAILABLE, message, { retryable: true, method, reason })
}

export interface SharedStoreOptions extends StoreOptions {
  path: string
  /** How long to keep trying to reach or take over the store before giving up (default 10 s). */
  connectTimeoutMs?: number
  /**
   * While a call waits on the process holding the store, that process must answer (a call or a
   * ping) within this many ms, else the call fails with the retryable CHAINLOG_HOST_UNAVAILABLE
   * (`reason: 'unresponsive'`). Default 10 s.
   */
  livenessTimeoutMs?: number
  /**
   * A deadline for each call through the socket, however alive the holder is: past it the call
   * fails with CHAINLOG_HOST_UNAVAILABLE (`reason: 'deadline'`; it may still land, so retry with
   * the same expectedHead). Default: none (a verify of a large store may take minutes).
   */
  callTimeoutMs?: number
}

/**
 * A store opened by path: holds the store itself, or shares it through the process that does.
 * Has the same API as Store for everything but direct database access.
 */
export class SharedStore implements StoreMethods {
  readonly path: string
  readonly socketPath: string
  #options: SharedStoreOptions
  #local: Store | undefined
  #host: Host | undefined
  #conn: Connection | undefined
  #establishing: Promise<void> | undefined
  #closed = false
  #openLocal: (options: StoreOptions) => Promise<Store>
  /** This process's signing key: checkpoints and proofs it asks for are signed with it, here. */
  #signer: SignerKey | undefined

  private constructor(options: SharedStoreOptions, openLocal: (options: StoreOptions) => Promise<Store>) {
    this.path = resolvePath(options.path)
    this.socketPath = socketPathFor(this.path)
    this.#options = { ...options, path: this.path }
    this.#openLocal = openLocal
  }

  static async open(options: SharedStoreOptions, openLocal: (options: StoreOptions) => Promise<Store>): Promise<SharedStore> {
    checkTurnCheckpointOptions(options)
    const s = new SharedStore(options, openLocal)
    if (options.signingKey !== undefined) {
      // Refused here, as Store.open refuses it, whether this process ends up holding the store or not.
      const { SIG_ED25519, toSignerKey } = await import('../proofs/note.js')
      const key = toSignerKey(options.signingKey)
      if (key.type !== SIG_ED25519) throw new ChainlogError(ErrorCodes.INVALID_KEY, 'the signing key must be an Ed25519 (type 0x01) log key, not a witness key', { name: key.name })
      s.#signer = key
    }
    await s.#establish()
    return s
  }

  /** True while this process holds the store (and serves the others). */
  get isHost(): boolean {
    return this.#local !== undefined
  }

  /** The local Store while this process holds it. */
  get local(): Store | undefined {
    return this.#local
  }

  #establish(): Promise<void> {
    this.#establishing ??= this.#doEstablish().finally(() => {
      this.#establishing = undefined
    })
    return this.#establishing
  }

  async #doEstablish(): Promise<void> {
    const deadline = Date.now() + (this.#options.connectTimeoutMs ?? 10_000)
    let lastLocked: unknown
    for (let attempt = 0; ; attempt++) {
      if (this.#closed) throw new ChainlogError(ErrorCodes.STORE_CLOSED, 'the store is closed')
      try {
        const { connectTimeoutMs: _t, livenessTimeoutMs: _l, callTimeoutMs: _c, ...storeOptions } = this.#options
        const local = await this.#openLocal(storeOptions)
        try {
          this.#host = await Host.start(local, this.socketPath)
        } catch (err) {
          await local.close()
          throw err
        }
        this.#local = local
        return
      } catch (err) {
        if (!isChainlogError(err, ErrorCodes.STORE_LOCKED)) throw err
        lastLocked = err
      }
      try {
        this.#conn = await Connection.connect(
          this.socketPath,
          (conn) => this.#onDisconnect(conn),
          (conn) => this.#onDisconnect(conn),
          { livenessTimeoutMs: this.#options.livenessTimeoutMs ?? DEFAULT_LIVENESS_TIMEOUT_MS, callTimeoutMs: this.#options.callTimeoutMs },
        )
        return
      } catch {
        // The holder is starting up or shutting down: try again shortly.
      }
      if (Date.now() > deadline) {
        throw new ChainlogError(ErrorCodes.STORE_LOCKED, `store ${this.path} is held by a process that does not answer on ${this.socketPath}`, { path: this.path }, { cause: lastLocked })
      }
      await sleep(Math.min(10 + attempt * 10, 100))
    }
  }

  /** The holder is closing or gone: stop using `conn` and take over or reconnect. */
  #onDisconnect(conn: Connection): void {
    // A connection that was already replaced must not drop its successor.
    if (this.#conn !== conn) return
    this.#conn = undefined
    if (!this.#closed) this.#establish().catch(() => undefined)
  }

  async #call(method: string, args: unknown[]): Promise<unknown> {
    for (;;) {
      if (this.#closed) throw new ChainlogError(ErrorCodes.STORE_CLOSED, 'the store is closed')
      if (this.#local) {
        if (method === 'appendTurn') {
          const [sessionId, items, options, classes] = args as [string, unknown[], TurnOptions, ItemClass[]]
          let i = 0
          return this.#local.appendTurn(sessionId, items, { ...options, classify: () => classes[i++] ?? 'other' })
        }
        return serve(this.#local, { id: 0, method, args })
      }
      // A connection whose holder is closing takes no new calls: wait for the next holder.
      // The holder fsyncs this call's writes if this process asked for `sync` (the default),
      // whatever durability the holder itself was opened with.
      if (this.#conn?.open) {
        const sync = (this.#options.durability ?? 'sync') === 'sync'
        if (this.#options.checkpointOnTurnEnd === true && APPENDS.has(method)) return this.#signTurn(await this.#conn.request(method, args, sync, true))
        return this.#conn.request(method, args, sync)
      }
      await this.#establish()
    }
  }

  /** An append result from the holder: sign the tree head it carries (a turn_end was appended) with this process's key. */
  async #signTurn(value: unknown): Promise<unknown> {
    const r = value as WireTurnResult & { seq?: number }
    if (!r || typeof r !== 'object' || r.turnHead === undefined) return value
    const { turnHead, ...rest } = r
    const { signCheckpoint } = await import('../proofs/checkpoint.js')
    const checkpoint = signCheckpoint(turnHead, this.#signer!)
    const { tell } = await import('../storage/turn-checkpoints.js')
    tell(this.#options.onCheckpoint, { sessionId: turnHead.sessionId, size: turnHead.size, checkpoint })
    return { ...rest, checkpoint }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#establishing?.catch(() => undefined)
    if (this.#conn) this.#conn.close()
    this.#conn = undefined
    if (this.#host) await this.#host.stop()
    this.#host = undefined
    const local = this.#local
    // Closed, this process no longer holds the store (isHost is false from here on).
    this.#local = undefined
    if (local) {
      // Remove the socket while we still hold LevelDB: after that, it may be a new holder's.
      if (process.platform !== 'win32') rmSync(this.socketPath, { force: true })
      await local.close()
    }
  }

  // ---- the API ----

  appendTurn(sessionId: string, items: readonly unknown[], options: TurnOptions = {}): ReturnType<Store['appendTurn']> {
    if (!Array.isArray(items)) return Promise.reject(new ChainlogError(ErrorCodes.INVALID_ARGUMENT, 'items must be an array', {}))
    const classify = options.classify ?? this.#options.classify ?? classifyItem
    const classes = items.map((it) => classify(it))
    const { classify: _c, ...rest } = options
    return this.#call('appendTurn', [sessionId, items, rest, classes]) as ReturnType<Store['appendTurn']>
  }

  async *entries(sessionId: string, options: Parameters<Store['entries']>[1] = {}): AsyncGenerator<StoredEntry> {
    const reverse = options.reverse ?? false
    let from = options.from
    let to = options.to
    let last: StoredEntry | undefined
    for (;;) {
      // Each page after the first starts again at the last entry of the one before, so the
      // holder checks the link across the page boundary too; that entry is not yielded twice.
      const page = (await this.#call('entriesPage', [sessionId, { ...options, from, to }, PAGE])) as StoredEntry[]
      let start = 0
      if (last) {
        if (page[0]?.hash !== last.hash) {
          throw new ChainlogError(ErrorCodes.CORRUPT_STORE, `session ${sessionId} changed at seq ${last.seq} while it was read; run verify`, { sessionId, seq: last.seq })
        }
        start = 1
      }
      for (let i = start; i < page.length; i++) yield page[i]!
      if (page.length < PAGE) return
      last = page[page.length - 1]!
      if (reverse) to = last.seq
      else from = last.seq
    }
  }

  async exportSession(sessionId: string, out: Writable | string, options: ExportOptions = {}): ReturnType<Store['exportSession']> {
    // In the holder: straight to the stream or file, with progress (nothing is buffered).
    if (this.#local && !this.#closed) return this.#local.exportSession(sessionId, typeof out === 'string' ? resolvePath(out) : out, options)
    const { onProgress: _p, ...given } = options
    // Signed with this process's key (it crosses to the holder as its text, as the CLI's --key does), else the holder's.
    const opts = given.signingKey === undefined && this.#options.signingKey !== undefined ? { ...given, signingKey: this.#options.signingKey } : given
    if (typeof out === 'string') return this.#call('exportFile', [sessionId, resolvePath(out), opts]) as ReturnType<Store['exportSession']>
    const { result, bytes } = (await this.#call('exportBytes', [sessionId, opts])) as { result: Awaited<ReturnType<Store['exportSession']>>; bytes: Uint8Array }
    await new Promise<void>((resolve, reject) => out.write(bytes, (err) => (err ? reject(err) : resolve())))
    return result
  }

  importBundle(input: Uint8Array | string, options?: BundleVerifyOptions): ReturnType<Store['importBundle']> {
    return this.#call('importBundle', [typeof input === 'string' ? resolvePath(input) : input, ...(options ? [options] : [])]) as ReturnType<Store['importBundle']>
  }

  createSession: Store['createSession'] = (...a) => this.#call('createSession', a) as never
  append: Store['append'] = (...a) => this.#call('append', a) as never
  appendMany: Store['appendMany'] = (...a) => this.#call('appendMany', a) as never
  appendTurnEnd: Store['appendTurnEnd'] = (...a) => this.#call('appendTurnEnd', a) as never
  appendUsage: Store['appendUsage'] = (...a) => this.#call('appendUsage', a) as never
  changeConfig: Store['changeConfig'] = (...a) => this.#call('changeConfig', a) as never
  recordOutcome: Store['recordOutcome'] = (...a) => this.#call('recordOutcome', a) as never
  lockCache: Store['lockCache'] = (...a) => this.#call('lockCache', a) as never
  unlockCache: Store['unlockCache'] = (...a) => this.#call('unlockCache', a) as never
  appendCustom: Store['appendCustom'] = (...a) => this.#call('appendCustom', a) as never
  restore: Store['restore'] = (...a) => this.#call('restore', a) as never
  listSessions: Store['listSessions'] = (...a) => this.#call('listSessions', a) as never
  head: Store['head'] = (...a) => this.#call('head', a) as never
  getEntry: Store['getEntry'] = (...a) => this.#call('getEntry', a) as never
  resolveHash: Store['resolveHash'] = (...a) => this.#call('resolveHash', a) as never
  forkAt: Store['forkAt'] = (...a) => this.#call('forkAt', a) as never
  compact: Store['compact'] = (...a) => this.#call('compact', a) as never
  lineage: Store['lineage'] = (...a) => this.#call('lineage', a) as never
  deleteSession: Store['deleteSession'] = (...a) => this.#call('deleteSession', a) as never
  ensureHeadOrFork: Store['ensureHeadOrFork'] = (...a) => this.#call('ensureHeadOrFork', a) as never
  verify: Store['verify'] = (options) => {
    // Progress callbacks run only where the store is held.
    if (this.#local) return this.#local.verify(options)
    const { onProgress: _p, ...rest } = options ?? {}
    return this.#call('verify', [rest]) as never
  }
  gc: Store['gc'] = (...a) => this.#call('gc', a) as never
  treeHead: Store['treeHead'] = (...a) => this.#call('treeHead', a) as never

  /**
   * A signed checkpoint (Store.checkpoint). Signed with this process's `signingKey` when it was
   * opened with one (the holder only reads the tree head); else the holder signs with its own.
   */
  async checkpoint(sessionId: string, options: { size?: number } = {}): Promise<string> {
    if (!this.#signer) return this.#call('checkpoint', [sessionId, options]) as Promise<string>
    const th = (await this.#call('treeHead', [sessionId, options])) as TreeHead
    const { signCheckpoint } = await import('../proofs/checkpoint.js')
    return signCheckpoint(th, this.#signer)
  }

  /** An inclusion proof file (Store.prove); signed as checkpoint() signs, unless `checkpoint` is given. */
  async prove(entryHashOrPrefix: string, options: ProveOptions = {}): Promise<string> {
    if (!this.#signer || options.checkpoint !== undefined) return this.#call('prove', [entryHashOrPrefix, options]) as Promise<string>
    const { formatInclusion } = await treeApi()
    return formatInclusion((await this.#call('inclusionParts', [entryHashOrPrefix, options])) as never, undefined, this.#signer)
  }

  /** A consistency file (Store.proveConsistency); signed as checkpoint() signs. */
  async proveConsistency(sessionId: string, oldSize: number, newSize?: number): Promise<string> {
    const args = newSize === undefined ? [sessionId, oldSize] : [sessionId, oldSize, newSize]
    if (!this.#signer) return this.#call('proveConsistency', args) as Promise<string>
    const { formatConsistency } = await treeApi()
    return formatConsistency((await this.#call('consistencyParts', args)) as never, this.#signer)
  }
  usage: Store['usage'] = (...a) => this.#call('usage', a) as never
  usageBySession: Store['usageBySession'] = (...a) => this.#call('usageBySession', a) as never
  figures: Store['figures'] = (...a) => this.#call('figures', a) as never
  claimSession: Store['claimSession'] = (...a) => this.#call('claimSession', a) as never
  renewLease: Store['renewLease'] = (...a) => this.#call('renewLease', a) as never
  releaseLease: Store['releaseLease'] = (...a) => this.#call('releaseLease', a) as never
  locate: Store['locate'] = (...a) => this.#call('locate', a) as never
  readHead: Store['readHead'] = (...a) => this.#call('readHead', a) as never
  readMeta: Store['readMeta'] = (...a) => this.#call('readMeta', a) as never
  readIndex: Store['readIndex'] = (...a) => this.#call('readIndex', a) as never
  scanIndex: Store['scanIndex'] = (...a) => this.#call('scanIndex', a) as never
  entriesAt: Store['entriesAt'] = (...a) => this.#call('entriesAt', a) as never
}
