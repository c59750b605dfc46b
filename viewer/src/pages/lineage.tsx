// Lineage: the fork/compaction tree a session belongs to, drawn as a graph. Each edge is
// labelled with the entry the child starts from and links to that point in the source.
import { useEffect, useState } from 'preact/hooks'
import { enc, getJson } from '../api'
import { oneLine, short } from '../format'
import { link } from '../router'
import { layoutTree } from '../tree-layout'
import { ErrorBox, Loading, Section } from '../ui'

interface LineageNode {
  sessionId: string
  present: boolean
  length: number
  firstUserMessage: string | null
}

interface LineageEdge {
  from: string
  to: string
  relation: 'fork' | 'compaction' | 'subagent'
  atHash: string | null
  atSeq: number | null
  materialized: boolean
}

interface LineageGraph {
  sessionId: string
  root: string
  nodes: LineageNode[]
  edges: LineageEdge[]
}

const W = 250
const H = 54
const GAP_X = 40
const GAP_Y = 90

export function LineagePage({ sessionId }: { sessionId: string }) {
  const [graph, setGraph] = useState<LineageGraph>()
  const [error, setError] = useState<unknown>()
  useEffect(() => {
    setGraph(undefined)
    getJson<LineageGraph>(`/api/sessions/${enc(sessionId)}/lineage`).then(setGraph, setError)
  }, [sessionId])
  if (error) return <ErrorBox error={error} />
  if (!graph) return <Loading what="lineage" />
  const { nodes, cols, rows } = layoutTree(
    graph.nodes.map((n) => n.sessionId),
    graph.edges,
  )
  const x = (id: string) => 20 + nodes.get(id)!.col * (W + GAP_X)
  const y = (id: string) => 20 + nodes.get(id)!.row * (H + GAP_Y)
  const width = 40 + cols * (W + GAP_X) - GAP_X
  const height = 40 + rows * (H + GAP_Y) - GAP_Y
  return (
    <Section title={<>Lineage of <span class="mono">{sessionId}</span></>} actions={<a href={link.session(sessionId)}>Timeline</a>}>
      <p class="muted">
        {graph.nodes.length} session{graph.nodes.length === 1 ? '' : 's'}; solid edges are forks, dashed ones compactions. Click a session to open it, an edge's label to see the entry it starts from.
      </p>
      <div class="graph-wrap">
        <svg class="lineage" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label="lineage graph">
          {graph.edges.map((e) => {
            const x1 = x(e.from) + W / 2
            const y1 = y(e.from) + H
            const x2 = x(e.to) + W / 2
            const y2 = y(e.to)
            const my = (y1 + y2) / 2
            const label = `${e.relation}${e.materialized && e.relation === 'fork' ? ' (m)' : ''} @ ${e.atSeq === null ? '' : `#${e.atSeq} `}${e.atHash === null ? '?' : short(e.atHash, 8)}`
            return (
              <g key={`${e.from}-${e.to}`} class={`edge ${e.relation}`} data-from={e.from} data-to={e.to}>
                <path d={`M${x1},${y1} C${x1},${my} ${x2},${my} ${x2},${y2}`} />
                <a href={e.atHash === null ? link.session(e.from) : link.entry(e.from, e.atHash)} class="edge-label">
                  <text x={(x1 + x2) / 2 + 8} y={my} dy="4">
                    {label}
                  </text>
                </a>
              </g>
            )
          })}
          {graph.nodes.map((n) => (
            <a key={n.sessionId} href={n.present ? link.session(n.sessionId) : undefined} class={`node${n.sessionId === sessionId ? ' current' : ''}${n.present ? '' : ' missing'}`} data-session={n.sessionId}>
              <rect x={x(n.sessionId)} y={y(n.sessionId)} width={W} height={H} rx={8} />
              <text x={x(n.sessionId) + 10} y={y(n.sessionId) + 21} class="node-id">
                {oneLine(n.sessionId, 28)}
              </text>
              <text x={x(n.sessionId) + 10} y={y(n.sessionId) + 40} class="node-sub">
                {n.present ? `${n.length} entries${n.firstUserMessage ? ` · ${oneLine(n.firstUserMessage, 22)}` : ''}` : 'deleted'}
              </text>
            </a>
          ))}
        </svg>
      </div>
    </Section>
  )
}
