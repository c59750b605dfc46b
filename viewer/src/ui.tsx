// Small pieces the pages share.
import type { ComponentChildren } from 'preact'
import { useState } from 'preact/hooks'
import { ApiError, type VerifyReport } from './api'

/** Long text shows its start; the rest on request. */
export function Collapsible({ text, max = 600, className = '' }: { text: string; max?: number; className?: string }) {
  const [open, setOpen] = useState(false)
  const long = text.length > max
  return (
    <div class={`collapsible ${className}`}>
      <pre class="text">{long && !open ? `${text.slice(0, max)}…` : text}</pre>
      {long && (
        <button class="link" onClick={() => setOpen(!open)}>
          {open ? 'show less' : `show all (${text.length.toLocaleString()} chars)`}
        </button>
      )}
    </div>
  )
}

export type BadgeState = 'pending' | VerifyReport | { error: string }

export function VerifyBadge({ state }: { state: BadgeState | undefined }) {
  if (!state || state === 'pending') return <span class="badge pending">checking</span>
  if ('error' in state) return <span class="badge bad" title={state.error}>error</span>
  const errors = state.findings.filter((f) => f.severity === 'error').length
  if (state.ok) return <span class="badge ok" title={`${state.checked.entries} entries verified`}>verified</span>
  return <span class="badge bad" title={state.findings.map((f) => f.message).join('\n')}>{errors} finding{errors === 1 ? '' : 's'}</span>
}

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null
  const e = error as Error
  return (
    <div class="error-box" role="alert">
      {error instanceof ApiError && <code>{error.code}</code>} {e.message ?? String(error)}
    </div>
  )
}

export function Loading({ what = '' }: { what?: string }) {
  return <p class="muted">Loading{what ? ` ${what}` : ''}…</p>
}

export function Section({ title, children, actions }: { title: ComponentChildren; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="panel">
      <header class="panel-head">
        <h2>{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  )
}
