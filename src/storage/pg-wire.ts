// Array parameters in PostgreSQL's binary wire format (array_send/array_recv), built here because
// `pg` sends only a Buffer as a binary parameter and turns every other value into text: an array
// element by element through its escaping, a bytea as hex, which the server then parses back. For
// the engine's commit call (seven int4[] parameters) and its point reads (a bytea[] of keys) that
// was about a tenth of an append's client CPU (docs/scaling.md, section 7).
//
// The layout (PostgreSQL's src/backend/utils/adt/arrayfuncs.c, array_recv): int32 number of
// dimensions, int32 flags (0: no NULLs), int32 element type OID, then per dimension int32 length
// and int32 lower bound (1), then per element int32 byte length and the element's own binary form.
// An empty array has no dimensions. The server checks the element type against the parameter's.

const INT4_OID = 23
const BYTEA_OID = 17

function header(out: Buffer, n: number, oid: number): number {
  if (n === 0) {
    out.writeInt32BE(0, 0)
    out.writeInt32BE(0, 4)
    out.writeInt32BE(oid, 8)
    return 12
  }
  out.writeInt32BE(1, 0)
  out.writeInt32BE(0, 4)
  out.writeInt32BE(oid, 8)
  out.writeInt32BE(n, 12)
  out.writeInt32BE(1, 16)
  return 20
}

/** An int4[] parameter (each value a 32-bit signed integer). */
export function int4Array(values: readonly number[]): Buffer {
  const n = values.length
  const out = Buffer.allocUnsafe(n === 0 ? 12 : 20 + 8 * n)
  let o = header(out, n, INT4_OID)
  for (let i = 0; i < n; i++) {
    out.writeInt32BE(4, o)
    out.writeInt32BE(values[i]!, o + 4)
    o += 8
  }
  return out
}

/** A bytea[] parameter. */
export function byteaArray(values: readonly Uint8Array[]): Buffer {
  const n = values.length
  let size = n === 0 ? 12 : 20
  for (const v of values) size += 4 + v.length
  const out = Buffer.allocUnsafe(size)
  let o = header(out, n, BYTEA_OID)
  for (const v of values) {
    out.writeInt32BE(v.length, o)
    out.set(v, o + 4)
    o += 4 + v.length
  }
  return out
}
