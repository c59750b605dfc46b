// Sessions: every session in the store, searchable and sortable, each with its verification badge.
import { useEffect, useMemo, useState } from 'preact/hooks'
import { enc, getJson, type SessionRow, type VerifyReport } from '../api'
import { age, count, models, oneLine, short, totalTokens } from '../format'
import { link } from '../router'
import { ErrorBox, Loading, Section, VerifyBadge, type BadgeState } from '../ui'

type SortKey = 'updated' | 'created' | 'length' | 'tokens' | 'session'

const SORTS: Record<SortKey, (a: SessionRow, b: SessionRow) => number> = {
  updated: (a, b) => a.updatedAt - b.updatedAt,
  created: (a, b) => a.createdAt - b.createdAt,
  length: (a, b) => a.length - b.length,
  tokens: (a, b) => totalTokens(a.usageTotals) - totalTokens(b.usageTotals),
  session: (a, b) => (a.sessionId < b.sessionId ? -1 : a.sessionId > b.sessionId ? 1 : 0),
}

/** Verify sessions a few at a time, so a big store's list shows at once and badges fill in. */
function useBadges(rows: SessionRow[] | undefined): Record<string, BadgeState> {
  const [badges, setBadges] = useState<Record<string, BadgeState>>({})
  useEffect(() => {
    if (!rows) return
    let stopped = false
    const queue = rows.map((r) => r.sessionId)
    const worker = async () => {
      for (let id = queue.shift(); id !== undefined && !stopped; id = queue.shift()) {
        const sid = id
        try {
          const report = await getJson<VerifyReport>(`/api/sessions/${enc(sid)}/verify`)
          if (!stopped) setBadges((b) => ({ ...b, [sid]: report }))
        } catch (err) {
          if (!stopped) setBadges((b) => ({ ...b, [sid]: { error: (err as Error).message } }))
        }
      }
    }
    void Promise.all([worker(), worker()])
    return () => {
      stopped = true
    }
  }, [rows])
  return badges
}

export function SessionsPage() {
  const [rows, setRows] = useState<SessionRow[]>()
  const [error, setError] = useState<unknown>()
  const [query, setQuery] = useState('')
  const [sort, setSort] = useState<{ key: SortKey; desc: boolean }>({ key: 'updated', desc: true })
  useEffect(() => {
    getJson<{ sessions: SessionRow[] }>('/api/sessions').then((r) => setRows(r.sessions), setError)
  }, [])
  const badges = useBadges(rows)
  const shown = useMemo(() => {
    const q = query.trim().toLowerCase()
    const list = (rows ?? []).filter(
      (r) => !q || r.sessionId.toLowerCase().includes(q) || (r.firstUserMessage ?? '').toLowerCase().includes(q) || models(r.usageTotals).some((m) => m.toLowerCase().includes(q)),
    )
    // Ties fall back to the session id, so reversing a sort reverses the list.
    const cmp = (a: SessionRow, b: SessionRow) => SORTS[sort.key](a, b) || SORTS.session(a, b)
    return list.sort((a, b) => (sort.desc ? cmp(b, a) : cmp(a, b)))
  }, [rows, query, sort])
  const th = (key: SortKey, label: string, cls = '') => (
    <th class={`sortable ${cls}`} aria-sort={sort.key === key ? (sort.desc ? 'descending' : 'ascending') : 'none'}>
      <button class="link" data-sort={key} onClick={() => setSort((s) => ({ key, desc: s.key === key ? !s.desc : key !== 'session' }))}>
        {label} {sort.key === key ? (sort.desc ? '▼' : '▲') : ''}
      </button>
    </th>
  )
  return (
    <Section
      title={`Sessions${rows ? ` (${rows.length})` : ''}`}
      actions={<input class="search" type="search" placeholder="Search id, first message, model" value={query} onInput={(e) => setQuery((e.target as HTMLInputElement).value)} />}
    >
      <ErrorBox error={error} />
      {!rows && !error && <Loading what="sessions" />}
      {rows && (
        <table class="sessions">
          <thead>
            <tr>
              {th('session', 'Session')}
              <th>First message</th>
              <th>Model</th>
              {th('updated', 'Updated')}
              {th('length', 'Entries', 'num')}
              {th('tokens', 'Tokens', 'num')}
              <th>Origin</th>
              <th>Verified</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((r) => (
              <tr key={r.sessionId} data-session={r.sessionId}>
                <td class="sid mono">
                  <a href={link.session(r.sessionId)} title={r.sessionId}>
                    {r.sessionId}
                  </a>
                </td>
                <td class="first">{r.firstUserMessage ? oneLine(r.firstUserMessage, 90) : <span class="muted">-</span>}</td>
                <td class="nowrap">{models(r.usageTotals).join(', ') || <span class="muted">-</span>}</td>
                <td class="nowrap" title={new Date(r.updatedAt).toISOString()}>{age(r.updatedAt)}</td>
                <td class="num">{count(r.length)}</td>
                <td class="num">{count(totalTokens(r.usageTotals))}</td>
                <td class="nowrap">
                  {r.origin ? (
                    <a href={link.entry(r.origin.sessionId, r.origin.atHash)}>
                      {r.origin.relation === 'fork' ? (r.origin.materialized ? 'fork (m)' : 'fork') : 'compaction'} @{short(r.origin.atHash, 8)}
                    </a>
                  ) : (
                    <span class="muted">-</span>
                  )}
                </td>
                <td>
                  <VerifyBadge state={badges[r.sessionId]} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {rows && shown.length === 0 && <p class="muted">No session matches.</p>}
    </Section>
  )
}
