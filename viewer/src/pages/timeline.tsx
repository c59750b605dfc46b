// A session's timeline: every entry in order, with its hash (a link), verification findings at
// their place, a panel with the decoded entry and its actions, and live updates while a runtime
// appends.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { ApiError, enc, getJson, pageSource, postJson, stream, type Finding, type SessionRow, type StoredEntry, type VerifyReport } from '../api'
import { EntryView } from '../entry-view'
import { count, models, short, time, totalTokens } from '../format'
import { go, link } from '../router'
import { ErrorBox, Loading, VerifyBadge } from '../ui'

const PAGE = 500

interface EntriesPage {
  head: string
  length: number
  entries: StoredEntry[]
}

export function TimelinePage({ sessionId, hash }: { sessionId: string; hash?: string }) {
  const [info, setInfo] = useState<SessionRow>()
  const [entries, setEntries] = useState<StoredEntry[]>([])
  const [length, setLength] = useState<number>()
  const [error, setError] = useState<unknown>()
  const [report, setReport] = useState<VerifyReport | { error: string }>()
  const [live, setLive] = useState(false)
  const loading = useRef(false)
  /** Entries on the page (they are seq 0 .. loaded-1). */
  const loaded = useRef(0)
  /** The session's length as the last page read reported it. */
  const known = useRef(0)
  /** The head moved while a page was loading: follow it when that load ends. */
  const follow = useRef(false)

  async function loadFrom(from: number, until?: (page: StoredEntry[]) => boolean): Promise<void> {
    if (loading.current) return
    loading.current = true
    try {
      for (let next = from; ; ) {
        const page = await getJson<EntriesPage>(`/api/sessions/${enc(sessionId)}/entries?from=${next}&limit=${PAGE}`)
        setLength(page.length)
        known.current = page.length
        if (page.entries.length === 0) break
        const start = next
        setEntries((old) => [...old.slice(0, start), ...page.entries])
        next += page.entries.length
        loaded.current = next
        if (next >= page.length || !until || until(page.entries)) break
      }
    } catch (err) {
      setError(err)
    } finally {
      loading.current = false
    }
    if (follow.current) {
      follow.current = false
      if (loaded.current >= known.current) void loadFrom(loaded.current, () => false)
    }
  }

  useEffect(() => {
    setEntries([])
    setInfo(undefined)
    setReport(undefined)
    setError(undefined)
    loaded.current = 0
    known.current = 0
    follow.current = false
    getJson<SessionRow>(`/api/sessions/${enc(sessionId)}`).then(setInfo, setError)
    // Linked to an entry: keep loading until it is on the page.
    const target = hash?.toLowerCase()
    void loadFrom(0, target ? (page) => page.some((e) => e.hash.startsWith(target)) : undefined)
    getJson<VerifyReport>(`/api/sessions/${enc(sessionId)}/verify`).then(setReport, (err) => setReport({ error: (err as Error).message }))
    const stop = stream(
      `/api/sessions/${enc(sessionId)}/live`,
      {
        head: (h: { head: string; length: number }) => {
          setLive(true)
          setLength(h.length)
          // Follow the session only when its end is on the page (or being loaded).
          if (loading.current) follow.current = true
          else if (loaded.current > 0 && loaded.current >= known.current && h.length > loaded.current) void loadFrom(loaded.current, () => false)
        },
      },
      () => setLive(false),
    )
    return stop
  }, [sessionId])

  /** Fetch one entry again with its stored payloads resolved, and show that instead. */
  const loadBlobs = async (seq: number) => {
    try {
      const page = await getJson<EntriesPage>(`/api/sessions/${enc(sessionId)}/entries?from=${seq}&limit=1&blobs=1`)
      const full = page.entries[0]
      if (full) setEntries((old) => old.map((e) => (e.seq === seq ? full : e)))
    } catch (err) {
      setError(err)
    }
  }

  const findings = useMemo(() => {
    const by = new Map<number, Finding[]>()
    if (report && 'findings' in report) for (const f of report.findings) if (f.seq !== undefined && f.sessionId === sessionId) by.set(f.seq, [...(by.get(f.seq) ?? []), f])
    return by
  }, [report, sessionId])
  const unplaced = report && 'findings' in report ? report.findings.filter((f) => f.seq === undefined || f.sessionId !== sessionId) : []
  const selected = hash ? entries.find((e) => e.hash.startsWith(hash.toLowerCase())) : undefined

  useEffect(() => {
    if (selected) document.getElementById(`e-${selected.hash}`)?.scrollIntoView({ block: 'center' })
  }, [selected?.hash])

  if (error instanceof ApiError && error.status === 404) return <ErrorBox error={error} />
  return (
    <div class="timeline-page">
      <div class="timeline">
        <header class="panel session-head">
          <h2>
            Session <span class="mono">{sessionId}</span> <VerifyBadge state={report ?? 'pending'} />
            {live && <span class="badge live">live</span>}
          </h2>
          {info && (
            <p class="muted">
              {count(info.length)} entries · {count(totalTokens(info.usageTotals))} tokens {models(info.usageTotals).join(', ')} · created {time(info.createdAt)} · head{' '}
              <span class="mono">{short(info.head, 12)}</span>
              {info.origin && (
                <>
                  {' '}
                  · {info.origin.relation} of <a href={link.entry(info.origin.sessionId, info.origin.atHash)}>{info.origin.sessionId}</a>
                </>
              )}
            </p>
          )}
          <nav class="actions">
            <a href={link.lineage(sessionId)}>Lineage</a>
            <a href={link.verify(sessionId)}>Verify</a>
            {!pageSource() && (
              <>
                <a href={`/api/sessions/${enc(sessionId)}/export`} download>
                  Export bundle
                </a>
                <a href={`/api/sessions/${enc(sessionId)}/export?format=jsonl`} download>
                  Export JSONL
                </a>
              </>
            )}
          </nav>
          {unplaced.map((f, i) => (
            <p key={i} class={`finding ${f.severity}`}>
              <code>{f.code}</code> {f.message}
            </p>
          ))}
        </header>
        <ErrorBox error={error} />
        {entries.length === 0 && !error && <Loading what="entries" />}
        {entries.map((e) => (
          <EntryView key={e.hash} e={e} selected={e === selected} findings={findings.get(e.seq) ?? []} onLoadBlobs={loadBlobs} />
        ))}
        {length !== undefined && entries.length < length && !loading.current && (
          <button class="more" onClick={() => loadFrom(entries.length, () => true)}>
            Load more ({(length - entries.length).toLocaleString()} left)
          </button>
        )}
      </div>
      {hash && <EntryPanel sessionId={sessionId} hash={hash} asListed={selected} />}
    </div>
  )
}

