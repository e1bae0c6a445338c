// Owns `why` over a locked closure: the dependency paths from the requested packages to one
// package, or the reason it was left out. Pure: reads only the lockfile.
import type { LockedClosure } from './lockfile.js';

export interface WhyAnswer {
  status: 'in-closure' | 'excluded' | 'absent';
  name: string;
  version?: string;
  suite?: string;
  requested?: boolean;
  /** Paths from a requested package to the target (or to a package that needed the excluded one). */
  paths: string[][];
  /** Packages whose dependencies resolved to the target (or named the excluded package). */
  neededBy: string[];
  reason?: string;
}

/** Shortest-first simple paths from requested packages to `target`, at most `limit`. */
function pathsTo(closure: LockedClosure, targets: string[], limit: number): string[][] {
  const reverse = new Map<string, string[]>();
  for (const p of closure.packages) for (const d of p.depends) (reverse.get(d) ?? reverse.set(d, []).get(d)!).push(p.name);
  const requested = new Set(closure.packages.filter((p) => p.requested).map((p) => p.name));
  // BFS backwards from the targets over reversed edges; each queue entry is a path target-first.
  const out: string[][] = [];
  const queue: string[][] = targets.map((t) => [t]);
  const seenPaths = new Set<string>();
  let steps = 0;
  while (queue.length > 0 && out.length < limit && steps++ < 200_000) {
    const path = queue.shift()!;
    const head = path[path.length - 1]!;
    if (requested.has(head)) {
      const forward = [...path].reverse();
      const key = forward.join('\0');
      if (!seenPaths.has(key)) {
        seenPaths.add(key);
        out.push(forward);
      }
      continue;
    }
    for (const parent of [...(reverse.get(head) ?? [])].sort()) {
      if (!path.includes(parent)) queue.push([...path, parent]);
    }
  }
  return out;
}

export function why(closure: LockedClosure, name: string, limit = 12): WhyAnswer {
  const pkg = closure.packages.find((p) => p.name === name);
  if (pkg !== undefined) {
    const neededBy = closure.packages.filter((p) => p.depends.includes(name)).map((p) => p.name).sort();
    const answer: WhyAnswer = { status: 'in-closure', name, version: pkg.version, suite: pkg.suite, paths: pathsTo(closure, [name], limit), neededBy };
    if (pkg.requested) answer.requested = true;
    return answer;
  }
  const ex = closure.excluded.find((x) => x.name === name);
  if (ex !== undefined) {
    const paths = pathsTo(closure, ex.requiredBy, limit).map((p) => [...p, name]);
    return { status: 'excluded', name, paths, neededBy: ex.requiredBy, reason: ex.reason };
  }
  return { status: 'absent', name, paths: [], neededBy: [] };
}
