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
  // Each cell's width is counted once (a listing may have 20,000 rows).
  const lengths = rows.map((r) => r.map((c) => codePoints(typeof c === 'string' ? c : c.text)))
  const widths: number[] = []
  for (const r of lengths) r.forEach((n, i) => (widths[i] = Math.max(widths[i] ?? 0, n)))
  return rows.map((r, ri) =>
    r
      .map((cell, i) => {
        const text = typeof cell === 'string' ? cell : cell.text
        const paint = typeof cell === 'string' ? undefined : cell.paint
        const last = i === r.length - 1
        const gap = (widths[i] ?? 0) - lengths[ri]![i]!
        const padded = last && align[i] !== 'right' ? text : align[i] === 'right' ? ' '.repeat(gap) + text : text + ' '.repeat(gap)
        return paint ? paint(padded) : padded
      })
      .join('  ')
      .trimEnd(),
  )
}
