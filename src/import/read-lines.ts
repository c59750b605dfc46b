// Splits a JSONL file into numbered lines with the SHA-256 of each line's bytes, and finds the
// files to import under a directory.
import { createHash } from 'node:crypto'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { ChainlogError, ErrorCodes } from '../errors.js'
import { DamageCodes, type Damage, type MappedLine, type SourceLine } from './types.js'

const NEWLINE = 0x0a

/**
 * The lines of a file. A last line without a newline that does not parse is left out (a write
 * in progress or a torn write) and reported; a later import picks it up once it is whole.
 */
export function splitLines(bytes: Uint8Array, file: string, damaged: Damage[]): SourceLine[] {
  const out: SourceLine[] = []
  let start = 0
  let n = 0
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  while (start < buf.length) {
    let end = buf.indexOf(NEWLINE, start)
    const terminated = end !== -1
    if (!terminated) end = buf.length
    n += 1
    const raw = buf.subarray(start, end)
    start = end + 1
    const text = raw.toString('utf8')
    const sha256 = createHash('sha256').update(raw).digest('hex')
    let value: unknown
    let parsed = false
    if (text.trim() !== '') {
      try {
        value = JSON.parse(text)
        parsed = true
      } catch {
        parsed = false
      }
    }
    if (!parsed && !terminated) {
      damaged.push({ file, line: n, code: DamageCodes.TORN_LAST_LINE, message: 'the last line is incomplete (no newline, not valid JSON); left for a later import' })
      break
    }
    if (!parsed && text.trim() !== '') {
      damaged.push({ file, line: n, code: DamageCodes.MALFORMED_LINE, message: 'not valid JSON; kept as raw text' })
    }
    out.push(parsed ? { n, text, sha256, value, parsed } : { n, text, sha256, parsed })
  }
  return out
}

export async function readSourceLines(file: string, damaged: Damage[]): Promise<SourceLine[]> {
  return splitLines(await readFile(file), file, damaged)
}

/** Every .jsonl file under the given paths (files as given, directories recursively), sorted. */
export async function findTranscriptFiles(paths: readonly string[]): Promise<string[]> {
  const out: string[] = []
  async function walk(p: string, top: boolean): Promise<void> {
    const s = await stat(p).catch((err: NodeJS.ErrnoException) => {
      if (top && err.code === 'ENOENT') throw new ChainlogError(ErrorCodes.INVALID_ARGUMENT, `no such file or directory: ${p}`, { path: p }, { cause: err })
      throw err
    })
    if (s.isDirectory()) {
      const names = (await readdir(p)).sort()
      for (const name of names) await walk(join(p, name), false)
    } else if (top || p.endsWith('.jsonl')) {
      out.push(p)
    }
  }
  for (const p of paths) await walk(p, true)
  return [...new Set(out)]
}

/** Milliseconds since the epoch for an ISO timestamp or a number, else undefined. */
export function parseTs(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v
  if (typeof v !== 'string') return undefined
  const ms = Date.parse(v)
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined
}

/** The object without its undefined fields (they have no canonical encoding). */
export function defined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined))
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/**
 * One MappedLine per source line, in order. `each` maps a line whose JSON is an object, given
 * its value, its MappedLine to fill and its index. A line that does not parse stays bare (the
 * reader reports it); a JSON value that is not an object is kept, marked NOT_AN_OBJECT.
 */
export function mapObjectLines(
  lines: readonly SourceLine[],
  each: (v: Record<string, unknown>, ml: MappedLine, i: number, line: SourceLine) => void,
): MappedLine[] {
  const out: MappedLine[] = []
  for (const [i, l] of lines.entries()) {
    const ml: MappedLine = {}
    out.push(ml)
    if (!l.parsed) continue
    if (!isObject(l.value)) {
      ml.damage = { code: DamageCodes.NOT_AN_OBJECT, message: 'valid JSON but not an object; kept as it is' }
      continue
    }
    each(l.value, ml, i, l)
  }
  return out
}
