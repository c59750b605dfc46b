// Bundle: drop a bundle file (or pick one); it is verified in this page with chainlog's browser
// build, with no server call, and a verified one can be browsed with every other page
// (local-api.ts). Importing it into the store stays on the Actions page.
import { useState } from 'preact/hooks'
import { setPageSource, type Finding } from '../api'
import { count, short } from '../format'
import { go, link } from '../router'
import { ErrorBox, Section } from '../ui'

interface Checked {
  name: string
  bytes: Uint8Array
  ok: boolean
  sessions: { sessionId: string; length: number }[]
  entries: number
  findings: Finding[]
}

export function BundlePage() {
  const [busy, setBusy] = useState<string>()
  const [checked, setChecked] = useState<Checked>()
  const [error, setError] = useState<unknown>()
  const [over, setOver] = useState(false)

  const take = async (file: File | undefined) => {
    if (!file) return
    setError(undefined)
    setChecked(undefined)
    setBusy(`Verifying ${file.name} in this page…`)
    try {
      const bytes = new Uint8Array(await file.arrayBuffer())
      // Loaded on first use: the library's browser build is only needed for a bundle.
      const { checkBundle } = await import('../local-api')
      const report = await checkBundle(bytes)
      setChecked({
        name: file.name,
        bytes,
        ok: report.ok,
        sessions: (report.header?.sessions ?? []).map((s) => ({ sessionId: s.sessionId, length: s.length })),
        entries: report.checked.entries,
        findings: report.findings as Finding[],
      })
    } catch (err) {
      setError(err)
    } finally {
      setBusy(undefined)
    }
  }

  const browse = async () => {
    if (!checked) return
    setBusy(`Opening ${checked.name} in this page…`)
    try {
      const { openLocal } = await import('../local-api')
      setPageSource(await openLocal(checked.name, checked.bytes))
      go(link.sessions())
    } catch (err) {
      setError(err)
    } finally {
      setBusy(undefined)
    }
  }

  const errors = checked ? checked.findings.filter((f) => f.severity === 'error') : []
  return (
    <Section title="Open a bundle in this page">
      <p class="muted">
        The file is read and verified by this page alone: nothing is sent to the viewer's server, and nothing is written to the store. A verified bundle can then be browsed
        like the store.
      </p>
      <label
        class={`dropzone${over ? ' over' : ''}`}
        data-testid="bundle-drop"
        onDragOver={(e) => {
          e.preventDefault()
          setOver(true)
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault()
          setOver(false)
          void take(e.dataTransfer?.files[0])
        }}
      >
        Drop a bundle here, or choose one{' '}
        <input type="file" accept=".bundle,application/octet-stream" data-field="bundle-file" onChange={(e) => void take((e.target as HTMLInputElement).files?.[0])} />
      </label>
      {busy && <p class="muted">{busy}</p>}
      <ErrorBox error={error} />
      {checked && (
        <div class="bundle-result" data-result={checked.ok ? 'ok' : 'failed'}>
          {checked.ok ? (
            <p class="badge ok">
              ✓ {checked.name}: verified in this page, {count(checked.sessions.length)} session(s), {count(checked.entries)} entries
            </p>
          ) : (
            <p class="badge error">
              ✗ {checked.name} failed verification: {count(errors.length)} error(s)
            </p>
          )}
          {checked.sessions.length > 0 && (
            <ul class="bundle-sessions">
              {checked.sessions.map((s) => (
                <li key={s.sessionId}>
                  <span class="mono">{s.sessionId}</span> · {count(s.length)} entries
                </li>
              ))}
            </ul>
          )}
          {checked.findings.map((f, i) => (
            <p key={i} class={`finding ${f.severity}`}>
              <code>{f.code}</code> {f.message}
              {f.hash ? <span class="mono"> {short(f.hash)}</span> : null}
            </p>
          ))}
          {checked.ok && (
            <button type="button" onClick={() => void browse()} data-action="browse-bundle">
              Browse its sessions
            </button>
          )}
        </div>
      )}
    </Section>
  )
}
