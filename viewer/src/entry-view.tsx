// One entry of a session's timeline, drawn by kind: messages, reasoning, tool calls and
// results (long ones collapsed), usage, turn ends, config changes, outcomes, provenance.
import type { Finding, StoredEntry } from './api'
import { count, short, time } from './format'
import { isBlobRef, itemParts, type Part } from './items'
import { link } from './router'
import { Collapsible } from './ui'

function PartView({ part }: { part: Part }) {
  switch (part.kind) {
    case 'text':
      return (
        <div class={`msg role-${part.role}`}>
          <span class="who">{part.role}</span>
          <Collapsible text={part.text} max={1200} />
        </div>
      )
    case 'reasoning':
      return (
        <div class="msg reasoning">
          <span class="who">reasoning</span>
          <Collapsible text={part.text} max={400} />
        </div>
      )
    case 'tool_call':
      return (
        <div class="msg tool-call">
          <span class="who">
            tool call <b>{part.name}</b> {part.callId && <span class="muted">{part.callId}</span>}
          </span>
          <Collapsible text={part.args} max={300} className="code" />
        </div>
      )
    case 'tool_result':
      return (
        <div class={`msg tool-result${part.isError ? ' is-error' : ''}`}>
          <span class="who">tool result {part.callId && <span class="muted">{part.callId}</span>}</span>
          <Collapsible text={part.text} max={300} className="code" />
        </div>
      )
    default:
      return (
        <div class="msg json">
          <Collapsible text={JSON.stringify(part.value, null, 2)} max={300} className="code" />
        </div>
      )
  }
}

function Items({ items }: { items: unknown[] }) {
  return <>{items.flatMap((it) => itemParts(it)).map((p, i) => <PartView key={i} part={p} />)}</>
}

function Body({ e }: { e: StoredEntry }) {
  const x = e.entry
  switch (x.kind) {
    case 'session_start': {
      const origin = x.forkedFrom ?? x.compactedFrom
      return (
        <div class="start">
          {origin && (
            <p>
              {x.forkedFrom ? 'Forked' : 'Compacted'} from <a href={link.entry(origin.sessionId, origin.atHash)}>{origin.sessionId} @ {short(origin.atHash)}</a>
              {x.snapshot ? ' (self-contained)' : ''}
            </p>
          )}
          {x.summary && <p class="summary">Summary: {x.summary}</p>}
          {x.systemPrompt && <Collapsible text={`system: ${x.systemPrompt}`} max={300} />}
          {x.config && <Collapsible text={`config: ${JSON.stringify(x.config)}`} max={300} className="code" />}
          {Array.isArray(x.history) && x.history.length > 0 && <Items items={x.history} />}
        </div>
      )
    }
    case 'user_input':
      return <Items items={[x.item]} />
    case 'assistant_items':
    case 'tool_results':
    case 'hook_injected_items':
      return <Items items={x.items} />
    case 'llm_usage':
      return (
        <p class="usage">
          <b>{x.model}</b>: {count(x.inputTokens)} in ({count(x.cacheReadTokens)} cached), {count(x.outputTokens)} out
          {x.reasoningTokens ? `, ${count(x.reasoningTokens)} reasoning` : ''}; history {x.historyLength}
        </p>
      )
    case 'turn_end':
      return <p class="turn-end">end of turn {x.turn}</p>
    case 'run_outcome':
      return (
        <p class={`outcome status-${x.status}`}>
          outcome: <b>{x.status}</b>
          {x.interrupted ? ' (interrupted)' : ''}
          {x.message ? `: ${x.message}` : ''}
        </p>
      )
    case 'config_changed':
      return <Collapsible text={`config: ${JSON.stringify(x.config)}`} max={300} className="code" />
    case 'cache_locked':
      return <p class="muted">cache locked: first {x.prefixLength} items</p>
    case 'cache_unlocked':
      return <p class="muted">cache unlocked</p>
    case 'custom':
      return <Collapsible text={`${x.namespace} ${x.type}${x.data === undefined ? '' : `: ${JSON.stringify(x.data)}`}`} max={300} className="code" />
    default:
      return <Collapsible text={JSON.stringify(x, null, 2)} max={300} className="code" />
  }
}

const LABEL: Record<string, string> = {
  session_start: 'start',
  user_input: 'user',
  assistant_items: 'assistant',
  tool_results: 'tool results',
  hook_injected_items: 'hook',
  llm_usage: 'usage',
  turn_end: 'turn end',
  run_outcome: 'outcome',
  config_changed: 'config',
  cache_locked: 'cache',
  cache_unlocked: 'cache',
  custom: 'custom',
}

/** The blob references in an entry: how many, and their bytes. */
function blobsIn(v: unknown, acc = { count: 0, bytes: 0 }): { count: number; bytes: number } {
  if (isBlobRef(v)) {
    acc.count++
    acc.bytes += v.size
  } else if (Array.isArray(v)) for (const x of v) blobsIn(x, acc)
  else if (v && typeof v === 'object') for (const x of Object.values(v)) blobsIn(x, acc)
  return acc
}

export function EntryView({ e, selected, findings, onLoadBlobs }: { e: StoredEntry; selected: boolean; findings: Finding[]; onLoadBlobs: (seq: number) => void }) {
  const bad = findings.some((f) => f.severity === 'error')
  const blobs = blobsIn(e.entry)
  return (
    <article id={`e-${e.hash}`} class={`entry kind-${e.entry.kind}${selected ? ' selected' : ''}${bad ? ' has-finding' : ''}`} data-seq={e.seq} data-hash={e.hash}>
      <header class="entry-head">
        <span class="seq">#{e.seq}</span>
        <span class="kind">{LABEL[e.entry.kind] ?? e.entry.kind}</span>
        <span class="muted">{time(e.entry.ts)}</span>
        <a class="hash" href={link.entry(e.sessionId, e.hash)} title={e.hash}>
          {short(e.hash, 12)}
        </a>
      </header>
      {findings.map((f, i) => (
        <p key={i} class={`finding ${f.severity}`}>
          <code>{f.code}</code> {f.message}
        </p>
      ))}
      <Body e={e} />
      {blobs.count > 0 && (
        <button class="load-blobs" onClick={() => onLoadBlobs(e.seq)}>
          Load {blobs.bytes.toLocaleString()} bytes ({blobs.count} stored payload{blobs.count === 1 ? '' : 's'})
        </button>
      )}
    </article>
  )
}
