// Layout for the lineage graph. Every session has at most one source, so lineage is a tree
// (a forest once sources are deleted): a tidy tree layout is all it needs, and no general
// graph layout library earns its place. Leaves take consecutive columns; a parent sits over
// the middle of its children; depth is the row.

export interface LayoutEdge {
  from: string
  to: string
}

export interface Placed {
  id: string
  col: number
  row: number
}

export function layoutTree(ids: string[], edges: LayoutEdge[]): { nodes: Map<string, Placed>; cols: number; rows: number } {
  const children = new Map<string, string[]>()
  const hasParent = new Set<string>()
  for (const e of edges) {
    children.set(e.from, [...(children.get(e.from) ?? []), e.to])
    hasParent.add(e.to)
  }
  const nodes = new Map<string, Placed>()
  let nextCol = 0
  let rows = 0
  const place = (id: string, row: number): number => {
    rows = Math.max(rows, row + 1)
    const kids = (children.get(id) ?? []).filter((k) => !nodes.has(k))
    const node: Placed = { id, col: 0, row }
    nodes.set(id, node) // before the children, so a cycle (only from tampering) ends here
    if (kids.length === 0) {
      node.col = nextCol++
    } else {
      const cols = kids.map((k) => place(k, row + 1))
      node.col = (cols[0]! + cols[cols.length - 1]!) / 2
    }
    return node.col
  }
  for (const id of ids) if (!hasParent.has(id) && !nodes.has(id)) place(id, 0)
  for (const id of ids) if (!nodes.has(id)) place(id, 0)
  return { nodes, cols: Math.max(1, nextCol), rows: Math.max(1, rows) }
}
