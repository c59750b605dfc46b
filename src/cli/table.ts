// Plain-text tables: widths from the unpainted text, colour applied after padding.
export interface Cell {
  text: string
  paint?: (s: string) => string
}

export type Align = 'left' | 'right'

/** Render rows (the first is the header) with two spaces between columns; the last column is not padded. */
export function renderTable(rows: (Cell | string)[][], align: Align[]): string[] {
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
