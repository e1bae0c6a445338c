// Owns the dependency graph the planner works on: the lockfile's resolved edges, with
// dependency cycles condensed into single nodes (Tarjan's algorithm, visiting names in byte
// order so the result never depends on input order), and the measures derived from the graph
// itself — no download counts or other data that changes over time:
//   popularity(n) = how many packages of the closure depend on n, directly or not;
//   height(n)     = the longest dependency chain below n (0 for a package with no deps).

export interface GraphPackage {
  name: string;
  /** Compressed size of the package's content (its .deb size is a good proxy). */
  size: number;
  depends: string[];
  source: string;
  requested: boolean;
}

export interface GraphNode {
  /** Condensed nodes are named by their smallest member. */
  id: string;
  members: string[];
  size: number;
  deps: string[];
  rdeps: string[];
  requested: boolean;
  sources: string[];
  popularity: number;
  height: number;
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function buildGraph(packages: GraphPackage[]): Map<string, GraphNode> {
  const pkgs = new Map(packages.map((p) => [p.name, p]));
  const names = [...pkgs.keys()].sort(byName);
  // Tarjan's strongly connected components, iterative, deterministic.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const component = new Map<string, string>();
  let counter = 0;
  const depsOf = (n: string) => [...new Set(pkgs.get(n)!.depends.filter((d) => pkgs.has(d)))].sort(byName);
  for (const start of names) {
    if (index.has(start)) continue;
    const work: Array<{ node: string; i: number; deps: string[] }> = [{ node: start, i: 0, deps: depsOf(start) }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      if (frame.i < frame.deps.length) {
        const next = frame.deps[frame.i++]!;
        if (!index.has(next)) {
          index.set(next, counter);
          low.set(next, counter++);
          stack.push(next);
          onStack.add(next);
          work.push({ node: next, i: 0, deps: depsOf(next) });
        } else if (onStack.has(next)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(next)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const members: string[] = [];
        for (;;) {
          const m = stack.pop()!;
          onStack.delete(m);
          members.push(m);
          if (m === frame.node) break;
        }
        members.sort(byName);
        for (const m of members) component.set(m, members[0]!);
      }
    }
  }
  const nodes = new Map<string, GraphNode>();
  for (const n of names) {
    const id = component.get(n)!;
    let node = nodes.get(id);
    if (node === undefined) {
      node = { id, members: [], size: 0, deps: [], rdeps: [], requested: false, sources: [], popularity: 0, height: 0 };
      nodes.set(id, node);
    }
    const p = pkgs.get(n)!;
    node.members.push(n);
    node.size += p.size;
    node.requested ||= p.requested;
    if (!node.sources.includes(p.source)) node.sources.push(p.source);
  }
  for (const n of names) {
    const from = component.get(n)!;
    for (const d of depsOf(n)) {
      const to = component.get(d)!;
      if (to === from) continue;
      const a = nodes.get(from)!;
      if (!a.deps.includes(to)) a.deps.push(to);
      const b = nodes.get(to)!;
      if (!b.rdeps.includes(from)) b.rdeps.push(from);
    }
  }
  for (const node of nodes.values()) {
    node.deps.sort(byName);
    node.rdeps.sort(byName);
    node.sources.sort(byName);
  }
  // Heights, bottom-up in a topological order.
  const order = topologicalOrder(nodes);
  for (const id of [...order].reverse()) {
    const node = nodes.get(id)!;
    node.height = node.deps.length === 0 ? 0 : 1 + Math.max(...node.deps.map((d) => nodes.get(d)!.height));
  }
  // Popularity: the number of packages with a path to the node.
  for (const node of nodes.values()) {
    const seen = new Set<string>();
    const queue = [...node.rdeps];
    while (queue.length > 0) {
      const id = queue.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      queue.push(...nodes.get(id)!.rdeps);
    }
    node.popularity = [...seen].reduce((sum, id) => sum + nodes.get(id)!.members.length, 0);
  }
  return nodes;
}

/** Dependents before dependencies; ties in byte order of the node ids. */
export function topologicalOrder(nodes: Map<string, GraphNode>): string[] {
  const indegree = new Map<string, number>();
  for (const n of nodes.values()) indegree.set(n.id, n.rdeps.length);
  const ready = [...nodes.values()].filter((n) => n.rdeps.length === 0).map((n) => n.id).sort(byName);
  const out: string[] = [];
  while (ready.length > 0) {
    const id = ready.shift()!;
    out.push(id);
    for (const d of nodes.get(id)!.deps) {
      const left = indegree.get(d)! - 1;
      indegree.set(d, left);
      if (left === 0) {
        ready.push(d);
        ready.sort(byName);
      }
    }
  }
  return out;
}
