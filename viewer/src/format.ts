// Formatting shared by the pages.
import type { UsageTotals } from './api'

export const short = (hash: string, n = 10) => hash.slice(0, n)

export function count(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}G`
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`
  return String(n)
}

export function age(ts: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - ts) / 1000))
  if (s < 60) return `${s}s ago`
  if (s < 3600) return `${Math.round(s / 60)}m ago`
  if (s < 86400) return `${Math.round(s / 3600)}h ago`
  return `${Math.round(s / 86400)}d ago`
}

export const time = (ts: number) => new Date(ts).toISOString().replace('T', ' ').slice(0, 19)

export function totalTokens(t: Record<string, UsageTotals>): number {
  let n = 0
  for (const u of Object.values(t)) n += u.inputTokens + u.outputTokens
  return n
}

export function models(t: Record<string, UsageTotals>): string[] {
  return Object.entries(t)
    .sort((a, b) => b[1].inputTokens + b[1].outputTokens - (a[1].inputTokens + a[1].outputTokens))
    .map(([m]) => m)
}

export const oneLine = (s: string, n = 100) => {
  const t = s.replace(/\s+/g, ' ').trim()
  return t.length > n ? `${t.slice(0, n - 1)}…` : t
}