/**
 * The decoded entry, where it sits, and what can be done from it. A record that fails its
 * hash cannot be read as an entry; the panel then says so and shows it as the timeline read it.
 */
function EntryPanel({ sessionId, hash, asListed }: { sessionId: string; hash: string; asListed: StoredEntry | undefined }) {
  const [checked, setChecked] = useState<StoredEntry>()
  const [error, setError] = useState<unknown>()
  const [busy, setBusy] = useState(false)
  useEffect(() => {
    setChecked(undefined)
    setError(undefined)
    getJson<StoredEntry>(`/api/entries/${enc(hash)}`).then(setChecked, setError)
  }, [hash])
  const damaged = error instanceof ApiError && error.code === 'CHAINLOG_CORRUPT_STORE'
  const entry = checked ?? (damaged ? asListed : undefined)
  const forkHere = async (materialize: boolean) => {
    setBusy(true)
    try {
      const r = await postJson<{ sessionId: string }>('/api/fork', { at: entry?.hash ?? hash, materialize })
      go(link.session(r.sessionId))
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }
  return (
    <aside class="panel entry-panel" aria-label="entry">
      <header class="panel-head">
        <h2>Entry</h2>
        <a href={link.session(sessionId)} class="close" title="close">
          ×
        </a>
      </header>
      <ErrorBox error={error} />
      {!entry && !error && <Loading />}
      {entry && (
        <>
          <dl class="facts">
            <dt>hash</dt>
            <dd class="mono break" data-field="hash">{entry.hash}</dd>
            <dt>session</dt>
            <dd class="mono">{entry.sessionId}</dd>
            <dt>seq</dt>
            <dd>{entry.seq}</dd>
            <dt>prev</dt>
            <dd class="mono break">{entry.seq === 0 ? <span class="muted">none (genesis)</span> : <a href={link.entry(entry.sessionId, entry.prev)}>{entry.prev}</a>}</dd>
            <dt>kind</dt>
            <dd>{entry.entry.kind}</dd>
          </dl>
          {!checked && <p class="finding error">As stored, failing its hash: not what was written.</p>}
          <div class="actions">
            <button disabled={busy || !checked} onClick={() => forkHere(false)} data-action="fork">
              Fork here
            </button>
            <button disabled={busy || !checked} onClick={() => forkHere(true)} data-action="fork-materialized" title="the fork gets a copy of the state, so it needs no source">
              Fork (self-contained)
            </button>
          </div>
          <pre class="code decoded">{JSON.stringify(entry.entry, null, 2)}</pre>
        </>
      )}
    </aside>
  )
}
