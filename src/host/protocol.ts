// The wire protocol between a process that holds a store and the processes that share it:
// frames of a 4-byte big-endian length then a CBOR body (docs/concurrency.md).
// Request: { id, method, args, sync? }. Response: { id, ok: true, value } or { id, ok: false, error }.
// Bodies are encoded with chainlog's own encoder in its wire mode (format 2's profile plus
// undefined) and decoded like entries, so what crosses keeps its key order, -0, large integers
// and byte strings (cbor-x's encoder writes -0 as the integer 0).
import { decodeCbor, encodeWire } from '../encoding/cbor.js'
import { ChainlogError, type ErrorCode } from '../errors.js'

export const MAX_FRAME = 1 << 30

export interface Request {
  id: number
  method: string
  args: unknown[]
  /** The caller opened the store with durability `sync`: fsync what this call writes. */
  sync?: boolean
  /**
   * The caller signs checkpoints on turn_end (checkpointOnTurnEnd): an append result whose
   * entries include a turn_end carries `turnHead`, the unsigned tree head at the new size.
   */
  turnHeads?: boolean
}

export type Response = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: { code?: string; message: string; data?: unknown } }

/**
 * Hand-over on a clean close: the holder sends `closing`; the sharing process stops sending
 * requests on that connection and answers `drained`. Every request it sent before is ahead of
 * `drained` in the stream, so the holder answers them all before it lets the store go.
 */
export interface Control {
  control: 'closing' | 'drained'
}

export function isControl(body: unknown): body is Control {
  return typeof body === 'object' && body !== null && typeof (body as { control?: unknown }).control === 'string'
}

export function encodeFrame(body: Request | Response | Control): Buffer {
  const out = encodeWire(body, FRAME_HEAD) as Buffer
  out.writeUInt32BE(out.length - 4, 0)
  return out
}

const FRAME_HEAD = new Uint8Array(4)

/**
 * Call `handle` with each complete frame arriving on `socket`; a malformed or oversized frame
 * ends the connection.
 */
export function onFrames(socket: { on(event: 'data', fn: (chunk: Buffer) => void): unknown; destroy(): void }, handle: (frame: unknown) => void): void {
  const reader = new FrameReader()
  socket.on('data', (chunk: Buffer) => {
    let frames: unknown[]
    try {
      frames = reader.push(chunk)
    } catch {
      socket.destroy()
      return
    }
    for (const f of frames) handle(f)
  })
}

/** Accumulates socket data and yields complete frames. */
export class FrameReader {
  #buf: Buffer = Buffer.alloc(0)
  push(chunk: Buffer): unknown[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk])
    const out: unknown[] = []
    while (this.#buf.length >= 4) {
      const n = this.#buf.readUInt32BE(0)
      if (n > MAX_FRAME) throw new Error(`frame of ${n} bytes is too large`)
      if (this.#buf.length < 4 + n) break
      out.push(decodeCbor(this.#buf.subarray(4, 4 + n)))
      this.#buf = this.#buf.subarray(4 + n)
    }
    return out
  }
}

export function errorToWire(err: unknown): { code?: string; message: string; data?: unknown } {
  if (err instanceof ChainlogError) return { code: err.code, message: err.message, data: err.data }
  return { message: err instanceof Error ? err.message : String(err) }
}

export function errorFromWire(e: { code?: string; message: string; data?: unknown }): Error {
  if (e.code) return new ChainlogError(e.code as ErrorCode, e.message, (e.data as Record<string, unknown>) ?? {})
  return new Error(e.message)
}
