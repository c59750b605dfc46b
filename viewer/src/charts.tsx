// Stacked bar charts in plain SVG: the viewer draws two small charts, which does not justify a
// chart library in the bundle.

export interface Series {
  label: string
  values: number[]
}

export const PALETTE = ['#3b6fd8', '#e0803a', '#4aa772', '#b04fc4', '#c9a227', '#3aa6b9', '#d14b60', '#7a7a7a']

/** Vertical stacked bars: one bar per category, one colour per series. */
export function StackedBars({ categories, series, height = 220, format }: { categories: string[]; series: Series[]; height?: number; format: (n: number) => string }) {
  const totals = categories.map((_, i) => series.reduce((s, x) => s + (x.values[i] ?? 0), 0))
  const max = Math.max(1, ...totals)
  // Wide enough for the longest label (about 7 px a character at 11.5 px).
  const bw = Math.min(160, Math.max(46, ...categories.map((c) => c.length * 7)))
  const gap = 24
  const left = 56
  const top = 10
  const plotH = height - 40
  const width = left + categories.length * (bw + gap) + gap
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((t) => t * max)
  return (
    <figure class="chart">
      <svg width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img">
        {ticks.map((t) => {
          const yy = top + plotH - (t / max) * plotH
          return (
            <g key={t} class="tick">
              <line x1={left - 4} x2={width} y1={yy} y2={yy} />
              <text x={left - 8} y={yy + 4} text-anchor="end">
                {format(t)}
              </text>
            </g>
          )
        })}
        {categories.map((c, i) => {
          let acc = 0
          const x0 = left + gap + i * (bw + gap)
          return (
            <g key={c} class="bar" data-category={c}>
              {series.map((s, k) => {
                const v = s.values[i] ?? 0
                const h = (v / max) * plotH
                const y0 = top + plotH - ((acc + v) / max) * plotH
                acc += v
                return v > 0 ? (
                  <rect key={s.label} x={x0} y={y0} width={bw} height={h} fill={PALETTE[k % PALETTE.length]}>
                    <title>{`${c} · ${s.label}: ${v.toLocaleString()}`}</title>
                  </rect>
                ) : null
              })}
              <text x={x0 + bw / 2} y={height - 12} text-anchor="middle" class="cat">
                {c}
              </text>
            </g>
          )
        })}
      </svg>
      <figcaption class="legend">
        {series.map((s, k) => (
          <span key={s.label}>
            <i class={`swatch c${k % PALETTE.length}`} /> {s.label}
          </span>
        ))}
      </figcaption>
    </figure>
  )
}
