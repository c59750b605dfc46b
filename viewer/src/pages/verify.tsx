// Verify: run verification of the whole store, one session or a session with its lineage, with
// a progress bar; each finding links to its place in the timeline.
import { useEffect, useState } from 'preact/hooks'
import { enc, getJson, stream, type SessionRow, type VerifyReport } from '../api'
import { short } from '../format'
import { go, link } from '../router'
import { ErrorBox, Section } from '../ui'

interface Run {
  total: number
  entries: number
  report?: VerifyReport
  failed?: { code: string; message: string }
}

export function VerifyPage({ sessionId }: { sessionId?: string }) {
  const [sessions, setSessions] = useState<SessionRow[]>([])
  const [lineage, setLineage] = useState(true)
  const [run, setRun] = useState<Run>()
  const [error, setError] = useState<unknown>()
  useEffect(() => {
    getJson<{ sessions: SessionRow[] }>('/api/sessions').then((r) => setSessions(r.sessions), setError)
  }, [])
  useEffect(() => setRun(undefined), [sessionId])
  const start = () => {
    const q = sessionId ? `?session=${enc(sessionId)}&lineage=${lineage ? 1 : 0}` : ''
    setRun({ total: 0, entries: 0 })
    const stop = stream(
      `/api/verify${q}`,
      {
        start: (s: { total: number }) => setRun({ total: s.total, entries: 0 }),
        progress: (p: { entries: number }) => setRun((r) => ({ ...(r ?? { total: 0 }), entries: p.entries })),
        report: (report: VerifyReport) => {
          stop()
          setRun((r) => ({ total: r?.total ?? 0, entries: report.checked.entries, report }))
        },
        failed: (failed: { code: string; message: string }) => {
          stop()
          setRun((r) => ({ total: r?.total ?? 0, entries: r?.entries ?? 0, failed }))
        },
      },
      () => setRun((r) => (r && !r.report && !r.failed ? { ...r, failed: { code: 'CHAINLOG_HTTP_STREAM', message: 'the connection to the viewer was lost' } } : r)),
    )
  }
  const running = run !== undefined && !run.report && !run.failed
  const report = run?.report
  const errors = report ? report.findings.filter((f) => f.severity === 'error') : []
  return (
    <Section title="Verify">
      <ErrorBox error={error} />
      <div class="verify-form">
        <label>
          Scope{' '}
          <select value={sessionId ?? ''} onChange={(e) => go(link.verify((e.target as HTMLSelectElement).value || undefined))} data-field="scope">
            <option value="">the whole store</option>
            {sessions.map((s) => (
              <option key={s.sessionId} value={s.sessionId}>
                session {s.sessionId}
              </option>
            ))}
          </select>
        </label>
        {sessionId && (
          <label>
            <input type="checkbox" checked={lineage} onChange={(e) => setLineage((e.target as HTMLInputElement).checked)} /> with its sources (lineage)
          </label>
        )}
        <button onClick={start} disabled={running} data-action="verify">
          {running ? 'Verifying…' : 'Verify'}
        </button>
      </div>
      {run && (
        <div class="verify-run">
          <progress max={Math.max(1, run.total)} value={report ? Math.max(1, run.total) : run.entries} />
          <span class="muted">
            {run.entries.toLocaleString()} / {run.total.toLocaleString()} entries
          </span>
        </div>
      )}
      {run?.failed && (
        <div class="verdict bad" data-verdict="error">
          Verification could not run: <code>{run.failed.code}</code> {run.failed.message}
        </div>
      )}
      {report && (
        <div class={`verdict ${report.ok ? 'ok' : 'bad'}`} data-verdict={report.ok ? 'ok' : 'failed'}>
          {report.ok ? 'Verified' : 'FAILED'}: {report.checked.sessions} session{report.checked.sessions === 1 ? '' : 's'}, {report.checked.entries.toLocaleString()} entries, {report.checked.bytes.toLocaleString()} bytes;{' '}
          {errors.length} error{errors.length === 1 ? '' : 's'}, {report.findings.length - errors.length} warning{report.findings.length - errors.length === 1 ? '' : 's'}
          {report.truncated ? ' (list truncated)' : ''}
        </div>
      )}
      {report && report.findings.length > 0 && (
        <table class="findings">
          <thead>
            <tr>
              <th>Severity</th>
              <th>Code</th>
              <th>Where</th>
              <th>What</th>
            </tr>
          </thead>
          <tbody>
            {report.findings.map((f, i) => (
              <tr key={i} class={f.severity}>
                <td>{f.severity}</td>
                <td>
                  <code>{f.code}</code>
                </td>
                <td>
                  {f.sessionId ? (
                    <a href={f.hash ? link.entry(f.sessionId, f.hash) : link.session(f.sessionId)}>
                      {f.sessionId}
                      {f.seq !== undefined ? ` #${f.seq}` : ''}
                      {f.hash ? ` ${short(f.hash, 8)}` : ''}
                    </a>
                  ) : (
                    '-'
                  )}
                </td>
                <td>{f.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  )
}
