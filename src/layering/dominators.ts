// Owns immediate dominators on the condensed dependency graph: node d dominates n when every
// path from the image's requested packages to n goes through d. A virtual root ('') stands
// above the requested packages (and any package nothing depends on). On a DAG the immediate
// dominator of n is the nearest common dominator of its dependents, computed in topological
// order (Cooper, Harvey and Kennedy's intersection).
import { topologicalOrder, type GraphNode } from './graph.js';

export const ROOT = '';

export function immediateDominators(nodes: Map<string, GraphNode>): Map<string, string> {
  const order = topologicalOrder(nodes);
  const position = new Map<string, number>([[ROOT, -1]]);
  order.forEach((id, i) => position.set(id, i));
  const idom = new Map<string, string>();
  const intersect = (a: string, b: string): string => {
    while (a !== b) {
      while (position.get(a)! > position.get(b)!) a = idom.get(a)!;
      while (position.get(b)! > position.get(a)!) b = idom.get(b)!;
    }
    return a;
  };
  for (const id of order) {
    const node = nodes.get(id)!;
    const preds = [...node.rdeps];
    if (node.requested || preds.length === 0) preds.push(ROOT);
    let dom = preds[0]!;
    for (const p of preds.slice(1)) dom = intersect(dom, p);
    idom.set(id, dom);
  }
  return idom;
}
