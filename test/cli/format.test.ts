// Number formatting of the CLI's tables: counts grouped in thousands exactly as
// toLocaleString('en-US') groups them (the CLI avoids that call, whose first use loads ICU);
// and the text helpers of long listings, against the plain code they replace.
import { Writable } from 'node:stream'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { formatCount, isSpace, oneLine } from '../../src/cli/format.js'
import { Output } from '../../src/cli/output.js'
import { codePoints, renderTable, type Align, type Cell } from '../../src/cli/table.js'

describe('formatCount', () => {
  it('groups digits in thousands as en-US does, for whole, negative and fractional numbers', () => {
    for (const n of [0, 7, 999, 1000, 12_345, 1_234_567, -1_234_567, 1234.5, 0.25, 123_456_789_012, Number.MAX_SAFE_INTEGER]) {
      expect(formatCount(n), String(n)).toBe(n.toLocaleString('en-US'))
    }
  })
})

// The listing helpers made fast for 20,000-row listings must print what the plain versions printed.
describe('oneLine, codePoints and Output.lines print what the plain versions did', () => {
  const plainOneLine = (text: string, max: number): string => {
    const t = text.replace(/\s+/g, ' ').trim()
    if (max <= 1) return t.slice(0, Math.max(0, max))
    return t.length > max ? `${t.slice(0, max - 1)}…` : t
  }

  it('isSpace is \\s, for every UTF-16 code unit', () => {
    const differ: string[] = []
    for (let c = 0; c <= 0xffff; c++) if (isSpace(c) !== /\s/.test(String.fromCharCode(c))) differ.push(c.toString(16))
    expect(differ).toEqual([])
  })

  it('oneLine collapses and cuts as replace(/\\s+/g, " ").trim() and a slice do', () => {
    const piece = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom(' ', '  ', '\n\t ', '\u00a0', '\u3000', '\ufeff', '😀', '\ud83d', 'x'.repeat(150)))
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }).map((xs) => xs.join('')), fc.integer({ min: -2, max: 80 }), (text, max) => {
        expect(oneLine(text, max)).toBe(plainOneLine(text, max))
      }),
      { numRuns: 2000 },
    )
    for (const max of [0, 1, 2, 5, 60]) for (const text of ['', ' ', '  a  ', 'a b', '\n'.repeat(500) + 'tail', 'w '.repeat(400)]) expect(oneLine(text, max)).toBe(plainOneLine(text, max))
  })

  it('codePoints counts as [...s].length, surrogate pairs once and lone surrogates once', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => {
        expect(codePoints(s)).toBe([...s].length)
      }),
    )
    for (const s of ['', 'a', '😀', '\ud83d', '\ude00\ud83d', 'a😀b\ud83d']) expect(codePoints(s)).toBe([...s].length)
  })

  it('renderTable lays out rows as the array-per-row version did', () => {
    const plainRender = (rows: (Cell | string)[][], align: Align[]): string[] => {
      const cells = rows.map((r) => r.map((c) => (typeof c === 'string' ? { text: c } : c)))
      const widths: number[] = []
      for (const r of cells) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, [...c.text].length)))
      return cells.map((r) =>
        r
          .map((c, i) => {
            const last = i === r.length - 1
            const gap = (widths[i] ?? 0) - [...c.text].length
            const padded = last && align[i] !== 'right' ? c.text : align[i] === 'right' ? ' '.repeat(gap) + c.text : c.text + ' '.repeat(gap)
            return c.paint ? c.paint(padded) : padded
          })
          .join('  ')
          .trimEnd(),
      )
    }
    const text = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('', ' ', 'é😀', '\ud83d', 'trailing  '))
    const cell = fc.oneof(text, text.map((t): Cell => ({ text: t, paint: (x) => `<${x}>` })))
    fc.assert(
      fc.property(fc.array(fc.array(cell, { maxLength: 5 }), { maxLength: 6 }), fc.array(fc.constantFrom<Align>('left', 'right'), { maxLength: 5 }), (rows, align) => {
        expect(renderTable(rows, align)).toEqual(plainRender(rows, align))
      }),
      { numRuns: 1000 },
    )
  })

  it('Output.lines writes the bytes line() writes one call each, in fewer writes', () => {
    const sink = () => {
      const chunks: string[] = []
      const stdout = new Writable({
        write(chunk: Buffer, _enc, cb) {
          chunks.push(chunk.toString('utf8'))
          cb()
        },
      })
      return { chunks, out: new Output({ stdout, stderr: new Writable({ write: (_c, _e, cb) => cb() }), env: {} }) }
    }
    const texts = Array.from({ length: 5000 }, (_, i) => `row ${i} ${'é😀'.repeat(i % 7)}`)
    texts.push('')
    const one = sink()
    for (const t of texts) one.out.line(t)
    const many = sink()
    many.out.lines(texts)
    expect(many.chunks.join('')).toBe(one.chunks.join(''))
    expect(many.chunks.length).toBeLessThan(10)
    const none = sink()
    none.out.lines([])
    expect(none.chunks).toEqual([])
  })
})
