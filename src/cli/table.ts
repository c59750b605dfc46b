// Plain-text tables: widths from the unpainted text, colour applied after padding.
export interface Cell {
  text: string
  paint?: (s: string) => string
}

export type Align = 'left' | 'right'

/** Code points in `s` (a surrogate pair is one), as `[...s].length` counts them, without the array. */
export function codePoints(s: string): number {
  let n = s.length
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--
        i++
      }
    }
  }
  return n
}

/** Render rows (the first is the header) with two spaces between columns; the last column is not padded. */
export function renderTable(rows: (Cell | string)[][], align: Align[]): string[] {
  // A listing may have 20,000 rows: each cell's width is counted once, into one flat array, and
  // each line is built by concatenation, without an array per row.
  let cols = 0
  for (const r of rows) cols = Math.max(cols, r.length)
  const lengths = new Int32Array(rows.length * cols)
  const widths = new Array<number>(cols).fill(0)
  for (let ri = 0; ri < rows.length; ri++) {
    const r = rows[ri]!
    for (let i = 0; i < r.length; i++) {
      const cell = r[i]!
      const n = codePoints(typeof cell === 'string' ? cell : cell.text)
      lengths[ri * cols + i] = n
      if (n > widths[i]!) widths[i] = n
    }
  }
  const lines = new Array<string>(rows.length)
  for (let ri = 0; ri < rows.length; ri++) {
    const r = rows[ri]!
    let line = ''
    for (let i = 0; i < r.length; i++) {
      const cell = r[i]!
      const text = typeof cell === 'string' ? cell : cell.text
      const paint = typeof cell === 'string' ? undefined : cell.paint
      const gap = widths[i]! - lengths[ri * cols + i]!
      const last = i === r.length - 1
      const padded = last && align[i] !== 'right' ? text : align[i] === 'right' ? ' '.repeat(gap) + text : text + ' '.repeat(gap)
      if (i > 0) line += '  '
      line += paint ? paint(padded) : padded
    }
    lines[ri] = line.trimEnd()
  }
  return lines
}
