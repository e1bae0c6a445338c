// Owns the layer plan: which packages share a layer, and in which order the layers come.
//
// Goal: a family of images shares as many bytes as possible, and an update re-pulls only the
// layers whose packages changed — with no external data, and under a layer budget.
//
// The rules (docs/layering.md has the reasoning and a worked example):
// 1. A layer's content is a pure function of its package set, so the same set gives the same
//    digest in every image. Sharing is therefore best when a package that carries real bytes
//    sits in a layer of its own: every image that has it, has that exact layer. Dependency
//    cycles are one node (their packages always come together).
// 2. While the budget allows, every package keeps that layer, however small: grouping tiny
//    packages was measured to store them twice across a family (a library private to one package
//    in one image is shared in another, so the group differs), 0.2 MB more than one layer per
//    package on the twelve-image family. When the budget is short, tiny packages (under
//    TINY_BYTES) that exactly one package depends on are the first merged: they share a layer
//    with that package's other such dependencies, which costs little sharing and never touches a
//    big package's layer. Tiny packages that several packages depend on keep their own layer.
// 3. Over the budget (budget − reserved layers for the base layout and the effects), the least
//    popular group is merged into the group of its immediate dominator (Nixery's refinement:
//    what only one package leads to changes with that package), ties broken by size then name;
//    a group dominated only by the spec itself is merged with the next least popular group.
// 4. Order: most popular first (the number of packages of the closure that depend on the
//    group), then lower height (closer to the bottom of the graph), then name — so images put
//    their common base first and Docker's ordered cache (ChainID) reuses the prefix.
// Tie-breakers are all explicit; the same lockfile always gives the same plan.
import { buildGraph, type GraphNode, type GraphPackage } from './graph.js';
import { immediateDominators, ROOT } from './dominators.js';

export const TINY_BYTES = 64 * 1024;

export type PlanPackage = GraphPackage;

export interface PlannedLayer {
  packages: string[];
  size: number;
  popularity: number;
  reason: string;
}

export interface LayerPlan {
  layers: PlannedLayer[];
  /** Layers the image has besides the plan (base layout, effects). */
  reserved: number;
  budget: number;
}

interface Group {
  nodes: GraphNode[];
  reason: string;
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const sizeOf = (g: Group) => g.nodes.reduce((n, x) => n + x.size, 0);
const popularityOf = (g: Group) => Math.max(...g.nodes.map((n) => n.popularity));
const heightOf = (g: Group) => Math.min(...g.nodes.map((n) => n.height));
const firstName = (g: Group) => g.nodes.map((n) => n.id).sort(byName)[0]!;

export function planLayers(packages: PlanPackage[], budget: number, reserved = 2): LayerPlan {
  const nodes = buildGraph(packages);
  const all = [...nodes.values()].sort((a, b) => byName(a.id, b.id));
  const room = Math.max(1, budget - reserved);
  const groups: Group[] = [];
  const own = (n: GraphNode): Group => ({ nodes: [n], reason: n.members.length > 1 ? 'a dependency cycle, kept together' : 'its own layer, shared by every image that has it' });
  // 1. One layer per package (a dependency cycle is one node) while the budget allows.
  if (all.length <= room) {
    groups.push(...all.map(own));
  } else {
    // 2. Over the budget: packages with bytes keep a layer each; tiny packages that exactly one
    //    package depends on share a layer with that package's other such dependencies.
    groups.push(...all.filter((n) => n.size >= TINY_BYTES).map(own));
    const tinyByParent = new Map<string, GraphNode[]>();
    for (const n of all.filter((x) => x.size < TINY_BYTES)) {
      if (n.rdeps.length !== 1) {
        groups.push({ nodes: [n], reason: n.rdeps.length === 0 ? 'its own layer, shared by every image that has it' : 'small, but several packages need it: stored once for every image that has it' });
        continue;
      }
      const parent = n.rdeps[0]!;
      tinyByParent.set(parent, [...(tinyByParent.get(parent) ?? []), n]);
    }
    for (const [parent, ns] of [...tinyByParent].sort(([a], [b]) => byName(a, b))) {
      groups.push({ nodes: ns, reason: ns.length > 1 ? `small packages that only ${parent} needs, together to fit the layer budget` : `small, and only ${parent} needs it` });
    }
  }
  // 3. Still over the budget: merge along dominators.
  if (groups.length > room) {
    const idom = immediateDominators(nodes);
    const groupOf = new Map<string, Group>();
    for (const g of groups) for (const n of g.nodes) groupOf.set(n.id, g);
    while (groups.length > room) {
      const candidates = [...groups].sort((a, b) => popularityOf(a) - popularityOf(b) || sizeOf(a) - sizeOf(b) || byName(firstName(a), firstName(b)));
      let merged = false;
      for (const g of candidates) {
        const top = [...g.nodes].sort((a, b) => b.popularity - a.popularity || byName(a.id, b.id))[0]!;
        let d = idom.get(top.id)!;
        while (d !== ROOT && groupOf.get(d) === g) d = idom.get(d)!;
        if (d === ROOT) continue;
        const into = groupOf.get(d)!;
        into.nodes.push(...g.nodes);
        into.reason = 'merged with what it dominates to fit the layer budget';
        for (const n of g.nodes) groupOf.set(n.id, into);
        groups.splice(groups.indexOf(g), 1);
        merged = true;
        break;
      }
      if (!merged) {
        const [a, b] = candidates;
        a!.nodes.push(...b!.nodes);
        a!.reason = 'merged with the next least popular group to fit the layer budget';
        for (const n of b!.nodes) groupOf.set(n.id, a!);
        groups.splice(groups.indexOf(b!), 1);
      }
    }
  }
  // 4. Most shared first.
  groups.sort((a, b) => popularityOf(b) - popularityOf(a) || heightOf(a) - heightOf(b) || byName(firstName(a), firstName(b)));
  return {
    budget,
    reserved,
    layers: groups.map((g) => ({
      packages: g.nodes.flatMap((n) => n.members).sort(byName),
      size: sizeOf(g),
      popularity: popularityOf(g),
      reason: g.reason,
    })),
  };
}
