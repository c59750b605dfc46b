// The viewer's page: a header with the store and the pages, and the page the hash names.
import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { enc, getJson, pageSource, setPageSource, watchPageSource, type StoredEntry } from './api'
import { BundlePage } from './pages/bundle'
import { ActionsPage } from './pages/actions'
import { LineagePage } from './pages/lineage'
import { SessionsPage } from './pages/sessions'
import { TimelinePage } from './pages/timeline'
import { UsagePage } from './pages/usage'
import { VerifyPage } from './pages/verify'
import { link, useRoute, type Route } from './router'
import { ErrorBox, Loading } from './ui'

/** #/e/<hash>: find the entry's session, then show it there. */
function EntryRedirect({ hash }: { hash: string }) {
  const [error, setError] = useState<unknown>()
  useEffect(() => {
    getJson<StoredEntry>(`/api/entries/${enc(hash)}`).then((e) => location.replace(link.entry(e.sessionId, e.hash)), setError)
  }, [hash])
  return error ? <ErrorBox error={error} /> : <Loading what="entry" />
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'sessions':
      return <SessionsPage />
    case 'session':
      return <TimelinePage sessionId={route.sessionId} hash={route.hash} />
    case 'entry':
      return <EntryRedirect hash={route.hash} />
    case 'lineage':
      return <LineagePage sessionId={route.sessionId} />
    case 'verify':
      return <VerifyPage sessionId={route.sessionId} />
    case 'usage':
      return <UsagePage />
    case 'actions':
      return <ActionsPage />
    case 'bundle':
      return <BundlePage />
    default:
      return <p>No page at {route.path}.</p>
  }
}

function App() {
  const route = useRoute()
  const [storeDir, setStoreDir] = useState<string | null>(null)
  // Which store the pages read: the server's, or a bundle opened in the page (pages/bundle.tsx).
  const [source, setSource] = useState(pageSource())
  useEffect(() => watchPageSource(() => setSource(pageSource())), [])
  useEffect(() => {
    getJson<{ storeDir: string | null }>('/api/info').then((i) => setStoreDir(i.storeDir), () => undefined)
  }, [])
  const tab = (page: Route['page'], href: string, label: string) => (
    <a href={href} class={route.page === page || (page === 'sessions' && route.page === 'session') ? 'active' : ''}>
      {label}
    </a>
  )
  return (
    <>
      <header class="top">
        <a class="brand" href="#/">
          chainlog
        </a>
        <nav>
          {tab('sessions', link.sessions(), 'Sessions')}
          {tab('verify', link.verify(), 'Verify')}
          {tab('usage', link.usage(), 'Usage')}
          {!source && tab('actions', link.actions(), 'Actions')}
          {tab('bundle', link.bundle(), 'Bundle')}
        </nav>
        {source ? (
          <span class="store page-source" data-testid="page-source">
            bundle <span class="mono">{source.name}</span> (in this page){' '}
            <button
              type="button"
              onClick={() => {
                setPageSource(undefined)
                location.hash = link.sessions()
              }}
            >
              Back to the store
            </button>
          </span>
        ) : (
          storeDir && (
            <span class="store mono" title="store directory">
              {storeDir}
            </span>
          )
        )}
      </header>
      <main key={`${source?.name ?? ''}:${route.page === 'session' ? `s-${route.sessionId}` : route.page}`}>
        <Page route={route} />
      </main>
    </>
  )
}

render(<App />, document.getElementById('app')!)
