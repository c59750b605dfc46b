// Actions: import a bundle (verified by the server before anything is written), export a
// session, fork at any entry hash.
import { useEffect, useState } from 'preact/hooks'
import { ApiError, enc, getJson, postBytes, postJson, type Finding, type SessionRow } from '../api'
import { go, link } from '../router'
import { ErrorBox, Section } from '../ui'

interface ImportResult {
  sessions: { sessionId: string; added: number }[]
  entriesAdded: number
}

export function ActionsPage() {
  const [sessions, setSessions] = useState<SessionRow[]>([])
  const [exportId, setExportId] = useState('')
  const [imported, setImported] = useState<ImportResult>()
  const [importError, setImportError] = useState<unknown>()
  const [busy, setBusy] = useState(false)
  const [forkAt, setForkAt] = useState('')
  const [forkError, setForkError] = useState<unknown>()
  useEffect(() => {
    getJson<{ sessions: SessionRow[] }>('/api/sessions').then((r) => {
      setSessions(r.sessions)
      setExportId((id) => id || r.sessions[0]?.sessionId || '')
    })
  }, [imported])
  const onFile = async (file: File | undefined) => {
    if (!file) return
    setBusy(true)
    setImported(undefined)
    setImportError(undefined)
    try {
      setImported(await postBytes<ImportResult>('/api/import', await file.arrayBuffer()))
    } catch (err) {
      setImportError(err)
    } finally {
      setBusy(false)
    }
  }
  const fork = async () => {
    setForkError(undefined)
    try {
      const r = await postJson<{ sessionId: string }>('/api/fork', { at: forkAt.trim() })
      go(link.session(r.sessionId))
    } catch (err) {
      setForkError(err)
    }
  }
  const findings = importError instanceof ApiError ? ((importError.data?.findings as Finding[] | undefined) ?? []) : []
  return (
    <>
      <Section title="Import a bundle">
        <p class="muted">The whole bundle is verified before anything is written; importing the same bundle twice adds nothing.</p>
        <input type="file" data-field="bundle" disabled={busy} onChange={(e) => onFile((e.target as HTMLInputElement).files?.[0])} />
        {busy && <p class="muted">Verifying and importing…</p>}
        {imported && (
          <div class="verdict ok" data-verdict="imported">
            Imported: {imported.entriesAdded} entries added.{' '}
            {imported.sessions.map((s) => (
              <span key={s.sessionId}>
                <a href={link.session(s.sessionId)}>{s.sessionId}</a> (+{s.added}){' '}
              </span>
            ))}
          </div>
        )}
        {importError !== undefined && (
          <div class="verdict bad" data-verdict="refused">
            Refused, nothing was written: <ErrorBox error={importError} />
            {findings.length > 0 && (
              <ul>
                {findings.map((f, i) => (
                  <li key={i}>
                    <code>{f.code}</code> {f.message}
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
      </Section>
      <Section title="Export a session">
        <p class="muted">A bundle holds the session and every source it needs, and verifies on its own (chainlog verify --bundle).</p>
        <select value={exportId} onChange={(e) => setExportId((e.target as HTMLSelectElement).value)} data-field="export-session">
          {sessions.map((s) => (
            <option key={s.sessionId} value={s.sessionId}>
              {s.sessionId}
            </option>
          ))}
        </select>{' '}
        {exportId && (
          <>
            <a class="button" href={`/api/sessions/${enc(exportId)}/export`} download data-action="export">
              Download bundle
            </a>{' '}
            <a class="button" href={`/api/sessions/${enc(exportId)}/export?format=jsonl`} download>
              Download JSONL
            </a>
          </>
        )}
      </Section>
      <Section title="Fork at an entry">
        <p class="muted">Any entry hash or unique prefix; the new session continues from there. Or open an entry in a timeline and use Fork here.</p>
        <input class="mono" placeholder="hash or prefix" value={forkAt} onInput={(e) => setForkAt((e.target as HTMLInputElement).value)} data-field="fork-at" />{' '}
        <button onClick={fork} disabled={!forkAt.trim()}>
          Fork
        </button>
        <ErrorBox error={forkError} />
      </Section>
    </>
  )
}
